//! End-to-end tests: the real warren binary against the real test broker (nisshi) on
//! 127.0.0.1, started and stopped by the harness in `common`.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{parse_metrics, wait_for, Broker, Warren};
use crate::tools;

/// The suite runs when the test broker and promtool are there (see `tools::suite`).
fn can_run() -> bool {
    tools::suite("kafka", &[tools::broker, tools::promtool])
}

fn config(brokers: &[(&str, &Broker)], extra_cluster: &str, top: &str) -> String {
    let mut s = format!("{top}\n");
    for (name, b) in brokers {
        s.push_str(&format!(
            "[[clusters]]\nname = \"{name}\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\nmetadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\nrequest_timeout = \"2s\"\n{extra_cluster}\n",
            b.bootstrap()
        ));
    }
    s
}

/// Waits until `/metrics` has `series` equal to `value`; returns the whole exposition then.
fn wait_value(w: &Warren, series: &str, value: f64) -> BTreeMap<String, f64> {
    wait_value_for(w, series, value, Duration::from_secs(30))
}

/// [`wait_value`] with a time limit.
fn wait_value_for(w: &Warren, series: &str, value: f64, limit: Duration) -> BTreeMap<String, f64> {
    wait_for(limit, &format!("{series} = {value}"), || {
        let m = w.metrics();
        (m.get(series) == Some(&value)).then_some(m)
    })
}

/// `build.rs` links the binary and these tests alike with `--wrap`, which sends every call of
/// librdkafka's partition-list search and of its OffsetFetch parse from another object file to
/// warren's wrappers (`src/kafka/admin/ffi/partition_find.rs`); this checks the flag took
/// effect, through this crate's own references to the functions. The parse's wrapper repeats
/// the signature of an internal librdkafka function: it is librdkafka 2.12.1's, and an upgrade
/// must check it.
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn librdkafka_searches_partition_lists_with_warrens_search() {
    use rdkafka::bindings as rdsys;
    extern "C" {
        fn __wrap_rd_kafka_topic_partition_list_find(
            list: *const rdsys::rd_kafka_topic_partition_list_t,
            topic: *const std::ffi::c_char,
            partition: i32,
        ) -> *mut rdsys::rd_kafka_topic_partition_t;
        fn rd_kafka_handle_OffsetFetch();
        fn __wrap_rd_kafka_handle_OffsetFetch();
    }
    let linked = rdsys::rd_kafka_topic_partition_list_find as *const ();
    assert_eq!(
        linked,
        __wrap_rd_kafka_topic_partition_list_find as *const ()
    );
    assert_eq!(
        rd_kafka_handle_OffsetFetch as *const (),
        __wrap_rd_kafka_handle_OffsetFetch as *const ()
    );
    assert_eq!(rdkafka::util::get_rdkafka_version().1, "2.12.1");
}

#[test]
fn exact_values_for_watermarks_offsets_lags_and_sums() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("exact");
    broker.create_topic("orders", 3);
    broker.create_topic("audit.log", 1);
    broker.produce("orders", &[10, 20, 30]);
    broker.produce("audit.log", &[5]);
    broker.commit(
        "app-a",
        &[("orders", 0, 4), ("orders", 1, 20), ("orders", 2, 7)],
    );
    broker.commit("app-b", &[("orders", 0, 10), ("audit.log", 0, 2)]);
    broker.commit("secret-reports", &[("orders", 0, 1)]);

    let w = Warren::start(&config(
        &[("main", &broker)],
        "labels = { env = \"test\" }\ngroups.deny = [\"^secret-\"]\n",
        "",
    ));
    let c = "cluster=\"main\",env=\"test\"";
    let m = wait_value(
        &w,
        &format!("kafka_consumergroup_group_sum_lag{{{c},group=\"app-b\"}}"),
        3.0,
    );
    let m = if m.contains_key(&format!(
        "kafka_consumergroup_group_sum_lag{{{c},group=\"app-a\"}}"
    )) {
        m
    } else {
        wait_value(
            &w,
            &format!("kafka_consumergroup_group_sum_lag{{{c},group=\"app-a\"}}"),
            29.0,
        )
    };

    let mut want: BTreeMap<String, f64> = BTreeMap::new();
    let mut put = |k: String, v: f64| {
        want.insert(k, v);
    };
    for (p, hw) in [(0, 10.0), (1, 20.0), (2, 30.0)] {
        put(
            format!("kafka_partition_latest_offset{{{c},topic=\"orders\",partition=\"{p}\"}}"),
            hw,
        );
        put(
            format!("kafka_partition_earliest_offset{{{c},topic=\"orders\",partition=\"{p}\"}}"),
            0.0,
        );
    }
    put(
        format!("kafka_partition_latest_offset{{{c},topic=\"audit.log\",partition=\"0\"}}"),
        5.0,
    );
    put(
        format!("kafka_partition_earliest_offset{{{c},topic=\"audit.log\",partition=\"0\"}}"),
        0.0,
    );
    let a = "group=\"app-a\",topic=\"orders\"";
    for (p, off, lag) in [(0, 4.0, 6.0), (1, 20.0, 0.0), (2, 7.0, 23.0)] {
        put(
            format!("kafka_consumergroup_group_offset{{{c},{a},partition=\"{p}\"}}"),
            off,
        );
        put(
            format!("kafka_consumergroup_group_lag{{{c},{a},partition=\"{p}\"}}"),
            lag,
        );
    }
    put(format!("kafka_consumergroup_group_offset{{{c},group=\"app-b\",topic=\"orders\",partition=\"0\"}}"), 10.0);
    put(
        format!(
            "kafka_consumergroup_group_lag{{{c},group=\"app-b\",topic=\"orders\",partition=\"0\"}}"
        ),
        0.0,
    );
    put(format!("kafka_consumergroup_group_offset{{{c},group=\"app-b\",topic=\"audit.log\",partition=\"0\"}}"), 2.0);
    put(format!("kafka_consumergroup_group_lag{{{c},group=\"app-b\",topic=\"audit.log\",partition=\"0\"}}"), 3.0);
    put(
        format!("kafka_consumergroup_group_topic_sum_lag{{{c},{a}}}"),
        29.0,
    );
    put(
        format!("kafka_consumergroup_group_topic_sum_lag{{{c},group=\"app-b\",topic=\"orders\"}}"),
        0.0,
    );
    put(
        format!(
            "kafka_consumergroup_group_topic_sum_lag{{{c},group=\"app-b\",topic=\"audit.log\"}}"
        ),
        3.0,
    );
    put(
        format!("kafka_consumergroup_group_sum_lag{{{c},group=\"app-a\"}}"),
        29.0,
    );
    put(
        format!("kafka_consumergroup_group_max_lag{{{c},group=\"app-a\"}}"),
        23.0,
    );
    put(
        format!("kafka_consumergroup_group_sum_lag{{{c},group=\"app-b\"}}"),
        3.0,
    );
    put(
        format!("kafka_consumergroup_group_max_lag{{{c},group=\"app-b\"}}"),
        3.0,
    );
    put(format!("warren_cluster_up{{{c}}}"), 1.0);
    // Group insight: the groups have commits and no members; nothing lost. Margin: the
    // smallest committed offset above the log start (0); ratio: the largest lag over the
    // retained log (app-a's partition 2: 23 of 30).
    for g in ["app-a", "app-b"] {
        put(
            format!("kafka_consumergroup_group_members{{{c},group=\"{g}\"}}"),
            0.0,
        );
        put(
            format!("kafka_consumergroup_group_rebalances_total{{{c},group=\"{g}\"}}"),
            0.0,
        );
        put(
            format!("kafka_consumergroup_group_sum_lost_messages{{{c},group=\"{g}\"}}"),
            0.0,
        );
    }
    for (g, t, margin, ratio) in [
        ("app-a", "orders", 4.0, 0.7667),
        ("app-b", "audit.log", 2.0, 0.6),
        ("app-b", "orders", 10.0, 0.0),
    ] {
        let gt = format!("{c},group=\"{g}\",topic=\"{t}\"");
        put(
            format!("kafka_consumergroup_group_topic_retention_margin{{{gt}}}"),
            margin,
        );
        put(
            format!("kafka_consumergroup_group_topic_lag_retention_ratio{{{gt}}}"),
            ratio,
        );
    }
    for (g, t, max) in [
        ("app-a", "orders", 23.0),
        ("app-b", "audit.log", 3.0),
        ("app-b", "orders", 0.0),
    ] {
        put(
            format!("kafka_consumergroup_group_topic_max_lag{{{c},group=\"{g}\",topic=\"{t}\"}}"),
            max,
        );
    }

    // Evaluator families, rates and topic configurations depend on poll timing, group states
    // and the coordinator's id on the broker; checked below.
    let evaluated = |k: &str| {
        k.contains("_status{")
            || k.contains("_complete{")
            || k.contains("_seconds{")
            || k.contains("_rate{")
            || k.contains("_velocity{")
            || k.contains("_falling_behind{")
            || k.starts_with("kafka_consumergroup_group_state{")
            || k.starts_with("kafka_consumergroup_group_info{")
            || k.starts_with("kafka_topic_compacted{")
    };
    let kafka: BTreeMap<String, f64> = m
        .iter()
        .filter(|(k, _)| k.starts_with("kafka_") || k.starts_with("warren_cluster_up"))
        .filter(|(k, _)| !evaluated(k))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(kafka, want, "every kafka_* series, exactly");
    assert!(
        !m.keys().any(|k| k.contains("secret-reports")),
        "denied group is absent"
    );
    // The topics' cleanup policies (read by a request of their own): neither is compacted.
    wait_for(
        Duration::from_secs(30),
        "the topics' cleanup policies",
        || {
            let m = w.metrics();
            ["orders", "audit.log"]
                .iter()
                .all(|t| {
                    m.get(&format!("kafka_topic_compacted{{{c},topic=\"{t}\"}}")) == Some(&0.0)
                })
                .then_some(())
        },
    );
    // Each group's description: no assignor (no members), some coordinator broker id.
    for group in ["app-a", "app-b"] {
        let info: Vec<&String> = m
            .keys()
            .filter(|k| {
                k.starts_with("kafka_consumergroup_group_info{")
                    && k.contains(&format!("group=\"{group}\",protocol=\"\",coordinator=\""))
                    && !k.contains("coordinator=\"\"")
            })
            .collect();
        assert_eq!(info.len(), 1, "{group}: {info:?}");
    }
    // Every group has all nine state series, exactly one of them 1: the broker lists both
    // groups (they have committed and have no members: Empty).
    for group in ["app-a", "app-b"] {
        let states: Vec<(&String, &f64)> = m
            .iter()
            .filter(|(k, _)| {
                k.starts_with("kafka_consumergroup_group_state{")
                    && k.contains(&format!("group=\"{group}\""))
            })
            .collect();
        assert_eq!(states.len(), 9, "{group}: {states:?}");
        let current: Vec<&String> = states
            .iter()
            .filter(|(_, v)| **v == 1.0)
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(
            current,
            [&format!(
                "kafka_consumergroup_group_state{{{c},group=\"{group}\",state=\"Empty\"}}"
            )],
            "{group}"
        );
    }
    for stage in [
        "connect",
        "metadata",
        "group_list",
        "group_offsets",
        "watermarks",
    ] {
        let k = format!("warren_poll_errors_total{{{c},stage=\"{stage}\"}}");
        assert_eq!(m.get(&k), Some(&0.0), "{k}");
    }
    assert!(m.contains_key(&format!("warren_poll_duration_seconds{{{c}}}")));
    let last = m[&format!("warren_last_poll_timestamp_seconds{{{c}}}")];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - last).abs() < 30.0, "last poll {last} vs now {now}");
    assert!(m
        .keys()
        .any(|k| k.starts_with("warren_build_info{version=\"")));

    // Both formats, negotiated; promtool finds nothing wrong with the text output.
    let text = w.get("/metrics", &[]);
    assert_eq!(text.status, 200);
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(!text.text().contains("# EOF"));
    let om = w.get(
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        )],
    );
    assert_eq!(
        om.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let om_text = om.text();
    assert!(om_text.ends_with("# EOF\n"));
    assert!(om_text.contains("# TYPE warren_poll_errors counter\n"));
    assert_eq!(
        parse_metrics(&om_text).get(&format!(
            "kafka_consumergroup_group_lag{{{c},{a},partition=\"2\"}}"
        )),
        Some(&23.0)
    );
    let gz = w.get("/metrics", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_string(&mut unzipped)
        .expect("gzip body");
    assert_eq!(
        parse_metrics(&unzipped).get(&format!(
            "kafka_consumergroup_group_sum_lag{{{c},group=\"app-a\"}}"
        )),
        Some(&29.0)
    );
    promtool_check(&text.text());

    // Burrow's rules on single-point windows: once a second has passed, a lagging partition
    // whose head never came down to its offset is STOP; a caught-up one is OK.
    let m = wait_value(
        &w,
        &format!("kafka_consumergroup_partition_status{{{c},{a},partition=\"0\"}}"),
        4.0,
    );
    assert_eq!(
        m.get(&format!(
            "kafka_consumergroup_partition_status{{{c},{a},partition=\"1\"}}"
        )),
        Some(&1.0)
    );
    assert_eq!(
        m.get(&format!(
            "kafka_consumergroup_group_status{{{c},group=\"app-a\"}}"
        )),
        Some(&3.0)
    );
    assert_eq!(
        m.get(&format!(
            "kafka_consumergroup_group_complete{{{c},group=\"app-a\"}}"
        )),
        Some(&0.0)
    );
}

fn promtool_check(exposition: &str) {
    use std::io::Write;
    let mut child = Command::new(tools::path(tools::promtool))
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool: {report}"
    );
}

#[test]
fn deleted_group_disappears_after_the_grace_period() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("retention");
    broker.create_topic("events", 2);
    broker.produce("events", &[3, 4]);
    broker.commit("short-lived", &[("events", 0, 1), ("events", 1, 4)]);
    broker.commit("stays", &[("events", 0, 3)]);
    // Retention counts from the last poll that saw the group, in whole seconds: it goes between
    // RETENTION - 2 s and RETENTION + a few polls after the deletion.
    const RETENTION: Duration = Duration::from_secs(8);
    let w = Warren::start(&config(
        &[("r", &broker)],
        "",
        &format!("retention = \"{}s\"", RETENTION.as_secs()),
    ));
    let series = "kafka_consumergroup_group_lag{cluster=\"r\",group=\"short-lived\",topic=\"events\",partition=\"0\"}";
    wait_value(&w, series, 2.0);

    broker.delete_group("short-lived");
    let deleted = Instant::now();
    // Watched until the series go: still there well into the grace period (3 polls of 1 s short
    // of it), and then gone with all the group's series.
    let mut last_seen = Duration::ZERO;
    wait_for(
        RETENTION + Duration::from_secs(30),
        "the deleted group's series to go",
        || {
            let m = w.metrics();
            if !m.keys().any(|k| k.contains("short-lived")) {
                return Some(());
            }
            assert_eq!(m.get(series), Some(&2.0), "kept as it was");
            last_seen = deleted.elapsed();
            None
        },
    );
    assert!(
        last_seen >= RETENTION - Duration::from_secs(3) - Duration::from_secs(2),
        "gone after {last_seen:?}, before the grace period of {RETENTION:?}"
    );
    let m = w.metrics();
    assert_eq!(
        m.get("kafka_consumergroup_group_offset{cluster=\"r\",group=\"stays\",topic=\"events\",partition=\"0\"}"),
        Some(&3.0)
    );
}

#[test]
fn broker_down_marks_cluster_down_and_recovers() {
    if !can_run() {
        return;
    }
    let mut broker = Broker::start("updown");
    broker.create_topic("t", 1);
    broker.produce("t", &[7]);
    broker.commit("g", &[("t", 0, 5)]);
    let w = Warren::start(&config(&[("flaky", &broker)], "", ""));
    let lag =
        "kafka_consumergroup_group_lag{cluster=\"flaky\",group=\"g\",topic=\"t\",partition=\"0\"}";
    wait_value(&w, lag, 2.0);
    wait_value(&w, "warren_cluster_up{cluster=\"flaky\"}", 1.0);

    broker.stop();
    let m = wait_value(&w, "warren_cluster_up{cluster=\"flaky\"}", 0.0);
    assert_eq!(
        m.get(lag),
        Some(&2.0),
        "the last good data is kept while down"
    );
    let errors: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("warren_poll_errors_total{cluster=\"flaky\""))
        .map(|(_, v)| v)
        .sum();
    assert!(errors >= 1.0, "errors counted: {errors}");

    broker.restart();
    wait_value(&w, "warren_cluster_up{cluster=\"flaky\"}", 1.0);
    let log = w.log();
    assert_eq!(
        log.matches("cluster is down").count(),
        1,
        "logged once per state change:\n{log}"
    );
}

#[test]
fn two_clusters_in_one_process() {
    if !can_run() {
        return;
    }
    let a = Broker::start("alpha");
    let b = Broker::start("beta");
    a.create_topic("orders", 1);
    b.create_topic("orders", 2);
    a.produce("orders", &[4]);
    b.produce("orders", &[6, 8]);
    a.commit("shared", &[("orders", 0, 1)]);
    b.commit("shared", &[("orders", 0, 6), ("orders", 1, 2)]);
    let w = Warren::start(&config(&[("alpha", &a), ("beta", &b)], "", ""));
    let m = wait_value(
        &w,
        "kafka_consumergroup_group_sum_lag{cluster=\"beta\",group=\"shared\"}",
        6.0,
    );
    let m = if m.get("kafka_consumergroup_group_sum_lag{cluster=\"alpha\",group=\"shared\"}")
        == Some(&3.0)
    {
        m
    } else {
        wait_value(
            &w,
            "kafka_consumergroup_group_sum_lag{cluster=\"alpha\",group=\"shared\"}",
            3.0,
        )
    };
    assert_eq!(
        m.get("kafka_partition_latest_offset{cluster=\"alpha\",topic=\"orders\",partition=\"0\"}"),
        Some(&4.0)
    );
    assert_eq!(
        m.get("kafka_partition_latest_offset{cluster=\"beta\",topic=\"orders\",partition=\"1\"}"),
        Some(&8.0)
    );
    assert_eq!(m.get("kafka_consumergroup_group_lag{cluster=\"beta\",group=\"shared\",topic=\"orders\",partition=\"1\"}"), Some(&6.0));
    assert_eq!(m.get("warren_cluster_up{cluster=\"alpha\"}"), Some(&1.0));
    assert_eq!(m.get("warren_cluster_up{cluster=\"beta\"}"), Some(&1.0));
}

#[test]
fn a_dead_cluster_does_not_stop_a_live_one() {
    if !can_run() {
        return;
    }
    let live = Broker::start("live");
    live.create_topic("t", 1);
    live.produce("t", &[3]);
    live.commit("g", &[("t", 0, 1)]);
    // A port no broker can take while the test runs: held by a listener that never answers.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_port = dead.local_addr().expect("address").port();
    let cfg = format!(
        "{}[[clusters]]\nname = \"dead\"\nbootstrap_servers = \"127.0.0.1:{dead_port}\"\npoll_interval = \"1s\"\nrequest_timeout = \"1s\"\n",
        config(&[("live", &live)], "", "")
    );
    let w = Warren::start(&cfg);
    let m = wait_value(
        &w,
        "kafka_consumergroup_group_lag{cluster=\"live\",group=\"g\",topic=\"t\",partition=\"0\"}",
        2.0,
    );
    assert_eq!(m.get("warren_cluster_up{cluster=\"dead\"}"), Some(&0.0));
    assert_eq!(m.get("warren_cluster_up{cluster=\"live\"}"), Some(&1.0));
    assert_eq!(w.get("/readyz", &[]).status, 200);
    assert_eq!(w.get("/healthz", &[]).status, 200);
}

/// Each group is asked for all its commits (where warren's index of librdkafka's OffsetFetch
/// parse is linked: Linux glibc builds; elsewhere requests list the topics a group is known to
/// commit to, and a new one is found at the next metadata refresh): a group that starts on
/// another watched topic is seen at the next poll, long before a metadata refresh, and its
/// commits on topics not watched are dropped.
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn a_group_starting_on_a_watched_topic_is_seen_at_the_next_poll() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("whole-group");
    broker.create_topic("a", 1);
    broker.create_topic("b", 2);
    broker.create_topic("hidden", 1);
    broker.produce("a", &[10]);
    broker.produce("b", &[10, 6]);
    broker.produce("hidden", &[10]);
    broker.commit("g", &[("a", 0, 3), ("hidden", 0, 1)]);
    // Metadata is read once (at start); polls every second.
    let w = Warren::start(&format!(
        "[[clusters]]\nname = \"n\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\n\
         metadata_refresh = \"1h\"\ngroups_refresh = \"1s\"\ntopics.deny = [\"^hidden$\"]\n",
        broker.bootstrap()
    ));
    let offset = |t: &str, p: i32| {
        format!(
            "kafka_consumergroup_group_offset{{cluster=\"n\",group=\"g\",topic=\"{t}\",partition=\"{p}\"}}"
        )
    };
    wait_value(&w, &offset("a", 0), 3.0);
    broker.commit("g", &[("a", 0, 7)]);
    wait_value_for(&w, &offset("a", 0), 7.0, Duration::from_secs(10));
    broker.commit("g", &[("b", 0, 4), ("b", 1, 6)]);
    let m = wait_value_for(&w, &offset("b", 1), 6.0, Duration::from_secs(10));
    let offsets: BTreeMap<&str, f64> = m
        .iter()
        .filter(|(k, _)| k.starts_with("kafka_consumergroup_group_offset{"))
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    let (a0, b0, b1) = (offset("a", 0), offset("b", 0), offset("b", 1));
    let want = BTreeMap::from([(a0.as_str(), 7.0), (b0.as_str(), 4.0), (b1.as_str(), 6.0)]);
    assert_eq!(offsets, want);
    let lag = m.get("kafka_consumergroup_group_sum_lag{cluster=\"n\",group=\"g\"}");
    assert_eq!(lag, Some(&(3.0 + 6.0)));
}

/// With `offset_requests = "partitions"` (the default where warren's index of librdkafka's
/// OffsetFetch parse is not linked), a known group is asked only about the topics it commits
/// to, at every poll, and a new topic of it is found at the next metadata refresh.
#[test]
fn listed_requests_follow_known_topics_and_find_new_ones_at_refresh() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("narrow");
    broker.create_topic("a", 1);
    broker.create_topic("b", 1);
    broker.produce("a", &[10]);
    broker.produce("b", &[10]);
    broker.commit("g", &[("a", 0, 3)]);
    // Metadata refreshes 20 s apart; polls every second.
    let w = Warren::start(&format!(
        "[[clusters]]\nname = \"n\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\n\
         metadata_refresh = \"20s\"\ngroups_refresh = \"1s\"\noffset_requests = \"partitions\"\n",
        broker.bootstrap()
    ));
    let a =
        "kafka_consumergroup_group_offset{cluster=\"n\",group=\"g\",topic=\"a\",partition=\"0\"}";
    let b =
        "kafka_consumergroup_group_offset{cluster=\"n\",group=\"g\",topic=\"b\",partition=\"0\"}";
    let m = wait_value(&w, a, 3.0);
    let started = Instant::now();
    assert_eq!(m.get(b), None);
    // A known topic is followed at every poll: seen within 10 polls, half the refresh period...
    broker.commit("g", &[("a", 0, 7)]);
    wait_value_for(&w, a, 7.0, Duration::from_secs(10));
    // ...and a new one is found by the next full scan (at the metadata refresh), not before.
    broker.commit("g", &[("b", 0, 4)]);
    let m = wait_value_for(&w, b, 4.0, Duration::from_secs(60));
    assert_eq!(m.get(a), Some(&7.0));
    assert!(
        started.elapsed() >= Duration::from_secs(12),
        "b seen {:?} after a: before the metadata refresh",
        started.elapsed()
    );
}
