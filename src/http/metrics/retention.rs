//! Data loss and retention families: messages a group lost because its committed offset fell
//! below the log start, how many messages stand between its committed offset and the log
//! start, the share of the retained log it still has to read, and which topics are compacted.
//! Compacted topics have no loss or margin series: their offsets are not message counts, and
//! compaction removes records a group never needed.

use std::sync::Arc;

use super::exposition::{gauge, Family, LinePrefix, Writer};
use crate::model::Watermarks;
use crate::snapshot::{ClusterSnapshot, GroupSnapshot};

const LOST: Family = gauge(
    "kafka_consumergroup_group_lost_messages",
    "Messages a consumer group lost on a partition: log start offset minus committed offset, present only while the committed offset is below the log start (not on compacted topics).",
);
const SUM_LOST: Family = gauge(
    "kafka_consumergroup_group_sum_lost_messages",
    "Messages a consumer group lost over all its partitions (not counting compacted topics).",
);
const MARGIN: Family = gauge(
    "kafka_consumergroup_group_retention_margin",
    "Messages between a consumer group's committed offset and the log start of a partition: what retention may still delete before the group loses data (0 once it lost some).",
);
const RATIO: Family = gauge(
    "kafka_consumergroup_group_lag_retention_ratio",
    "A consumer group's lag on a partition over the messages the partition retains: 1 means the group is at the log start, above 1 it lost messages.",
);
const COMPACTED: Family = gauge(
    "kafka_topic_compacted",
    "1 when the topic's cleanup.policy includes compact, else 0 (absent until its configuration was read).",
);

/// The loss-related figures of one group-partition, when they are meaningful: a committed
/// offset, a known log start and head, and a topic not known to be compacted.
struct Retained {
    lost: u64,
    margin: u64,
    ratio: f64,
}

fn retained(wm: &Watermarks, offset: i64) -> Option<Retained> {
    if offset < 0 || wm.earliest < 0 || wm.latest < wm.earliest {
        return None;
    }
    let lag = wm.lag(offset)?;
    let log = (wm.latest - wm.earliest) as u64;
    Some(Retained {
        lost: wm.earliest.saturating_sub(offset).max(0) as u64,
        margin: offset.saturating_sub(wm.earliest).max(0) as u64,
        ratio: if log == 0 {
            0.0
        } else {
            lag as f64 / log as f64
        },
    })
}

/// Calls `f` with every group-partition's figures, in the group's order.
fn each_retained(c: &ClusterSnapshot, g: &GroupSnapshot, mut f: impl FnMut(u32, i32, Retained)) {
    for (t, p, offset) in g.partitions() {
        let Some(topic) = c.topic(t) else { continue };
        if topic.compacted == Some(true) {
            continue;
        }
        let Some(wm) = usize::try_from(p)
            .ok()
            .and_then(|p| topic.watermarks.get(p))
        else {
            continue;
        };
        if let Some(r) = retained(wm, offset) {
            f(t, p, r);
        }
    }
}

pub(super) fn write(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>], prefix: &mut LinePrefix) {
    w.header(&LOST);
    for c in clusters {
        for g in &c.groups {
            prefix.reset();
            each_retained(c, g, |t, p, r| {
                if r.lost == 0 {
                    return;
                }
                if let Some(line) = prefix.get(&LOST, c, g, t) {
                    w.prefixed(line, p);
                    w.int_value(r.lost as i64);
                }
            });
        }
    }
    w.header(&SUM_LOST);
    for c in clusters {
        for g in &c.groups {
            let mut sum = 0u64;
            each_retained(c, g, |_, _, r| sum = sum.saturating_add(r.lost));
            w.group(&SUM_LOST, c, g);
            w.uint(sum);
        }
    }
    for (fam, is_ratio) in [(&MARGIN, false), (&RATIO, true)] {
        w.header(fam);
        for c in clusters {
            for g in &c.groups {
                prefix.reset();
                each_retained(c, g, |t, p, r| {
                    let Some(line) = prefix.get(fam, c, g, t) else {
                        return;
                    };
                    w.prefixed(line, p);
                    if is_ratio {
                        w.float_value(r.ratio);
                    } else {
                        w.int_value(r.margin as i64);
                    }
                });
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
        let r = retained(&wm(100, 300), 150).unwrap();
        assert_eq!((r.lost, r.margin, r.ratio), (0, 50, 0.75));
        let r = retained(&wm(100, 300), 40).unwrap();
        assert_eq!((r.lost, r.margin, r.ratio), (60, 0, 1.3));
        let r = retained(&wm(300, 300), 300).unwrap();
        assert_eq!((r.lost, r.margin, r.ratio), (0, 0, 0.0));
        assert!(retained(&wm(-1, 300), 40).is_none(), "log start unknown");
        assert!(retained(&wm(0, -1), 40).is_none(), "head unknown");
        assert!(retained(&wm(0, 10), -1).is_none(), "no commit");
    }
}
