//! `clusters[].granularity` on the real test broker: one warren watches the same broker as
//! three clusters, exposed per partition, per topic and per group; the same group's series
//! are compared across the three.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::{fast_cluster, wait_for, Broker, Warren};
use crate::tools;

/// The series of cluster `cluster`, with the cluster label taken out so clusters compare.
fn of_cluster(all: &BTreeMap<String, f64>, cluster: &str) -> BTreeMap<String, f64> {
    let label = format!("cluster=\"{cluster}\"");
    all.iter()
        .filter(|(k, _)| k.starts_with("kafka_") && k.contains(&label))
        .map(|(k, v)| (k.replace(&label, "cluster=\"*\""), *v))
        .collect()
}

#[test]
fn topic_and_group_granularity_leave_out_exactly_the_finer_series() {
    if !tools::suite("granularity", &[tools::broker]) {
        return;
    }
    let broker = Broker::start("granularity");
    broker.create_topic("orders", 3);
    broker.produce("orders", &[5, 3, 2]);
    broker.commit(
        "billing",
        &[("orders", 0, 4), ("orders", 1, 3), ("orders", 2, 0)],
    );
    // One message deleted under the commit on partition 2: lost, counted in every mode.
    broker.delete_records("orders", 2, 1);
    let cluster = |name: &str, granularity: &str| {
        let line = format!("granularity = \"{granularity}\"");
        fast_cluster(name, &broker.bootstrap(), &[&line])
    };
    let w = Warren::start(&format!(
        "{}{}{}",
        cluster("p", "partition"),
        cluster("t", "topic"),
        cluster("g", "group")
    ));
    let per_partition = |k: &String| k.contains(",partition=\"");
    let per_group_topic = |k: &String| k.contains(",group=\"") && k.contains(",topic=\"");
    let g = "cluster=\"*\",group=\"billing\"";
    let lag_series = |lines: &BTreeMap<String, f64>| {
        lines
            .iter()
            .filter(|(k, _)| k.starts_with("kafka_consumergroup_group_") && k.contains("lag{"))
            .map(|(k, v)| (k.clone(), *v))
            .collect::<BTreeMap<_, _>>()
    };
    // The three clusters poll on their own: wait until one scrape shows all three agreeing.
    let (p, t, gr) = wait_for(
        Duration::from_secs(60),
        "the three clusters to agree",
        || {
            let all = w.metrics();
            let (p, t, gr) = (
                of_cluster(&all, "p"),
                of_cluster(&all, "t"),
                of_cluster(&all, "g"),
            );
            let topic: BTreeMap<_, _> = p
                .iter()
                .filter(|(k, _)| !per_partition(k))
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            let group: BTreeMap<_, _> = topic
                .iter()
                .filter(|(k, _)| !per_group_topic(k))
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            let lags_known =
                p.get(&format!("kafka_consumergroup_group_sum_lag{{{g}}}")) == Some(&3.0);
            (lags_known && t == topic && gr == group).then_some((p, t, gr))
        },
    );
    let topic = format!("{g},topic=\"orders\"");
    let partition = |n: i32| format!("{topic},partition=\"{n}\"");
    let want_p: BTreeMap<String, f64> = [
        (
            format!("kafka_consumergroup_group_lag{{{}}}", partition(0)),
            1.0,
        ),
        (
            format!("kafka_consumergroup_group_lag{{{}}}", partition(1)),
            0.0,
        ),
        (
            format!("kafka_consumergroup_group_lag{{{}}}", partition(2)),
            2.0,
        ),
        (format!("kafka_consumergroup_group_max_lag{{{g}}}"), 2.0),
        (format!("kafka_consumergroup_group_sum_lag{{{g}}}"), 3.0),
        (
            format!("kafka_consumergroup_group_topic_max_lag{{{topic}}}"),
            2.0,
        ),
        (
            format!("kafka_consumergroup_group_topic_sum_lag{{{topic}}}"),
            3.0,
        ),
    ]
    .into();
    assert_eq!(lag_series(&p), want_p);
    let want_t: BTreeMap<String, f64> = want_p
        .iter()
        .filter(|(k, _)| !per_partition(k))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(lag_series(&t), want_t);
    assert_eq!(lag_series(&gr).len(), 2, "{gr:?}");
    let lost = format!("kafka_consumergroup_group_sum_lost_messages{{{g}}}");
    for mode in [&p, &t, &gr] {
        assert_eq!(mode.get(&lost), Some(&1.0), "{mode:?}");
    }
    let lost_line = format!(
        "kafka_consumergroup_group_lost_messages{{{}}}",
        partition(2)
    );
    assert_eq!(p.get(&lost_line), Some(&1.0));
    assert!(t.keys().all(|k| !per_partition(k)), "{t:?}");
    assert!(
        gr.keys().all(|k| !per_partition(k) && !per_group_topic(k)),
        "{gr:?}"
    );
    // Per partition there is more than lag: offsets, statuses, watermarks.
    let partition_lines = p.keys().filter(|k| per_partition(k)).count();
    assert!(partition_lines >= 3 * 5, "{partition_lines} lines: {p:?}");
}
