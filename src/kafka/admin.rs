//! Safe async wrappers for the librdkafka admin calls that rust-rdkafka 0.39 has no API for:
//! ListOffsets, ListConsumerGroupOffsets and ListConsumerGroups (plus metadata, which is safe).
//!
//! This is the only `unsafe` code in warren. The design:
//! - every librdkafka object we own lives in an RAII newtype whose `Drop` destroys it;
//! - one long-lived result queue per [`Admin`], polled by one dedicated `std::thread`;
//! - each request carries a boxed `Reply` (a oneshot sender) as its AdminOptions opaque; the
//!   poller takes it back with `Box::from_raw` (exactly once) and hands the event to the awaiting
//!   caller. If the caller gave up (tokio timeout, dropped future) the send fails and the event
//!   is freed;
//! - everything borrowed from an event (strings, lists) is copied into owned values before the
//!   event is dropped;
//! - two librdkafka 2.12.1 crashes in ListConsumerGroupOffsets are worked around (see
//!   `INTERNAL_GROUP_ID` and `GROUP_OFFSETS_RDKAFKA_TIMEOUT`).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, c_int, CStr, CString};
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::client::{Client, DefaultClientContext};
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::KafkaError;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaType};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

/// ListOffsets cost grows super-linearly with partitions per call (librdkafka merges the
/// per-leader results with a nested loop), so large lists are split into calls of this size.
const LIST_OFFSETS_CHUNK: usize = 1000;
/// librdkafka parses an OffsetFetch answer with a linear search per partition (quadratic: one
/// group x 16,000 partitions costs ~0.55 s of its main thread in a debug build, 1,000 cost
/// 3.3 ms), so a group's partition list is split into requests of at most this many.
const GROUP_OFFSETS_CHUNK: usize = 500;
/// How long the poller blocks per poll; bounds how long `Drop for Admin` waits for it.
const POLL_INTERVAL_MS: c_int = 100;
/// The tokio backstop fires this long after librdkafka's own request timeout, so that
/// librdkafka's more specific error ("Failed to query partition leaders: ...") usually wins.
const TIMEOUT_GRACE: Duration = Duration::from_millis(200);
/// librdkafka rejects request timeouts above one hour.
const MAX_REQUEST_TIMEOUT_MS: u128 = 3_600_000;
/// librdkafka-side timeout of ListConsumerGroupOffsets requests (the caller's timeout is enforced
/// by tokio instead). librdkafka 2.12.1 aborts the process (use-after-free, "Assertion
/// `eonce->refcnt > 0' failed") when such a request times out while it waits for its group
/// coordinator and that coordinator later becomes reachable; keeping the request alive until
/// the coordinator answers avoids that for outages shorter than this.
const GROUP_OFFSETS_RDKAFKA_TIMEOUT: Duration = Duration::from_secs(3600);
/// `group.id` of the admin client's own (never joined) consumer group, unless the properties
/// name one. librdkafka 2.12.1 dereferences the client's consumer-group handle when an
/// OffsetFetch answer says NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE (a routine event while
/// coordinators move); a producer-type client (rdkafka's `AdminClient`) has none and segfaults.
const INTERNAL_GROUP_ID: &str = "warren-admin";

/// Which end of a partition ListOffsets asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark (isolation READ_UNCOMMITTED).
    Latest,
}

/// A topic-partition; topic names are shared `Arc<str>`.
pub type TopicPartition = (Arc<str>, i32);

/// One topic from cluster metadata.
#[derive(Debug, Clone)]
pub struct TopicMetadata {
    pub name: String,
    /// Partition ids, sorted.
    pub partitions: Vec<i32>,
    /// Topic-level error reported by the broker, if any.
    pub error: Option<String>,
}

/// One consumer group from ListConsumerGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub id: String,
    /// librdkafka's state name: "Stable", "Empty", "Dead", "Unknown", ...
    pub state: String,
    pub simple: bool,
}

/// Result of ListConsumerGroups: the valid listings plus per-broker errors.
#[derive(Debug, Clone, Default)]
pub struct GroupList {
    pub groups: Vec<GroupListing>,
    /// Per-broker errors (the listing is then partial).
    pub errors: Vec<String>,
}

/// An admin error: a clear message, and the librdkafka error code when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    pub code: Option<RDKafkaErrorCode>,
    pub message: String,
}

impl AdminError {
    fn new(code: Option<RDKafkaErrorCode>, message: impl Into<String>) -> Self {
        AdminError {
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(Some(RDKafkaErrorCode::InvalidArgument), message)
    }

    fn timed_out(what: &str, timeout: Duration) -> Self {
        Self::new(
            Some(RDKafkaErrorCode::OperationTimedOut),
            format!("{what} timed out after {timeout:?}"),
        )
    }

    fn poller_gone(what: &str) -> Self {
        Self::new(None, format!("{what}: admin result poller stopped"))
    }

    /// From a plain response code, with librdkafka's text for it.
    fn from_resp(what: &str, err: rdsys::rd_kafka_resp_err_t) -> Self {
        // SAFETY: rd_kafka_err2str returns a static string for any code (unknown ones included).
        let text = unsafe { cstr_lossy(rdsys::rd_kafka_err2str(err)) };
        Self::new(Some(err.into()), format!("{what}: {text}"))
    }

    /// From an `rd_kafka_error_t` we do not own (it borrows from an event).
    ///
    /// # Safety
    /// `err` must be a valid, non-null `rd_kafka_error_t`.
    unsafe fn from_borrowed(what: &str, err: *const rdsys::rd_kafka_error_t) -> Self {
        // SAFETY: the caller guarantees `err` is valid; both accessors return owned-by-err data
        // that we copy immediately.
        let (code, text) = unsafe {
            (
                rdsys::rd_kafka_error_code(err),
                cstr_lossy(rdsys::rd_kafka_error_string(err)),
            )
        };
        Self::new(Some(code.into()), format!("{what}: {text}"))
    }

    /// Consumes an owned `rd_kafka_error_t*` returned by an options setter: Ok if null.
    fn take_owned(what: &str, err: *mut rdsys::rd_kafka_error_t) -> Result<(), AdminError> {
        if err.is_null() {
            return Ok(());
        }
        // SAFETY: non-null errors returned by AdminOptions setters are valid and owned by us.
        let e = unsafe { Self::from_borrowed(what, err) };
        // SAFETY: we own it and never touch it again.
        unsafe { rdsys::rd_kafka_error_destroy(err) };
        Err(e)
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "{} ({code:?})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<KafkaError> for AdminError {
    fn from(e: KafkaError) -> Self {
        AdminError::new(e.rdkafka_error_code(), e.to_string())
    }
}

/// Copies a C string into an owned `String` (lossy: Kafka names should be UTF-8 anyway).
///
/// # Safety
/// `p` must be null or a valid NUL-terminated string.
unsafe fn cstr_lossy(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null and NUL-terminated per the caller.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// librdkafka timeouts are `int` milliseconds, at least 1 (0 would mean "no wait").
fn timeout_ms(t: Duration) -> c_int {
    t.as_millis().clamp(1, MAX_REQUEST_TIMEOUT_MS) as c_int
}

// ---------------------------------------------------------------------------------------------
// RAII newtypes
// ---------------------------------------------------------------------------------------------

/// An `rd_kafka_queue_t` we created.
struct Queue(NonNull<rdsys::rd_kafka_queue_t>);

// SAFETY: librdkafka queues are internally locked and may be used from any thread.
unsafe impl Send for Queue {}
// SAFETY: as above; callers enqueue requests while the poller thread polls concurrently.
unsafe impl Sync for Queue {}

impl Queue {
    fn new(rk: *mut rdsys::rd_kafka_t) -> Result<Self, AdminError> {
        // SAFETY: `rk` is the live handle of the client that outlives this queue (field order
        // in `Admin`).
        let q = unsafe { rdsys::rd_kafka_queue_new(rk) };
        NonNull::new(q)
            .map(Queue)
            .ok_or_else(|| AdminError::new(None, "rd_kafka_queue_new returned NULL"))
    }

    fn ptr(&self) -> *mut rdsys::rd_kafka_queue_t {
        self.0.as_ptr()
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: we own the queue; `Admin` drops it after joining the poller and before the
        // client handle it belongs to.
        unsafe { rdsys::rd_kafka_queue_destroy(self.0.as_ptr()) }
    }
}

/// An `rd_kafka_AdminOptions_t` we created; admin calls copy it, so it only lives until the call.
struct Options(NonNull<rdsys::rd_kafka_AdminOptions_t>);

// SAFETY: plain heap object with no thread affinity; only one owner touches it at a time.
unsafe impl Send for Options {}

impl Options {
    fn new(
        rk: *mut rdsys::rd_kafka_t,
        op: rdsys::rd_kafka_admin_op_t,
        timeout: Duration,
    ) -> Result<Self, AdminError> {
        // SAFETY: `rk` is a live client handle.
        let p = unsafe { rdsys::rd_kafka_AdminOptions_new(rk, op) };
        let opts = NonNull::new(p)
            .map(Options)
            .ok_or_else(|| AdminError::new(None, "rd_kafka_AdminOptions_new returned NULL"))?;
        let mut errstr = [0 as c_char; 256];
        // SAFETY: valid options; errstr is a writable buffer of the stated size.
        let err = unsafe {
            rdsys::rd_kafka_AdminOptions_set_request_timeout(
                opts.ptr(),
                timeout_ms(timeout),
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            // SAFETY: librdkafka NUL-terminates errstr on error.
            let text = unsafe { cstr_lossy(errstr.as_ptr()) };
            return Err(AdminError::new(
                Some(err.into()),
                format!("set_request_timeout: {text}"),
            ));
        }
        Ok(opts)
    }

    /// High watermark, not the last stable offset: lag is measured against what was produced.
    fn set_read_uncommitted(&self) -> Result<(), AdminError> {
        // SAFETY: valid options; the returned error (if any) is owned and destroyed by take_owned.
        let err = unsafe {
            rdsys::rd_kafka_AdminOptions_set_isolation_level(
                self.ptr(),
                rdsys::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_UNCOMMITTED,
            )
        };
        AdminError::take_owned("set_isolation_level", err)
    }

    fn ptr(&self) -> *mut rdsys::rd_kafka_AdminOptions_t {
        self.0.as_ptr()
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: we own the options; librdkafka keeps its own copy for in-flight requests.
        unsafe { rdsys::rd_kafka_AdminOptions_destroy(self.0.as_ptr()) }
    }
}

/// An `rd_kafka_event_t` polled from our queue; everything read from it borrows from it.
struct Event(NonNull<rdsys::rd_kafka_event_t>);

// SAFETY: a polled event is owned solely by us and librdkafka no longer touches it.
unsafe impl Send for Event {}

impl Event {
    fn ptr(&self) -> *mut rdsys::rd_kafka_event_t {
        self.0.as_ptr()
    }

    fn event_type(&self) -> rdsys::rd_kafka_event_type_t {
        // SAFETY: valid event.
        unsafe { rdsys::rd_kafka_event_type(self.ptr()) }
    }

    /// Checks the event is the expected result type and carries no whole-call error.
    fn check(&self, expected: c_int, what: &str) -> Result<(), AdminError> {
        let ty = self.event_type();
        if ty != expected {
            return Err(AdminError::new(
                None,
                format!("{what}: unexpected event type {ty}"),
            ));
        }
        // SAFETY: valid event.
        let err = unsafe { rdsys::rd_kafka_event_error(self.ptr()) };
        if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            // SAFETY: valid event; the string borrows from it and is copied at once.
            let text = unsafe { cstr_lossy(rdsys::rd_kafka_event_error_string(self.ptr())) };
            return Err(AdminError::new(Some(err.into()), format!("{what}: {text}")));
        }
        Ok(())
    }

    /// Views a C array of `cnt` pointers as a slice tied to this event's lifetime.
    ///
    /// # Safety
    /// `arr` must be null or point to `cnt` valid elements owned by this event.
    unsafe fn array<T>(&self, arr: *mut *const T, cnt: usize) -> &[*const T] {
        if arr.is_null() || cnt == 0 {
            return &[];
        }
        // SAFETY: per the caller; the event outlives the returned borrow.
        unsafe { std::slice::from_raw_parts(arr, cnt) }
    }

    /// Views a topic-partition list owned by this event.
    ///
    /// # Safety
    /// `list` must be null or a valid list owned by this event.
    unsafe fn partitions(
        &self,
        list: *const rdsys::rd_kafka_topic_partition_list_t,
    ) -> &[rdsys::rd_kafka_topic_partition_t] {
        if list.is_null() {
            return &[];
        }
        // SAFETY: per the caller the list is valid; elems/cnt describe its array.
        unsafe {
            let l = &*list;
            if l.elems.is_null() || l.cnt <= 0 {
                return &[];
            }
            std::slice::from_raw_parts(l.elems, l.cnt as usize)
        }
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: we own the event; nothing borrowed from it outlives `&self` borrows.
        unsafe { rdsys::rd_kafka_event_destroy(self.0.as_ptr()) }
    }
}

/// An `rd_kafka_topic_partition_list_t` we build for a request (librdkafka copies it).
struct Tpl(NonNull<rdsys::rd_kafka_topic_partition_list_t>);

// SAFETY: plain heap object with no thread affinity; only read by admin calls that copy it.
unsafe impl Send for Tpl {}

impl Tpl {
    /// Builds a list from input partitions `idx` of `parts`, with `offset` set on each.
    /// Inputs are pre-validated (non-empty topic without NUL, partition >= 0).
    fn build(parts: &[TopicPartition], idx: &[u32], offset: i64) -> Result<Self, AdminError> {
        let cap = c_int::try_from(idx.len())
            .map_err(|_| AdminError::invalid("too many partitions for one request"))?;
        // SAFETY: plain constructor.
        let p = unsafe { rdsys::rd_kafka_topic_partition_list_new(cap) };
        let tpl = NonNull::new(p).map(Tpl).ok_or_else(|| {
            AdminError::new(None, "rd_kafka_topic_partition_list_new returned NULL")
        })?;
        // Consecutive partitions usually share a topic: reuse its C string.
        let mut last: Option<(&Arc<str>, CString)> = None;
        for &i in idx {
            let (topic, partition) = &parts[i as usize];
            let reuse = matches!(&last, Some((t, _)) if t.as_bytes() == topic.as_bytes());
            if !reuse {
                let c = CString::new(topic.as_bytes())
                    .map_err(|_| AdminError::invalid("topic name contains NUL"))?;
                last = Some((topic, c));
            }
            let c = &last.as_ref().expect("set above").1;
            // SAFETY: valid list; the topic string is copied by librdkafka.
            let elem = unsafe {
                rdsys::rd_kafka_topic_partition_list_add(tpl.ptr(), c.as_ptr(), *partition)
            };
            if let Some(elem) = NonNull::new(elem) {
                // SAFETY: `elem` points into our list, which we exclusively own.
                unsafe { (*elem.as_ptr()).offset = offset };
            }
        }
        Ok(tpl)
    }

    fn ptr(&self) -> *mut rdsys::rd_kafka_topic_partition_list_t {
        self.0.as_ptr()
    }
}

impl Drop for Tpl {
    fn drop(&mut self) {
        // SAFETY: we own the list; admin calls keep their own copies.
        unsafe { rdsys::rd_kafka_topic_partition_list_destroy(self.0.as_ptr()) }
    }
}

/// An `rd_kafka_ListConsumerGroupOffsets_t` request object (the call copies it).
struct GroupOffsetsRequest(NonNull<rdsys::rd_kafka_ListConsumerGroupOffsets_t>);

// SAFETY: plain heap object with no thread affinity.
unsafe impl Send for GroupOffsetsRequest {}

impl Drop for GroupOffsetsRequest {
    fn drop(&mut self) {
        // SAFETY: we own it; rd_kafka_ListConsumerGroupOffsets keeps its own copy.
        unsafe { rdsys::rd_kafka_ListConsumerGroupOffsets_destroy(self.0.as_ptr()) }
    }
}

// ---------------------------------------------------------------------------------------------
// Input partitions: validation, de-duplication and mapping results back to input positions
// ---------------------------------------------------------------------------------------------

/// librdkafka rejects a whole request for one duplicate or invalid partition, so requests carry
/// only the valid, unique partitions; this maps results back to input indexes.
struct PartitionIndex<'a> {
    parts: &'a [TopicPartition],
    /// Input index of each partition sent, in request order.
    uniq: Vec<u32>,
    /// (duplicate input index, first input index with the same topic-partition).
    dups: Vec<(u32, u32)>,
    /// Input indexes rejected before sending.
    invalid: Vec<(u32, AdminError)>,
    /// (topic, partition) -> input index; built the first time a result is not at its request
    /// position (ListOffsets keeps request order; OffsetFetch answers may not).
    lookup: Option<HashMap<(&'a [u8], i32), u32>>,
}

impl<'a> PartitionIndex<'a> {
    fn new(parts: &'a [TopicPartition]) -> Result<Self, AdminError> {
        if u32::try_from(parts.len()).is_err() {
            return Err(AdminError::invalid("more than u32::MAX partitions"));
        }
        let mut first: HashMap<(&str, i32), u32> = HashMap::with_capacity(parts.len());
        let mut uniq = Vec::with_capacity(parts.len());
        let mut dups = Vec::new();
        let mut invalid = Vec::new();
        for (i, (topic, partition)) in parts.iter().enumerate() {
            let i = i as u32;
            if topic.is_empty() || topic.contains('\0') || *partition < 0 {
                invalid.push((
                    i,
                    AdminError::invalid(format!("invalid topic-partition {topic:?}[{partition}]")),
                ));
                continue;
            }
            match first.entry((topic, *partition)) {
                Entry::Occupied(o) => dups.push((i, *o.get())),
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
            lookup: None,
        })
    }

    /// Input index of a result element; `pos` is its position in the request list.
    fn resolve(&mut self, pos: usize, topic: &[u8], partition: i32) -> Option<u32> {
        if let Some(&i) = self.uniq.get(pos) {
            let (t, p) = &self.parts[i as usize];
            if *p == partition && t.as_bytes() == topic {
                return Some(i);
            }
        }
        let (parts, uniq) = (self.parts, &self.uniq);
        let lookup = self.lookup.get_or_insert_with(|| {
            uniq.iter()
                .map(|&i| {
                    let (t, p) = &parts[i as usize];
                    ((t.as_bytes(), *p), i)
                })
                .collect()
        });
        lookup.get(&(topic, partition)).copied()
    }
}

/// The topic name of a topic-partition element (borrowed, like the element).
///
/// # Safety
/// `tp.topic` must be null or a valid C string.
unsafe fn tp_topic(tp: &rdsys::rd_kafka_topic_partition_t) -> &[u8] {
    if tp.topic.is_null() {
        return &[];
    }
    // SAFETY: per the caller.
    unsafe { CStr::from_ptr(tp.topic) }.to_bytes()
}

// ---------------------------------------------------------------------------------------------
// Admin
// ---------------------------------------------------------------------------------------------

/// Progress of one group in `list_group_offsets`: the (input index, committed offset) pairs
/// so far and how many of its requests are unanswered, or its first error.
type GroupProgress = Result<(Vec<(u32, i64)>, usize), AdminError>;

/// What the opaque of every request points to; the poller reclaims it exactly once.
struct Reply {
    tx: oneshot::Sender<Event>,
    /// For ListConsumerGroupOffsets requests: tells the caller's side it was answered.
    ticket: Option<Arc<Ticket>>,
}

const PENDING: u8 = 0;
const ANSWERED: u8 = 1;
const ABANDONED: u8 = 2;

/// Tracks one ListConsumerGroupOffsets request that librdkafka may keep for up to an hour (see
/// `GROUP_OFFSETS_RDKAFKA_TIMEOUT`): `Admin::abandoned` counts those whose caller gave up, so
/// a cluster outage cannot pile up an unbounded backlog of them.
struct Ticket {
    state: AtomicU8,
    abandoned: Arc<AtomicUsize>,
}

impl Ticket {
    /// Poller side, before handing the event over.
    fn answered(&self) {
        if self.state.swap(ANSWERED, Ordering::AcqRel) == ABANDONED {
            self.abandoned.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Caller side: dropping it without an answer marks the request abandoned.
struct TicketGuard(Arc<Ticket>);

impl Drop for TicketGuard {
    fn drop(&mut self) {
        let t = &self.0;
        if t.state
            .compare_exchange(PENDING, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            t.abandoned.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// One admin connection to one cluster: an rdkafka client plus one long-lived result queue
/// polled by one dedicated `std::thread`. Cheap to share behind `Arc`.
///
/// The client is a consumer-type `Client` with a `group.id` rather than rdkafka's
/// `AdminClient` (see `INTERNAL_GROUP_ID`). librdkafka's main and consumer queues (logs, error
/// events) are forwarded into the result queue so the poller drains them into `tracing`;
/// rdkafka's `AdminClient` never polls them and they would grow without bound.
pub struct Admin {
    // Field order is drop order: the poller is joined in `Drop::drop`, the forwarded queues
    // are detached there, then the result queue is destroyed, then the client they belong to.
    poller: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    forwarded: Vec<Queue>,
    queue: Arc<Queue>,
    /// Abandoned ListConsumerGroupOffsets requests still held by librdkafka.
    abandoned: Arc<AtomicUsize>,
    client: Arc<Client<DefaultClientContext>>,
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
        let mut cfg = ClientConfig::new();
        for (k, v) in client {
            cfg.set(k, v);
        }
        cfg.set("bootstrap.servers", bootstrap_servers);
        if !client.contains_key("group.id") {
            cfg.set("group.id", INTERNAL_GROUP_ID);
        }
        // The group is never joined; make sure nothing could ever be committed for it.
        cfg.set("enable.auto.commit", "false");
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
        let client = Arc::new(Client::new(
            &cfg,
            native,
            RDKafkaType::RD_KAFKA_CONSUMER,
            DefaultClientContext,
        )?);
        let rk = client.native_ptr();
        let queue = Arc::new(Queue::new(rk)?);
        let mut forwarded = Vec::with_capacity(2);
        // SAFETY: live handle; both getters return new references (or NULL), released by
        // `Queue::drop` after `Admin::drop` has undone the forwarding.
        for q in unsafe {
            [
                rdsys::rd_kafka_queue_get_main(rk),
                rdsys::rd_kafka_queue_get_consumer(rk),
            ]
        } {
            if let Some(q) = NonNull::new(q).map(Queue) {
                // SAFETY: both queues are valid; forwarding only moves future events.
                unsafe { rdsys::rd_kafka_queue_forward(q.ptr(), queue.ptr()) };
                forwarded.push(q);
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut admin = Admin {
            poller: None,
            stop,
            forwarded,
            queue,
            abandoned: Arc::new(AtomicUsize::new(0)),
            client,
        };
        let (queue, stop) = (Arc::clone(&admin.queue), Arc::clone(&admin.stop));
        // On error `admin` drops normally: forwarding undone, queues and client destroyed.
        admin.poller = Some(
            std::thread::Builder::new()
                .name("warren-admin-poll".into())
                .spawn(move || poll_loop(&queue, &stop))
                .map_err(|e| AdminError::new(None, format!("spawning admin poller: {e}")))?,
        );
        Ok(admin)
    }

    fn rk(&self) -> *mut rdsys::rd_kafka_t {
        self.client.native_ptr()
    }

    /// Tags `opts` with a fresh reply channel and runs `call`, which must submit exactly one
    /// admin request with these options to our queue (librdkafka then always answers with
    /// exactly one event carrying the opaque, even for argument errors).
    fn submit(
        &self,
        opts: Options,
        ticket: Option<Arc<Ticket>>,
        call: impl FnOnce(
            *mut rdsys::rd_kafka_t,
            *const rdsys::rd_kafka_AdminOptions_t,
            *mut rdsys::rd_kafka_queue_t,
        ),
    ) -> oneshot::Receiver<Event> {
        let (tx, rx) = oneshot::channel();
        let opaque = Box::into_raw(Box::new(Reply { tx, ticket }));
        // SAFETY: valid options; the poller reclaims `opaque` from the result event.
        unsafe { rdsys::rd_kafka_AdminOptions_set_opaque(opts.ptr(), opaque.cast()) };
        call(self.rk(), opts.ptr(), self.queue.ptr());
        rx
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

    /// ListOffsets for many partitions, in chunks of at most 1000 partitions per call, all in
    /// flight at once. Returns one entry per input partition in input order. Invalid inputs
    /// (empty topic, negative partition) get a per-partition error; duplicates are asked once.
    /// A chunk whose partitions all lack a leader (e.g. deleted topic) gives per-partition
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
        let mut index = PartitionIndex::new(partitions)?;
        let offset = match spec {
            OffsetSpec::Earliest => rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_EARLIEST,
            OffsetSpec::Latest => rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_LATEST,
        } as i64;
        let started = Instant::now();
        let deadline = started + timeout + TIMEOUT_GRACE;

        // Submit every chunk before awaiting any: they run concurrently inside librdkafka.
        let mut pending = Vec::new();
        for (n, chunk) in index.uniq.chunks(LIST_OFFSETS_CHUNK).enumerate() {
            let tpl = Tpl::build(partitions, chunk, offset)?;
            let opts = Options::new(
                self.rk(),
                rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS,
                timeout,
            )?;
            opts.set_read_uncommitted()?;
            let rx = self.submit(opts, None, |rk, o, q| {
                // SAFETY: live handle, valid list/options/queue; librdkafka copies list and
                // options before returning.
                unsafe { rdsys::rd_kafka_ListOffsets(rk, tpl.ptr(), o, q) }
            });
            pending.push((n * LIST_OFFSETS_CHUNK, chunk.len(), rx));
        }

        let mut out: Vec<Option<Result<i64, AdminError>>> = vec![None; partitions.len()];
        for (i, e) in index.invalid.drain(..) {
            out[i as usize] = Some(Err(e));
        }
        let mut tally = Tally::default();
        for (start, len, rx) in pending {
            let ev = wait(rx, deadline, "ListOffsets", timeout).await?;
            match ev.check(rdsys::RD_KAFKA_EVENT_LISTOFFSETS_RESULT, "ListOffsets") {
                Ok(()) => parse_list_offsets(&ev, start, &mut index, &mut out, &mut tally)?,
                // librdkafka fails the whole call with __NOENT when no partition of it has a
                // leader; keep that per partition so the result does not depend on chunking.
                Err(e) if e.code == Some(RDKafkaErrorCode::NoEnt) => {
                    for &i in &index.uniq[start..start + len] {
                        out[i as usize] = Some(Err(e.clone()));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if tally.offsets == 0 && tally.unanswered > 0 {
            // Nothing was read and some leader never answered: the cluster is unreachable.
            let elapsed = started.elapsed();
            let code =
                (elapsed >= timeout.mul_f64(0.9)).then_some(RDKafkaErrorCode::OperationTimedOut);
            return Err(AdminError::new(
                code,
                format!("ListOffsets: no partition leader answered (after {elapsed:?})"),
            ));
        }
        for &(dup, orig) in &index.dups {
            out[dup as usize] = out[orig as usize].clone();
        }
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(AdminError::new(None, "ListOffsets: no result"))))
            .collect())
    }

    /// Committed offsets of many groups: one ListConsumerGroupOffsets call per group (librdkafka
    /// accepts only one), each with the same explicit partition list (split into requests of
    /// at most 500 partitions, see `GROUP_OFFSETS_CHUNK`), at most `max_in_flight` requests in
    /// flight. Per group, in the order of `groups`: the (index into `partitions`, committed
    /// offset) pairs of partitions that have a commit, sorted by index; partitions without a
    /// commit or with a per-partition error are left out. `Err` for a group-level error or when
    /// `timeout` (which bounds the whole call) runs out first.
    ///
    /// Requests abandoned at the timeout stay inside librdkafka until their coordinator answers
    /// (see `GROUP_OFFSETS_RDKAFKA_TIMEOUT`); while `max_in_flight` or more of those are
    /// pending (coordinators unreachable), no new requests are sent and groups get an `Err`.
    pub async fn list_group_offsets(
        &self,
        groups: &[String],
        partitions: &[TopicPartition],
        max_in_flight: usize,
        timeout: Duration,
    ) -> Vec<Result<Vec<(u32, i64)>, AdminError>> {
        if groups.is_empty() {
            return Vec::new();
        }
        let mut index = match PartitionIndex::new(partitions) {
            Ok(ix) => ix,
            Err(e) => return vec![Err(e); groups.len()],
        };
        for (i, e) in &index.invalid {
            debug!(index = i, error = %e, "skipping invalid partition for group offsets");
        }
        // An empty list would mean "all partitions" to librdkafka (and the mock answers that
        // with nothing): no valid partition, no commits to report.
        if index.uniq.is_empty() {
            return vec![Ok(Vec::new()); groups.len()];
        }
        // Built once; every request copies its chunk.
        let mut chunks = Vec::new();
        for (n, chunk) in index.uniq.chunks(GROUP_OFFSETS_CHUNK).enumerate() {
            let offset = rdsys::RD_KAFKA_OFFSET_INVALID as i64;
            match Tpl::build(partitions, chunk, offset) {
                Ok(t) => chunks.push((n * GROUP_OFFSETS_CHUNK, t)),
                Err(e) => return vec![Err(e); groups.len()],
            }
        }
        let deadline = Instant::now() + timeout;
        let max_in_flight = max_in_flight.max(1);
        let mut state: Vec<GroupProgress> = vec![Ok((Vec::new(), chunks.len())); groups.len()];
        let mut backlog: Option<AdminError> = None;
        let mut inflight = tokio::task::JoinSet::new();
        let (mut next_group, mut next_chunk) = (0, 0);
        loop {
            while inflight.len() < max_in_flight && next_group < groups.len() && backlog.is_none() {
                if Instant::now() >= deadline {
                    break;
                }
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
                let (g, c) = (next_group, next_chunk);
                (next_group, next_chunk) = if c + 1 < chunks.len() {
                    (g, c + 1)
                } else {
                    (g + 1, 0)
                };
                if state[g].is_err() {
                    continue; // an earlier chunk already failed this group
                }
                match self.submit_group_offsets(&groups[g], &chunks[c].1) {
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
                        Ok(ev) => {
                            parse_group_offsets(&ev, &groups[g], chunks[c].0, &mut index, out)
                        }
                        Err(_) => Err(AdminError::poller_gone("ListConsumerGroupOffsets")),
                    };
                    match r {
                        Ok(()) => *left -= 1,
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
                Ok((out, 0)) => Ok(finish_group(out, &index.dups)),
                Ok(_) => unfinished(),
                Err(e) => Err(e),
            })
            .collect()
    }

    fn submit_group_offsets(
        &self,
        group: &str,
        tpl: &Tpl,
    ) -> Result<(oneshot::Receiver<Event>, TicketGuard), AdminError> {
        let gid = CString::new(group)
            .map_err(|_| AdminError::invalid(format!("group id {group:?} contains NUL")))?;
        let opts = Options::new(
            self.rk(),
            rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
            GROUP_OFFSETS_RDKAFKA_TIMEOUT,
        )?;
        // SAFETY: valid C string and list; both are copied into the new request object.
        let req = unsafe { rdsys::rd_kafka_ListConsumerGroupOffsets_new(gid.as_ptr(), tpl.ptr()) };
        let req = NonNull::new(req).map(GroupOffsetsRequest).ok_or_else(|| {
            AdminError::new(None, "rd_kafka_ListConsumerGroupOffsets_new returned NULL")
        })?;
        let ticket = Arc::new(Ticket {
            state: AtomicU8::new(PENDING),
            abandoned: Arc::clone(&self.abandoned),
        });
        let rx = self.submit(opts, Some(Arc::clone(&ticket)), |rk, o, q| {
            let mut reqs = [req.0.as_ptr()];
            // SAFETY: live handle, valid options/queue, an array of exactly one valid request
            // (librdkafka rejects any other count); the request is copied before returning.
            unsafe { rdsys::rd_kafka_ListConsumerGroupOffsets(rk, reqs.as_mut_ptr(), 1, o, q) }
        });
        Ok((rx, TicketGuard(ticket)))
    }

    /// ListConsumerGroups: the valid listings plus per-broker errors. The outer `Err` is only
    /// for a whole-call error or the timeout.
    pub async fn list_groups(&self, timeout: Duration) -> Result<GroupList, AdminError> {
        let opts = Options::new(
            self.rk(),
            rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS,
            timeout,
        )?;
        let rx = self.submit(opts, None, |rk, o, q| {
            // SAFETY: live handle, valid options and queue; options are copied.
            unsafe { rdsys::rd_kafka_ListConsumerGroups(rk, o, q) }
        });
        let ev = wait(
            rx,
            Instant::now() + timeout + TIMEOUT_GRACE,
            "ListConsumerGroups",
            timeout,
        )
        .await?;
        parse_list_groups(&ev)
    }
}

impl Drop for Admin {
    fn drop(&mut self) {
        // The poller notices within one poll interval; it drains already-queued events first.
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.poller.take() {
            if h.join().is_err() {
                warn!("admin poller thread panicked");
            }
        }
        for q in self.forwarded.drain(..) {
            // SAFETY: both queues are valid; NULL undoes the forwarding before `queue` goes.
            unsafe { rdsys::rd_kafka_queue_forward(q.ptr(), std::ptr::null_mut()) };
        }
        // Fields drop next, queue before client. Requests still in flight inside librdkafka
        // are answered into the destroyed queue and freed there, leaking only their small
        // reply Box (freeing it ourselves could race with librdkafka).
    }
}

/// The poller: hands each admin result to its requester and logs librdkafka's own events.
fn poll_loop(queue: &Queue, stop: &AtomicBool) {
    loop {
        // SAFETY: the queue stays alive until this thread is joined (Admin::drop).
        let ev = unsafe { rdsys::rd_kafka_queue_poll(queue.ptr(), POLL_INTERVAL_MS) };
        let Some(ev) = NonNull::new(ev).map(Event) else {
            if stop.load(Ordering::Acquire) {
                return;
            }
            continue;
        };
        match ev.event_type() {
            rdsys::RD_KAFKA_EVENT_LISTOFFSETS_RESULT
            | rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT
            | rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT => deliver(ev),
            rdsys::RD_KAFKA_EVENT_LOG => log_event(&ev),
            rdsys::RD_KAFKA_EVENT_ERROR => error_event(&ev),
            ty => debug!(event_type = ty, "ignoring librdkafka event"),
        }
    }
}

fn deliver(ev: Event) {
    // SAFETY: valid admin result event.
    let opaque = unsafe { rdsys::rd_kafka_event_opaque(ev.ptr()) };
    if opaque.is_null() {
        warn!("admin result without a reply opaque");
        return;
    }
    // SAFETY: every admin request on this queue carries a `Box<Reply>` from `Admin::submit`,
    // and librdkafka delivers exactly one result event per request, so this runs once per Box.
    let reply = unsafe { Box::from_raw(opaque.cast::<Reply>()) };
    if let Some(t) = &reply.ticket {
        t.answered();
    }
    // Fails only if the caller gave up; the event is then dropped (destroyed) here.
    let _ = reply.tx.send(ev);
}

/// Forwards a librdkafka log line to `tracing` (syslog levels).
fn log_event(ev: &Event) {
    let (mut fac, mut text, mut level) = (std::ptr::null(), std::ptr::null(), 0 as c_int);
    // SAFETY: valid log event; the strings borrow from it and are copied at once.
    let (fac, text) = unsafe {
        if rdsys::rd_kafka_event_log(ev.ptr(), &mut fac, &mut text, &mut level) != 0 {
            return;
        }
        (cstr_lossy(fac), cstr_lossy(text))
    };
    match level {
        ..=3 => error!(target: "librdkafka", facility = %fac, "{text}"),
        4 => warn!(target: "librdkafka", facility = %fac, "{text}"),
        5 | 6 => info!(target: "librdkafka", facility = %fac, "{text}"),
        _ => debug!(target: "librdkafka", facility = %fac, "{text}"),
    }
}

/// Logs a client-level error event (broker down, authentication, ...).
fn error_event(ev: &Event) {
    // SAFETY: valid error event; the string borrows from it and is copied at once.
    let (err, text, fatal) = unsafe {
        (
            rdsys::rd_kafka_event_error(ev.ptr()),
            cstr_lossy(rdsys::rd_kafka_event_error_string(ev.ptr())),
            rdsys::rd_kafka_event_error_is_fatal(ev.ptr()) != 0,
        )
    };
    let code = RDKafkaErrorCode::from(err);
    if fatal {
        error!(target: "librdkafka", ?code, "fatal: {text}");
    } else if code == RDKafkaErrorCode::GroupAuthorizationFailed {
        // About the admin client's own, never joined, group (see `INTERNAL_GROUP_ID`).
        debug!(target: "librdkafka", ?code, "{text}");
    } else {
        warn!(target: "librdkafka", ?code, "{text}");
    }
}

async fn wait(
    rx: oneshot::Receiver<Event>,
    deadline: Instant,
    what: &str,
    timeout: Duration,
) -> Result<Event, AdminError> {
    match tokio::time::timeout_at(deadline, rx).await {
        Ok(Ok(ev)) => Ok(ev),
        Ok(Err(_)) => Err(AdminError::poller_gone(what)),
        Err(_) => Err(AdminError::timed_out(what, timeout)),
    }
}

/// Counts of ListOffsets outcomes across chunks.
#[derive(Default)]
struct Tally {
    offsets: usize,
    unanswered: usize,
}

/// Copies one ListOffsets result (request chunk starting at `start` in `index.uniq`) into `out`.
fn parse_list_offsets(
    ev: &Event,
    start: usize,
    index: &mut PartitionIndex<'_>,
    out: &mut [Option<Result<i64, AdminError>>],
    tally: &mut Tally,
) -> Result<(), AdminError> {
    // SAFETY: checked to be a ListOffsets result event.
    let res = unsafe { rdsys::rd_kafka_event_ListOffsets_result(ev.ptr()) };
    if res.is_null() {
        return Err(AdminError::new(None, "ListOffsets: event without result"));
    }
    let mut cnt = 0usize;
    // SAFETY: valid result; the array and its elements borrow from `ev`.
    let infos = unsafe {
        let arr = rdsys::rd_kafka_ListOffsets_result_infos(res, &mut cnt);
        ev.array(arr, cnt)
    };
    for (k, &info) in infos.iter().enumerate() {
        if info.is_null() {
            continue;
        }
        // SAFETY: valid info owned by `ev`; the partition it returns is owned by the info.
        let tp = unsafe { rdsys::rd_kafka_ListOffsetsResultInfo_topic_partition(info).as_ref() };
        let Some(tp) = tp else { continue };
        // SAFETY: topic is a valid C string owned by `ev`.
        let topic = unsafe { tp_topic(tp) };
        let Some(i) = index.resolve(start + k, topic, tp.partition) else {
            debug!(
                partition = tp.partition,
                "ListOffsets result for a partition not asked for"
            );
            continue;
        };
        let (t, p) = &index.parts[i as usize];
        let r = if tp.err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            Err(AdminError::from_resp(
                &format!("ListOffsets {t}[{p}]"),
                tp.err,
            ))
        } else if tp.offset == rdsys::RD_KAFKA_OFFSET_INVALID as i64 {
            // librdkafka (2.12.1) drops the error of a failed per-leader request (timeout,
            // broker down) when merging: its partitions come back as -1001 with no error.
            tally.unanswered += 1;
            Err(AdminError::new(
                None,
                format!("ListOffsets {t}[{p}]: the partition leader did not answer"),
            ))
        } else if tp.offset < 0 {
            Err(AdminError::new(
                None,
                format!("ListOffsets {t}[{p}]: no offset returned ({})", tp.offset),
            ))
        } else {
            tally.offsets += 1;
            Ok(tp.offset)
        };
        out[i as usize] = Some(r);
    }
    Ok(())
}

/// Appends one group's committed offsets from a ListConsumerGroupOffsets result event (the
/// request for the chunk starting at `start` in `index.uniq`) to `out`.
fn parse_group_offsets(
    ev: &Event,
    group: &str,
    start: usize,
    index: &mut PartitionIndex<'_>,
    out: &mut Vec<(u32, i64)>,
) -> Result<(), AdminError> {
    ev.check(
        rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT,
        "ListConsumerGroupOffsets",
    )?;
    // SAFETY: checked event type.
    let res = unsafe { rdsys::rd_kafka_event_ListConsumerGroupOffsets_result(ev.ptr()) };
    if res.is_null() {
        return Err(AdminError::new(
            None,
            "ListConsumerGroupOffsets: event without result",
        ));
    }
    let mut cnt = 0usize;
    // SAFETY: valid result; the array borrows from `ev`.
    let groups = unsafe {
        let arr = rdsys::rd_kafka_ListConsumerGroupOffsets_result_groups(res, &mut cnt);
        ev.array(arr, cnt)
    };
    // librdkafka answers one request (one group) with exactly one group result.
    let &[g] = groups else {
        return Err(AdminError::new(
            None,
            format!(
                "ListConsumerGroupOffsets {group}: {} group results",
                groups.len()
            ),
        ));
    };
    if g.is_null() {
        return Err(AdminError::new(
            None,
            "ListConsumerGroupOffsets: null group result",
        ));
    }
    // SAFETY: valid group result owned by `ev`; the error (if any) borrows from it.
    let err = unsafe { rdsys::rd_kafka_group_result_error(g) };
    if !err.is_null() {
        // SAFETY: non-null error owned by `ev`.
        return Err(unsafe {
            AdminError::from_borrowed(&format!("ListConsumerGroupOffsets {group}"), err)
        });
    }
    // SAFETY: valid group result; the list borrows from `ev`.
    let parts = unsafe { ev.partitions(rdsys::rd_kafka_group_result_partitions(g)) };
    for (k, tp) in parts.iter().enumerate() {
        if tp.err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            debug!(group, partition = tp.partition, error = ?RDKafkaErrorCode::from(tp.err),
                "skipping partition with error in committed offsets");
            continue;
        }
        if tp.offset < 0 {
            continue; // -1001: no commit
        }
        // SAFETY: topic is a valid C string owned by `ev`.
        let topic = unsafe { tp_topic(tp) };
        match index.resolve(start + k, topic, tp.partition) {
            Some(i) => out.push((i, tp.offset)),
            None => debug!(
                group,
                partition = tp.partition,
                "committed offset not asked for"
            ),
        }
    }
    Ok(())
}

/// Sorts one group's offsets by input index and adds the duplicates of the input list.
fn finish_group(mut out: Vec<(u32, i64)>, dups: &[(u32, u32)]) -> Vec<(u32, i64)> {
    out.sort_unstable_by_key(|&(i, _)| i);
    if !dups.is_empty() {
        let found = out.clone();
        for &(dup, orig) in dups {
            if let Ok(pos) = found.binary_search_by_key(&orig, |&(i, _)| i) {
                out.push((dup, found[pos].1));
            }
        }
        out.sort_unstable_by_key(|&(i, _)| i);
    }
    out
}

fn parse_list_groups(ev: &Event) -> Result<GroupList, AdminError> {
    ev.check(
        rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT,
        "ListConsumerGroups",
    )?;
    // SAFETY: checked event type.
    let res = unsafe { rdsys::rd_kafka_event_ListConsumerGroups_result(ev.ptr()) };
    if res.is_null() {
        return Err(AdminError::new(
            None,
            "ListConsumerGroups: event without result",
        ));
    }
    let (mut nv, mut ne) = (0usize, 0usize);
    // SAFETY: valid result; both arrays borrow from `ev`.
    let (valid, errors) = unsafe {
        let v = rdsys::rd_kafka_ListConsumerGroups_result_valid(res, &mut nv);
        let e = rdsys::rd_kafka_ListConsumerGroups_result_errors(res, &mut ne);
        (ev.array(v, nv), ev.array(e, ne))
    };
    let groups = valid
        .iter()
        .filter(|l| !l.is_null())
        .map(|&l| {
            // SAFETY: valid listing owned by `ev`; strings are copied at once; the state name
            // is a static string.
            unsafe {
                GroupListing {
                    id: cstr_lossy(rdsys::rd_kafka_ConsumerGroupListing_group_id(l)),
                    state: cstr_lossy(rdsys::rd_kafka_consumer_group_state_name(
                        rdsys::rd_kafka_ConsumerGroupListing_state(l),
                    )),
                    simple: rdsys::rd_kafka_ConsumerGroupListing_is_simple_consumer_group(l) != 0,
                }
            }
        })
        .collect();
    let errors = errors
        .iter()
        .filter(|e| !e.is_null())
        // SAFETY: valid error owned by `ev`, copied at once.
        .map(|&e| unsafe { AdminError::from_borrowed("ListConsumerGroups", e) }.to_string())
        .collect();
    Ok(GroupList { groups, errors })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
    use rdkafka::{Offset, TopicPartitionList};
    use std::time::Instant as StdInstant;

    type Mock = MockCluster<'static, DefaultProducerContext>;

    const T: Duration = Duration::from_secs(10);

    fn mock() -> Mock {
        MockCluster::new(3).expect("mock cluster")
    }

    fn admin(cluster: &Mock) -> Admin {
        Admin::new(&cluster.bootstrap_servers(), &BTreeMap::new()).expect("admin")
    }

    fn tp(topic: &str, p: i32) -> TopicPartition {
        (Arc::from(topic), p)
    }

    /// Produces `n` one-byte messages to each (partition, n).
    fn produce(cluster: &Mock, topic: &str, counts: &[(i32, usize)]) {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("linger.ms", "5")
            .create()
            .expect("producer");
        for &(p, n) in counts {
            for _ in 0..n {
                let mut rec = BaseRecord::<(), str>::to(topic).partition(p).payload("x");
                loop {
                    match producer.send(rec) {
                        Ok(()) => break,
                        Err((_, r)) => {
                            rec = r;
                            producer.poll(Duration::from_millis(10));
                        }
                    }
                }
            }
        }
        producer.flush(T).expect("flush");
    }

    /// Commits explicit offsets for `group` without joining it.
    fn commit(cluster: &Mock, group: &str, offsets: &[(&str, i32, i64)]) {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for &(t, p, o) in offsets {
            tpl.add_partition_offset(t, p, Offset::Offset(o)).unwrap();
        }
        consumer.commit(&tpl, CommitMode::Sync).expect("commit");
    }

    fn oks(r: &[Result<i64, AdminError>]) -> Vec<i64> {
        r.iter().map(|r| *r.as_ref().expect("ok offset")).collect()
    }

    #[test]
    fn futures_are_send_and_admin_is_sync() {
        fn send<T: Send>(_: &T) {}
        fn sync<T: Send + Sync>() {}
        sync::<Admin>();
        let cluster = mock();
        let a = admin(&cluster);
        let parts = [tp("t", 0)];
        let groups = ["g".to_string()];
        send(&a.list_offsets(&parts, OffsetSpec::Latest, T));
        send(&a.list_group_offsets(&groups, &parts, 1, T));
        send(&a.list_groups(T));
        send(&a.metadata(T));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn list_offsets_exact_values_order_and_duplicates() {
        let cluster = mock();
        cluster.create_topic("t3", 3, 1).unwrap();
        produce(&cluster, "t3", &[(0, 5), (1, 7), (2, 11)]);
        let a = admin(&cluster);
        let parts = [tp("t3", 0), tp("t3", 1), tp("t3", 2)];
        let latest = a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
        assert_eq!(oks(&latest), [5, 7, 11]);
        let earliest = a
            .list_offsets(&parts, OffsetSpec::Earliest, T)
            .await
            .unwrap();
        assert_eq!(oks(&earliest), [0, 0, 0]);
        // Input order is kept; a duplicate is answered too (librdkafka alone would reject it).
        let shuffled = [tp("t3", 2), tp("t3", 0), tp("t3", 2), tp("t3", 1)];
        let r = a
            .list_offsets(&shuffled, OffsetSpec::Latest, T)
            .await
            .unwrap();
        assert_eq!(oks(&r), [11, 5, 11, 7]);
        // Empty input: no call.
        assert!(a
            .list_offsets(&[], OffsetSpec::Latest, T)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn list_offsets_2500_partitions_across_chunks() {
        let cluster = mock();
        cluster.create_topic("big", 2000, 1).unwrap();
        cluster.create_topic("small", 500, 1).unwrap();
        produce(&cluster, "big", &[(0, 3), (999, 4), (1000, 5), (1999, 6)]);
        produce(&cluster, "small", &[(0, 1), (499, 2)]);
        let a = admin(&cluster);
        // Interleave the topics and reverse one, so chunks mix topics and orders.
        let mut parts = Vec::new();
        for i in 0..2000 {
            parts.push(tp("big", 1999 - i));
            if i < 500 {
                parts.push(tp("small", i));
            }
        }
        assert_eq!(parts.len(), 2500);
        let t0 = StdInstant::now();
        let r = a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
        eprintln!("ListOffsets 2500 partitions (3 chunks): {:?}", t0.elapsed());
        assert_eq!(r.len(), 2500);
        for ((t, p), r) in parts.iter().zip(&r) {
            let want = match (&**t, *p) {
                ("big", 0) => 3,
                ("big", 999) => 4,
                ("big", 1000) => 5,
                ("big", 1999) => 6,
                ("small", 0) => 1,
                ("small", 499) => 2,
                _ => 0,
            };
            assert_eq!(r.as_ref().ok(), Some(&want), "{t}[{p}]");
        }
        let e = a
            .list_offsets(&parts, OffsetSpec::Earliest, T)
            .await
            .unwrap();
        assert!(e.iter().all(|r| r.as_ref().ok() == Some(&0)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn list_offsets_unknown_and_invalid_partitions() {
        let cluster = mock();
        cluster.create_topic("t2", 2, 1).unwrap();
        produce(&cluster, "t2", &[(0, 2), (1, 3)]);
        let a = admin(&cluster);
        let parts = [
            tp("t2", 0),
            tp("no-such-topic", 0),
            tp("t2", 7), // beyond the topic's partitions
            tp("t2", 1),
            tp("", 0),
            tp("t2", -1),
            tp("nul\0topic", 0),
        ];
        let r = a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
        eprintln!("{r:#?}");
        assert_eq!(r[0], Ok(2));
        assert_eq!(r[3], Ok(3));
        // Unknown topic: the broker's error; unknown partition of a known topic: local error.
        let e = r[1].as_ref().unwrap_err();
        assert_eq!(
            e.code,
            Some(RDKafkaErrorCode::UnknownTopicOrPartition),
            "{e}"
        );
        let e = r[2].as_ref().unwrap_err();
        assert_eq!(e.code, Some(RDKafkaErrorCode::UnknownPartition), "{e}");
        for i in [4, 5, 6] {
            let e = r[i].as_ref().unwrap_err();
            assert_eq!(e.code, Some(RDKafkaErrorCode::InvalidArgument), "{e}");
        }
        // A list (chunk) in which no partition has a leader: librdkafka fails the whole call
        // with __NOENT; it stays per partition here.
        let r = a
            .list_offsets(&[tp("nope-a", 0), tp("nope-b", 3)], OffsetSpec::Latest, T)
            .await
            .unwrap();
        eprintln!("{r:#?}");
        assert!(r.iter().all(|r| r.is_err()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_offsets_exact() {
        let cluster = mock();
        cluster.create_topic("ga", 3, 1).unwrap();
        cluster.create_topic("gb", 2, 1).unwrap();
        produce(&cluster, "ga", &[(0, 10), (1, 10), (2, 10)]);
        commit(&cluster, "g1", &[("ga", 0, 4), ("ga", 2, 9), ("gb", 1, 0)]);
        commit(&cluster, "g2", &[("ga", 1, 6)]);
        let a = admin(&cluster);
        let parts = [
            tp("ga", 0),
            tp("ga", 1),
            tp("ga", 2),
            tp("gb", 0),
            tp("gb", 1),
        ];
        let groups: Vec<String> = ["g1", "g2", "never-committed", "g1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for max_in_flight in [1, 2, 64] {
            let r = a
                .list_group_offsets(&groups, &parts, max_in_flight, T)
                .await;
            assert_eq!(r.len(), 4);
            assert_eq!(r[0], Ok(vec![(0, 4), (2, 9), (4, 0)]));
            assert_eq!(r[1], Ok(vec![(1, 6)]));
            assert_eq!(r[2], Ok(vec![]));
            assert_eq!(r[3], r[0]);
        }
        // Duplicates, unknown topics and invalid entries in the partition list.
        let parts2 = [
            tp("ga", 2),
            tp("nope", 0),
            tp("ga", 0),
            tp("ga", 2),
            tp("", 1),
        ];
        let r = a.list_group_offsets(&groups[..1], &parts2, 4, T).await;
        assert_eq!(r, [Ok(vec![(0, 9), (2, 4), (3, 9)])]);
        // A partition list spanning three requests per group (500 each), in reverse order, with
        // a duplicate whose original sits in another request.
        cluster.create_topic("gc", 1200, 1).unwrap();
        commit(
            &cluster,
            "g3",
            &[
                ("gc", 0, 1),
                ("gc", 499, 2),
                ("gc", 500, 3),
                ("gc", 1199, 4),
            ],
        );
        let mut parts3: Vec<_> = (0..1200).rev().map(|p| tp("gc", p)).collect();
        parts3.push(tp("gc", 1199));
        let groups3: Vec<String> = vec!["g3".into(), "g1".into(), "g3".into()];
        let r = a.list_group_offsets(&groups3, &parts3, 2, T).await;
        // Input index i holds partition 1199 - i; index 1200 repeats partition 1199.
        let want = vec![(0, 4), (699, 3), (700, 2), (1199, 1), (1200, 4)];
        assert_eq!(r, [Ok(want.clone()), Ok(vec![]), Ok(want)]);
        // Degenerate inputs.
        assert!(a.list_group_offsets(&[], &parts, 4, T).await.is_empty());
        assert_eq!(
            a.list_group_offsets(&groups[..2], &[], 4, T).await,
            [Ok(vec![]), Ok(vec![])]
        );
        let r = a
            .list_group_offsets(&["bad\0id".into()], &parts, 0, T)
            .await;
        assert_eq!(
            r[0].as_ref().unwrap_err().code,
            Some(RDKafkaErrorCode::InvalidArgument)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_offsets_many_groups() {
        let cluster = mock();
        cluster.create_topic("m", 4, 1).unwrap();
        let a = admin(&cluster);
        let parts: Vec<_> = (0..4).map(|p| tp("m", p)).collect();
        let groups: Vec<String> = (0..500).map(|i| format!("group-{i}")).collect();
        let t0 = StdInstant::now();
        let r = a.list_group_offsets(&groups, &parts, 32, T).await;
        eprintln!(
            "ListConsumerGroupOffsets 500 groups, 32 in flight: {:?}",
            t0.elapsed()
        );
        assert!(
            r.iter().all(|r| r == &Ok(vec![])),
            "{:?}",
            r.iter().find(|r| r.is_err())
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn list_groups_unsupported_by_mock() {
        let cluster = mock();
        let a = admin(&cluster);
        let r = a.list_groups(T).await.unwrap();
        eprintln!("{r:#?}");
        assert!(r.groups.is_empty());
        assert_eq!(r.errors.len(), 3, "one error per broker");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metadata_lists_topics() {
        let cluster = mock();
        cluster.create_topic("md", 5, 1).unwrap();
        let a = admin(&cluster);
        let md = a.metadata(T).await.unwrap();
        let t = md.iter().find(|t| t.name == "md").expect("topic md");
        assert_eq!(t.partitions, [0, 1, 2, 3, 4]);
        assert_eq!(t.error, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn brokers_down_times_out() {
        let cluster = mock();
        cluster.create_topic("d", 2, 1).unwrap();
        cluster.partition_leader("d", 0, Some(1)).unwrap();
        cluster.partition_leader("d", 1, Some(2)).unwrap();
        let a = admin(&cluster);
        let parts = [tp("d", 0), tp("d", 1)];
        assert_eq!(
            oks(&a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap()),
            [0, 0]
        );
        let timeout = Duration::from_secs(1);
        let roughly = |took: Duration| {
            assert!(
                took >= timeout - Duration::from_millis(50) && took < timeout * 2,
                "{took:?}"
            )
        };

        // One leader down: its partition fails, the other is read.
        cluster.broker_down(1).unwrap();
        let t0 = StdInstant::now();
        let r = a
            .list_offsets(&parts, OffsetSpec::Latest, timeout)
            .await
            .unwrap();
        let took = t0.elapsed();
        eprintln!("ListOffsets, leader of d[0] down: {took:?}: {r:?}");
        assert!(r[0].is_err());
        assert_eq!(r[1], Ok(0));
        // Usually the request times out; a refused connection can fail it sooner.
        assert!(took < timeout * 2, "{took:?}");

        // All down. With leaders still cached, librdkafka reports -1001 without error for every
        // partition, which becomes our outer timeout ("no partition leader answered"); if the
        // cache was dropped meanwhile, librdkafka's leader lookup times out instead.
        cluster.broker_down(-1).unwrap();
        let t0 = StdInstant::now();
        let e = a
            .list_offsets(&parts, OffsetSpec::Latest, timeout)
            .await
            .unwrap_err();
        let took = t0.elapsed();
        eprintln!("ListOffsets, brokers down: {took:?}: {e}");
        assert_eq!(e.code, Some(RDKafkaErrorCode::OperationTimedOut));
        roughly(took);

        // All down, fresh client (no metadata yet): the leader lookup times out.
        let fresh = admin(&cluster);
        let t0 = StdInstant::now();
        let e = fresh
            .list_offsets(&parts, OffsetSpec::Latest, timeout)
            .await
            .unwrap_err();
        let took = t0.elapsed();
        eprintln!("ListOffsets, brokers down, fresh client: {took:?}: {e}");
        assert_eq!(e.code, Some(RDKafkaErrorCode::OperationTimedOut));
        roughly(took);

        // Group offsets: the two requests in flight are abandoned at the timeout but stay in
        // librdkafka; with that backlog the next call sends nothing and fails at once.
        let t0 = StdInstant::now();
        let groups: Vec<String> = (0..5).map(|i| format!("g{i}")).collect();
        let r = a.list_group_offsets(&groups, &parts, 2, timeout).await;
        let took = t0.elapsed();
        eprintln!(
            "ListConsumerGroupOffsets x5, brokers down: {took:?}: {:?}",
            r[0]
        );
        for r in &r {
            let e = r.as_ref().unwrap_err();
            assert_eq!(e.code, Some(RDKafkaErrorCode::OperationTimedOut), "{e}");
        }
        roughly(took);
        assert_eq!(a.abandoned.load(Ordering::Acquire), 2);
        let t0 = StdInstant::now();
        let r = a.list_group_offsets(&groups, &parts, 2, timeout).await;
        eprintln!(
            "ListConsumerGroupOffsets, backlog: {:?}: {:?}",
            t0.elapsed(),
            r[0]
        );
        // Refused at once, not after the timeout (bound loose: these machines are noisy).
        assert!(t0.elapsed() < timeout / 2, "{:?}", t0.elapsed());
        assert!(r
            .iter()
            .all(|r| r.as_ref().unwrap_err().message.contains("not sent")));

        let t0 = StdInstant::now();
        let r = a.list_groups(timeout).await;
        let took = t0.elapsed();
        eprintln!("ListConsumerGroups, brokers down: {took:?}: {r:?}");
        assert!(took < timeout * 2, "{took:?}");
        assert!(r.is_err() || !r.unwrap().errors.is_empty());

        let t0 = StdInstant::now();
        let e = a.metadata(timeout).await.unwrap_err();
        let took = t0.elapsed();
        eprintln!("metadata, brokers down: {took:?}: {e}");
        assert!(took < timeout * 2, "{took:?}");

        // Coming back used to abort the process (librdkafka use-after-free) when a timed-out
        // ListConsumerGroupOffsets request found its coordinator; now those requests complete.
        cluster.broker_up(-1).unwrap();
        let t0 = StdInstant::now();
        let r = a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
        eprintln!("ListOffsets after broker_up: {:?}", t0.elapsed());
        assert_eq!(oks(&r), [0, 0]);
        while a.abandoned.load(Ordering::Acquire) > 0 {
            assert!(t0.elapsed() < T, "abandoned group requests never completed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!(
            "abandoned group requests completed after {:?}",
            t0.elapsed()
        );
        let r = a.list_group_offsets(&groups, &parts, 2, T).await;
        assert!(r.iter().all(|r| r == &Ok(vec![])), "{r:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        // SAFETY: test-only peek at the live result queue: the poller drained everything,
        // including the forwarded log and error events.
        assert_eq!(unsafe { rdsys::rd_kafka_queue_length(a.queue.ptr()) }, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_offsets_coordinator_errors_do_not_crash() {
        use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr as E};
        let cluster = mock();
        cluster.create_topic("c", 2, 1).unwrap();
        commit(&cluster, "cg", &[("c", 1, 3)]);
        let a = admin(&cluster);
        let parts = [tp("c", 0), tp("c", 1)];
        let groups = vec!["cg".to_string()];
        // With a producer-type client (rdkafka's AdminClient) the first two segfault inside
        // librdkafka 2.12.1; with our consumer-type client they are plain group errors.
        for err in [
            E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        ] {
            cluster.request_errors(RDKafkaApiKey::OffsetFetch, &[err]);
            let r = a.list_group_offsets(&groups, &parts, 1, T).await;
            eprintln!("{err:?}: {r:?}");
            assert_eq!(r[0].as_ref().unwrap_err().code, Some(err.into()));
            let r = a.list_group_offsets(&groups, &parts, 1, T).await;
            assert_eq!(r, [Ok(vec![(1, 3)])]);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn drop_with_requests_in_flight() {
        // Two scenarios: requests waiting for a broker that is down, and requests sent to
        // brokers that answer only after 5 s.
        for slow in [false, true] {
            let cluster = mock();
            cluster.create_topic("x", 2, 1).unwrap();
            let a = Arc::new(admin(&cluster));
            let parts = [tp("x", 0), tp("x", 1)];
            a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
            if slow {
                for b in 1..=3 {
                    cluster
                        .broker_round_trip_time(b, Duration::from_secs(5))
                        .unwrap();
                }
            } else {
                cluster.broker_down(-1).unwrap();
            }
            // One request awaited in a task that gets aborted, one abandoned by a short
            // caller-side timeout.
            let task = {
                let a = Arc::clone(&a);
                let parts = parts.clone();
                tokio::spawn(async move {
                    let groups = vec!["g".to_string()];
                    a.list_group_offsets(&groups, &parts, 1, Duration::from_secs(30))
                        .await
                })
            };
            let _ = tokio::time::timeout(
                Duration::from_millis(300),
                a.list_offsets(&parts, OffsetSpec::Latest, Duration::from_secs(30)),
            )
            .await;
            task.abort();
            let _ = task.await;
            let t0 = StdInstant::now();
            drop(Arc::into_inner(a).expect("last reference"));
            let took = t0.elapsed();
            eprintln!("drop Admin with requests in flight (slow brokers: {slow}): {took:?}");
            assert!(took < Duration::from_secs(5), "{took:?}");
        }
    }

    /// Timings at a larger scale: `cargo test -- --ignored --nocapture scale`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore]
    async fn scale() {
        let cluster = mock();
        let t0 = StdInstant::now();
        cluster.create_topic("s", 20_000, 1).unwrap();
        let a = admin(&cluster);
        let parts: Vec<_> = (0..20_000).map(|p| tp("s", p)).collect();
        // Topic creation in the mock is asynchronous: wait until every partition answers.
        loop {
            let r = a.list_offsets(&parts, OffsetSpec::Latest, T).await;
            if r.is_ok_and(|r| r.iter().all(|r| r == &Ok(0))) {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(120));
        }
        eprintln!("20k-partition topic ready after {:?}", t0.elapsed());
        for spec in [OffsetSpec::Latest, OffsetSpec::Earliest] {
            let t0 = StdInstant::now();
            let r = a.list_offsets(&parts, spec, T).await.unwrap();
            eprintln!("ListOffsets {spec:?} 20k partitions: {:?}", t0.elapsed());
            assert!(r.iter().all(|r| r == &Ok(0)));
        }
        commit(&cluster, "scale-g", &[("s", 7, 1), ("s", 19_999, 2)]);
        for n in [500, 1000, 2000, 4000, 8000, 16000] {
            let t0 = StdInstant::now();
            let r = a
                .list_group_offsets(&["scale-g".to_string()], &parts[..n], 1, T)
                .await;
            eprintln!(
                "one group x {n} partitions: {:?} {:?}",
                t0.elapsed(),
                r[0].as_ref().map(|v| v.len())
            );
        }
        for (n, ngroups, max_in_flight) in [(2000, 1000, 64), (20_000, 100, 64)] {
            let mut groups: Vec<String> = (0..ngroups).map(|i| format!("sg-{i}")).collect();
            groups.push("scale-g".into());
            let t0 = StdInstant::now();
            let r = a
                .list_group_offsets(&groups, &parts[..n], max_in_flight, T)
                .await;
            eprintln!(
                "ListConsumerGroupOffsets {} groups x {n} partitions, {max_in_flight} in flight: {:?}",
                groups.len(),
                t0.elapsed()
            );
            let want = if n > 19_999 {
                vec![(7, 1), (19_999, 2)]
            } else {
                vec![(7, 1)]
            };
            assert_eq!(r.last().unwrap(), &Ok(want));
            assert!(r[..ngroups].iter().all(|r| r == &Ok(vec![])));
        }
    }

    #[test]
    fn error_display_and_timeout_ms() {
        let e = AdminError::timed_out("X", Duration::from_secs(2));
        assert_eq!(e.to_string(), "X timed out after 2s (OperationTimedOut)");
        assert_eq!(AdminError::new(None, "m").to_string(), "m");
        assert_eq!(timeout_ms(Duration::ZERO), 1);
        assert_eq!(timeout_ms(Duration::from_secs(86_400)), 3_600_000);
    }
}
