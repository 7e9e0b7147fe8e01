//! `time_lag = "record"` on the real test broker: lag in seconds from the timestamp of the
//! record at the committed offset, against records produced with known timestamps, next to a
//! cluster of the same broker that interpolates.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::{fast_cluster, rdk_main_threads, wait_for, workload, Broker, Warren};
use crate::tools;

/// Now, in whole seconds since the Unix epoch.
fn unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn series(cluster: &str, group: &str, rest: &str) -> String {
    format!("{{cluster=\"{cluster}\",group=\"{group}\"{rest}}}")
}

fn lag_seconds(cluster: &str, group: &str, topic: &str, partition: i32) -> String {
    let rest = format!(",topic=\"{topic}\",partition=\"{partition}\"");
    format!(
        "kafka_consumergroup_group_lag_seconds{}",
        series(cluster, group, &rest)
    )
}

fn methods(cluster: &str, group: &str, method: &str) -> String {
    let rest = format!(",method=\"{method}\"");
    format!(
        "warren_lag_seconds_partitions{}",
        series(cluster, group, &rest)
    )
}

/// Clusters `rec` (record mode) and `int` (interpolating) on `broker`.
fn both_methods(broker: &Broker) -> String {
    let b = broker.bootstrap();
    fast_cluster("rec", &b, &["time_lag = \"record\""]) + &fast_cluster("int", &b, &[])
}

/// The time of `cluster`'s last poll as warren saw it: a whole second between the start of
/// its last poll and one second after its end (the watermark reads' midpoint, rounded).
fn poll_times(m: &BTreeMap<String, f64>, cluster: &str) -> std::ops::RangeInclusive<i64> {
    let end = m[&format!("warren_last_poll_timestamp_seconds{{cluster=\"{cluster}\"}}")];
    let took = m[&format!("warren_poll_duration_seconds{{cluster=\"{cluster}\"}}")];
    (end - took).floor() as i64..=end.ceil() as i64 + 1
}

#[test]
fn record_mode_reads_the_timestamp_at_the_committed_offset() {
    if !tools::suite("record_lag", &[tools::broker]) {
        return;
    }
    let broker = Broker::start("record-lag");
    // Whole seconds, so a lag read at a whole-second poll time is a whole number.
    let start = unix_secs();
    let ago = |s: i64| (start - s) * 1000;
    broker.create_topic("stamped", 3);
    broker.produce_at("stamped", 0, &[ago(3600), ago(1800), ago(600)]);
    broker.produce_at("stamped", 1, &[ago(100)]);
    broker.produce_at("stamped", 2, &[ago(7200), ago(60)]);
    broker.commit(
        "reader",
        &[("stamped", 0, 1), ("stamped", 1, 1), ("stamped", 2, 0)],
    );
    // A second group on the same partition at another offset: both records come from one
    // pass over the partition, each group's from its own offset.
    broker.commit("second", &[("stamped", 0, 0)]);
    // The record at the committed offset is deleted: the next one answers, flagged.
    broker.create_topic("trimmed", 1);
    broker.produce_at("trimmed", 0, &[ago(5000), ago(4000), ago(300)]);
    broker.commit("lost", &[("trimmed", 0, 0)]);
    broker.delete_records("trimmed", 0, 2);
    // The broker stamps records of a LogAppendTime topic itself: the producer's time is not
    // what the record carries.
    broker.create_topic_with(
        "appended",
        1,
        &[("message.timestamp.type", "LogAppendTime")],
    );
    broker.produce_at("appended", 0, &[ago(9999), ago(9999)]);
    broker.commit("appender", &[("appended", 0, 0)]);

    let w = Warren::start(&both_methods(&broker));
    let want_methods = [
        (methods("rec", "reader", "record"), 2.0),
        (methods("rec", "reader", "caught_up"), 1.0),
        (methods("rec", "lost", "next_record"), 1.0),
        (methods("rec", "appender", "record"), 1.0),
        (methods("rec", "second", "record"), 1.0),
    ];
    let m: BTreeMap<String, f64> = wait_for(
        Duration::from_secs(60),
        "record times for every lagging partition",
        || {
            let m = w.metrics();
            want_methods
                .iter()
                .all(|(k, v)| m.get(k) == Some(v))
                .then_some(m)
        },
    );
    // Each value is the poll time (a whole second, see `poll_times`) minus the record's
    // timestamp: exact to the second.
    let exact = |m: &BTreeMap<String, f64>, key: &str, age: i64| {
        let v = m[key];
        assert_eq!(v.fract(), 0.0, "{key} = {v}: not a whole second");
        let polled = v as i64 - age + start;
        let when = poll_times(m, "rec");
        assert!(
            when.contains(&polled),
            "{key} = {v}: the poll would be at {polled}, not within {when:?}"
        );
    };
    exact(&m, &lag_seconds("rec", "reader", "stamped", 0), 1800);
    exact(&m, &lag_seconds("rec", "reader", "stamped", 2), 7200);
    exact(&m, &lag_seconds("rec", "lost", "trimmed", 0), 300);
    exact(&m, &lag_seconds("rec", "second", "stamped", 0), 3600);
    assert_eq!(m[&lag_seconds("rec", "reader", "stamped", 1)], 0.0);
    // Appended after `start`: at most the time until the poll, far from 9999 s.
    let appended = m[&lag_seconds("rec", "appender", "appended", 0)];
    let until_poll = (*poll_times(&m, "rec").end() - start) as f64;
    assert!(
        (0.0..=until_poll).contains(&appended),
        "LogAppendTime record read as {appended} s old"
    );
    assert_eq!(m[&methods("rec", "reader", "interpolated")], 0.0);
    // The interpolating cluster of the same broker never reads a record: its history began
    // after every record was written, so its answers are lower bounds (or unknown).
    for method in ["record", "next_record"] {
        assert_eq!(m[&methods("int", "reader", method)], 0.0, "{m:?}");
    }
    let lower =
        m[&methods("int", "reader", "lower_bound")] + m[&methods("int", "reader", "unknown")];
    assert_eq!(lower, 2.0, "{m:?}");
    let errors = "warren_poll_errors_total{cluster=\"rec\",stage=\"record_reads\"}";
    assert_eq!(m.get(errors), Some(&0.0));

    // Every lagging offset's record is read: after three polls with nothing to read the
    // reader is closed, leaving the two admin clients (one librdkafka `rdk:main` thread each).
    wait_for(
        Duration::from_secs(30),
        "the idle record reader closed",
        || (rdk_main_threads(w.pid()) == 2).then_some(()),
    );

    // The group moves on partition 0 (already read once): the next record is read, at once,
    // by a new reader.
    broker.commit("reader", &[("stamped", 0, 2)]);
    let key = lag_seconds("rec", "reader", "stamped", 0);
    let m = wait_for(Duration::from_secs(30), "the new offset's record", || {
        let m = w.metrics();
        let v = *m.get(&key)?;
        let record = m.get(&methods("rec", "reader", "record")) == Some(&2.0);
        (record && v < 1800.0).then_some(m)
    });
    exact(&m, &key, 600);
}

/// On a steady producer the two methods answer alike: the head history interpolates when the
/// record at the committed offset was written, the record says it. Within 5%.
#[test]
fn record_and_interpolation_agree_on_a_steady_producer() {
    if !tools::suite("record_lag", &[tools::broker]) {
        return;
    }
    let broker = Broker::start("record-agree");
    broker.create_topic(workload::TOPIC, 1);
    // warren first, so its head history covers every record produced.
    let w = Warren::start(&both_methods(&broker));
    let stop = Arc::new(AtomicBool::new(false));
    let _producer = workload::Threads::new(
        stop.clone(),
        vec![workload::paced_producer(broker.bootstrap(), 40.0, stop)],
    );
    let latest = "kafka_partition_latest_offset{cluster=\"int\",topic=\"steady\",partition=\"0\"}";
    let head = wait_for(Duration::from_secs(30), "3 s of production", || {
        w.metrics().get(latest).copied().filter(|&h| h >= 120.0)
    });
    // A record written about a second before the head read: inside the history.
    broker.commit("frozen", &[(workload::TOPIC, 0, head as i64 - 40)]);
    let (rec, int) = (
        lag_seconds("rec", "frozen", workload::TOPIC, 0),
        lag_seconds("int", "frozen", workload::TOPIC, 0),
    );
    let methods_known = [
        methods("rec", "frozen", "record"),
        methods("int", "frozen", "interpolated"),
    ];
    let (r, i) = wait_for(Duration::from_secs(90), "a lag of 40 s", || {
        let m = w.metrics();
        let known = methods_known.iter().all(|k| m.get(k) == Some(&1.0));
        let (r, i) = (*m.get(&rec)?, *m.get(&int)?);
        (known && r >= 40.0).then_some((r, i))
    });
    eprintln!("steady producer: record {r} s, interpolation {i} s");
    assert!(
        (r - i).abs() <= 0.05 * r,
        "record says {r} s, interpolation {i} s: more than 5% apart"
    );
}
