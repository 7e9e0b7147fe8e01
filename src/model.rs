//! The words every step shares: a topic-partition, a partition's watermarks and the lag of a
//! committed offset against them, a consumer group's state. Each concept is defined here once;
//! the scraper, store, evaluator, snapshot and renderers use these types and never re-derive
//! them.

use std::fmt;
use std::sync::Arc;

/// A partition of a topic, as Kafka names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// A partition's earliest (low) and latest (high) watermark; `-1` while unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermarks {
    pub earliest: i64,
    pub latest: i64,
}

impl Watermarks {
    pub const UNKNOWN: Watermarks = Watermarks {
        earliest: -1,
        latest: -1,
    };

    /// The lag of a group whose next offset to read is `committed`: the latest offset minus
    /// `committed`, clamped at 0 (a commit read before a newer watermark is caught up), or
    /// `None` while the latest offset is unknown. The only place warren computes lag.
    #[inline]
    pub fn lag(&self, committed: i64) -> Option<u64> {
        (self.latest >= 0).then(|| self.latest.saturating_sub(committed).max(0) as u64)
    }
}

/// A consumer group's state as the group coordinator reports it: the classic protocol's
/// states, and those of the KIP-848 consumer protocol (`Assigning`, `Reconciling`,
/// `NotReady`). Names are Kafka's (`ConsumerGroupState` / `GroupState` in the Java client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GroupState {
    /// Not reported, or a state this version of warren does not know.
    #[default]
    Unknown,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
    Empty,
    Assigning,
    Reconciling,
    NotReady,
}

impl GroupState {
    pub const ALL: [GroupState; 9] = [
        GroupState::Unknown,
        GroupState::PreparingRebalance,
        GroupState::CompletingRebalance,
        GroupState::Stable,
        GroupState::Dead,
        GroupState::Empty,
        GroupState::Assigning,
        GroupState::Reconciling,
        GroupState::NotReady,
    ];

    /// Kafka's name for the state, as librdkafka and the Java client print it.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Unknown => "Unknown",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
            GroupState::Empty => "Empty",
            GroupState::Assigning => "Assigning",
            GroupState::Reconciling => "Reconciling",
            GroupState::NotReady => "NotReady",
        }
    }

    /// A rebalance is in progress: partitions are being revoked or handed out.
    pub fn is_rebalancing(self) -> bool {
        matches!(
            self,
            GroupState::PreparingRebalance
                | GroupState::CompletingRebalance
                | GroupState::Assigning
                | GroupState::Reconciling
        )
    }

    /// Parses Kafka's name (case-insensitively; `AwaitingSync` is the old name of
    /// `CompletingRebalance`). Anything else is `Unknown`.
    pub fn from_name(name: &str) -> GroupState {
        if name.eq_ignore_ascii_case("AwaitingSync") {
            return GroupState::CompletingRebalance;
        }
        GroupState::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
            .unwrap_or(GroupState::Unknown)
    }
}

/// The broker coordinating a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinator {
    pub id: i32,
    pub host: String,
    pub port: u16,
}

/// One member of a consumer group, from DescribeConsumerGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The member id the coordinator gave it (changes whenever the consumer restarts).
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub instance_id: Option<String>,
    pub client_id: String,
    /// The client's address as the broker saw it, verbatim (Kafka writes `/10.0.0.5`).
    pub host: String,
    /// The partitions assigned to it.
    pub assignment: Vec<TopicPartition>,
}

/// A consumer group from DescribeConsumerGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub id: String,
    pub state: GroupState,
    /// The partition assignor of the current generation (`range`, `cooperative-sticky`, ...);
    /// empty when the group has none.
    pub protocol: String,
    pub simple: bool,
    pub coordinator: Option<Coordinator>,
    pub members: Vec<GroupMember>,
}

/// The topic config warren reads with DescribeConfigs (cached, refreshed rarely).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    pub name: String,
    /// `cleanup.policy` as the broker reported it (`delete`, `compact`, `compact,delete`), or
    /// `None` when it reported no value (Kafka always reports one, its default `delete`
    /// included; some brokers list only the configs set on the topic).
    pub cleanup_policy: Option<String>,
}

impl TopicConfig {
    /// Whether the log is compacted (the policy lists `compact`, alone or with `delete`):
    /// offsets there are not message counts, so a gap below the log start is no loss. A
    /// missing policy is Kafka's default, `delete`: not compacted.
    pub fn compacted(&self) -> bool {
        self.cleanup_policy.as_deref().is_some_and(|p| {
            // Kafka writes the list as `compact,delete`; tolerate spaces and `[..]` as well.
            p.trim_matches(|c: char| c == '[' || c == ']')
                .split(',')
                .any(|v| v.trim().eq_ignore_ascii_case("compact"))
        })
    }
}

impl fmt::Display for GroupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_clamped_and_unknown_without_a_head() {
        let wm = |latest| Watermarks {
            earliest: 0,
            latest,
        };
        assert_eq!(wm(100).lag(40), Some(60));
        assert_eq!(wm(100).lag(100), Some(0));
        assert_eq!(wm(100).lag(130), Some(0));
        assert_eq!(wm(-1).lag(10), None);
        assert_eq!(wm(i64::MAX).lag(-1), Some(i64::MAX as u64));
        assert_eq!(wm(5_000_000_000).lag(0), Some(5_000_000_000));
    }

    #[test]
    fn group_state_names_round_trip() {
        for s in GroupState::ALL {
            assert_eq!(GroupState::from_name(s.as_str()), s);
        }
        assert_eq!(GroupState::from_name("stable"), GroupState::Stable);
        assert_eq!(
            GroupState::from_name("AwaitingSync"),
            GroupState::CompletingRebalance
        );
        assert_eq!(GroupState::from_name("Bogus"), GroupState::Unknown);
    }

    #[test]
    fn compacted_when_the_policy_lists_compact() {
        let tc = |p: Option<&str>| TopicConfig {
            name: "t".into(),
            cleanup_policy: p.map(str::to_string),
        };
        for p in [
            "compact",
            "compact,delete",
            "delete,compact",
            "[compact, delete]",
            "Compact",
        ] {
            assert!(tc(Some(p)).compacted(), "{p}");
        }
        for p in ["delete", "", "compaction", "delete,"] {
            assert!(!tc(Some(p)).compacted(), "{p}");
        }
        assert!(!tc(None).compacted(), "missing: Kafka's default, delete");
    }
}
