//! Safe async wrappers for the librdkafka admin calls that rust-rdkafka 0.39 has no API for:
//! ListOffsets, ListConsumerGroupOffsets, ListConsumerGroups, DescribeConsumerGroups and
//! DescribeConfigs (plus metadata, which is safe).
//!
//! The parts:
//! - [`ffi`]: RAII handles for librdkafka objects, the calls, and reading result events into
//!   plain rows; the only `unsafe` code in warren;
//! - [`poller`]: one long-lived result queue per [`Admin`], polled by one dedicated
//!   `std::thread` that hands each result event to the awaiting caller;
//! - [`parse`]: pure functions from those rows to answers;
//! - [`index`]: maps result partitions back to positions in the caller's list;
//! - [`answers`]: the values the calls take and give back, and their error;
//! - this module: the [`Admin`] facade.
//!
//! Two librdkafka 2.12.1 crashes in ListConsumerGroupOffsets are worked around (see
//! `crate::config::DEFAULT_ADMIN_GROUP_ID` and `GROUP_OFFSETS_RDKAFKA_TIMEOUT`).

mod answers;
#[allow(unsafe_code)]
mod ffi;
mod index;
mod parse;
mod poller;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaType};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::config::{AuthConfig, OffsetRequests};
use crate::kafka::msk_iam::MskIam;
use crate::model::{GroupDescription, TopicConfig, TopicPartition};
pub use answers::{AdminError, Committed, GroupList, GroupListing, OffsetSpec, TopicMetadata};
#[cfg(warren_wrap_find)]
pub use ffi::indexed_answers;
pub(crate) use ffi::release_freed_memory;
use ffi::{
    AdminContext, ConfigResource, Event, Forwarded, GroupOffsetsRequest, KafkaClient, Queue, Tpl,
};
use index::{NameIndex, PartitionIndex};
use poller::{Reply, Ticket, TicketGuard};

/// Partitions per ListOffsets call. librdkafka's cost per call is quadratic in its size (it
/// groups the list by leader and merges the per-leader answers with linear searches:
/// `rd_kafka_topic_partition_list_get_leaders`, `rd_kafka_ListOffsets_response_merge`), and
/// each call has a fixed cost too. Measured with `benches/scale.rs` (5,000 partitions, both
/// ends, `GROUP_OFFSETS_CHUNK` 200), CPU per poll: 1,000 → 0.27 s, 500 → 0.24 s, 250 →
/// 0.21-0.23 s, 100 → 0.22 s.
const LIST_OFFSETS_CHUNK: usize = 250;
/// Partitions per ListConsumerGroupOffsets request. librdkafka parses an OffsetFetch answer
/// by looking each partition up in the request's list, front to back (quadratic in this size),
/// which warren's search (`ffi/partition_find.rs`) makes cheap, while every request costs a
/// fixed ~0.1 ms of CPU on top (copied lists, a coordinator lookup, thread wakeups). Measured
/// with `benches/scale.rs` (20 groups × 5,000 partitions, CPU per poll): with librdkafka's own
/// search 500 → 0.29 s, 200 → 0.27 s, 100 → 0.30 s, 50 → 0.42 s; with warren's, 200 → 0.21 s,
/// 500 → 0.17 s, 1,000 → 0.17 s, 2,500 → 0.22 s (200 and 2,500 while `perf` recorded, which
/// costs some; at 2,500 the search is back on top: each partition number recurs once per
/// topic of the request, and each recurrence is a `strcmp`). More requests in
/// flight (the scraper's 8 raised to 32 or 64) saved neither CPU nor wall time and multiplied
/// the FindCoordinator requests.
/// Where librdkafka's own search is used (no `--wrap`: macOS, musl), 200.
const GROUP_OFFSETS_CHUNK: usize = if cfg!(warren_wrap_find) { 500 } else { 200 };
/// Whether asking a group for all its committed offsets at once ([`OffsetRequests::Group`]) is
/// cheap: where warren's index of librdkafka's OffsetFetch parse is linked
/// (`ffi/partition_find.rs`; Linux glibc builds). Elsewhere librdkafka searches the answer
/// built so far for each partition of it, quadratic in a group's partitions, and groups are
/// better asked for their known topics in requests of `GROUP_OFFSETS_CHUNK`.
pub const WHOLE_GROUPS_CHEAP: bool = cfg!(warren_wrap_find);
/// Groups per DescribeConsumerGroups call (librdkafka sends one request per group inside, so
/// this only bounds the size of one result event).
const DESCRIBE_GROUPS_CHUNK: usize = 100;
/// Topics per DescribeConfigs call: one request to one broker, whose answer librdkafka matches
/// to the request with a linear search per resource (quadratic in this size).
const DESCRIBE_CONFIGS_CHUNK: usize = 500;
/// The topic configs warren reads (the broker is asked for these only).
const TOPIC_CONFIG_KEYS: [&str; 1] = [parse::CLEANUP_POLICY];
/// Abandoned coordinator requests beyond which no DescribeConsumerGroups call is sent.
const DESCRIBE_GROUPS_MAX_ABANDONED: usize = 8;
/// The tokio backstop fires this long after librdkafka's own request timeout, so that
/// librdkafka's more specific error ("Failed to query partition leaders: ...") usually wins.
const TIMEOUT_GRACE: Duration = Duration::from_millis(200);
/// librdkafka-side timeout of ListConsumerGroupOffsets requests (the caller's timeout is enforced
/// by tokio instead). librdkafka 2.12.1 aborts the process (use-after-free, "Assertion
/// `eonce->refcnt > 0' failed") when such a request times out while it waits for its group
/// coordinator and that coordinator later becomes reachable; keeping the request alive until
/// the coordinator answers avoids that for outages shorter than this.
const GROUP_OFFSETS_RDKAFKA_TIMEOUT: Duration = Duration::from_secs(3600);

/// Progress of one group in `list_group_offsets`: the committed offsets so far and how many
/// of its requests are unanswered, or its first error.
type GroupProgress = Result<(Vec<Committed>, usize), AdminError>;

/// The order of one `list_group_offsets` call's requests: a group's first request goes alone,
/// the rest once it is answered. librdkafka sends each request to the group's coordinator,
/// looked up with a FindCoordinator request unless its cache has it, and its cache holds only
/// 11 groups (`rd_kafka_coord_cache_add`): requests of one group sent together all miss it, and
/// so do groups interleaved beyond 11. Measured with `benches/scale.rs` (20 groups × 10
/// requests, 8 in flight): FindCoordinator requests per poll 90 → 20.
struct RequestOrder {
    chunks: usize,
    /// Requests sent, per group.
    sent: Vec<usize>,
    /// Groups whose first request is answered and that have requests left, oldest first.
    ready: std::collections::VecDeque<usize>,
    /// The next group not started.
    next_group: usize,
}

impl RequestOrder {
    fn new(groups: usize, chunks: usize) -> Self {
        RequestOrder {
            chunks,
            sent: vec![0; groups],
            ready: std::collections::VecDeque::new(),
            next_group: 0,
        }
    }

    /// The next request to send as (group, chunk), among groups `live` says are still wanted:
    /// the rest of a group under way first, else the first request of the next group.
    fn next(&mut self, live: impl Fn(usize) -> bool) -> Option<(usize, usize)> {
        while let Some(&g) = self.ready.front() {
            if !live(g) || self.sent[g] >= self.chunks {
                self.ready.pop_front();
                continue;
            }
            self.sent[g] += 1;
            return Some((g, self.sent[g] - 1));
        }
        while self.next_group < self.sent.len() {
            let g = self.next_group;
            self.next_group += 1;
            if live(g) {
                self.sent[g] = 1;
                return Some((g, 0));
            }
        }
        None
    }

    /// Group `g`'s first request is answered: its others may go.
    fn answered_first(&mut self, g: usize) {
        if self.sent[g] < self.chunks {
            self.ready.push_back(g);
        }
    }
}

/// One admin connection to one cluster: an rdkafka client plus one long-lived result queue
/// polled by one dedicated `std::thread`. Cheap to share behind `Arc`.
///
/// The client is a consumer-type `Client` with a `group.id` rather than rdkafka's
/// `AdminClient` (see `crate::config::DEFAULT_ADMIN_GROUP_ID`). librdkafka's main and consumer queues (logs, error
/// events) are forwarded into the result queue so the poller drains them into `tracing`;
/// rdkafka's `AdminClient` never polls them and they would grow without bound.
pub struct Admin {
    // Field order is drop order: the poller is joined in `Drop::drop`, the forwarded queues
    // are detached and released next, then the result queue is destroyed, then the client
    // they belong to (each queue also holds an `Arc` of it).
    poller: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    /// Held for its `Drop`, which undoes the forwarding.
    _forwarded: Vec<Forwarded>,
    queue: Arc<Queue>,
    /// Abandoned ListConsumerGroupOffsets requests still held by librdkafka.
    abandoned: Arc<AtomicUsize>,
    /// The latest non-fatal client error event, kept by the poller.
    last_error: Arc<Mutex<Option<String>>>,
    client: Arc<KafkaClient>,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

impl Admin {
    /// `client` = librdkafka properties passed through (TLS/SASL); `bootstrap.servers` is set
    /// from the first argument (it wins over one in `client`). A `group.id` in `client` names
    /// the admin client's own, never joined, group (default "warren-admin"); on clusters with
    /// group ACLs it should be one the principal may describe.
    pub fn new(
        bootstrap_servers: &str,
        client: &BTreeMap<String, String>,
    ) -> Result<Admin, AdminError> {
        Admin::with_auth(bootstrap_servers, client, None)
    }

    /// [`Admin::new`] authenticating as `auth` says: the cluster's `auth` and the signer of
    /// its OAUTHBEARER tokens (called on librdkafka's background thread whenever librdkafka
    /// asks for a token).
    pub fn with_auth(
        bootstrap_servers: &str,
        client: &BTreeMap<String, String>,
        auth: Option<(&AuthConfig, MskIam)>,
    ) -> Result<Admin, AdminError> {
        let (auth, msk_iam) = auth.unzip();
        // The same properties configuration validation checked.
        let mut cfg = crate::config::kafka_properties(bootstrap_servers, client, auth).map_err(
            |(property, e)| AdminError::new(None, format!("client.\"{property}\": {e}")),
        )?;
        // librdkafka drops log lines above this level before they reach the poller.
        cfg.set_log_level(
            if tracing::enabled!(target: "librdkafka", tracing::Level::DEBUG) {
                RDKafkaLogLevel::Debug
            } else if tracing::enabled!(target: "librdkafka", tracing::Level::INFO) {
                RDKafkaLogLevel::Info
            } else {
                RDKafkaLogLevel::Warning
            },
        );
        let native = cfg.create_native_config()?;
        let context = AdminContext { msk_iam };
        let client = Arc::new(if context.msk_iam.is_some() {
            KafkaClient::signing_tokens(&cfg, native, context)?
        } else {
            KafkaClient::new(Client::new(
                &cfg,
                native,
                RDKafkaType::RD_KAFKA_CONSUMER,
                context,
            )?)
        });
        // From here a failure drops the client off this (tokio worker) thread.
        let queue = match Queue::new(&client) {
            Ok(queue) => Arc::new(queue),
            Err(e) => {
                ffi::drop_off_worker(client);
                return Err(e);
            }
        };
        let forwarded = queue.forward_client_queues();
        let stop = Arc::new(AtomicBool::new(false));
        let mut admin = Admin {
            poller: None,
            stop,
            _forwarded: forwarded,
            queue,
            abandoned: Arc::new(AtomicUsize::new(0)),
            last_error: Arc::new(Mutex::new(None)),
            client,
        };
        let (queue, stop) = (Arc::clone(&admin.queue), Arc::clone(&admin.stop));
        let last_error = Arc::clone(&admin.last_error);
        // On error `admin` drops normally (forwarding undone, queues and client destroyed),
        // off this thread.
        let poller = std::thread::Builder::new()
            .name("warren-admin-poll".into())
            .spawn(move || poller::poll_loop(&queue, &stop, &last_error));
        match poller {
            Ok(poller) => admin.poller = Some(poller),
            Err(e) => {
                ffi::drop_off_worker(admin);
                return Err(AdminError::new(None, format!("spawning admin poller: {e}")));
            }
        }
        Ok(admin)
    }

    /// The text of the latest non-fatal error librdkafka raised on this client (e.g. `SSL
    /// handshake failed: ... certificate verify failed`, `SASL authentication error: ...`):
    /// why a request failed when its own error says only "transport failure" or "timed out".
    pub fn last_error(&self) -> Option<String> {
        let librdkafka = self
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        // librdkafka only logs a failed token refresh (no error event for this client).
        librdkafka.or_else(|| {
            let failure = self.client.context().msk_iam.as_ref()?.failure()?;
            Some(format!("AWS MSK IAM: {failure}"))
        })
    }

    /// All topics and their partition ids.
    pub async fn metadata(&self, timeout: Duration) -> Result<Vec<TopicMetadata>, AdminError> {
        let client = Arc::clone(&self.client);
        // fetch_metadata blocks its thread for up to `timeout`.
        let task = tokio::task::spawn_blocking(move || {
            let md = client.fetch_metadata(None, timeout)?;
            let topics = md
                .topics()
                .iter()
                .map(|t| {
                    let mut partitions: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
                    partitions.sort_unstable();
                    TopicMetadata {
                        name: t.name().to_owned(),
                        partitions,
                        error: t.error().map(|e| RDKafkaErrorCode::from(e).to_string()),
                    }
                })
                .collect();
            Ok::<_, AdminError>(topics)
        });
        match tokio::time::timeout(timeout + TIMEOUT_GRACE, task).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(AdminError::new(None, format!("metadata task failed: {e}"))),
            Err(_) => Err(AdminError::timed_out("metadata", timeout)),
        }
    }

    /// ListOffsets for many partitions, in calls of at most `LIST_OFFSETS_CHUNK` partitions,
    /// all in flight at once. Returns one entry per input partition in input order. Invalid
    /// inputs (empty topic, negative partition) get a per-partition error; duplicates are asked
    /// once. A chunk whose partitions all lack a leader (e.g. deleted topic) gives per-partition
    /// errors rather than failing the call. If no partition got an offset because no leader
    /// answered (all brokers down), that is the outer `Err`, as are any other whole-call error
    /// and the timeout.
    pub async fn list_offsets(
        &self,
        partitions: &[TopicPartition],
        spec: OffsetSpec,
        timeout: Duration,
    ) -> Result<Vec<Result<i64, AdminError>>, AdminError> {
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        let index = PartitionIndex::new(partitions)?;
        let offset = match spec {
            OffsetSpec::Earliest => rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_EARLIEST,
            OffsetSpec::Latest => rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_LATEST,
        } as i64;
        let started = Instant::now();
        let deadline = started + timeout + TIMEOUT_GRACE;

        // Submit every chunk before awaiting any: they run concurrently inside librdkafka.
        let mut pending = Vec::new();
        for (n, chunk) in index.uniq().chunks(LIST_OFFSETS_CHUNK).enumerate() {
            let tpl = Tpl::build(partitions, chunk, offset)?;
            let (reply, rx) = Reply::new(None);
            self.queue.list_offsets(&tpl, timeout, reply)?;
            pending.push((n * LIST_OFFSETS_CHUNK, chunk.len(), rx));
        }

        let mut results = parse::ListOffsets::new(index);
        for (start, len, rx) in pending {
            let ev = poller::wait(rx, deadline, "ListOffsets", timeout).await?;
            results.chunk(start, len, ev.list_offsets())?;
        }
        results.finish(started.elapsed(), timeout)
    }

    /// Committed offsets of many groups: one ListConsumerGroupOffsets call per group (librdkafka
    /// accepts only one), asked as `asked` says: [`OffsetRequests::Group`], one request for all
    /// the group's commits (an OffsetFetch without partitions; cheap where
    /// [`WHOLE_GROUPS_CHEAP`]; librdkafka's mock cluster answers it with nothing), keeping those
    /// of `partitions`; [`OffsetRequests::Partitions`], requests listing `partitions` (at most
    /// `GROUP_OFFSETS_CHUNK` each). At most `max_in_flight` requests in flight. Per group, in
    /// the order of `groups`: the committed offsets of partitions that have a commit (by index
    /// into `partitions`), sorted by index; partitions without a commit or with a
    /// per-partition error are left out. `Err` for a group-level error or when `timeout` (which
    /// bounds the whole call) runs out first.
    ///
    /// Requests abandoned at the timeout stay inside librdkafka until their coordinator answers
    /// (see `GROUP_OFFSETS_RDKAFKA_TIMEOUT`); while `max_in_flight` or more of those are
    /// pending (coordinators unreachable), no new requests are sent and groups get an `Err`.
    pub async fn list_group_offsets(
        &self,
        groups: &[String],
        partitions: &[TopicPartition],
        asked: OffsetRequests,
        max_in_flight: usize,
        timeout: Duration,
    ) -> Vec<Result<Vec<Committed>, AdminError>> {
        if groups.is_empty() {
            return Vec::new();
        }
        let mut index = match PartitionIndex::new(partitions) {
            Ok(ix) => ix,
            Err(e) => return vec![Err(e); groups.len()],
        };
        for (i, e) in index.invalid() {
            debug!(index = i, error = %e, "skipping invalid partition for group offsets");
        }
        // No valid partition, no commits to report (and an empty list would mean "all
        // partitions" to librdkafka).
        if index.uniq().is_empty() {
            return vec![Ok(Vec::new()); groups.len()];
        }
        // Per request of a group: where its partitions start in `index.uniq()`, and its list
        // (built once; every request copies it), or none at all.
        let mut chunks: Vec<(usize, Option<Tpl>)> = Vec::new();
        if asked == OffsetRequests::Partitions {
            for (n, chunk) in index.uniq().chunks(GROUP_OFFSETS_CHUNK).enumerate() {
                match Tpl::build(partitions, chunk, parse::OFFSET_INVALID) {
                    Ok(t) => chunks.push((n * GROUP_OFFSETS_CHUNK, Some(t))),
                    Err(e) => return vec![Err(e); groups.len()],
                }
            }
        } else {
            chunks.push((0, None));
        }
        let deadline = Instant::now() + timeout;
        let max_in_flight = max_in_flight.max(1);
        let mut state: Vec<GroupProgress> = vec![Ok((Vec::new(), chunks.len())); groups.len()];
        let mut backlog: Option<AdminError> = None;
        let mut inflight = tokio::task::JoinSet::new();
        let mut order = RequestOrder::new(groups.len(), chunks.len());
        loop {
            while inflight.len() < max_in_flight && backlog.is_none() {
                if Instant::now() >= deadline {
                    break;
                }
                let Some((g, c)) = order.next(|g| state[g].is_ok()) else {
                    break;
                };
                // Not sent: its group stays unfinished and gets this error.
                let pending = self.abandoned.load(Ordering::Acquire);
                if pending >= max_in_flight {
                    backlog = Some(AdminError::new(
                        Some(RDKafkaErrorCode::OperationTimedOut),
                        format!(
                            "ListConsumerGroupOffsets not sent: {pending} earlier requests are \
                             still waiting for their group coordinators"
                        ),
                    ));
                    break;
                }
                match self.submit_group_offsets(&groups[g], chunks[c].1.as_ref()) {
                    Ok((rx, guard)) => {
                        inflight.spawn(async move {
                            // Dropped with the task: marks the request abandoned if unanswered.
                            let _guard = guard;
                            (g, c, rx.await)
                        });
                    }
                    Err(e) => state[g] = Err(e),
                }
            }
            if inflight.is_empty() {
                break;
            }
            // No grace here: librdkafka's own timeout for these requests is far longer.
            match tokio::time::timeout_at(deadline, inflight.join_next()).await {
                Ok(Some(Ok((g, c, answer)))) => {
                    let Ok((out, left)) = &mut state[g] else {
                        continue;
                    };
                    let r = match answer {
                        Ok(ev) => parse::group_offsets(
                            ev.group_offsets(),
                            &groups[g],
                            chunks[c].0,
                            &mut index,
                            out,
                        ),
                        Err(_) => Err(AdminError::poller_gone("ListConsumerGroupOffsets")),
                    };
                    match r {
                        Ok(()) => {
                            *left -= 1;
                            if c == 0 {
                                order.answered_first(g);
                            }
                        }
                        Err(e) => state[g] = Err(e),
                    }
                }
                // The tasks only await a receiver and cannot panic; a cancelled one leaves its
                // group unfinished, reported as a timeout below.
                Ok(Some(Err(e))) => warn!(error = %e, "group offsets task failed"),
                Ok(None) | Err(_) => break,
            }
        }
        // Abort the tasks still waiting and wait until they are gone, so their requests count
        // as abandoned before we return; their late events are freed by the poller.
        inflight.shutdown().await;
        let unfinished = || {
            Err(backlog
                .clone()
                .unwrap_or_else(|| AdminError::timed_out("ListConsumerGroupOffsets", timeout)))
        };
        state
            .into_iter()
            .map(|s| match s {
                Ok((out, 0)) => Ok(parse::finish_group(out, index.dups())),
                Ok(_) => unfinished(),
                Err(e) => Err(e),
            })
            .collect()
    }

    fn submit_group_offsets(
        &self,
        group: &str,
        tpl: Option<&Tpl>,
    ) -> Result<(oneshot::Receiver<Event>, TicketGuard), AdminError> {
        let req = GroupOffsetsRequest::new(group, tpl)?;
        let (ticket, guard) = Ticket::new(&self.abandoned);
        let (reply, rx) = Reply::new(Some(ticket));
        if let Err(e) = self
            .queue
            .list_group_offsets(&req, GROUP_OFFSETS_RDKAFKA_TIMEOUT, reply)
        {
            guard.disarm(); // never sent: nothing is left behind in librdkafka
            return Err(e);
        }
        Ok((rx, guard))
    }

    /// DescribeConsumerGroups: per group, in the order of `groups`, its description or its
    /// error. Groups go out in calls of at most `DESCRIBE_GROUPS_CHUNK`, all in flight at once;
    /// `timeout` bounds the whole call. Like committed offsets, these are coordinator requests:
    /// they get librdkafka's longest timeout and count as abandoned when `timeout` runs out
    /// first (see `GROUP_OFFSETS_RDKAFKA_TIMEOUT`); none are sent while too many are pending.
    pub async fn describe_groups(
        &self,
        groups: &[String],
        timeout: Duration,
    ) -> Vec<Result<GroupDescription, AdminError>> {
        let deadline = Instant::now() + timeout;
        let mut pending = Vec::new();
        let mut out: Vec<Result<GroupDescription, AdminError>> = Vec::with_capacity(groups.len());
        for chunk in groups.chunks(DESCRIBE_GROUPS_CHUNK) {
            let abandoned = self.abandoned.load(Ordering::Acquire);
            let sent = if abandoned >= DESCRIBE_GROUPS_MAX_ABANDONED {
                Err(AdminError::new(
                    Some(RDKafkaErrorCode::OperationTimedOut),
                    format!(
                        "DescribeConsumerGroups not sent: {abandoned} earlier requests are still \
                         waiting for their group coordinators"
                    ),
                ))
            } else {
                self.submit_describe_groups(chunk)
            };
            pending.push((chunk, sent));
        }
        for (chunk, sent) in pending {
            match sent {
                Ok((rx, _guard)) => match tokio::time::timeout_at(deadline, rx).await {
                    // The poller marked the ticket answered; dropping `guard` counts nothing.
                    Ok(Ok(ev)) => out.extend(parse::describe_groups(ev.describe_groups(), chunk)),
                    Ok(Err(_)) => {
                        let e = AdminError::poller_gone("DescribeConsumerGroups");
                        out.extend(chunk.iter().map(|_| Err(e.clone())));
                    }
                    Err(_) => {
                        // `guard` drops with this arm: abandoned until librdkafka answers.
                        let e = AdminError::timed_out("DescribeConsumerGroups", timeout);
                        out.extend(chunk.iter().map(|_| Err(e.clone())));
                    }
                },
                Err(e) => out.extend(chunk.iter().map(|_| Err(e.clone()))),
            }
        }
        out
    }

    fn submit_describe_groups(
        &self,
        groups: &[String],
    ) -> Result<(oneshot::Receiver<Event>, TicketGuard), AdminError> {
        let names = groups
            .iter()
            .map(|g| {
                std::ffi::CString::new(g.as_str()).map_err(|_| {
                    AdminError::invalid(format!("group name {g:?} contains a NUL byte"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (ticket, guard) = Ticket::new(&self.abandoned);
        let (reply, rx) = Reply::new(Some(ticket));
        if let Err(e) = self
            .queue
            .describe_groups(&names, GROUP_OFFSETS_RDKAFKA_TIMEOUT, reply)
        {
            guard.disarm();
            return Err(e);
        }
        Ok((rx, guard))
    }

    /// DescribeConfigs of topics, asking only for `cleanup.policy`: per topic, in the order of
    /// `topics`, its config or its error. Topics go out in calls of at most 500 (see
    /// `DESCRIBE_CONFIGS_CHUNK`), all in flight at once; `timeout` bounds the whole call.
    /// Per-topic errors (UNKNOWN_TOPIC_OR_PARTITION, TOPIC_AUTHORIZATION_FAILED, an empty name)
    /// fail only their topic; a whole-call error (timeout, no broker) fails the topics of
    /// that call. Repeated names are asked once and all get the answer.
    pub async fn describe_topic_configs(
        &self,
        topics: &[String],
        timeout: Duration,
    ) -> Vec<Result<TopicConfig, AdminError>> {
        let index = NameIndex::new(topics, "topic");
        let deadline = Instant::now() + timeout + TIMEOUT_GRACE;
        // Submit every chunk before awaiting any: they run concurrently inside librdkafka.
        let pending: Vec<_> = index
            .uniq
            .chunks(DESCRIBE_CONFIGS_CHUNK)
            .map(|chunk| (chunk, self.submit_describe_configs(chunk, timeout)))
            .collect();
        let mut answers = Vec::with_capacity(index.uniq.len());
        for (chunk, sent) in pending {
            let answer = match sent {
                Ok(rx) => poller::wait(rx, deadline, "DescribeConfigs", timeout).await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(ev) => answers.extend(parse::describe_topic_configs(
                    ev.describe_configs(&TOPIC_CONFIG_KEYS),
                    chunk,
                )),
                Err(e) => answers.extend(chunk.iter().map(|_| Err(e.clone()))),
            }
        }
        index
            .slots
            .into_iter()
            .map(|slot| slot.and_then(|u| answers[u].clone()))
            .collect()
    }

    fn submit_describe_configs(
        &self,
        topics: &[&str],
        timeout: Duration,
    ) -> Result<oneshot::Receiver<Event>, AdminError> {
        let resources = topics
            .iter()
            .map(|t| ConfigResource::topic(t, &TOPIC_CONFIG_KEYS))
            .collect::<Result<Vec<_>, _>>()?;
        let (reply, rx) = Reply::new(None);
        self.queue.describe_configs(&resources, timeout, reply)?;
        Ok(rx)
    }

    /// ListConsumerGroups: the valid listings plus per-broker errors. The outer `Err` is only
    /// for a whole-call error or the timeout.
    pub async fn list_groups(&self, timeout: Duration) -> Result<GroupList, AdminError> {
        let (reply, rx) = Reply::new(None);
        self.queue.list_groups(timeout, reply)?;
        let ev = poller::wait(
            rx,
            Instant::now() + timeout + TIMEOUT_GRACE,
            "ListConsumerGroups",
            timeout,
        )
        .await?;
        parse::list_groups(ev.list_groups())
    }
}

impl Drop for Admin {
    fn drop(&mut self) {
        // The poller notices after its current event or within one poll interval, whatever the
        // event traffic, then drains already-queued events for a bounded time.
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.poller.take() {
            if h.join().is_err() {
                warn!("admin poller thread panicked");
            }
        }
        // Fields drop next: the forwarding is undone, then the queue goes before the client
        // (destroyed by the last holder of its `Arc`, without a consumer close: see
        // `KafkaClient`). Requests still in flight inside librdkafka are answered into the
        // destroyed queue and freed there, leaking only their small reply Box (freeing it
        // ourselves could race with librdkafka).
    }
}
