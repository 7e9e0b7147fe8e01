//! Group membership families, from DescribeConsumerGroups: members, rebalances observed, the
//! assignor and coordinator, each partition's owner, and partitions no member owns. Groups not
//! described (describing off, not allowed, or not answered yet) have none of these series.

use std::sync::Arc;

use super::exposition::{counter, gauge, info, push_decimal, Family, Writer};
use crate::model::GroupState;
use crate::snapshot::{ClusterSnapshot, GroupSnapshot};
use crate::store::Membership;

const GROUP_MEMBERS: Family = gauge(
    "kafka_consumergroup_group_members",
    "Members of a consumer group, from its last description.",
);
const GROUP_REBALANCES: Family = counter(
    "kafka_consumergroup_group_rebalances_total",
    "Rebalances of a consumer group observed by warren: entries into a rebalancing state, and member changes between two Stable descriptions.",
);
const GROUP_INFO: Family = info(
    "kafka_consumergroup_group_info",
    "A consumer group's partition assignor (protocol) and coordinator broker id.",
);
const PARTITION_OWNER: Family = info(
    "kafka_consumergroup_partition_owner_info",
    "The member owning a partition of a consumer group: its client id and host (and member id when groups.member_ids is on). Kept through a rebalance until the group is Stable again.",
);
const UNASSIGNED: Family = gauge(
    "kafka_consumergroup_group_topic_unassigned_partitions",
    "Partitions of a topic the group commits to and is assigned that no member owns while the group is Stable (0 in any other state); absent where the broker does not report assignments, and for topics no member owns any partition of (no longer subscribed).",
);

pub(super) fn write(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>]) {
    w.header(&GROUP_MEMBERS);
    each_described(clusters, |c, g, m| {
        w.group(&GROUP_MEMBERS, c, g);
        w.uint(m.members.len() as u64);
    });
    w.header(&GROUP_REBALANCES);
    each_described(clusters, |c, g, m| {
        w.group(&GROUP_REBALANCES, c, g);
        w.uint(m.rebalances);
    });
    w.header(&GROUP_INFO);
    each_described(clusters, |c, g, m| {
        w.group(&GROUP_INFO, c, g);
        w.label(b",protocol=\"", &m.protocol.escaped);
        let coordinator = m.coordinator.map(|id| id.to_string()).unwrap_or_default();
        w.label(b",coordinator=\"", &coordinator);
        w.int(1);
    });
    w.header(&PARTITION_OWNER);
    each_described(clusters, |c, g, m| {
        if c.granularity.partitions() {
            owners(w, c, g, m);
        }
    });
    w.header(&UNASSIGNED);
    each_described(clusters, |c, g, m| {
        if c.granularity.topics() {
            unassigned(w, c, g, m);
        }
    });
}

/// Calls `f` for every described group of every cluster.
fn each_described(
    clusters: &[Arc<ClusterSnapshot>],
    mut f: impl FnMut(&ClusterSnapshot, &GroupSnapshot, &Membership),
) {
    for c in clusters {
        for g in &c.groups {
            if let Some(m) = &g.membership {
                f(c, g, m);
            }
        }
    }
}

/// One line per owned partition. Most of a large exposition's owner lines share their start
/// (per topic) and end (per member), so both are built once per group.
fn owners(w: &mut Writer, c: &ClusterSnapshot, g: &GroupSnapshot, m: &Membership) {
    let suffixes: Vec<Vec<u8>> = m
        .members
        .iter()
        .map(|member| {
            let mut b = Vec::with_capacity(96);
            for part in [
                "\",client_id=\"",
                &member.client_id.escaped,
                "\",host=\"",
                &member.host.escaped,
            ] {
                b.extend_from_slice(part.as_bytes());
            }
            if let Some(id) = member.member_id.as_ref() {
                b.extend_from_slice(b"\",member_id=\"");
                b.extend_from_slice(id.escaped.as_bytes());
            }
            b.extend_from_slice(b"\"} 1");
            b
        })
        .collect();
    let mut prefix = Vec::with_capacity(256);
    for t in &m.topics {
        prefix.clear();
        for part in [
            PARTITION_OWNER.name,
            "{",
            &c.label_prefix,
            ",group=\"",
            &g.name.escaped,
            "\",topic=\"",
            &t.topic.escaped,
            "\",partition=\"",
        ] {
            prefix.extend_from_slice(part.as_bytes());
        }
        for (p, owner) in t.owners.owned() {
            let Some(suffix) = suffixes.get(usize::from(owner) - 1) else {
                continue;
            };
            w.out.extend_from_slice(&prefix);
            push_decimal(&mut w.out, p as u64);
            w.out.extend_from_slice(suffix);
            w.end_line();
        }
    }
}

/// Per topic the group has commits on (in run order, each once): its partitions no member owns.
fn unassigned(w: &mut Writer, c: &ClusterSnapshot, g: &GroupSnapshot, m: &Membership) {
    if !m.assignments_known {
        return;
    }
    let mut last = None;
    for run in g.runs.iter() {
        if last == Some(run.topic) {
            continue;
        }
        last = Some(run.topic);
        let Some(topic) = c.topic(run.topic) else {
            continue;
        };
        let partitions = topic.watermarks.len();
        let owned = m.owned_below(&topic.name.raw, partitions);
        if owned == 0 {
            // No member owns any of it: the group no longer subscribes to the topic, whose
            // offsets outlive the subscription (for `offsets.retention.minutes`).
            continue;
        }
        let count = match m.state {
            GroupState::Stable => partitions - owned,
            _ => 0,
        };
        w.group(&UNASSIGNED, c, g);
        w.label(b",topic=\"", &topic.name.escaped);
        w.uint(count as u64);
    }
}
