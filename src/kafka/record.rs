//! Record timestamps for exact lag in seconds (`clusters[].time_lag = "record"`): the
//! timestamp of the record at a group's committed offset, the next one the group reads.
//!
//! A read-only consumer: it only `assign`s partitions at the offsets asked for and reads one
//! record from each, so it never joins a group and never commits (it has the admin client's
//! `group.id` only because librdkafka refuses `assign` without one). Fetches are small and each
//! partition is paused once its record is in; the payload is dropped at once.

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
    /// Wants whose partition was fetched for [`MISS_AFTER`] or more without an answer: nothing
    /// readable there (yet), or not allowed. Wants of rounds cut short are not among them.
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
    /// A partition holds one offset at a time, so the reads go in rounds: each round assigns
    /// every partition's next wanted offset. A want without an answer was not read in time, or
    /// its partition could not be read.
    pub fn read(&self, wants: &[RecordWant], budget: Duration, stop: &AtomicBool) -> Reads {
        let deadline = Instant::now() + budget;
        let mut rounds: Vec<Vec<usize>> = Vec::new();
        let mut depth: HashMap<(&str, i32), usize> = HashMap::new();
        for (i, w) in wants.iter().enumerate() {
            let k = depth.entry((&w.topic, w.partition)).or_insert(0);
            if rounds.len() <= *k {
                rounds.push(Vec::new());
            }
            rounds[*k].push(i);
            *k += 1;
        }
        let mut reads = Reads::default();
        for round in rounds {
            if Instant::now() >= deadline || stop.load(Ordering::Relaxed) {
                break;
            }
            self.read_round(wants, &round, deadline, stop, &mut reads);
        }
        reads
    }

    /// One round: `round` holds at most one want per partition.
    fn read_round(
        &self,
        wants: &[RecordWant],
        round: &[usize],
        deadline: Instant,
        stop: &AtomicBool,
        reads: &mut Reads,
    ) {
        let mut tpl = TopicPartitionList::with_capacity(round.len());
        let mut pending: HashMap<(String, i32), usize> = HashMap::with_capacity(round.len());
        for &i in round {
            let w = &wants[i];
            pending.insert((w.topic.clone(), w.partition), i);
            let _ = tpl.add_partition_offset(&w.topic, w.partition, Offset::Offset(w.offset));
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
            let Some(i) = pending.remove(&key) else {
                continue;
            };
            let mut done = TopicPartitionList::new();
            let _ = done.add_partition(message.topic(), message.partition());
            let _ = with_consumer!(self, c => c.pause(&done));
            let timestamp_ms = match message.timestamp() {
                Timestamp::CreateTime(ms) | Timestamp::LogAppendTime(ms) if ms >= 0 => ms,
                // No timestamp (a pre-0.10 message format): no answer, interpolation it is.
                _ => continue,
            };
            reads.answers.push((
                i,
                RecordRead {
                    timestamp_ms,
                    offset: message.offset(),
                },
            ));
        }
        if assigned.elapsed() >= MISS_AFTER {
            reads.missed.extend(pending.into_values());
        }
        // Fetching stops; the next round assigns afresh.
        let _ = with_consumer!(self, c => c.unassign());
    }
}
