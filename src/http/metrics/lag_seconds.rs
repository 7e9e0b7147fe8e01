//! Lag in seconds: per group-partition, the largest per group-topic and per group, and how each partition's value
//! was obtained (`warren_lag_seconds_partitions`).

use std::sync::Arc;

use super::exposition::{gauge, seconds, Family, LinePrefix, Writer};
use crate::evaluate::LagMethod;
use crate::snapshot::ClusterSnapshot;

const GROUP_LAG_SECONDS: Family = seconds(
    "kafka_consumergroup_group_lag_seconds",
    "How long ago the next message a consumer group reads on a partition was produced, estimated from the head history (see warren_lag_seconds_partitions).",
);
const GROUP_MAX_LAG_SECONDS: Family = seconds(
    "kafka_consumergroup_group_max_lag_seconds",
    "Largest lag in seconds of a consumer group over its partitions.",
);
const GROUP_TOPIC_MAX_LAG_SECONDS: Family = seconds(
    "kafka_consumergroup_group_topic_max_lag_seconds",
    "Largest lag in seconds of a consumer group over the partitions of a topic.",
);
const LAG_SECONDS_METHODS: Family = gauge(
    "warren_lag_seconds_partitions",
    "Partitions of a consumer group by how their lag in seconds was obtained: caught_up (0), interpolated, lower_bound (behind the whole history, or beyond ~77 days), unknown (no series), record (the timestamp of the record at the committed offset), next_record (that record was gone: the next one's).",
);

pub(super) fn write(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>], prefix: &mut LinePrefix) {
    w.header(&GROUP_LAG_SECONDS);
    for c in clusters.iter().filter(|c| c.granularity.partitions()) {
        for g in &c.groups {
            prefix.reset();
            for (t, p, verdict) in g.verdicts() {
                let Some(tenths) = verdict.lag_tenths() else {
                    continue;
                };
                let Some(line) = prefix.get(&GROUP_LAG_SECONDS, c, g, t) else {
                    continue;
                };
                w.prefixed(line, p);
                w.tenths_value(tenths);
            }
        }
    }
    w.header(&GROUP_TOPIC_MAX_LAG_SECONDS);
    for c in clusters.iter().filter(|c| c.granularity.topics()) {
        for g in &c.groups {
            for (t, verdicts) in g.topic_verdicts() {
                let max = verdicts.iter().filter_map(|v| v.lag_tenths()).max();
                let (Some(topic), Some(tenths)) = (c.topic(t), max) else {
                    continue;
                };
                w.group(&GROUP_TOPIC_MAX_LAG_SECONDS, c, g);
                w.label(b",topic=\"", &topic.name.escaped);
                w.tenths(tenths);
            }
        }
    }
    w.header(&GROUP_MAX_LAG_SECONDS);
    for c in clusters {
        for g in &c.groups {
            if let Some(s) = g.status.max_lag_seconds {
                w.group(&GROUP_MAX_LAG_SECONDS, c, g);
                w.float(s);
            }
        }
    }
    w.header(&LAG_SECONDS_METHODS);
    for c in clusters {
        for g in &c.groups {
            // Every method, 0 included: partitions move between methods from poll to poll
            // (record reads within a budget), and the series must not come and go with them.
            for (method, n) in LagMethod::ALL.iter().zip(g.status.lag_methods) {
                w.group(&LAG_SECONDS_METHODS, c, g);
                w.label(b",method=\"", method.as_str());
                w.int(n as i64);
            }
        }
    }
}
