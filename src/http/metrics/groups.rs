//! Consumer-group families: committed offset and lag per group-partition, lag sums per
//! group-topic and group, the largest lag, and Burrow's statuses.

use std::sync::Arc;

use super::exposition::{gauge, Family, LinePrefix, Writer};
use crate::model::GroupState;
use crate::snapshot::{ClusterSnapshot, GroupSnapshot};

const GROUP_OFFSET: Family = gauge(
    "kafka_consumergroup_group_offset",
    "Last committed offset of a consumer group on a partition.",
);
const GROUP_LAG: Family = gauge(
    "kafka_consumergroup_group_lag",
    "Messages a consumer group is behind on a partition: latest offset minus committed offset, never negative.",
);
const GROUP_TOPIC_SUM_LAG: Family = gauge(
    "kafka_consumergroup_group_topic_sum_lag",
    "Sum of a consumer group's lag over the partitions of a topic.",
);
const GROUP_SUM_LAG: Family = gauge(
    "kafka_consumergroup_group_sum_lag",
    "Sum of a consumer group's lag over all its partitions.",
);
const GROUP_MAX_LAG: Family = gauge(
    "kafka_consumergroup_group_max_lag",
    "Largest lag of a consumer group over all its partitions.",
);
const GROUP_STATUS: Family = gauge(
    "kafka_consumergroup_group_status",
    "Burrow status of a consumer group: 0 NOTFOUND, 1 OK, 2 WARN, 3 ERR.",
);
const GROUP_COMPLETE: Family = gauge(
    "kafka_consumergroup_group_complete",
    "Share of a consumer group's partitions whose evaluation window is full (0 to 1).",
);
const GROUP_STATE: Family = gauge(
    "kafka_consumergroup_group_state",
    "Kafka state of a consumer group, one series per state: 1 for the current state, 0 for the others (Unknown while the group list cannot be read).",
);
const PARTITION_STATUS: Family = gauge(
    "kafka_consumergroup_partition_status",
    "Burrow status of a consumer group on a partition: 1 OK, 2 WARN, 4 STOP, 5 STALL, 6 REWIND.",
);

pub(super) fn write(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>], prefix: &mut LinePrefix) {
    offsets_and_lags(w, clusters, prefix);
    topic_sums(w, clusters);
    sum_and_max(w, clusters);
    statuses(w, clusters, prefix);
    states(w, clusters);
}

/// Every state of every group, 1 for the current one: the set of series stays the same when a
/// group rebalances, so nothing flaps, and an alert compares one series with 1.
fn states(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>]) {
    w.header(&GROUP_STATE);
    for c in clusters {
        for g in &c.groups {
            for state in GroupState::ALL {
                w.group(&GROUP_STATE, c, g);
                w.label(b",state=\"", state.as_str());
                w.int((g.state == state) as i64);
            }
        }
    }
}

/// One line per group-partition: the committed offset, then (where the head is known) the lag.
fn offsets_and_lags(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>], prefix: &mut LinePrefix) {
    for (fam, is_lag) in [(&GROUP_OFFSET, false), (&GROUP_LAG, true)] {
        w.header(fam);
        for c in clusters {
            for g in &c.groups {
                prefix.reset();
                for (t, p, off) in g.partitions() {
                    let v = if is_lag {
                        match c.lag(t, p, off) {
                            Some(l) => l as i64,
                            None => continue,
                        }
                    } else {
                        off
                    };
                    let Some(line) = prefix.get(fam, c, g, t) else {
                        continue;
                    };
                    w.prefixed(line, p);
                    w.int_value(v);
                }
            }
        }
    }
}

/// Per group-topic lag sums, in the group's run order: `(topic, sum)` for topics with at least
/// one known lag.
fn each_topic_sum(c: &ClusterSnapshot, g: &GroupSnapshot, mut f: impl FnMut(u32, u64)) {
    let mut current: Option<(u32, Option<u64>)> = None;
    for (t, p, off) in g.partitions() {
        let l = c.lag(t, p, off);
        match &mut current {
            Some((topic, sum)) if *topic == t => {
                if let Some(l) = l {
                    *sum = Some(sum.unwrap_or(0).saturating_add(l));
                }
            }
            _ => {
                if let Some((topic, Some(sum))) = current {
                    f(topic, sum);
                }
                current = Some((t, l));
            }
        }
    }
    if let Some((topic, Some(sum))) = current {
        f(topic, sum);
    }
}

fn topic_sums(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>]) {
    w.header(&GROUP_TOPIC_SUM_LAG);
    for c in clusters {
        for g in &c.groups {
            each_topic_sum(c, g, |t, sum| {
                let Some(topic) = c.topic(t) else { return };
                w.group(&GROUP_TOPIC_SUM_LAG, c, g);
                w.label(b",topic=\"", &topic.name.escaped);
                w.uint(sum);
            });
        }
    }
}

fn sum_and_max(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>]) {
    for (fam, is_max) in [(&GROUP_SUM_LAG, false), (&GROUP_MAX_LAG, true)] {
        w.header(fam);
        for c in clusters {
            for g in &c.groups {
                let lags = g.partitions().filter_map(|(t, p, o)| c.lag(t, p, o));
                let v = if is_max {
                    lags.max()
                } else {
                    lags.reduce(|a, b| a.saturating_add(b))
                };
                if let Some(v) = v {
                    w.group(fam, c, g);
                    w.uint(v);
                }
            }
        }
    }
}

fn statuses(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>], prefix: &mut LinePrefix) {
    for (fam, complete) in [(&GROUP_STATUS, false), (&GROUP_COMPLETE, true)] {
        w.header(fam);
        for c in clusters {
            for g in &c.groups {
                w.group(fam, c, g);
                if complete {
                    w.float(g.status.eval.complete as f64);
                } else {
                    w.int(g.status.eval.status.code() as i64);
                }
            }
        }
    }
    w.header(&PARTITION_STATUS);
    for c in clusters {
        for g in &c.groups {
            prefix.reset();
            for (t, p, verdict) in g.verdicts() {
                let Some(line) = prefix.get(&PARTITION_STATUS, c, g, t) else {
                    continue;
                };
                w.prefixed(line, p);
                w.int_value(verdict.status().code() as i64);
            }
        }
    }
}
