//! Data loss and retention families: messages a group lost because its committed offset fell
//! below the log start (per partition, only where it happened, and per group), and per
//! group-topic the smallest number of messages between a committed offset and the log start
//! and the largest share of a partition's retained log the group still has to read; and which
//! topics are compacted.
//! Compacted topics have no loss or margin series: their offsets are not message counts, and
//! compaction removes records a group never needed.

use std::sync::Arc;

use super::exposition::{gauge, Family, LinePrefix, Writer};
use crate::model::Watermarks;
use crate::snapshot::{ClusterSnapshot, TopicSnapshot};

const LOST: Family = gauge(
    "kafka_consumergroup_group_lost_messages",
    "Messages a consumer group lost on a partition: log start offset minus committed offset, present only while the committed offset is below the log start (not on compacted topics).",
);
const SUM_LOST: Family = gauge(
    "kafka_consumergroup_group_sum_lost_messages",
    "Messages a consumer group lost over all its partitions (not counting compacted topics).",
);
const MARGIN: Family = gauge(
    "kafka_consumergroup_group_topic_retention_margin",
    "Smallest number of messages, over a topic's partitions, between a consumer group's committed offset and the log start: what retention may still delete before the group loses data (0 once it lost some).",
);
const RATIO: Family = gauge(
    "kafka_consumergroup_group_topic_lag_retention_ratio",
    "Largest lag of a consumer group over the messages a partition retains, over a topic's partitions: 1 means the group is at the log start, above 1 it lost messages.",
);
const COMPACTED: Family = gauge(
    "kafka_topic_compacted",
    "1 when the topic's cleanup.policy includes compact, else 0 (absent until its configuration was read).",
);

/// The loss-related figures of one group-partition, when they are meaningful: a committed
/// offset, a known log start and head.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Retained {
    lost: u64,
    margin: u64,
    /// Lag and retained messages, kept apart: the largest ratio of a topic is found by
    /// multiplying, and only that one is divided.
    lag: u64,
    log: u64,
}

impl Retained {
    /// What a ratio divides by: the retained messages, an empty log counting as one, so that a
    /// lag on an empty log (everything lost) reads as large, never as 0.
    fn divisor(&self) -> u128 {
        (self.log as u128).max(1)
    }

    /// Lag over retained messages, in ten-thousandths (rounded).
    fn ratio(&self) -> u64 {
        let d = self.divisor();
        ((self.lag as u128 * 10_000 + d / 2) / d).min(u64::MAX as u128) as u64
    }

    /// Keeps the smallest margin and the largest ratio of `self` and `other`.
    fn worst(&mut self, other: &Retained) {
        self.margin = self.margin.min(other.margin);
        if other.lag as u128 * self.divisor() > self.lag as u128 * other.divisor() {
            (self.lag, self.log) = (other.lag, other.log);
        }
    }
}

#[inline]
fn retained(wm: &Watermarks, offset: i64) -> Option<Retained> {
    if offset < 0 || wm.earliest < 0 || wm.latest < wm.earliest {
        return None;
    }
    Some(Retained {
        lost: wm.earliest.saturating_sub(offset).max(0) as u64,
        margin: offset.saturating_sub(wm.earliest).max(0) as u64,
        lag: wm.lag(offset)?,
        log: (wm.latest - wm.earliest) as u64,
    })
}

/// What the loss families need, gathered by the lag pass ([`super::groups`]) so that each
/// group-partition's watermarks are read once per render, not once per block of families.
#[derive(Default)]
pub(super) struct Tally {
    /// Per group (in snapshot order): messages lost over all its partitions.
    sums: Vec<u64>,
    /// Per group-topic the worst partition, in each group's run order; `ends[g]` is where
    /// group `g`'s end.
    worst: Vec<(u32, Retained)>,
    ends: Vec<usize>,
    /// The (rare) group-partitions that lost messages: group index, topic id, partition, count.
    lost: Vec<(usize, u32, i32, u64)>,
    /// The current group's total so far.
    sum: u64,
}

impl Tally {
    /// Counts one group-partition of the current group.
    #[inline]
    pub fn add(&mut self, t: u32, topic: &TopicSnapshot, p: i32, wm: &Watermarks, offset: i64) {
        if topic.compacted == Some(true) {
            return;
        }
        let Some(r) = retained(wm, offset) else {
            return;
        };
        let in_group = self.worst.len() > self.ends.last().copied().unwrap_or(0);
        match self.worst.last_mut() {
            Some((last, w)) if in_group && *last == t => w.worst(&r),
            _ => self.worst.push((t, r)),
        }
        if r.lost > 0 {
            self.sum = self.sum.saturating_add(r.lost);
            self.lost.push((self.sums.len(), t, p, r.lost));
        }
    }

    /// Ends the current group: the next [`Tally::add`] counts for the next one.
    pub fn end_group(&mut self) {
        self.sums.push(std::mem::take(&mut self.sum));
        self.ends.push(self.worst.len());
    }
}

pub(super) fn write(
    w: &mut Writer,
    clusters: &[Arc<ClusterSnapshot>],
    tally: &Tally,
    prefix: &mut LinePrefix,
) {
    w.header(&LOST);
    let mut lost = tally.lost.iter().peekable();
    let mut index = 0;
    for c in clusters {
        for g in &c.groups {
            prefix.reset();
            while let Some(&(_, t, p, n)) = lost.next_if(|l| l.0 == index) {
                let line = c
                    .granularity
                    .partitions()
                    .then(|| prefix.get(&LOST, c, g, t))
                    .flatten();
                if let Some(line) = line {
                    w.prefixed(line, p);
                    w.uint_value(n);
                }
            }
            index += 1;
        }
    }
    w.header(&SUM_LOST);
    let mut sums = tally.sums.iter().copied();
    for c in clusters {
        for g in &c.groups {
            w.group(&SUM_LOST, c, g);
            w.uint(sums.next().unwrap_or(0));
        }
    }
    // Per group-topic, the partition closest to losing data: per-partition lines would add
    // two lines per group-partition (about half as much exposition again); README "Metrics"
    // gives the per-partition PromQL.
    for (fam, is_ratio) in [(&MARGIN, false), (&RATIO, true)] {
        w.header(fam);
        let (mut k, mut ends) = (0, tally.ends.iter());
        for c in clusters {
            for g in &c.groups {
                let end = ends.next().copied().unwrap_or(k);
                let worst = if c.granularity.topics() {
                    &tally.worst[k..end]
                } else {
                    &[]
                };
                for (t, r) in worst {
                    let Some(topic) = c.topic(*t) else { continue };
                    w.group(fam, c, g);
                    w.label(b",topic=\"", &topic.name.escaped);
                    if is_ratio {
                        w.ten_thousandths(r.ratio());
                    } else {
                        w.uint(r.margin);
                    }
                }
                k = end;
            }
        }
    }
    w.header(&COMPACTED);
    for c in clusters {
        for t in c.topics_sorted() {
            let Some(compacted) = t.compacted else {
                continue;
            };
            w.start(&COMPACTED, c);
            w.label(b",topic=\"", &t.name.escaped);
            w.int(compacted as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_margin_and_ratio_of_a_group_partition() {
        let wm = |earliest, latest| Watermarks { earliest, latest };
        let a = retained(&wm(100, 300), 150).unwrap();
        assert_eq!((a.lost, a.margin, a.ratio()), (0, 50, 7500));
        let b = retained(&wm(100, 300), 40).unwrap();
        assert_eq!((b.lost, b.margin, b.ratio()), (60, 0, 13_000));
        let r = retained(&wm(300, 300), 300).unwrap();
        assert_eq!((r.lost, r.margin, r.ratio()), (0, 0, 0));
        let r = retained(&wm(0, 3), 1).unwrap();
        assert_eq!(r.ratio(), 6667, "2/3, rounded");
        // The worst of a topic: smallest margin, largest ratio (possibly of two partitions).
        let mut w = retained(&wm(0, 1000), 900).unwrap(); // margin 900, ratio 0.1
        w.worst(&retained(&wm(500, 600), 510).unwrap()); // margin 10, ratio 0.9
        w.worst(&retained(&wm(0, 10), 5).unwrap()); // margin 5, ratio 0.5
        assert_eq!((w.margin, w.ratio()), (5, 9000));
        let mut empty = retained(&wm(7, 7), 7).unwrap();
        empty.worst(&a);
        assert_eq!(
            empty.ratio(),
            7500,
            "an empty log does not hide a real ratio"
        );
        // Everything deleted past the commit: lag 260 on an empty log reads as 260, the worst.
        let mut w = retained(&wm(500, 600), 510).unwrap();
        w.worst(&retained(&wm(300, 300), 40).unwrap());
        assert_eq!((w.margin, w.ratio()), (0, 2_600_000));
        assert!(retained(&wm(-1, 300), 40).is_none(), "log start unknown");
        assert!(retained(&wm(0, -1), 40).is_none(), "head unknown");
        assert!(retained(&wm(0, 10), -1).is_none(), "no commit");
    }
}
