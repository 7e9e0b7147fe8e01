//! Reliability soak: the real warren binary (release) against the real test broker, with
//! hostile clients and broker failures. Prints, each with the figure it is judged against:
//!
//! - slow readers: N connections ask for a multi-megabyte `/metrics` and never read, while a
//!   normal client keeps scraping; warren's peak RSS against its RSS after plain scrapes;
//! - idle connections: M sockets that send nothing, and how long warren takes to close them
//!   against `http.idle_timeout`; `/healthz` latency while they are held;
//! - shutdown under librdkafka debug logging against an unreachable broker, against the same
//!   shutdown without debug logging and against the bound (`request_timeout` + 1 s);
//! - broker kill/restart cycles survived (warren down, then up with the exact lag again).
//!
//! `cargo bench --bench soak` runs the short form (`.ci/run`); `WARREN_SOAK_SCALE=10` runs ten
//! times the restart cycles and connections. Needs the test broker (`WARREN_TEST_BROKER_ROOT`,
//! README "Run the tests"); without it the soak prints one line and exits 0, or fails when
//! `WARREN_REQUIRE_TOOLS=1`.

#[path = "../tests/it/common/mod.rs"]
mod common;
#[path = "shared/real.rs"]
mod real;
#[path = "../tests/it/tools/mod.rs"]
mod tools;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{wait_for, Broker, Warren};

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that is not ours means "not this one".
    if real::filtered_out("soak") {
        return;
    }
    if !tools::suite("soak", &[tools::broker]) {
        return;
    }
    let scale = real::env_count("WARREN_SOAK_SCALE", 1) as usize;
    let started = Instant::now();
    slow_readers_and_idle_connections(scale);
    shutdown_under_debug_logging();
    broker_restarts(3 * scale);
    println!("soak: done in {:.0} s", started.elapsed().as_secs_f64());
}

/// Resident and peak resident memory of `pid`, in MB, and its thread count.
fn memory(pid: u32) -> (f64, f64, usize) {
    let mb = |field| common::proc_status(pid, field) as f64 / 1024.0;
    (
        mb("VmRSS"),
        mb("VmHWM"),
        common::proc_status(pid, "Threads") as usize,
    )
}

/// A request sent on a fresh connection whose reply is never read.
fn unread_request(port: u16, path: &str, gzip: bool) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let encoding = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(s, "GET {path} HTTP/1.1\r\nHost: soak\r\n{encoding}\r\n").expect("send request");
    s
}

/// Big enough for a multi-megabyte exposition: 16 groups × 20 topics × 50 partitions.
const TOPICS: usize = 20;
const PARTITIONS: usize = 50;
const GROUPS: usize = 16;

fn slow_readers_and_idle_connections(scale: usize) {
    let broker = Broker::start("soak");
    let mut commits = Vec::new();
    let names: Vec<String> = (0..TOPICS).map(|t| format!("soak.topic-{t:02}")).collect();
    for name in &names {
        broker.create_topic(name, PARTITIONS as i32);
        for p in 0..PARTITIONS as i32 {
            commits.push((name.as_str(), p, 0));
        }
    }
    for g in 0..GROUPS {
        broker.commit(&format!("soak-group-{g:02}"), &commits);
    }
    let idle_timeout = 5;
    let w = Warren::start_with_http(
        &format!(
            "[[clusters]]\nname = \"soak\"\nbootstrap_servers = \"{}\"\npoll_interval = \"2s\"\n",
            broker.bootstrap()
        ),
        &format!("idle_timeout = \"{idle_timeout}s\"\n"),
    );
    let series = format!(
        "kafka_consumergroup_group_sum_lag{{cluster=\"soak\",group=\"soak-group-{:02}\"}}",
        GROUPS - 1
    );
    let exposition = wait_for(Duration::from_secs(60), "every group's series", || {
        let body = w.get("/metrics", &[]).body;
        String::from_utf8_lossy(&body)
            .contains(&series)
            .then_some(body.len())
    });
    let pid = w.pid();
    for _ in 0..5 {
        w.get("/metrics", &[]);
        w.get("/metrics", &[("Accept-Encoding", "gzip")]);
    }
    let (baseline_rss, _, baseline_threads) = memory(pid);

    // Slow readers: requests whose replies are never read, half of them asking for gzip.
    let readers = 200 * scale;
    let held: Vec<TcpStream> = (0..readers)
        .map(|i| unread_request(w.port, "/metrics", i % 2 == 0))
        .collect();
    let (mut ok, mut busy, mut peak_threads) = (0, 0, 0);
    let scrape_started = Instant::now();
    while scrape_started.elapsed() < Duration::from_secs(10) {
        match w.try_get("/metrics", &[]) {
            Ok(r) if r.status == 200 => ok += 1,
            Ok(r) if r.status == 503 => busy += 1,
            Ok(r) => panic!("scrape answered {}", r.status),
            Err(e) => panic!("scrape failed: {e}\n{}", w.log()),
        }
        peak_threads = peak_threads.max(memory(pid).2);
    }
    let (_, peak_rss, _) = memory(pid);
    drop(held);
    let after = wait_for(Duration::from_secs(30), "warren to settle", || {
        let (rss, _, threads) = memory(pid);
        (threads <= baseline_threads + 2).then_some(rss)
    });
    println!(
        "soak: slow readers: {readers} unread /metrics replies of {:.1} MB; peak RSS {peak_rss:.0} MB \
         = {:.1}x the {baseline_rss:.0} MB after plain scrapes, {after:.0} MB after they closed; \
         threads at most {peak_threads} (baseline {baseline_threads}); a client scraping in a \
         loop meanwhile got {ok} replies 200 and {busy} 503 (http.max_concurrent_scrapes 8)",
        exposition as f64 / 1e6,
        peak_rss / baseline_rss,
    );

    // Idle connections: opened, never written to; warren closes them after `idle_timeout`.
    let idle = 300 * scale;
    let opened = Instant::now();
    let mut sockets: Vec<Option<TcpStream>> = (0..idle)
        .map(|_| {
            let s = TcpStream::connect(("127.0.0.1", w.port)).expect("connect");
            s.set_nonblocking(true).expect("nonblocking");
            Some(s)
        })
        .collect();
    let mut closed_at: Vec<f64> = Vec::new();
    let mut healthz_worst = Duration::ZERO;
    while closed_at.len() < idle {
        assert!(
            opened.elapsed() < Duration::from_secs(idle_timeout * 6),
            "{} of {idle} idle connections still open after {:?}",
            idle - closed_at.len(),
            opened.elapsed()
        );
        for slot in sockets.iter_mut() {
            let Some(s) = slot else { continue };
            let mut buf = [0u8; 64];
            match s.read(&mut buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                _ => {
                    closed_at.push(opened.elapsed().as_secs_f64());
                    *slot = None;
                }
            }
        }
        let asked = Instant::now();
        let status = w.try_get("/healthz", &[]).map(|r| r.status);
        assert_eq!(
            status.ok(),
            Some(200),
            "/healthz with idle connections held"
        );
        healthz_worst = healthz_worst.max(asked.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let first = closed_at.iter().copied().fold(f64::INFINITY, f64::min);
    let last = closed_at.iter().copied().fold(0.0, f64::max);
    println!(
        "soak: idle connections: {idle} closed after {first:.1}-{last:.1} s = {:.2}x \
         http.idle_timeout ({idle_timeout} s); /healthz meanwhile at most {:.0} ms",
        last / idle_timeout as f64,
        healthz_worst.as_secs_f64() * 1e3
    );
}

/// Seconds from SIGTERM to exit of a warren polling a broker that accepts connections but
/// never answers (its requests are in flight until `request_timeout`), with or without
/// librdkafka's debug logging.
fn shutdown_seconds(debug: bool) -> f64 {
    // Bound and never accepted from: connections complete in the kernel, nothing answers.
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = blackhole.local_addr().expect("address").port();
    let extra = if debug {
        "client.\"debug\" = \"all\"\n"
    } else {
        ""
    };
    let log = if debug {
        "[log]\nfilter = \"trace\"\n"
    } else {
        ""
    };
    let mut w = Warren::start(&format!(
        "{log}[[clusters]]\nname = \"down\"\nbootstrap_servers = \"127.0.0.1:{}\"\n\
         poll_interval = \"500ms\"\nrequest_timeout = \"2s\"\n{extra}",
        port
    ));
    let errors = "warren_poll_errors_total{cluster=\"down\",stage=\"metadata\"}";
    wait_for(Duration::from_secs(60), "three failed polls", || {
        (w.metrics().get(errors).copied().unwrap_or(0.0) >= 3.0).then_some(())
    });
    let sent = Instant::now();
    w.terminate();
    let status = w.wait_exit(Duration::from_secs(30));
    assert!(
        status.is_some_and(|s| s.success()),
        "warren did not exit cleanly within 30 s of SIGTERM: {status:?}\n{}",
        w.log()
    );
    sent.elapsed().as_secs_f64()
}

fn shutdown_under_debug_logging() {
    let bound = 3.0;
    let plain = shutdown_seconds(false);
    let debug = shutdown_seconds(true);
    println!(
        "soak: shutdown under librdkafka debug logging: {:.0} ms = {:.3}x the bound \
         (request_timeout + 1 s = {bound:.0} s); without debug logging {:.0} ms",
        debug * 1e3,
        debug / bound,
        plain * 1e3
    );
}

fn broker_restarts(cycles: usize) {
    let mut broker = Broker::start("soak-restarts");
    let seed = |b: &Broker| {
        b.create_topic("orders", 2);
        b.produce("orders", &[10, 20]);
        b.commit("billing", &[("orders", 0, 4), ("orders", 1, 15)]);
    };
    seed(&broker);
    let w = Warren::start(&format!(
        "[[clusters]]\nname = \"main\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\n\
         metadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\nrequest_timeout = \"2s\"\n",
        broker.bootstrap()
    ));
    let lag = "kafka_consumergroup_group_sum_lag{cluster=\"main\",group=\"billing\"}";
    let up = "warren_cluster_up{cluster=\"main\"}";
    let value = |key: &str| w.metrics().get(key).copied();
    wait_for(Duration::from_secs(60), "the exact lag", || {
        (value(lag) == Some(11.0)).then_some(())
    });
    let mut recoveries = Vec::new();
    for cycle in 0..cycles {
        broker.stop();
        wait_for(
            Duration::from_secs(60),
            "warren to see the broker down",
            || (value(up) == Some(0.0)).then_some(()),
        );
        // The memory engine starts empty: the same topic, records and commits again.
        broker.restart();
        seed(&broker);
        let restarted = Instant::now();
        wait_for(
            Duration::from_secs(180),
            "warren back with the exact lag",
            || (value(up) == Some(1.0) && value(lag) == Some(11.0)).then_some(()),
        );
        recoveries.push(restarted.elapsed().as_secs_f64());
        println!(
            "soak: broker restart {}/{cycles}: back with the exact lag {:.1} s after the broker",
            cycle + 1,
            recoveries[cycle]
        );
    }
    let worst = recoveries.iter().copied().fold(0.0, f64::max);
    println!(
        "soak: broker kill/restart cycles survived: {cycles}/{cycles}; worst recovery {worst:.1} s \
         (backoff at most 8x poll_interval = 8 s: {:.2}x)",
        worst / 8.0
    );
}
