//! Consumer-group families: committed offset and lag per group-partition, lag sums per
//! group-topic and group, the largest lag, and Burrow's statuses.

use std::sync::Arc;

use super::exposition::{gauge, Family, LinePrefix, Writer};
use super::retention::Tally;
use crate::evaluate::Status;
use crate::model::GroupState;
use crate::snapshot::{ClusterSnapshot, GroupSnapshot, TopicSnapshot};

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
const GROUP_TOPIC_MAX_LAG: Family = gauge(
    "kafka_consumergroup_group_topic_max_lag",
    "Largest lag of a consumer group over the partitions of a topic.",
);
const GROUP_TOPIC_STATUS: Family = gauge(
    "kafka_consumergroup_group_topic_status",
    "Burrow status of a consumer group on a topic, its partitions' folded as Burrow folds a group's: 1 OK, 2 WARN, 3 ERR.",
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

/// Writes the consumer-group families; hands back what the loss families need, gathered in
/// the same pass as the lags.
pub(super) fn write(
    w: &mut Writer,
    clusters: &[Arc<ClusterSnapshot>],
    prefix: &mut LinePrefix,
) -> Tally {
    offsets(w, clusters, prefix);
    let mut tally = Tally::default();
    let totals = lags(w, clusters, prefix, &mut tally);
    topic_sums_and_maxima(w, clusters, &totals);
    sum_and_max(w, clusters, &totals);
    statuses(w, clusters, prefix);
    topic_statuses(w, clusters);
    states(w, clusters);
    tally
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

/// One line per group-partition: the committed offset.
fn offsets(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>], prefix: &mut LinePrefix) {
    w.header(&GROUP_OFFSET);
    for c in clusters.iter().filter(|c| c.granularity.partitions()) {
        for g in &c.groups {
            prefix.reset();
            for (t, p, off) in g.partitions() {
                if let Some(line) = prefix.get(&GROUP_OFFSET, c, g, t) {
                    w.prefixed(line, p);
                    w.int_value(off);
                }
            }
        }
    }
}

/// The lag sums and maxima of every group, gathered while its lag lines are written: each
/// lag is looked up once per render, not once per family that adds it up.
#[derive(Default)]
struct LagTotals {
    /// Per group-topic in each group's run order (consecutive runs of a topic added up), for
    /// topics with at least one known lag.
    topic_sums: Vec<TopicLag>,
    /// Where each group's topic sums end in `topic_sums`.
    topic_ends: Vec<usize>,
    /// Per group: the sum and the largest of its known lags.
    sum_max: Vec<Option<(u64, u64)>>,
}

impl LagTotals {
    /// Each group with its topic sums and its sum and maximum, in snapshot order.
    fn groups<'a>(
        &'a self,
        clusters: &'a [Arc<ClusterSnapshot>],
    ) -> impl Iterator<Item = (&'a ClusterSnapshot, &'a GroupSnapshot, GroupLag<'a>)> {
        let starts = std::iter::once(0).chain(self.topic_ends.iter().copied());
        let all = clusters
            .iter()
            .flat_map(|c| c.groups.iter().map(move |g| (&**c, g)));
        all.zip(starts.zip(&self.topic_ends).zip(&self.sum_max))
            .map(|((c, g), ((start, &end), &sum_max))| {
                let topic_sums = &self.topic_sums[start..end];
                (
                    c,
                    g,
                    GroupLag {
                        topic_sums,
                        sum_max,
                    },
                )
            })
    }
}

struct GroupLag<'a> {
    topic_sums: &'a [TopicLag],
    sum_max: Option<(u64, u64)>,
}

/// A group's known lags on one topic: their sum and the largest.
#[derive(Clone, Copy)]
struct TopicLag {
    topic: u32,
    sum: u64,
    max: u64,
}

impl TopicLag {
    fn add(this: &mut Option<TopicLag>, topic: u32, lag: u64) {
        *this = Some(match *this {
            Some(t) => TopicLag {
                topic,
                sum: t.sum.saturating_add(lag),
                max: t.max.max(lag),
            },
            None => TopicLag {
                topic,
                sum: lag,
                max: lag,
            },
        });
    }
}

/// One line per group-partition whose latest offset is known: the lag. Each group-partition's
/// watermarks are read here once per render, for its lag, its group's sums and maxima, and the
/// loss families' `tally`.
fn lags(
    w: &mut Writer,
    clusters: &[Arc<ClusterSnapshot>],
    prefix: &mut LinePrefix,
    tally: &mut Tally,
) -> LagTotals {
    let mut totals = LagTotals::default();
    w.header(&GROUP_LAG);
    for c in clusters {
        let lines = c.granularity.partitions();
        for g in &c.groups {
            prefix.reset();
            // The topic being added up, and its lags so far (none known yet: `None`).
            let mut topic: Option<(u32, Option<TopicLag>)> = None;
            let mut sum_max: Option<(u64, u64)> = None;
            let mut snapshot: Option<&TopicSnapshot> = None;
            for (t, p, off) in g.partitions() {
                if topic.is_none_or(|(current, _)| current != t) {
                    if let Some((_, Some(done))) = topic {
                        totals.topic_sums.push(done);
                    }
                    topic = Some((t, None));
                    snapshot = c.topic(t);
                }
                let Some((ts, wm)) = snapshot.and_then(|ts| {
                    let wm = ts.watermarks.get(usize::try_from(p).ok()?)?;
                    Some((ts, wm))
                }) else {
                    continue;
                };
                tally.add(t, ts, p, wm, off);
                let Some(l) = wm.lag(off) else { continue };
                if let Some((_, lags)) = &mut topic {
                    TopicLag::add(lags, t, l);
                }
                sum_max = Some(match sum_max {
                    Some((sum, max)) => (sum.saturating_add(l), max.max(l)),
                    None => (l, l),
                });
                if !lines {
                    continue;
                }
                if let Some(line) = prefix.get(&GROUP_LAG, c, g, t) {
                    w.prefixed(line, p);
                    w.int_value(l as i64);
                }
            }
            if let Some((_, Some(done))) = topic {
                totals.topic_sums.push(done);
            }
            totals.topic_ends.push(totals.topic_sums.len());
            totals.sum_max.push(sum_max);
            tally.end_group();
        }
    }
    totals
}

fn topic_sums_and_maxima(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>], totals: &LagTotals) {
    for (fam, is_max) in [(&GROUP_TOPIC_SUM_LAG, false), (&GROUP_TOPIC_MAX_LAG, true)] {
        w.header(fam);
        for (c, g, lag) in totals.groups(clusters) {
            if !c.granularity.topics() {
                continue;
            }
            for t in lag.topic_sums {
                let Some(topic) = c.topic(t.topic) else {
                    continue;
                };
                w.group(fam, c, g);
                w.label(b",topic=\"", &topic.name.escaped);
                w.uint(if is_max { t.max } else { t.sum });
            }
        }
    }
}

fn sum_and_max(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>], totals: &LagTotals) {
    for (fam, is_max) in [(&GROUP_SUM_LAG, false), (&GROUP_MAX_LAG, true)] {
        w.header(fam);
        for (c, g, lag) in totals.groups(clusters) {
            if let Some((sum, max)) = lag.sum_max {
                w.group(fam, c, g);
                w.uint(if is_max { max } else { sum });
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
    for c in clusters.iter().filter(|c| c.granularity.partitions()) {
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

/// Per group-topic, the worst of its partitions' statuses as they count for a group.
fn topic_statuses(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>]) {
    w.header(&GROUP_TOPIC_STATUS);
    for c in clusters.iter().filter(|c| c.granularity.topics()) {
        for g in &c.groups {
            for (t, verdicts) in g.topic_verdicts() {
                let Some(topic) = c.topic(t) else { continue };
                let worst = verdicts
                    .iter()
                    .map(|v| v.status().for_group())
                    .fold(Status::Ok, Status::max);
                w.group(&GROUP_TOPIC_STATUS, c, g);
                w.label(b",topic=\"", &topic.name.escaped);
                w.int(worst.code() as i64);
            }
        }
    }
}
