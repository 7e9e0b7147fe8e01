//! Record timestamps for exact lag in seconds (`clusters[].time_lag = "record"`): the
//! timestamp of the record at a group's committed offset, the next one the group reads.
//!
//! A read-only consumer: it only `assign`s partitions at the offsets asked for and reads
//! forward from there until every offset asked for has its record, so it never joins a group
//! and never commits (it has the admin client's `group.id` only because librdkafka refuses
//! `assign` without one). Fetches are small and each partition is paused once its records are
//! in; the payload is dropped at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};

use crate::config::ClusterConfig;
use crate::kafka::msk_iam::{MskIam, MskIamContext};

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

/// The answers of one [`RecordReader::read`].
#[derive(Debug, Default)]
pub struct Reads {
    /// `(index into the wants, what was read)`, in no particular order.
    pub answers: Vec<(usize, RecordRead)>,
    /// Wants whose partition was fetched for [`MISS_AFTER`] or more without giving any record:
    /// nothing readable there (yet), or not allowed. Wants of rounds not started, and of
    /// partitions that gave records but ran out of time, are not among them.
    pub missed: Vec<usize>,
    /// Errors the consumer reported (the first is kept for the log).
    pub errors: u64,
    pub first_error: Option<String>,
}

/// How long a partition is fetched without an answer before its want counts as missed.
const MISS_AFTER: Duration = Duration::from_secs(1);

/// The longest a read waits without looking at its stop flag.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// The consumer reading record timestamps for one cluster.
pub struct RecordReader {
    consumer: ReaderConsumer,
}

/// The consumer, with rdkafka's default context, or with one that signs MSK IAM tokens (a
/// consumer without `auth` keeps exactly rdkafka's default handling of token events).
enum ReaderConsumer {
    Plain(BaseConsumer),
    MskIam(BaseConsumer<MskIamContext>),
}

/// Runs `$body` with `$c` bound to the reader's consumer, whichever its context.
macro_rules! with_consumer {
    ($reader:expr, $c:ident => $body:expr) => {
        match &$reader.consumer {
            ReaderConsumer::Plain($c) => $body,
            ReaderConsumer::MskIam($c) => $body,
        }
    };
}

impl RecordReader {
    /// A consumer with the cluster's client properties (security, …) and `auth`, `signer`
    /// making the OAUTHBEARER tokens of a cluster whose `auth` is MSK IAM (librdkafka asks for
    /// them when the consumer is polled, which [`RecordReader::read`] does; the scraper shares
    /// one signer between its clients). An error names the property at fault.
    pub fn new(cluster: &ClusterConfig, signer: Option<MskIam>) -> Result<RecordReader, String> {
        let mut cfg = crate::config::kafka_properties(
            &cluster.bootstrap_servers,
            &cluster.client,
            cluster.auth.as_ref(),
        )
        .map_err(|(property, e)| format!("client.\"{property}\": {e}"))?;
        cfg.set("enable.auto.offset.store", "false")
            // A deleted offset (below the log start) reads from the first record left.
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            // One record is wanted per partition: small fetches, small queues. The broker
            // still sends at least one whole batch per partition.
            .set("fetch.message.max.bytes", "16384")
            .set("fetch.max.bytes", "1048576")
            .set("receive.message.max.bytes", "2097152")
            .set("queued.max.messages.kbytes", "1024")
            .set("queued.min.messages", "1")
            // A partition over those thresholds is not fetched again for this long (librdkafka's
            // default 1 s): with thresholds this low a busy round then starved partitions
            // still unread past its budget.
            .set("fetch.queue.backoff.ms", "20")
            .set("fetch.wait.max.ms", "100")
            .set_log_level(RDKafkaLogLevel::Warning);
        let consumer = match signer {
            None => ReaderConsumer::Plain(cfg.create().map_err(|e| e.to_string())?),
            Some(signer) => ReaderConsumer::MskIam(
                cfg.create_with_context(MskIamContext(signer))
                    .map_err(|e| e.to_string())?,
            ),
        };
        Ok(RecordReader { consumer })
    }

    /// Reads the record of each of `wants` within `budget`, stopping early when `stop` is set.
    /// A partition is read forward from its lowest wanted offset, and each record read answers
    /// every want at or below its offset not answered yet, so the wants of one partition cost
    /// one pass (see `plan_rounds`). A want without an answer was not read in time, or its
    /// partition could not be read.
    pub fn read(&self, wants: &[RecordWant], budget: Duration, stop: &AtomicBool) -> Reads {
        let deadline = Instant::now() + budget;
        let mut reads = Reads::default();
        for round in plan_rounds(wants) {
            if Instant::now() >= deadline || stop.load(Ordering::Relaxed) {
                break;
            }
            self.read_round(wants, round, deadline, stop, &mut reads);
        }
        reads
    }

    /// One round: at most one span per partition.
    fn read_round(
        &self,
        wants: &[RecordWant],
        round: Vec<Vec<usize>>,
        deadline: Instant,
        stop: &AtomicBool,
        reads: &mut Reads,
    ) {
        let mut tpl = TopicPartitionList::with_capacity(round.len());
        // Per partition: its span's wants (by offset), how many are answered, and whether any
        // record came.
        let mut pending: HashMap<(String, i32), (Vec<usize>, usize, bool)> =
            HashMap::with_capacity(round.len());
        for span in round {
            let w = &wants[span[0]];
            let _ = tpl.add_partition_offset(&w.topic, w.partition, Offset::Offset(w.offset));
            pending.insert((w.topic.clone(), w.partition), (span, 0, false));
        }
        // A partition paused by an earlier round stays paused through unassign and assign
        // (librdkafka keeps the application's pause flag on the partition): resume first.
        let _ = with_consumer!(self, c => c.resume(&tpl));
        if let Err(e) = with_consumer!(self, c => c.assign(&tpl)) {
            reads.errors += 1;
            reads.first_error.get_or_insert_with(|| e.to_string());
            return;
        }
        let assigned = Instant::now();
        while !pending.is_empty() && !stop.load(Ordering::Relaxed) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // With MSK IAM, a poll that serves librdkafka's token request signs a token, and
            // when the cached credentials must be fetched again that waits up to 12 s (the
            // signer's limit): then a read overruns its budget and its stop check by that
            // much, on its blocking thread (not a tokio worker).
            let message = match with_consumer!(self, c => c.poll(left.min(STOP_CHECK))) {
                None => continue,
                Some(Err(e)) => {
                    reads.errors += 1;
                    reads.first_error.get_or_insert_with(|| e.to_string());
                    continue;
                }
                Some(Ok(m)) => m,
            };
            let key = (message.topic().to_string(), message.partition());
            let Some((span, answered, delivered)) = pending.get_mut(&key) else {
                continue;
            };
            *delivered = true;
            let timestamp_ms = match message.timestamp() {
                Timestamp::CreateTime(ms) | Timestamp::LogAppendTime(ms) if ms >= 0 => Some(ms),
                // No timestamp (a pre-0.10 message format): no answer, interpolation it is.
                _ => None,
            };
            let offset = message.offset();
            while let Some(&i) = span.get(*answered).filter(|&&i| wants[i].offset <= offset) {
                if let Some(timestamp_ms) = timestamp_ms {
                    reads.answers.push((
                        i,
                        RecordRead {
                            timestamp_ms,
                            offset,
                        },
                    ));
                }
                *answered += 1;
            }
            if *answered == span.len() {
                pending.remove(&key);
                let mut done = TopicPartitionList::new();
                let _ = done.add_partition(message.topic(), message.partition());
                let _ = with_consumer!(self, c => c.pause(&done));
            }
        }
        // A partition that gave records but ran out of time is slow, not unreadable: its
        // wants are tried again at the next poll.
        if assigned.elapsed() >= MISS_AFTER {
            for (span, answered, _) in pending.into_values().filter(|p| !p.2) {
                reads.missed.extend_from_slice(&span[answered..]);
            }
        }
        // Fetching stops; the next round assigns afresh.
        let _ = with_consumer!(self, c => c.unassign());
    }
}

/// Wanted offsets of one partition at most this far after the first of their pass are read
/// in that pass (the records between them are fetched too); later ones go in later rounds.
const SPAN_RECORDS: i64 = 100;

/// The reads of `wants` in rounds: each round holds at most one span per partition (a
/// partition is assigned at one offset at a time), a span being indices into `wants` of one
/// partition, by offset, at most [`SPAN_RECORDS`] after the span's first. A want asked for
/// twice is in its span twice (both get the answer).
fn plan_rounds(wants: &[RecordWant]) -> Vec<Vec<Vec<usize>>> {
    let mut by_partition: HashMap<(&str, i32), Vec<usize>> = HashMap::new();
    for (i, w) in wants.iter().enumerate() {
        by_partition
            .entry((&w.topic, w.partition))
            .or_default()
            .push(i);
    }
    let mut partitions: Vec<((&str, i32), Vec<usize>)> = by_partition.into_iter().collect();
    // Rounds list partitions in a fixed order (tests, logs).
    partitions.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut rounds: Vec<Vec<Vec<usize>>> = Vec::new();
    for (_, mut idx) in partitions {
        idx.sort_by_key(|&i| wants[i].offset);
        let mut round = 0;
        let mut span: Vec<usize> = Vec::new();
        for i in idx {
            if let Some(&first) = span.first() {
                if wants[i].offset - wants[first].offset > SPAN_RECORDS {
                    push_span(&mut rounds, round, std::mem::take(&mut span));
                    round += 1;
                }
            }
            span.push(i);
        }
        push_span(&mut rounds, round, span);
    }
    rounds
}

fn push_span(rounds: &mut Vec<Vec<Vec<usize>>>, round: usize, span: Vec<usize>) {
    if rounds.len() <= round {
        rounds.push(Vec::new());
    }
    rounds[round].push(span);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(topic: &str, partition: i32, offset: i64) -> RecordWant {
        RecordWant {
            topic: topic.into(),
            partition,
            offset,
        }
    }

    #[test]
    fn a_partitions_wants_are_read_in_passes_of_at_most_100_records() {
        let wants = [
            want("a", 0, 7),
            want("a", 0, 3),
            want("b", 0, 5),
            want("a", 1, 1_000),
            want("a", 0, 103), // 100 after 3: same pass
            want("a", 0, 204), // 201 after 3: next round
            want("a", 0, 3),   // asked twice
            want("a", 0, 205),
            want("a", 0, 10_000),
            want("b", 0, 90),
            want("b", 0, 180), // 90 after the one before, 175 after the span's first
        ];
        let rounds = plan_rounds(&wants);
        assert_eq!(
            rounds,
            vec![
                // a/0 from 3, a/1, b/0
                vec![vec![1, 6, 0, 4], vec![3], vec![2, 9]],
                vec![vec![5, 7], vec![10]],
                vec![vec![8]],
            ]
        );
        assert!(plan_rounds(&[]).is_empty());
    }
}
