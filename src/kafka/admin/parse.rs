//! Reply parsers: pure functions from the plain rows [`super::ffi`] copies out of result
//! events to the answers of [`super::Admin`] (per-partition errors, tallies, duplicates, the
//! order of the input).

use std::ffi::c_int;
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;
use tracing::{debug, trace};

use super::index::PartitionIndex;
use super::{AdminError, Committed, GroupList, GroupListing};
use crate::model::{
    Coordinator, GroupDescription, GroupMember, GroupState, TopicConfig, TopicPartition,
};

/// librdkafka's `RD_KAFKA_OFFSET_INVALID` (-1001): no offset (no commit, or no answer).
pub(super) const OFFSET_INVALID: i64 = rdsys::RD_KAFKA_OFFSET_INVALID as i64;

/// An error code and librdkafka's text for it, as an event or error object carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ErrorText {
    pub code: RDKafkaErrorCode,
    pub text: String,
}

/// What a result event says, copied out of it.
#[derive(Debug)]
pub(super) enum Answer<T> {
    /// The event is not of the expected result type (its type).
    WrongType(c_int),
    /// librdkafka failed the whole call.
    Failed(ErrorText),
    /// The result's rows (`None`: the event carried no result).
    Rows(Option<T>),
}

/// One topic-partition element of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PartitionRow {
    pub tp: TopicPartition,
    /// The per-partition error, if any.
    pub error: Option<RDKafkaErrorCode>,
    pub offset: i64,
}

/// One group result of ListConsumerGroupOffsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GroupRow {
    /// The group-level error, if any.
    pub error: Option<ErrorText>,
    pub partitions: Vec<PartitionRow>,
}

/// One valid listing of ListConsumerGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ListingRow {
    pub id: String,
    /// librdkafka's state name.
    pub state: String,
    pub simple: bool,
}

/// A ListConsumerGroups result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct GroupsRows {
    pub valid: Vec<ListingRow>,
    /// Per-broker errors.
    pub errors: Vec<ErrorText>,
}

/// The coordinator of a described group.
pub(super) type CoordinatorRow = Coordinator;
/// One member of a described group, as librdkafka reports it.
pub(super) type MemberRow = GroupMember;

/// One group description of DescribeConsumerGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DescriptionRow {
    pub id: String,
    /// The group-level error, if any (GROUP_ID_NOT_FOUND, GROUP_AUTHORIZATION_FAILED, ...).
    pub error: Option<ErrorText>,
    /// librdkafka's state name.
    pub state: String,
    /// The partition assignor (`range`, `cooperative-sticky`, ...); empty when none.
    pub protocol: String,
    pub simple: bool,
    pub coordinator: Option<CoordinatorRow>,
    pub members: Vec<MemberRow>,
}

/// One config entry of a DescribeConfigs resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ConfigEntryRow {
    pub name: String,
    /// `None`: the broker sent no value (Kafka does so for sensitive configs).
    pub value: Option<String>,
}

/// One resource of a DescribeConfigs result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ConfigResourceRow {
    pub name: String,
    /// The resource-level error, if any (UNKNOWN_TOPIC_OR_PARTITION,
    /// TOPIC_AUTHORIZATION_FAILED, ...).
    pub error: Option<ErrorText>,
    /// The entries warren asked for that the broker sent.
    pub entries: Vec<ConfigEntryRow>,
}

/// The config entry holding a topic's cleanup policy.
pub(super) const CLEANUP_POLICY: &str = "cleanup.policy";

/// The rows of an answer, or the whole-call error of the call named `what`.
pub(super) fn answer<T>(what: &str, answer: Answer<T>) -> Result<T, AdminError> {
    match answer {
        Answer::WrongType(ty) => Err(AdminError::new(
            None,
            format!("{what}: unexpected event type {ty}"),
        )),
        Answer::Failed(e) => Err(AdminError::new(Some(e.code), format!("{what}: {}", e.text))),
        Answer::Rows(None) => Err(AdminError::new(
            None,
            format!("{what}: event without result"),
        )),
        Answer::Rows(Some(rows)) => Ok(rows),
    }
}

/// Collects the answers of the ListOffsets calls (chunks) of one `list_offsets`: one result
/// per input partition, and counts of offsets read and of partitions whose leader did not
/// answer.
pub(super) struct ListOffsets<'a> {
    index: PartitionIndex<'a>,
    out: Vec<Option<Result<i64, AdminError>>>,
    offsets: usize,
    unanswered: usize,
}

impl<'a> ListOffsets<'a> {
    /// Invalid inputs of `index` get their error at once.
    pub(super) fn new(mut index: PartitionIndex<'a>) -> Self {
        let mut out: Vec<Option<Result<i64, AdminError>>> = vec![None; index.parts().len()];
        for (i, e) in index.take_invalid() {
            out[i as usize] = Some(Err(e));
        }
        ListOffsets {
            index,
            out,
            offsets: 0,
            unanswered: 0,
        }
    }

    /// Applies the answer to the request for `index.uniq()[start..start + len]`. A whole-call
    /// error is the outer `Err`, except `__NOENT`: librdkafka fails the whole call with it
    /// when no partition of it has a leader; that stays per partition so the result does not
    /// depend on chunking.
    pub(super) fn chunk(
        &mut self,
        start: usize,
        len: usize,
        answer: Answer<Vec<PartitionRow>>,
    ) -> Result<(), AdminError> {
        match self::answer("ListOffsets", answer) {
            Ok(rows) => {
                for (k, row) in rows.iter().enumerate() {
                    self.row(start + k, row);
                }
                Ok(())
            }
            Err(e) if e.code == Some(RDKafkaErrorCode::NoEnt) => {
                for &i in &self.index.uniq()[start..start + len] {
                    self.out[i as usize] = Some(Err(e.clone()));
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// One result element; `pos` is its position in `index.uniq()`.
    fn row(&mut self, pos: usize, row: &PartitionRow) {
        let Some(i) = self.index.resolve(pos, &row.tp) else {
            debug!(
                partition = row.tp.partition,
                "ListOffsets result for a partition not asked for"
            );
            return;
        };
        let TopicPartition {
            topic: t,
            partition: p,
        } = &self.index.parts()[i as usize];
        let r = if let Some(code) = row.error {
            Err(AdminError::from_code(
                &format!("ListOffsets {t}[{p}]"),
                code,
            ))
        } else if row.offset == OFFSET_INVALID {
            // librdkafka (2.12.1) drops the error of a failed per-leader request (timeout,
            // broker down) when merging: its partitions come back as -1001 with no error.
            self.unanswered += 1;
            Err(AdminError::new(
                None,
                format!("ListOffsets {t}[{p}]: the partition leader did not answer"),
            ))
        } else if row.offset < 0 {
            Err(AdminError::new(
                None,
                format!("ListOffsets {t}[{p}]: no offset returned ({})", row.offset),
            ))
        } else {
            self.offsets += 1;
            Ok(row.offset)
        };
        self.out[i as usize] = Some(r);
    }

    /// One entry per input partition, in input order; duplicates get their original's
    /// result. If no offset was read and some leader did not answer (all brokers down), the
    /// outer `Err`: a timeout if `elapsed` is at least 90% of `timeout`.
    pub(super) fn finish(
        self,
        elapsed: Duration,
        timeout: Duration,
    ) -> Result<Vec<Result<i64, AdminError>>, AdminError> {
        if self.offsets == 0 && self.unanswered > 0 {
            // Nothing was read and some leader never answered: the cluster is unreachable.
            let code =
                (elapsed >= timeout.mul_f64(0.9)).then_some(RDKafkaErrorCode::OperationTimedOut);
            return Err(AdminError::new(
                code,
                format!("ListOffsets: no partition leader answered (after {elapsed:?})"),
            ));
        }
        let mut out = self.out;
        for d in self.index.dups() {
            out[d.index as usize] = out[d.first as usize].clone();
        }
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(AdminError::new(None, "ListOffsets: no result"))))
            .collect())
    }
}

/// Appends one group's committed offsets from a ListConsumerGroupOffsets answer (to the
/// request for `index.uniq()[start..]`) to `out`: partitions with a per-partition error or
/// without a commit are left out. `Err` for a whole-call or group-level error.
pub(super) fn group_offsets(
    answer: Answer<Vec<Option<GroupRow>>>,
    group: &str,
    start: usize,
    index: &mut PartitionIndex<'_>,
    out: &mut Vec<Committed>,
) -> Result<(), AdminError> {
    let groups = self::answer("ListConsumerGroupOffsets", answer)?;
    // librdkafka answers one request (one group) with exactly one group result.
    let [g] = &groups[..] else {
        return Err(AdminError::new(
            None,
            format!(
                "ListConsumerGroupOffsets {group}: {} group results",
                groups.len()
            ),
        ));
    };
    let Some(g) = g else {
        return Err(AdminError::new(
            None,
            "ListConsumerGroupOffsets: null group result",
        ));
    };
    if let Some(e) = &g.error {
        return Err(AdminError::new(
            Some(e.code),
            format!("ListConsumerGroupOffsets {group}: {}", e.text),
        ));
    }
    for (k, row) in g.partitions.iter().enumerate() {
        if let Some(error) = row.error {
            debug!(
                group,
                partition = row.tp.partition,
                ?error,
                "skipping partition with error in committed offsets"
            );
            continue;
        }
        if row.offset < 0 {
            continue; // -1001: no commit
        }
        match index.resolve(start + k, &row.tp) {
            Some(i) => out.push(Committed {
                index: i,
                offset: row.offset,
            }),
            // A topic not watched (groups are asked for all their commits).
            None => trace!(
                group,
                topic = &*row.tp.topic,
                partition = row.tp.partition,
                "committed offset of a partition not asked for"
            ),
        }
    }
    Ok(())
}

/// Sorts one group's offsets by input index and adds the duplicates of the input list.
pub(super) fn finish_group(
    mut out: Vec<Committed>,
    dups: &[super::index::Duplicate],
) -> Vec<Committed> {
    out.sort_unstable_by_key(|c| c.index);
    if !dups.is_empty() {
        let found = out.clone();
        for d in dups {
            if let Ok(pos) = found.binary_search_by_key(&d.first, |c| c.index) {
                out.push(Committed {
                    index: d.index,
                    offset: found[pos].offset,
                });
            }
        }
        out.sort_unstable_by_key(|c| c.index);
    }
    out
}

/// A ListConsumerGroups answer: the valid listings plus per-broker errors (as text).
pub(super) fn list_groups(answer: Answer<GroupsRows>) -> Result<GroupList, AdminError> {
    let rows = self::answer("ListConsumerGroups", answer)?;
    let groups = rows
        .valid
        .into_iter()
        .map(|l| GroupListing {
            id: l.id,
            state: GroupState::from_name(&l.state),
            simple: l.simple,
        })
        .collect();
    let errors = rows
        .errors
        .into_iter()
        .map(|e| {
            AdminError::new(Some(e.code), format!("ListConsumerGroups: {}", e.text)).to_string()
        })
        .collect();
    Ok(GroupList { groups, errors })
}

/// A row of an answer that has one row per name asked (a group, a topic).
trait NamedRow {
    fn name(&self) -> &str;
    /// Takes the row's own error out, if any.
    fn take_error(&mut self) -> Option<ErrorText>;
}

impl NamedRow for DescriptionRow {
    fn name(&self) -> &str {
        &self.id
    }
    fn take_error(&mut self) -> Option<ErrorText> {
        self.error.take()
    }
}

impl NamedRow for ConfigResourceRow {
    fn name(&self) -> &str {
        &self.name
    }
    fn take_error(&mut self) -> Option<ErrorText> {
        self.error.take()
    }
}

/// The answer of the call `what` for `names`: per name, in that order, `build` of its row or
/// its error. A whole-call error is every name's; a name the answer leaves out gets an error.
fn per_name<R: NamedRow, T>(
    what: &str,
    answer: Answer<Vec<R>>,
    names: &[impl AsRef<str>],
    build: impl Fn(R) -> T,
) -> Vec<Result<T, AdminError>> {
    let rows = match self::answer(what, answer) {
        Ok(rows) => rows,
        Err(e) => return names.iter().map(|_| Err(e.clone())).collect(),
    };
    let mut by_name: std::collections::HashMap<String, R> =
        rows.into_iter().map(|r| (r.name().to_owned(), r)).collect();
    names
        .iter()
        .map(|n| {
            let n = n.as_ref();
            let Some(mut row) = by_name.remove(n) else {
                return Err(AdminError::new(
                    None,
                    format!("{what}: no answer for {n:?}"),
                ));
            };
            if let Some(e) = row.take_error() {
                return Err(AdminError::new(
                    Some(e.code),
                    format!("{what} {n:?}: {}", e.text),
                ));
            }
            Ok(build(row))
        })
        .collect()
}

/// A DescribeConsumerGroups answer: per group asked, in the order of `groups`, its description
/// or its error. A group the answer leaves out gets an error too.
pub(super) fn describe_groups(
    answer: Answer<Vec<DescriptionRow>>,
    groups: &[String],
) -> Vec<Result<GroupDescription, AdminError>> {
    per_name("DescribeConsumerGroups", answer, groups, |row| {
        GroupDescription {
            id: row.id,
            state: GroupState::from_name(&row.state),
            protocol: row.protocol,
            simple: row.simple,
            coordinator: row.coordinator,
            members: row.members,
        }
    })
}

/// A DescribeConfigs answer for the topics `topics`: per topic, in that order, its config or
/// its error. A whole-call error is every topic's; a topic the answer leaves out gets an error.
pub(super) fn describe_topic_configs(
    answer: Answer<Vec<ConfigResourceRow>>,
    topics: &[&str],
) -> Vec<Result<TopicConfig, AdminError>> {
    per_name("DescribeConfigs", answer, topics, |row| TopicConfig {
        cleanup_policy: row
            .entries
            .into_iter()
            .find(|e| e.name == CLEANUP_POLICY)
            .and_then(|e| e.value),
        name: row.name,
    })
}

#[cfg(test)]
mod config_tests {
    use super::*;

    fn row(name: &str, error: Option<RDKafkaErrorCode>, policy: Option<&str>) -> ConfigResourceRow {
        ConfigResourceRow {
            name: name.into(),
            error: error.map(|code| ErrorText {
                code,
                text: "Broker: Topic authorization failed".into(),
            }),
            entries: policy
                .map(|p| ConfigEntryRow {
                    name: CLEANUP_POLICY.into(),
                    value: Some(p.into()),
                })
                .into_iter()
                .collect(),
        }
    }

    fn policy(r: &Result<TopicConfig, AdminError>) -> Option<&str> {
        r.as_ref().unwrap().cleanup_policy.as_deref()
    }

    #[test]
    fn configs_come_back_in_the_order_asked_with_per_topic_errors() {
        let rows = vec![
            row(
                "secret",
                Some(RDKafkaErrorCode::TopicAuthorizationFailed),
                None,
            ),
            row("plain", None, None),
            row("orders", None, Some("compact,delete")),
            row("events", None, Some("delete")),
        ];
        let topics = ["orders", "secret", "events", "gone", "plain"];
        let out = describe_topic_configs(Answer::Rows(Some(rows)), &topics);
        assert_eq!(out.len(), 5);
        assert_eq!(policy(&out[0]), Some("compact,delete"));
        assert!(out[0].as_ref().unwrap().compacted());
        assert_eq!(out[0].as_ref().unwrap().name, "orders");
        let e = out[1].as_ref().unwrap_err();
        assert_eq!(e.code, Some(RDKafkaErrorCode::TopicAuthorizationFailed));
        assert_eq!(
            e.message,
            "DescribeConfigs \"secret\": Broker: Topic authorization failed"
        );
        assert_eq!(policy(&out[2]), Some("delete"));
        assert!(!out[2].as_ref().unwrap().compacted());
        let e = out[3].as_ref().unwrap_err();
        assert_eq!(e.code, None);
        assert_eq!(e.message, "DescribeConfigs: no answer for \"gone\"");
        // No entry: the broker's default, reported as unknown and not compacted.
        assert_eq!(policy(&out[4]), None);
        assert!(!out[4].as_ref().unwrap().compacted());
    }

    #[test]
    fn other_entries_and_a_null_value_are_no_policy() {
        let mut r = row("t", None, None);
        r.entries = vec![
            ConfigEntryRow {
                name: "retention.ms".into(),
                value: Some("compact".into()),
            },
            ConfigEntryRow {
                name: CLEANUP_POLICY.into(),
                value: None,
            },
        ];
        let out = describe_topic_configs(Answer::Rows(Some(vec![r])), &["t"]);
        assert_eq!(policy(&out[0]), None);
    }

    #[test]
    fn a_failed_call_fails_every_topic() {
        let failed = Answer::Failed(ErrorText {
            code: RDKafkaErrorCode::OperationTimedOut,
            text: "Local: Timed out".into(),
        });
        let out = describe_topic_configs(failed, &["a", "b"]);
        assert_eq!(out.len(), 2);
        for r in &out {
            let e = r.as_ref().unwrap_err();
            assert_eq!(e.code, Some(RDKafkaErrorCode::OperationTimedOut));
            assert_eq!(e.message, "DescribeConfigs: Local: Timed out");
        }
        let out = describe_topic_configs(Answer::Rows(None), &["a"]);
        assert_eq!(
            out[0].as_ref().unwrap_err().message,
            "DescribeConfigs: event without result"
        );
    }
}

#[cfg(test)]
mod describe_tests {
    use super::*;
    use crate::model::Coordinator;
    use std::sync::Arc;

    fn row(id: &str, error: Option<RDKafkaErrorCode>) -> DescriptionRow {
        DescriptionRow {
            id: id.into(),
            error: error.map(|code| ErrorText {
                code,
                text: "Broker: Group authorization failed".into(),
            }),
            state: "CompletingRebalance".into(),
            protocol: "range".into(),
            simple: false,
            coordinator: Some(Coordinator {
                id: 1,
                host: "k1".into(),
                port: 9092,
            }),
            members: vec![GroupMember {
                member_id: "rdkafka-1".into(),
                instance_id: Some("pod-0".into()),
                client_id: "billing".into(),
                host: "/10.0.0.5".into(),
                assignment: vec![TopicPartition::new(Arc::from("orders"), 3)],
            }],
        }
    }

    #[test]
    fn descriptions_come_back_in_the_order_asked_with_per_group_errors() {
        let groups = ["b".to_string(), "missing".to_string(), "a".to_string()];
        let rows = vec![
            row("a", None),
            row("b", Some(RDKafkaErrorCode::GroupAuthorizationFailed)),
        ];
        let out = describe_groups(Answer::Rows(Some(rows)), &groups);
        assert_eq!(out.len(), 3);
        let e = out[0].as_ref().unwrap_err();
        assert_eq!(e.code, Some(RDKafkaErrorCode::GroupAuthorizationFailed));
        assert!(e.message.contains("\"b\""), "{e}");
        assert!(out[1]
            .as_ref()
            .unwrap_err()
            .message
            .contains("no answer for \"missing\""));
        let a = out[2].as_ref().unwrap();
        assert_eq!(a.state, GroupState::CompletingRebalance);
        assert_eq!(a.members[0].client_id, "billing");
        assert_eq!(a.members[0].host, "/10.0.0.5");
        assert_eq!(a.members[0].instance_id.as_deref(), Some("pod-0"));
        assert_eq!(&*a.members[0].assignment[0].topic, "orders");
    }

    #[test]
    fn a_failed_call_fails_every_group() {
        let groups = ["a".to_string(), "b".to_string()];
        let failed = Answer::Failed(ErrorText {
            code: RDKafkaErrorCode::OperationTimedOut,
            text: "Local: Timed out".into(),
        });
        let out = describe_groups(failed, &groups);
        assert!(out.iter().all(|r| r
            .as_ref()
            .is_err_and(|e| e.code == Some(RDKafkaErrorCode::OperationTimedOut))));
    }
}
