//! Input partitions: validation, de-duplication and mapping result elements back to input
//! positions. Plain data only: no librdkafka.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::AdminError;
use crate::model::TopicPartition;

/// An input partition that repeats an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Duplicate {
    /// Input index of the repeat.
    pub index: u32,
    /// Input index of the first occurrence.
    pub first: u32,
}

/// librdkafka rejects a whole request for one duplicate or invalid partition, so requests carry
/// only the valid, unique partitions; this maps results back to input indexes.
pub(super) struct PartitionIndex<'a> {
    parts: &'a [TopicPartition],
    /// Input index of each partition sent, in request order.
    uniq: Vec<u32>,
    dups: Vec<Duplicate>,
    /// Input indexes rejected before sending.
    invalid: Vec<(u32, AdminError)>,
    /// (topic, partition) -> input index of its first occurrence, for results not at their
    /// request position (ListOffsets keeps request order; OffsetFetch answers may not, and
    /// answers to requests without partitions have no request positions).
    lookup: HashMap<(&'a str, i32), u32>,
}

impl<'a> PartitionIndex<'a> {
    /// Sorts `parts` into valid unique partitions (in input order), duplicates and invalid
    /// ones (empty topic, NUL in the topic, negative partition).
    pub(super) fn new(parts: &'a [TopicPartition]) -> Result<Self, AdminError> {
        if u32::try_from(parts.len()).is_err() {
            return Err(AdminError::invalid("more than u32::MAX partitions"));
        }
        let mut first: HashMap<(&str, i32), u32> = HashMap::with_capacity(parts.len());
        let mut uniq = Vec::with_capacity(parts.len());
        let mut dups = Vec::new();
        let mut invalid = Vec::new();
        for (i, TopicPartition { topic, partition }) in parts.iter().enumerate() {
            let i = i as u32;
            if topic.is_empty() || topic.contains('\0') || *partition < 0 {
                invalid.push((
                    i,
                    AdminError::invalid(format!("invalid topic-partition {topic:?}[{partition}]")),
                ));
                continue;
            }
            match first.entry((topic, *partition)) {
                Entry::Occupied(o) => dups.push(Duplicate {
                    index: i,
                    first: *o.get(),
                }),
                Entry::Vacant(v) => {
                    v.insert(i);
                    uniq.push(i);
                }
            }
        }
        Ok(PartitionIndex {
            parts,
            uniq,
            dups,
            invalid,
            lookup: first,
        })
    }

    /// The input list.
    pub(super) fn parts(&self) -> &'a [TopicPartition] {
        self.parts
    }

    /// Input index of each partition to send, in request order.
    pub(super) fn uniq(&self) -> &[u32] {
        &self.uniq
    }

    /// Repeated input partitions, in input order.
    pub(super) fn dups(&self) -> &[Duplicate] {
        &self.dups
    }

    /// Invalid input partitions, in input order, with their errors.
    pub(super) fn invalid(&self) -> &[(u32, AdminError)] {
        &self.invalid
    }

    /// Takes the invalid input partitions out.
    pub(super) fn take_invalid(&mut self) -> Vec<(u32, AdminError)> {
        std::mem::take(&mut self.invalid)
    }

    /// Input index of a result element; `pos` is its position in the request list
    /// ([`Self::uniq`]). `None` for a partition not asked for.
    pub(super) fn resolve(&mut self, pos: usize, tp: &TopicPartition) -> Option<u32> {
        if let Some(&i) = self.uniq.get(pos) {
            if self.parts[i as usize] == *tp {
                return Some(i);
            }
        }
        self.lookup.get(&(&*tp.topic, tp.partition)).copied()
    }
}

/// Input names (topics) for a call that takes a list of them: librdkafka fails a whole
/// DescribeConfigs answer that names a resource twice, so each valid name is sent once and
/// every input position maps to it.
pub(super) struct NameIndex<'a> {
    /// The valid names to send, each once, in input order.
    pub uniq: Vec<&'a str>,
    /// Per input name: its position in `uniq`, or why it is not sent (empty, NUL).
    pub slots: Vec<Result<usize, AdminError>>,
}

impl<'a> NameIndex<'a> {
    /// `what` names the kind of name in errors ("topic").
    pub(super) fn new(names: &'a [String], what: &str) -> Self {
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(names.len());
        let mut uniq = Vec::with_capacity(names.len());
        let slots = names
            .iter()
            .map(|n| {
                if n.is_empty() || n.contains('\0') {
                    return Err(AdminError::invalid(format!("invalid {what} name {n:?}")));
                }
                Ok(*first.entry(n).or_insert_with(|| {
                    uniq.push(n.as_str());
                    uniq.len() - 1
                }))
            })
            .collect();
        NameIndex { uniq, slots }
    }
}
