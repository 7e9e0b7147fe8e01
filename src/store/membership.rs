//! What DescribeConsumerGroups says about a group: its members, which partitions each owns,
//! and how many rebalances were observed.
//!
//! Kafka reports assignments only while a group is Stable, so a rebalance would otherwise make
//! every owner disappear for its duration: the owners of the last Stable description are kept
//! until the group is Stable again (or loses its members).
//!
//! Compact, as a group owns up to all its group-partitions: an owner is a `u16` per partition
//! of each assigned topic, and member ids (which change whenever a consumer restarts) are kept
//! as hashes unless they are shown (`groups.member_ids`).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::{Name, Secs, Store, TrackedGroup};
use crate::model::{GroupDescription, GroupState};

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Only when member ids are shown (`groups.member_ids`); boxed, as it is usually absent.
    pub member_id: Option<Box<Name>>,
    /// A hash of the member id: tells members apart across descriptions.
    key: u64,
    pub client_id: Name,
    /// As the broker saw the client, verbatim (Kafka writes `/10.0.0.5`), as Burrow shows it.
    pub host: Name,
}

/// The owners of one assigned topic's partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicOwners {
    pub topic: Name,
    pub owners: Owners,
}

/// Per partition, the owning member's index in `members` plus one, 0 for none: a byte each
/// while the group has fewer than 255 members (nearly always), two beyond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owners {
    Narrow(Box<[u8]>),
    Wide(Box<[u16]>),
}

impl Owners {
    /// `partitions` owned by nobody, for a group of `members`.
    fn new(partitions: usize, members: usize) -> Owners {
        if members < u8::MAX as usize {
            Owners::Narrow(vec![0; partitions].into())
        } else {
            Owners::Wide(vec![0; partitions].into())
        }
    }

    fn set(&mut self, partition: usize, owner: u16) {
        match self {
            Owners::Narrow(o) => o[partition] = owner as u8,
            Owners::Wide(o) => o[partition] = owner,
        }
    }

    /// The owner of `partition` (0: none), `None` past the topic's assigned partitions.
    pub fn get(&self, partition: usize) -> Option<u16> {
        match self {
            Owners::Narrow(o) => o.get(partition).map(|&v| u16::from(v)),
            Owners::Wide(o) => o.get(partition).copied(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Owners::Narrow(o) => o.len(),
            Owners::Wide(o) => o.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(partition, owner)` of every owned partition.
    pub fn owned(&self) -> impl Iterator<Item = (usize, u16)> + '_ {
        (0..self.len()).filter_map(|p| self.get(p).filter(|&o| o != 0).map(|o| (p, o)))
    }
}

/// A group's membership from its last description; shared with snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// State from the description (fresher than the listing's).
    pub state: GroupState,
    /// The partition assignor (`range`, `cooperative-sticky`, ...); empty when none.
    pub protocol: Name,
    /// Broker id of the group's coordinator.
    pub coordinator: Option<i32>,
    /// At most 65,534 (see [`Owners`]).
    pub members: Vec<Member>,
    /// Sorted by topic name.
    pub topics: Vec<TopicOwners>,
    /// Some member reported an assignment. Brokers that leave assignments out, and groups
    /// whose protocol librdkafka cannot decode, report none: ownership is then unknown, not
    /// "nothing assigned".
    pub assignments_known: bool,
    /// Rebalances observed since warren started watching the group.
    pub rebalances: u64,
    /// When the description was read.
    pub at: Secs,
}

impl Membership {
    fn owners_of(&self, topic: &str) -> Option<&TopicOwners> {
        let i = self
            .topics
            .binary_search_by(|t| (*t.topic.raw).cmp(topic))
            .ok()?;
        Some(&self.topics[i])
    }

    /// The member owning `topic`/`partition`, if known.
    pub fn owner(&self, topic: &str, partition: i32) -> Option<&Member> {
        let owner = self
            .owners_of(topic)?
            .owners
            .get(usize::try_from(partition).ok()?)?;
        self.members.get(usize::from(owner).checked_sub(1)?)
    }

    /// How many of partitions `0..count` of `topic` some member owns.
    pub fn owned_below(&self, topic: &str, count: usize) -> usize {
        self.owners_of(topic).map_or(0, |t| {
            t.owners.owned().take_while(|&(p, _)| p < count).count()
        })
    }

    /// Sorted member keys, to tell one generation of members from another.
    fn member_keys(&self) -> Vec<u64> {
        let mut keys: Vec<u64> = self.members.iter().map(|m| m.key).collect();
        keys.sort_unstable();
        keys
    }
}

/// Whether going from `before` to `after` (two consecutive descriptions) shows a rebalance:
/// the group entered a rebalancing state, or it is Stable after being in neither Stable nor a
/// rebalancing state (members joined an Empty group between two looks), or it is Stable in
/// both with other members (a whole rebalance happened between two looks).
fn rebalanced(before: &Membership, after: &Membership) -> bool {
    let (b, a) = (before.state, after.state);
    if a.is_rebalancing() {
        return !b.is_rebalancing();
    }
    a == GroupState::Stable
        && match b {
            GroupState::Stable => before.member_keys() != after.member_keys(),
            b => !b.is_rebalancing(),
        }
}

fn member_key(id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// A [`Membership`] from a description read at `now` (no rebalances counted yet); `topic`
/// gives a watched topic's [`Name`] (the store's: no copy per group) and partition count.
fn membership(
    now: Secs,
    d: &GroupDescription,
    member_ids: bool,
    topic: impl Fn(&str) -> Option<(Name, usize)>,
) -> Membership {
    let described = &d.members[..d.members.len().min(u16::MAX as usize - 1)];
    let members: Vec<Member> = described
        .iter()
        .map(|m| Member {
            member_id: member_ids.then(|| Box::new(Name::new(&m.member_id))),
            key: member_key(&m.member_id),
            client_id: Name::new(&m.client_id),
            host: Name::new(&m.host),
        })
        .collect();
    // Only watched topics, and only their partitions: an assignment is written by a client
    // (the group's leader) and must not size anything here.
    let mut names: Vec<&str> = described
        .iter()
        .flat_map(|m| m.assignment.iter().map(|tp| &*tp.topic))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut topics: Vec<TopicOwners> = Vec::with_capacity(names.len());
    let mut kept: Vec<&str> = Vec::with_capacity(names.len());
    for name in names {
        if let Some((topic_name, partitions)) = topic(name) {
            topics.push(TopicOwners {
                topic: topic_name,
                owners: Owners::new(partitions, described.len()),
            });
            kept.push(name);
        }
    }
    let mut known = false;
    for (i, m) in described.iter().enumerate() {
        for tp in &m.assignment {
            let (Ok(t), Ok(p)) = (
                kept.binary_search(&&*tp.topic),
                usize::try_from(tp.partition),
            ) else {
                continue;
            };
            if p < topics[t].owners.len() {
                topics[t].owners.set(p, i as u16 + 1);
                known = true;
            }
        }
    }
    Membership {
        state: d.state,
        protocol: Name::new(&d.protocol),
        coordinator: d.coordinator.as_ref().map(|c| c.id),
        assignments_known: known,
        members,
        topics,
        rebalances: 0,
        at: now,
    }
}

impl Store {
    /// Records a group's description read at `now`. Ignored for forgotten groups (they come
    /// back when they commit something else).
    pub fn apply_group_description(&mut self, now: Secs, d: &GroupDescription) {
        if self.forgotten.contains_key(d.id.as_str()) {
            return;
        }
        let topic = |name: &str| {
            let t = self.topic(self.topic_id(name)?)?;
            Some((t.name.clone(), t.watermarks.len()))
        };
        let next = membership(now, d, self.member_ids, topic);
        let g = match self.groups.get_mut(d.id.as_str()) {
            Some(g) => g,
            None => Self::insert_group(&mut self.groups, &d.id),
        };
        g.state = d.state;
        g.last_seen = g.last_seen.max(now);
        g.membership = Some(Arc::new(describe(g, next)));
    }
}

/// The group's new membership: counts a rebalance against the previous one, and keeps the
/// previous owners through a rebalance (see the module comment).
fn describe(g: &TrackedGroup, mut next: Membership) -> Membership {
    let Some(prev) = g.membership.as_deref() else {
        return next;
    };
    next.rebalances = prev.rebalances + u64::from(rebalanced(prev, &next));
    if next.state.is_rebalancing() && !next.assignments_known && !next.members.is_empty() {
        // Owners are only reported once Stable again: show the last known ones meanwhile,
        // pointing at members by id (a member that left has no owner entry any more).
        let now_index: Vec<u16> = prev
            .members
            .iter()
            .map(|m| {
                next.members
                    .iter()
                    .position(|n| n.key == m.key)
                    .map_or(0, |i| i as u16 + 1)
            })
            .collect();
        next.topics = prev
            .topics
            .iter()
            .map(|t| {
                let mut owners = Owners::new(t.owners.len(), next.members.len());
                for (p, o) in t.owners.owned() {
                    owners.set(p, now_index.get(usize::from(o) - 1).copied().unwrap_or(0));
                }
                TopicOwners {
                    topic: t.topic.clone(),
                    owners,
                }
            })
            .collect();
        next.assignments_known = prev.assignments_known;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Coordinator, GroupMember, TopicPartition};

    fn member(id: &str, parts: &[(&str, i32)]) -> GroupMember {
        GroupMember {
            member_id: id.into(),
            instance_id: None,
            client_id: format!("client-{id}"),
            host: format!("/10.0.0.{}", id.len()),
            assignment: parts
                .iter()
                .map(|&(t, p)| TopicPartition::new(Arc::from(t), p))
                .collect(),
        }
    }

    fn described(state: GroupState, members: Vec<GroupMember>) -> GroupDescription {
        GroupDescription {
            id: "g".into(),
            state,
            protocol: "range".into(),
            simple: false,
            coordinator: Some(Coordinator {
                id: 3,
                host: "b3".into(),
                port: 9092,
            }),
            members,
        }
    }

    fn rebalances(s: &Store) -> u64 {
        s.group("g")
            .unwrap()
            .membership
            .as_ref()
            .unwrap()
            .rebalances
    }

    /// A store watching `t` (3 partitions) and `u` (1).
    fn store() -> Store {
        let mut s = Store::new(3);
        s.apply_metadata(0, &[("t", 3), ("u", 1)]);
        s
    }

    #[test]
    fn owners_are_looked_up_by_topic_and_partition() {
        let mut s = store();
        let d = described(
            GroupState::Stable,
            vec![
                member("a", &[("t", 1), ("t", 0)]),
                member("bb", &[("u", 0)]),
            ],
        );
        s.apply_group_description(10, &d);
        let g = s.group("g").unwrap();
        assert_eq!(g.state, GroupState::Stable);
        let m = g.membership.as_ref().unwrap();
        assert_eq!(m.coordinator, Some(3));
        assert_eq!(&*m.protocol.raw, "range");
        assert_eq!(&*m.owner("t", 0).unwrap().client_id.raw, "client-a");
        assert_eq!(&*m.owner("u", 0).unwrap().host.raw, "/10.0.0.2");
        assert!(m.owner("t", 2).is_none());
        assert_eq!((m.owned_below("t", 3), m.owned_below("t", 1)), (2, 1));
        assert_eq!((m.owned_below("u", 5), m.owned_below("v", 5)), (1, 0));
        assert!(m.assignments_known);
        let order: Vec<(&str, Vec<(usize, u16)>)> = m
            .topics
            .iter()
            .map(|t| (&*t.topic.raw, t.owners.owned().collect()))
            .collect();
        assert_eq!(order, [("t", vec![(0, 1), (1, 1)]), ("u", vec![(0, 2)])]);
        assert!(
            m.members[0].member_id.is_none(),
            "member ids only when shown"
        );
    }

    #[test]
    fn rebalances_are_counted_once_each_and_owners_survive_them() {
        let mut s = store();
        let a = || member("a", &[("t", 0), ("t", 1)]);
        s.apply_group_description(0, &described(GroupState::Empty, vec![]));
        assert_eq!(rebalances(&s), 0, "the first look counts nothing");
        // A consumer joined between two looks.
        s.apply_group_description(5, &described(GroupState::Stable, vec![a()]));
        assert_eq!(rebalances(&s), 1);
        s.apply_group_description(10, &described(GroupState::Stable, vec![a()]));
        assert_eq!(rebalances(&s), 1, "same members: no rebalance");
        // A second consumer joins: seen while preparing, then completing, then stable.
        let joining = vec![member("a", &[]), member("bb", &[])];
        s.apply_group_description(
            15,
            &described(GroupState::PreparingRebalance, joining.clone()),
        );
        assert_eq!(rebalances(&s), 2);
        let m = s.group("g").unwrap().membership.clone().unwrap();
        assert_eq!(
            &*m.owner("t", 1).unwrap().client_id.raw,
            "client-a",
            "owners of the last Stable look are kept through the rebalance"
        );
        s.apply_group_description(20, &described(GroupState::CompletingRebalance, joining));
        assert_eq!(rebalances(&s), 2, "one rebalance, seen twice");
        let split = vec![member("a", &[("t", 0)]), member("bb", &[("t", 1)])];
        s.apply_group_description(25, &described(GroupState::Stable, split));
        assert_eq!(rebalances(&s), 2);
        let m = s.group("g").unwrap().membership.clone().unwrap();
        assert_eq!(&*m.owner("t", 1).unwrap().client_id.raw, "client-bb");
        // A whole rebalance between two looks: Stable both times, other members.
        s.apply_group_description(
            30,
            &described(GroupState::Stable, vec![member("c", &[("t", 0)])]),
        );
        assert_eq!(rebalances(&s), 3);
        // Everyone leaves: Empty, no owners.
        s.apply_group_description(35, &described(GroupState::Empty, vec![]));
        let m = s.group("g").unwrap().membership.clone().unwrap();
        assert_eq!(rebalances(&s), 3);
        assert!(m.owner("t", 0).is_none());
        assert!(!m.assignments_known);
    }

    #[test]
    fn owners_take_two_bytes_only_from_255_members_on() {
        let big: Vec<GroupMember> = (0..300)
            .map(|i| member(&format!("m{i}"), &[("big", i)]))
            .collect();
        let mut s = Store::new(3);
        s.apply_metadata(0, &[("big", 300)]);
        s.apply_group_description(0, &described(GroupState::Stable, big));
        let m = s.group("g").unwrap().membership.clone().unwrap();
        assert!(matches!(m.topics[0].owners, Owners::Wide(_)));
        assert_eq!(&*m.owner("big", 299).unwrap().client_id.raw, "client-m299");
        assert_eq!(m.owned_below("big", 300), 300);
        let mut s = store();
        s.apply_group_description(
            0,
            &described(GroupState::Stable, vec![member("a", &[("t", 2)])]),
        );
        let m = s.group("g").unwrap().membership.clone().unwrap();
        assert!(matches!(m.topics[0].owners, Owners::Narrow(_)));
        assert_eq!(m.topics[0].owners.len(), 3, "the topic's partitions");
        assert_eq!(m.owned_below("t", 3), 1);
    }

    /// Assignments are written by a client: a partition past the topic's, or a topic warren
    /// does not watch, sizes nothing and is left out.
    #[test]
    fn assignments_outside_the_watched_partitions_are_ignored() {
        let mut s = store();
        let hostile = member("a", &[("t", i32::MAX - 1), ("t", 1), ("unwatched", 7)]);
        s.apply_group_description(0, &described(GroupState::Stable, vec![hostile]));
        let m = s.group("g").unwrap().membership.clone().unwrap();
        assert_eq!(m.topics.len(), 1);
        assert_eq!(m.topics[0].owners.len(), 3);
        assert_eq!(m.topics[0].owners.owned().collect::<Vec<_>>(), [(1, 1)]);
        assert!(m.owner("unwatched", 7).is_none());
    }

    #[test]
    fn a_broker_without_assignments_leaves_ownership_unknown() {
        let mut s = store();
        s.apply_group_description(0, &described(GroupState::Stable, vec![member("a", &[])]));
        let m = s.group("g").unwrap().membership.clone().unwrap();
        assert_eq!(m.members.len(), 1);
        assert!(!m.assignments_known);
    }

    #[test]
    fn forgotten_groups_are_not_brought_back_by_a_description() {
        let mut s = Store::new(3);
        let t = s.apply_metadata(0, &[("t", 1)])[0];
        s.apply_group_offsets(0, "g", &mut [crate::store::Commit::new(t, 0, 1)]);
        assert!(s.forget("g"));
        s.apply_group_description(1, &described(GroupState::Stable, vec![]));
        assert!(s.group("g").is_none());
    }
}
