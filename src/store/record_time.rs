//! Record timestamps read at committed offsets (`time_lag = "record"`), kept per (topic,
//! partition, offset): an offset that does not move costs no read, and entries no lagging
//! group-partition sits at any more are dropped, so the cache never outgrows the
//! group-partitions that lag.

use std::collections::HashMap;

use super::Store;
use crate::evaluate::LagMethod;

/// The timestamp of the record a group reads next at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordTime {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The record at the offset was gone and this is the next one's (see
    /// [`LagMethod::NextRecord`]).
    pub next: bool,
}

impl RecordTime {
    pub fn method(self) -> LagMethod {
        if self.next {
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

    /// The offsets of lagging group-partitions without a record time, largest lag first
    /// (ties in topic, partition, offset order); drops the record times no lagging
    /// group-partition needs any more.
    pub fn records_wanted(&mut self) -> Vec<RecordWanted> {
        let mut lagging: HashMap<(u32, i32, i64), u64> = HashMap::new();
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
                        let most = lagging.entry((run.topic, p, offset)).or_insert(0);
                        *most = (*most).max(lag);
                    }
                }
            }
        }
        self.record_times.retain(|key, _| lagging.contains_key(key));
        let mut wanted: Vec<RecordWanted> = lagging
            .into_iter()
            .filter(|(key, _)| !self.record_times.contains_key(key))
            .map(|((topic, partition, offset), lag)| RecordWanted {
                topic,
                partition,
                offset,
                lag,
            })
            .collect();
        wanted.sort_by_key(|w| (std::cmp::Reverse(w.lag), w.topic, w.partition, w.offset));
        wanted
    }

    /// Keeps `time` as the record time at `offset` of `topic`/`partition`.
    pub fn apply_record_time(&mut self, topic: u32, partition: i32, offset: i64, time: RecordTime) {
        self.record_times.insert((topic, partition, offset), time);
    }
}
