//! Record timestamps for exact lag in seconds (`clusters[].time_lag = "record"`): the
//! timestamp of the record at a group's committed offset, the next one the group reads.
//!
//! A read-only consumer: it only `assign`s partitions at the offsets asked for and reads one
//! record from each, never joins a group and never commits (`enable.auto.commit` off, offsets
//! never stored). Fetches are small and each partition is paused once its record is in; the
//! payload is dropped at once.

use std::collections::hash_map::{Entry, HashMap};
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};

use crate::config::ClusterConfig;

/// A record to read: the one at `offset` of `topic`/`partition`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordWant {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// What was read for a [`RecordWant`]: the first record at or after its offset (after, when
/// the one asked for was deleted by retention or compaction, or is a transaction marker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRead {
    /// Milliseconds since the Unix epoch, as the record carries it (its producer's CreateTime,
    /// or the broker's LogAppendTime on topics configured so).
    pub timestamp_ms: i64,
    /// The offset of the record read (at least the one asked for).
    pub offset: i64,
}

/// The consumer reading record timestamps for one cluster.
pub struct RecordReader {
    consumer: BaseConsumer,
}

impl RecordReader {
    pub fn new(cluster: &ClusterConfig) -> Result<RecordReader, KafkaError> {
        let mut cfg = crate::config::kafka_properties(&cluster.bootstrap_servers, &cluster.client);
        cfg.set("enable.auto.offset.store", "false")
            // A deleted offset (below the log start) reads from the first record left.
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            // One record is wanted: the first fetch of each partition asks for little.
            .set("fetch.message.max.bytes", "16384")
            .set("queued.min.messages", "1")
            .set("fetch.wait.max.ms", "100")
            .set_log_level(RDKafkaLogLevel::Warning);
        Ok(RecordReader {
            consumer: cfg.create()?,
        })
    }

    /// Reads the record of each of `wants` (at most one offset per partition), within
    /// `budget`. Answers in no particular order; a want without an answer was not read in time
    /// (or its partition could not be read) and falls back to interpolation.
    pub fn read(&self, wants: &[RecordWant], budget: Duration) -> Vec<(usize, RecordRead)> {
        let deadline = Instant::now() + budget;
        let mut tpl = TopicPartitionList::with_capacity(wants.len());
        let mut pending: HashMap<(String, i32), usize> = HashMap::with_capacity(wants.len());
        for (i, w) in wants.iter().enumerate() {
            if let Entry::Vacant(slot) = pending.entry((w.topic.clone(), w.partition)) {
                slot.insert(i);
                let _ = tpl.add_partition_offset(&w.topic, w.partition, Offset::Offset(w.offset));
            }
        }
        let mut out = Vec::with_capacity(pending.len());
        if let Err(e) = self.consumer.assign(&tpl) {
            tracing::debug!(error = %e, "cannot assign partitions to read record timestamps");
            return out;
        }
        while !pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let message = match self.consumer.poll(left) {
                None => continue,
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "reading a record timestamp");
                    continue;
                }
                Some(Ok(m)) => m,
            };
            let key = (message.topic().to_string(), message.partition());
            let Some(i) = pending.remove(&key) else {
                continue;
            };
            let mut done = TopicPartitionList::new();
            let _ = done.add_partition(message.topic(), message.partition());
            let _ = self.consumer.pause(&done);
            let timestamp_ms = match message.timestamp() {
                Timestamp::CreateTime(ms) | Timestamp::LogAppendTime(ms) if ms >= 0 => ms,
                // No timestamp (a pre-0.10 message format): no answer, interpolation it is.
                _ => continue,
            };
            out.push((
                i,
                RecordRead {
                    timestamp_ms,
                    offset: message.offset(),
                },
            ));
        }
        // Fetching stops; the next read assigns afresh.
        let _ = self.consumer.unassign();
        out
    }
}
