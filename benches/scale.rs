//! Scale proof on the real test broker (issue 14): 50 topics × 100 partitions with known
//! records, 20 groups committing known offsets on all 5,000 partitions (100,000
//! group-partitions), and the real warren binary (release) polling them every 5 s. Prints, each
//! with its target, the ratio to it and a baseline measured in the same run:
//!
//! - time (and polls) from start until every lag on `/metrics` is exact (target: 3 polls);
//! - poll duration per stage (warren's `warren_poll_stage_duration_seconds`), and the Kafka
//!   requests of one poll by API (counted from librdkafka's protocol log in a separate run);
//! - CPU seconds per steady poll from `/proc/PID/stat` with no scrape in the window (target
//!   0.1 s), against a warren watching the same topics but no group (watermarks only);
//! - RSS (target 60 MB);
//! - `/metrics` bytes and scrape time per format, plain and gzip (target 100 ms), by the test
//!   client (which keeps and de-chunks the body) and read through a reused buffer as
//!   Prometheus reads it, against `/healthz` on the same connection path;
//! - the same at `granularity = "topic"`, and its output against `partition`'s (target 1/20);
//! - `time_lag = "record"`: time until every lagging group-partition's lag in seconds comes
//!   from its record, and CPU per steady poll once offsets stop moving (target: at most 2x
//!   interpolation's).
//!
//! `cargo bench --bench scale` runs the short form (3 steady polls per measurement, `.ci/run`);
//! `WARREN_SCALE_POLLS=N` measures N steady polls; `WARREN_SCALE_MODES=partition,record` only
//! the modes named (baseline, partition, topic, record). `WARREN_SCALE_PROFILE=1` also records a
//! profile of steady polls with `perf record` and prints its top symbols. Needs the test
//! broker (`WARREN_TEST_BROKER_ROOT`, README "Run the tests"); without it the bench prints one
//! line and exits 0, or fails when `WARREN_REQUIRE_TOOLS=1`.

#[path = "../tests/it/common/mod.rs"]
mod common;
#[path = "shared/real.rs"]
mod real;
#[path = "../tests/it/tools/mod.rs"]
mod tools;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;

use common::{wait_for, Broker, Warren};

const CLUSTER: &str = "scale";
const TOPICS: usize = 50;
const PARTITIONS: usize = 100;
const GROUPS: usize = 20;
const POLL_INTERVAL: Duration = Duration::from_secs(5);

const EXACT_POLLS_TARGET: f64 = 3.0;
const CPU_TARGET: f64 = 0.1;
const RSS_TARGET_MB: f64 = 60.0;
const SCRAPE_TARGET_MS: f64 = 100.0;
const TOPIC_BYTES_TARGET: f64 = 1.0 / 20.0;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0";

fn topic(t: usize) -> String {
    format!("scale.topic-{t:02}")
}

fn group(g: usize) -> String {
    format!("scale-group-{g:02}")
}

/// Records produced to partition `p` of topic `t`: 1 to 9.
fn records(t: usize, p: usize) -> i64 {
    1 + ((t * PARTITIONS + p) % 9) as i64
}

/// The offset group `g` commits on `t`/`p`: 0 up to the high watermark, so lags 0 to 9.
fn committed(g: usize, t: usize, p: usize) -> i64 {
    ((g + t + p) % (records(t, p) as usize + 1)) as i64
}

/// Record mode's steady CPU per poll against interpolation's, once offsets stop moving.
const RECORD_CPU_TARGET: f64 = 2.0;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that is not ours means "not this one".
    if real::filtered_out("scale") {
        return;
    }
    if !tools::suite("scale", &[tools::broker]) {
        return;
    }
    let polls = real::env_count("WARREN_SCALE_POLLS", 3);
    let started = Instant::now();
    let broker = Broker::start("scale");
    let setup = Instant::now();
    seed(&broker);
    println!(
        "scale: {TOPICS} topics x {PARTITIONS} partitions x {GROUPS} groups = {} group-partitions \
         on the test broker, set up in {:.1} s; poll_interval {} s, {polls} steady polls per \
         measurement",
        TOPICS * PARTITIONS * GROUPS,
        setup.elapsed().as_secs_f64(),
        POLL_INTERVAL.as_secs()
    );

    // `WARREN_SCALE_MODES=partition,record` measures only those (all four by default).
    let only = std::env::var("WARREN_SCALE_MODES")
        .ok()
        .filter(|m| !m.is_empty());
    let wanted = |m: Mode| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|n| n == m.name()))
    };
    let measure = |m: Mode| wanted(m).then(|| run(&broker, m, polls));
    let baseline = measure(Mode::WatermarksOnly);
    let partition = measure(Mode::Partition);
    let topic = measure(Mode::Topic);
    let record = measure(Mode::Record);
    if only.is_none() {
        requests_per_poll(&broker);
    }

    if let (Some(partition), Some(topic), Some(baseline)) = (&partition, &topic, &baseline) {
        println!(
            "scale: CPU per poll: partition {:.3} s = {:.2}x the target ({CPU_TARGET} s), topic \
             {:.3} s = {:.2}x; baseline (same topics, no group: watermarks only) {:.3} s",
            partition.cpu,
            partition.cpu / CPU_TARGET,
            topic.cpu,
            topic.cpu / CPU_TARGET,
            baseline.cpu
        );
    }
    if let (Some(record), Some(partition)) = (&record, &partition) {
        println!(
            "scale: record mode, offsets not moving: CPU {:.3} s per poll = {:.2}x \
             interpolation's (target <= {RECORD_CPU_TARGET}x)",
            record.cpu,
            record.cpu / partition.cpu
        );
    }
    if let (Some(partition), Some(topic)) = (&partition, &topic) {
        for (format, _) in FORMATS {
            let (p, t) = (partition.bytes[format], topic.bytes[format]);
            println!(
                "scale: output {format}: topic {t} B / partition {p} B = 1/{:.0} = {:.2}x the \
                 target (1/{:.0})",
                p as f64 / t as f64,
                (t as f64 / p as f64) / TOPIC_BYTES_TARGET,
                1.0 / TOPIC_BYTES_TARGET
            );
        }
    }
    println!("scale: done in {:.0} s", started.elapsed().as_secs_f64());
}

/// Creates the topics, produces the records (batched: offsets per partition are still exact)
/// and commits every group's offsets.
fn seed(broker: &Broker) {
    for t in 0..TOPICS {
        broker.create_topic(&topic(t), PARTITIONS as i32);
    }
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("linger.ms", "20")
        .set("acks", "all")
        .set("log_level", "3")
        .create()
        .expect("producer");
    for t in 0..TOPICS {
        let name = topic(t);
        for p in 0..PARTITIONS {
            for _ in 0..records(t, p) {
                let mut record = BaseRecord::<(), str>::to(&name)
                    .partition(p as i32)
                    .payload("x");
                while let Err((_, r)) = producer.send(record) {
                    // Queue full: let it drain.
                    record = r;
                    producer.poll(Duration::from_millis(10));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
    let names: Vec<String> = (0..TOPICS).map(topic).collect();
    for g in 0..GROUPS {
        let offsets: Vec<(&str, i32, i64)> = (0..TOPICS)
            .flat_map(|t| (0..PARTITIONS).map(move |p| (t, p)))
            .map(|(t, p)| (names[t].as_str(), p as i32, committed(g, t, p)))
            .collect();
        broker.commit(&group(g), &offsets);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// The same topics, no group: the cost of metadata and watermarks alone.
    WatermarksOnly,
    Partition,
    Topic,
    /// `partition` with `time_lag = "record"`: every lagging group-partition's lag in seconds
    /// from the record at its committed offset.
    Record,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::WatermarksOnly => "baseline",
            Mode::Partition => "partition",
            Mode::Topic => "topic",
            Mode::Record => "record",
        }
    }

    fn config(self, broker: &Broker) -> String {
        let mut c = format!(
            "[[clusters]]\nname = \"{CLUSTER}\"\nbootstrap_servers = \"{}\"\n\
             poll_interval = \"{}s\"\n",
            broker.bootstrap(),
            POLL_INTERVAL.as_secs()
        );
        match self {
            Mode::WatermarksOnly => c.push_str("groups.deny = [\".*\"]\n"),
            Mode::Partition => c.push_str("granularity = \"partition\"\n"),
            Mode::Topic => c.push_str("granularity = \"topic\"\n"),
            Mode::Record => c.push_str(
                "time_lag = \"record\"\ntime_lag_max_reads = 100000\n\
                 time_lag_max_read_time = \"4s\"\n",
            ),
        }
        c
    }

    /// The series this mode must show, with their exact values.
    fn expected(self) -> BTreeMap<String, f64> {
        let mut want = BTreeMap::new();
        for g in 0..GROUPS {
            let labels = format!("cluster=\"{CLUSTER}\",group=\"{}\"", group(g));
            for t in 0..TOPICS {
                let lags = (0..PARTITIONS).map(|p| records(t, p) - committed(g, t, p));
                match self {
                    // Every partition's high watermark, once (for group 0).
                    Mode::WatermarksOnly if g == 0 => {
                        for p in 0..PARTITIONS {
                            want.insert(
                                format!(
                                    "kafka_partition_latest_offset{{cluster=\"{CLUSTER}\",\
                                     topic=\"{}\",partition=\"{p}\"}}",
                                    topic(t)
                                ),
                                records(t, p) as f64,
                            );
                        }
                    }
                    Mode::WatermarksOnly => {}
                    Mode::Partition | Mode::Record => {
                        for (p, lag) in lags.enumerate() {
                            want.insert(
                                format!(
                                    "kafka_consumergroup_group_lag{{{labels},topic=\"{}\",\
                                     partition=\"{p}\"}}",
                                    topic(t)
                                ),
                                lag as f64,
                            );
                        }
                    }
                    Mode::Topic => {
                        let key = |family| {
                            format!(
                                "kafka_consumergroup_group_topic_{family}{{{labels},topic=\"{}\"}}",
                                topic(t)
                            )
                        };
                        want.insert(key("sum_lag"), lags.clone().sum::<i64>() as f64);
                        want.insert(key("max_lag"), lags.max().unwrap_or(0) as f64);
                    }
                }
            }
            if self == Mode::Record {
                // Every lagging partition's lag in seconds from its record, none interpolated.
                let lagging = (0..TOPICS)
                    .flat_map(|t| (0..PARTITIONS).map(move |p| (t, p)))
                    .filter(|&(t, p)| records(t, p) > committed(g, t, p))
                    .count();
                let method =
                    |m| format!("warren_lag_seconds_partitions{{{labels},method=\"{m}\"}}");
                want.insert(method("record"), lagging as f64);
                for m in ["interpolated", "lower_bound", "unknown", "next_record"] {
                    want.insert(method(m), 0.0);
                }
            }
        }
        want
    }
}

/// What one warren run measured.
struct Figures {
    /// CPU seconds per steady poll.
    cpu: f64,
    /// `/metrics` bytes by format (uncompressed).
    bytes: BTreeMap<&'static str, usize>,
}

/// (format name, `Accept` header).
const FORMATS: [(&str, &str); 2] = [("text", "text/plain"), ("openmetrics", OPENMETRICS)];

/// Polls warren has finished (its evaluate stage runs once per successful poll).
fn polls_done(m: &BTreeMap<String, f64>) -> f64 {
    m.get(&stage_key("evaluate", "count"))
        .copied()
        .unwrap_or(0.0)
}

fn stage_key(stage: &str, what: &str) -> String {
    format!("warren_poll_stage_duration_seconds_{what}{{cluster=\"{CLUSTER}\",stage=\"{stage}\"}}")
}

const STAGES: [&str; 7] = [
    "metadata",
    "group_list",
    "group_describe",
    "group_offsets",
    "watermarks",
    "record_reads",
    "evaluate",
];

/// Starts warren in `mode`, waits for exact values, then measures steady polls and scrapes.
fn run(broker: &Broker, mode: Mode, polls: u32) -> Figures {
    let name = mode.name();
    let want = mode.expected();
    let spawned = Instant::now();
    let w = Warren::start(&mode.config(broker));
    let pid = w.pid();
    let limit = Duration::from_secs(120);
    let (exact_after, exact_polls) =
        wait_for(limit + Duration::from_secs(10), "exact values", || {
            let m = w.metrics();
            let wrong: Vec<_> = want.iter().filter(|(k, v)| m.get(*k) != Some(v)).collect();
            let Some((key, value)) = wrong.first() else {
                return Some((spawned.elapsed().as_secs_f64(), polls_done(&m)));
            };
            if spawned.elapsed() > limit {
                panic!(
                "scale: {name}: {} of {} values still wrong after {limit:?}, e.g. {key} = {:?}, \
                 want {value}",
                wrong.len(),
                want.len(),
                m.get(*key)
            );
            }
            None
        });
    println!(
        "scale: {name}: all {} values exact {exact_after:.1} s after start, at poll \
         {exact_polls:.0} = {:.2}x the target ({EXACT_POLLS_TARGET:.0} polls)",
        want.len(),
        exact_polls / EXACT_POLLS_TARGET
    );

    // From just after a poll ends, `polls` intervals and a half with no scrape: polls start
    // every `POLL_INTERVAL` and take well under half of it, so the window holds exactly
    // `polls` whole polls and no part of another.
    let before = w.metrics();
    let first = polls_done(&before);
    let before = wait_for(Duration::from_secs(60), "the next poll", || {
        let m = w.metrics();
        (polls_done(&m) > first).then_some(m)
    });
    let cpu0 = cpu_seconds(pid);
    let window = POLL_INTERVAL * polls + POLL_INTERVAL / 2;
    // Measuring over a fixed window of polls, not waiting for a condition.
    std::thread::sleep(window);
    let cpu = (cpu_seconds(pid) - cpu0) / polls as f64;
    let after = w.metrics();
    let stages: Vec<String> = STAGES
        .iter()
        .filter_map(|s| {
            let delta = |what| {
                let key = stage_key(s, what);
                Some(after.get(&key)? - before.get(&key).copied().unwrap_or(0.0))
            };
            let (sum, count) = (delta("sum")?, delta("count")?);
            (count > 0.0).then(|| format!("{s} {:.0} ms", sum / count * 1e3))
        })
        .collect();
    let steady = polls_done(&after) - polls_done(&before);
    let rss = common::proc_status(pid, "VmRSS") as f64 / 1024.0;
    let peak = common::proc_status(pid, "VmHWM") as f64 / 1024.0;
    println!(
        "scale: {name}: CPU {cpu:.3} s per poll over {polls} polls ({steady:.0} finished in the window) = \
         {:.2}x the target ({CPU_TARGET} s); poll stages (mean): {}",
        cpu / CPU_TARGET,
        stages.join(", ")
    );
    println!(
        "scale: {name}: RSS {rss:.0} MB (peak {peak:.0} MB) = {:.2}x the target \
         ({RSS_TARGET_MB:.0} MB)",
        rss / RSS_TARGET_MB
    );
    if std::env::var("WARREN_SCALE_PROFILE").is_ok_and(|v| v == "1") {
        profile(pid, name, window);
    }
    let bytes = if matches!(mode, Mode::WatermarksOnly | Mode::Record) {
        BTreeMap::new()
    } else {
        scrapes(&w, name)
    };
    Figures { cpu, bytes }
}

/// User + system CPU seconds of `pid` so far (`/proc/PID/stat` fields 14 and 15).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf CLK_TCK");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK")
}

/// Scrapes every (format, encoding) for two poll intervals, so each is rendered afresh after
/// a poll and also served from the cache: bytes, median and worst time; `/healthz` meanwhile
/// is the baseline. Returns the uncompressed bytes by format.
fn scrapes(w: &Warren, name: &str) -> BTreeMap<&'static str, usize> {
    let mut times: BTreeMap<(&str, bool), Vec<f64>> = BTreeMap::new();
    let mut read_times: BTreeMap<(&str, bool), Vec<f64>> = BTreeMap::new();
    let mut sizes: BTreeMap<(&str, bool), usize> = BTreeMap::new();
    let mut healthz = Vec::new();
    let timed = |path: &str, headers: &[(&str, &str)]| {
        let t = Instant::now();
        let r = w.get(path, headers);
        assert_eq!(r.status, 200, "GET {path}");
        (t.elapsed().as_secs_f64() * 1e3, r.body.len())
    };
    let until = Instant::now() + POLL_INTERVAL * 2;
    while Instant::now() < until {
        for (format, accept) in FORMATS {
            for gzip in [false, true] {
                let mut headers = vec![("Accept", accept)];
                if gzip {
                    headers.push(("Accept-Encoding", "gzip"));
                }
                let (ms, len) = timed("/metrics", &headers);
                times.entry((format, gzip)).or_default().push(ms);
                sizes.insert((format, gzip), len);
                let ms = read_through(w.port, &headers);
                read_times.entry((format, gzip)).or_default().push(ms);
            }
        }
        healthz.push(timed("/healthz", &[]).0);
        // Spreading the scrapes over the polls, as Prometheus does.
        std::thread::sleep(Duration::from_millis(250));
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (h_median, h_worst) = stats(&mut healthz);
    for ((format, gzip), v) in &mut times {
        let (median, worst) = stats(v);
        let (read_median, read_worst) = stats(read_times.get_mut(&(*format, *gzip)).unwrap());
        println!(
            "scale: {name}: /metrics {format}{}: {:.2} MB, scrape median {median:.1} ms, worst \
             {worst:.1} ms = {:.2}x the target ({SCRAPE_TARGET_MS:.0} ms) over {} scrapes; \
             read through a reused buffer, as Prometheus does: median {read_median:.1} ms, \
             worst {read_worst:.1} ms = {:.2}x; /healthz meanwhile median {h_median:.1} ms, \
             worst {h_worst:.1} ms",
            if *gzip { " gzip" } else { "" },
            sizes[&(*format, *gzip)] as f64 / 1e6,
            worst / SCRAPE_TARGET_MS,
            v.len(),
            read_worst / SCRAPE_TARGET_MS
        );
    }
    FORMATS
        .iter()
        .map(|(f, _)| (*f, sizes[&(*f, false)]))
        .collect()
}

/// Milliseconds to GET `/metrics` and read the whole reply through one reused 1 MiB buffer,
/// keeping nothing: the scrape as Prometheus times it (it reads the body into a pooled buffer
/// sized by earlier scrapes, then parses). The test client above also grows, copies and
/// de-chunks the body, which at 48 MB is a good part of its time on these two shared cores.
fn read_through(port: u16, headers: &[(&str, &str)]) -> f64 {
    use std::io::{Read, Write};
    let t = Instant::now();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut request =
        String::from("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    s.write_all(request.as_bytes()).expect("send the request");
    let mut buf = vec![0u8; 1 << 20];
    let mut first = None;
    let mut total = 0usize;
    loop {
        let n = s.read(&mut buf).expect("read the reply");
        if n == 0 {
            break;
        }
        first.get_or_insert_with(|| buf[..n.min(12)].to_vec());
        total += n;
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let status = first.unwrap_or_default();
    assert!(
        status.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&status)
    );
    assert!(total > 0);
    ms
}

/// Kafka requests of one steady poll by API: warren with librdkafka's protocol log, which
/// names each request it sends (a separate run: the log costs CPU).
fn requests_per_poll(broker: &Broker) {
    let w = Warren::start(&format!(
        "[log]\nfilter = \"warn,librdkafka=debug\"\n{}client.debug = \"protocol\"\n",
        Mode::Partition.config(broker)
    ));
    let done = |n: f64| {
        wait_for(Duration::from_secs(120), "polls", || {
            let m = w.metrics();
            (polls_done(&m) >= n).then(|| w.log())
        })
    };
    // Poll 1 is a full scan (and may list and describe afresh); count poll 2.
    let after_first = done(1.0).len();
    let after_second = done(2.0);
    let mut by_api: BTreeMap<String, usize> = BTreeMap::new();
    for line in after_second[after_first..].lines() {
        // librdkafka: "Sent OffsetFetchRequest (v7, 1234 bytes @ 0, CorrId 12)".
        if let Some(rest) = line.split("Sent ").nth(1) {
            if let Some(api) = rest
                .split_whitespace()
                .next()
                .and_then(|a| a.strip_suffix("Request"))
            {
                *by_api.entry(api.to_string()).or_default() += 1;
            }
        }
    }
    let total: usize = by_api.values().sum();
    let list: Vec<String> = by_api.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "scale: partition: Kafka requests in one steady poll: {total} ({})",
        list.join(", ")
    );
}

/// Records `perf record` (call graphs) on `pid` for `window`; prints the top symbols by self time.
fn profile(pid: u32, name: &str, window: Duration) {
    let data = std::env::temp_dir().join(format!("warren-scale-{name}.perf"));
    let recorded = Command::new("perf")
        // DWARF unwinding: libc's strcmp, where librdkafka's searches spend their time, has
        // no frame pointers.
        .args(["record", "-F", "999", "--call-graph", "dwarf", "-o"])
        .arg(&data)
        .args(["-p", &pid.to_string(), "--", "sleep"])
        .arg(window.as_secs().to_string())
        .output();
    match recorded {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return println!(
                "scale: perf record failed: {}",
                String::from_utf8_lossy(&o.stderr)
            )
        }
        Err(e) => return println!("scale: perf not run: {e}"),
    }
    let report = Command::new("perf")
        .args([
            "report",
            "--stdio",
            "--no-children",
            "-g",
            "none",
            "--percent-limit",
            "1",
            "-i",
        ])
        .arg(&data)
        .output()
        .expect("perf report");
    println!(
        "scale: {name}: perf profile of {} s of steady polls (self time, >= 1%):",
        window.as_secs()
    );
    for line in String::from_utf8_lossy(&report.stdout).lines() {
        if !line.starts_with('#') && !line.trim().is_empty() {
            println!("  {line}");
        }
    }
}
