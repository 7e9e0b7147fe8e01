//! Failure 4: with `retention` shorter than `metadata_refresh`, every partition and
//! group-offset series vanished between metadata refreshes (a topic's last-seen time moved only
//! at a refresh), with `warren_cluster_up 1`, and the Burrow consumer list dropped the groups.

use crate::common::{wait_for, Broker, Warren};
use crate::tools;
use std::time::Duration;

#[test]
fn series_outlive_a_retention_shorter_than_the_metadata_refresh() {
    if !tools::suite("reliability-retention", &[tools::broker]) {
        return;
    }
    let broker = Broker::start("retention");
    broker.create_topic("orders", 2);
    broker.produce("orders", &[10, 20]);
    broker.commit("billing", &[("orders", 0, 4), ("orders", 1, 20)]);
    let retention_secs = 3.0;
    let w = Warren::start(&format!(
        "retention = \"3s\"\n[[clusters]]\nname = \"main\"\nbootstrap_servers = \"{}\"\n\
         poll_interval = \"1s\"\nrequest_timeout = \"2s\"\nmetadata_refresh = \"10m\"\n\
         groups_refresh = \"10m\"\n",
        broker.bootstrap()
    ));
    let c = "cluster=\"main\"";
    let expected = [
        (format!("kafka_partition_latest_offset{{{c},topic=\"orders\",partition=\"1\"}}"), 20.0),
        (
            format!("kafka_consumergroup_group_offset{{{c},group=\"billing\",topic=\"orders\",partition=\"0\"}}"),
            4.0,
        ),
        (format!("kafka_consumergroup_group_lag{{{c},group=\"billing\",topic=\"orders\",partition=\"0\"}}"), 6.0),
        (format!("kafka_consumergroup_group_sum_lag{{{c},group=\"billing\"}}"), 6.0),
        (format!("warren_cluster_up{{{c}}}"), 1.0),
    ];
    let last_poll = format!("warren_last_poll_timestamp_seconds{{{c}}}");
    let first = wait_for(Duration::from_secs(30), "the first poll's series", || {
        let m = w.metrics();
        expected
            .iter()
            .all(|(k, v)| m.get(k) == Some(v))
            .then(|| m[&last_poll])
    });
    // Watch the polls of three retention periods (the old code lost the series one retention
    // after the only metadata refresh): every scrape has every series, the consumer list the
    // group.
    let mut scrapes = 0;
    wait_for(
        Duration::from_secs(60),
        "three retention periods of polls",
        || {
            let m = w.metrics();
            for (k, v) in &expected {
                assert_eq!(
                    m.get(k),
                    Some(v),
                    "{k} after {scrapes} scrapes\n{}",
                    w.log()
                );
            }
            let consumers = w.get("/v3/kafka/main/consumer", &[]).text();
            assert!(
                consumers.contains("\"billing\""),
                "consumer list: {consumers}"
            );
            scrapes += 1;
            (m[&last_poll] >= first + 3.0 * retention_secs).then_some(())
        },
    );
}
