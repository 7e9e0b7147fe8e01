//! Record timestamps read at committed offsets (`time_lag = "record"`), kept per (topic,
//! partition, offset): an offset that does not move costs no read. An entry goes when no
//! lagging group-partition sits at its offset any more, and when retention deleted the record
//! it was read from (the next record there is then another one), so the cache never outgrows
//! the group-partitions that lag and never answers with a deleted record.

use std::cmp::Reverse;
use std::collections::HashMap;

use super::Store;
use crate::evaluate::LagMethod;

/// The timestamp of the record a group reads next at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordTime {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The offset of the record read: the one asked for, or a later one when that was gone.
    pub read_offset: i64,
}

impl RecordTime {
    /// How the lag at `offset` is known from this record.
    pub fn method(self, offset: i64) -> LagMethod {
        if self.read_offset > offset {
            LagMethod::NextRecord
        } else {
            LagMethod::Record
        }
    }
}

/// A record wanted at an offset some lagging group-partition is at, with the largest lag
/// there (the reads within a poll's budget go to the largest lags first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordWanted {
    pub topic: u32,
    pub partition: i32,
    pub offset: i64,
    pub lag: u64,
}

impl RecordWanted {
    pub fn key(&self) -> (u32, i32, i64) {
        (self.topic, self.partition, self.offset)
    }
}

pub(super) type RecordTimes = HashMap<(u32, i32, i64), RecordTime>;

impl Store {
    /// The record time read at `offset` of `topic`/`partition`, if any.
    #[inline]
    pub fn record_time(&self, topic: u32, partition: i32, offset: i64) -> Option<RecordTime> {
        if self.record_times.is_empty() {
            return None;
        }
        self.record_times.get(&(topic, partition, offset)).copied()
    }

    /// The records to read next: of the offsets lagging group-partitions sit at without a
    /// record time (and not `skip`ped), at most `limit`, largest lag first (ties in topic,
    /// partition, offset order). Drops the record times no
    /// lagging group-partition needs any more, and those read from a record retention deleted.
    pub fn records_wanted(
        &mut self,
        limit: usize,
        skip: impl Fn(&RecordWanted) -> bool,
    ) -> Vec<RecordWanted> {
        let mut lagging: Vec<RecordWanted> = Vec::new();
        for g in self.groups.values() {
            for run in g.runs.iter() {
                let Some(topic) = self.topic(run.topic) else {
                    continue;
                };
                for (i, p) in run.partitions() {
                    let offset = g.offsets[i];
                    let lag = topic
                        .watermarks
                        .get(p as usize)
                        .and_then(|w| w.lag(offset))
                        .unwrap_or(0);
                    if lag > 0 {
                        lagging.push(RecordWanted {
                            topic: run.topic,
                            partition: p,
                            offset,
                            lag,
                        });
                    }
                }
            }
        }
        // One entry per offset, with its largest lag.
        lagging.sort_unstable_by_key(|w| (w.key(), Reverse(w.lag)));
        lagging.dedup_by_key(|w| w.key());
        let topics = &self.topics;
        let log_start = |t: u32, p: i32| {
            let t = topics.get(t as usize)?.as_ref()?;
            Some(t.watermarks.get(usize::try_from(p).ok()?)?.earliest)
        };
        self.record_times.retain(|&key, time| {
            let needed = lagging.binary_search_by_key(&key, |w| w.key()).is_ok();
            let deleted = log_start(key.0, key.1).is_some_and(|start| start > time.read_offset);
            needed && !deleted
        });
        let times = &self.record_times;
        let mut wanted: Vec<RecordWanted> = lagging
            .into_iter()
            .filter(|w| !times.contains_key(&w.key()) && !skip(w))
            .collect();
        let order = |w: &RecordWanted| (Reverse(w.lag), w.key());
        if wanted.len() > limit {
            wanted.select_nth_unstable_by_key(limit, order);
            wanted.truncate(limit);
        }
        wanted.sort_unstable_by_key(order);
        wanted
    }

    /// Keeps `time` as the record time at `offset` of `topic`/`partition`.
    pub fn apply_record_time(&mut self, topic: u32, partition: i32, offset: i64, time: RecordTime) {
        self.record_times.insert((topic, partition, offset), time);
    }
}
