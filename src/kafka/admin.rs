//! Safe async wrappers for the librdkafka admin calls that rust-rdkafka 0.39 has no API for:
//! ListOffsets, ListConsumerGroupOffsets and ListConsumerGroups (plus metadata, which is safe).
//!
//! This is the only `unsafe` code in warren. The design:
//! - every librdkafka object we own lives in an RAII newtype whose `Drop` destroys it;
//! - one long-lived result queue per [`Admin`], polled by one dedicated `std::thread`;
//! - each request carries a `Box<oneshot::Sender<Event>>` as its AdminOptions opaque; the poller
//!   takes it back with `Box::from_raw` (exactly once) and hands the event to the awaiting caller.
//!   If the caller gave up (tokio timeout, dropped future) the send fails and the event is freed;
//! - everything borrowed from an event (strings, lists) is copied into owned values before the
//!   event is dropped.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, c_int, CStr, CString};
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::bindings as rdsys;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, warn};

/// ListOffsets cost grows super-linearly with partitions per call (librdkafka merges the
/// per-leader results with a nested loop), so large lists are split into calls of this size.
const LIST_OFFSETS_CHUNK: usize = 1000;
/// How long the poller blocks per poll; bounds how long `Drop for Admin` waits for it.
const POLL_INTERVAL_MS: c_int = 100;
/// The tokio backstop fires this long after librdkafka's own request timeout, so that
/// librdkafka's more specific error ("Failed to query partition leaders: ...") usually wins.
const TIMEOUT_GRACE: Duration = Duration::from_millis(200);
/// librdkafka rejects request timeouts above one hour.
const MAX_REQUEST_TIMEOUT_MS: u128 = 3_600_000;

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
    /// (topic, partition) -> input index; built only if librdkafka returns results out of
    /// request order (it has not been seen to).
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

type Reply = oneshot::Sender<Event>;

/// One admin connection to one cluster: an rdkafka `AdminClient` plus one long-lived result
/// queue polled by one dedicated `std::thread`. Cheap to share behind `Arc`.
pub struct Admin {
    // Field order is drop order: the poller is joined in `Drop::drop`, then the queue is
    // destroyed, then the client it belongs to.
    poller: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    queue: Arc<Queue>,
    client: Arc<AdminClient<DefaultClientContext>>,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

impl Admin {
    /// `client` = librdkafka properties passed through (TLS/SASL); `bootstrap.servers` is set
    /// from the first argument (it wins over one in `client`).
    pub fn new(
        bootstrap_servers: &str,
        client: &BTreeMap<String, String>,
    ) -> Result<Admin, AdminError> {
        let mut cfg = ClientConfig::new();
        for (k, v) in client {
            cfg.set(k, v);
        }
        cfg.set("bootstrap.servers", bootstrap_servers);
        let client: AdminClient<DefaultClientContext> = cfg.create()?;
        let client = Arc::new(client);
        let queue = Arc::new(Queue::new(client.inner().native_ptr())?);
        let stop = Arc::new(AtomicBool::new(false));
        let poller = {
            let (queue, stop) = (Arc::clone(&queue), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("warren-admin-poll".into())
                .spawn(move || poll_loop(&queue, &stop))
                .map_err(|e| AdminError::new(None, format!("spawning admin poller: {e}")))?
        };
        Ok(Admin {
            poller: Some(poller),
            stop,
            queue,
            client,
        })
    }

    fn rk(&self) -> *mut rdsys::rd_kafka_t {
        self.client.inner().native_ptr()
    }

    /// Tags `opts` with a fresh reply channel and runs `call`, which must submit exactly one
    /// admin request with these options to our queue (librdkafka then always answers with
    /// exactly one event carrying the opaque, even for argument errors).
    fn submit(
        &self,
        opts: Options,
        call: impl FnOnce(
            *mut rdsys::rd_kafka_t,
            *const rdsys::rd_kafka_AdminOptions_t,
            *mut rdsys::rd_kafka_queue_t,
        ),
    ) -> oneshot::Receiver<Event> {
        let (tx, rx) = oneshot::channel();
        let opaque = Box::into_raw(Box::new(tx));
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
            let md = client.inner().fetch_metadata(None, timeout)?;
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
            let rx = self.submit(opts, |rk, o, q| {
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
    /// accepts only one), each with the same explicit partition list, at most `max_in_flight`
    /// groups in flight. Per group, in the order of `groups`: the (index into `partitions`,
    /// committed offset) pairs of partitions that have a commit, sorted by index; partitions
    /// without a commit or with a per-partition error are left out. `Err` for a group-level
    /// error or when `timeout` (which bounds the whole call) runs out first.
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
        // Built once; every request copies it.
        let tpl = match Tpl::build(
            partitions,
            &index.uniq,
            rdsys::RD_KAFKA_OFFSET_INVALID as i64,
        ) {
            Ok(t) => t,
            Err(e) => return vec![Err(e); groups.len()],
        };
        let start = Instant::now();
        let deadline = start + timeout;
        let max_in_flight = max_in_flight.max(1);
        let mut results: Vec<Option<Result<Vec<(u32, i64)>, AdminError>>> =
            (0..groups.len()).map(|_| None).collect();
        let mut inflight = tokio::task::JoinSet::new();
        let mut next = 0;
        loop {
            while inflight.len() < max_in_flight && next < groups.len() {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    break;
                }
                match self.submit_group_offsets(&groups[next], &tpl, remaining) {
                    Ok(rx) => {
                        let i = next;
                        inflight.spawn(async move { (i, rx.await) });
                    }
                    Err(e) => results[next] = Some(Err(e)),
                }
                next += 1;
            }
            if inflight.is_empty() {
                break;
            }
            match tokio::time::timeout_at(deadline + TIMEOUT_GRACE, inflight.join_next()).await {
                Ok(Some(Ok((i, Ok(ev))))) => {
                    results[i] = Some(parse_group_offsets(&ev, &groups[i], &mut index));
                }
                Ok(Some(Ok((i, Err(_))))) => {
                    results[i] = Some(Err(AdminError::poller_gone("ListConsumerGroupOffsets")));
                }
                // The tasks only await a receiver and cannot panic; a cancelled one leaves its
                // slot empty, reported as a timeout below.
                Ok(Some(Err(e))) => warn!(error = %e, "group offsets task failed"),
                Ok(None) | Err(_) => break,
            }
        }
        // Dropping the JoinSet aborts waiting tasks; their late events are freed by the poller.
        drop(inflight);
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(AdminError::timed_out("ListConsumerGroupOffsets", timeout)))
            })
            .collect()
    }

    fn submit_group_offsets(
        &self,
        group: &str,
        tpl: &Tpl,
        timeout: Duration,
    ) -> Result<oneshot::Receiver<Event>, AdminError> {
        let gid = CString::new(group)
            .map_err(|_| AdminError::invalid(format!("group id {group:?} contains NUL")))?;
        let opts = Options::new(
            self.rk(),
            rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
            timeout,
        )?;
        // SAFETY: valid C string and list; both are copied into the new request object.
        let req = unsafe { rdsys::rd_kafka_ListConsumerGroupOffsets_new(gid.as_ptr(), tpl.ptr()) };
        let req = NonNull::new(req).map(GroupOffsetsRequest).ok_or_else(|| {
            AdminError::new(None, "rd_kafka_ListConsumerGroupOffsets_new returned NULL")
        })?;
        Ok(self.submit(opts, |rk, o, q| {
            let mut reqs = [req.0.as_ptr()];
            // SAFETY: live handle, valid options/queue, an array of exactly one valid request
            // (librdkafka rejects any other count); the request is copied before returning.
            unsafe { rdsys::rd_kafka_ListConsumerGroupOffsets(rk, reqs.as_mut_ptr(), 1, o, q) }
        }))
    }

    /// ListConsumerGroups: the valid listings plus per-broker errors. The outer `Err` is only
    /// for a whole-call error or the timeout.
    pub async fn list_groups(&self, timeout: Duration) -> Result<GroupList, AdminError> {
        let opts = Options::new(
            self.rk(),
            rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS,
            timeout,
        )?;
        let rx = self.submit(opts, |rk, o, q| {
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
        // The poller notices within one poll interval; it drains already-queued results first.
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.poller.take() {
            if h.join().is_err() {
                warn!("admin poller thread panicked");
            }
        }
        // Fields drop next, queue before client. Requests still in flight inside librdkafka
        // are answered into the destroyed queue and freed there, leaking only their small
        // reply Box (freeing it ourselves could race with librdkafka).
    }
}

/// The poller: owns nothing but a queue reference; hands each result to its requester.
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
        let ty = ev.event_type();
        let ours = matches!(
            ty,
            rdsys::RD_KAFKA_EVENT_LISTOFFSETS_RESULT
                | rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT
                | rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT
        );
        // SAFETY: valid event.
        let opaque = unsafe { rdsys::rd_kafka_event_opaque(ev.ptr()) };
        if !ours || opaque.is_null() {
            // Not one of our requests: never reinterpret a foreign opaque.
            warn!(event_type = ty, "unexpected event on admin queue");
            continue;
        }
        // SAFETY: every request on this queue carries a `Box<Reply>` from `Admin::submit`, and
        // librdkafka delivers exactly one result event per request, so this runs once per Box.
        let tx = unsafe { Box::from_raw(opaque.cast::<Reply>()) };
        // Fails only if the caller gave up; the event is then dropped (destroyed) here.
        let _ = tx.send(ev);
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

/// Copies one group's committed offsets out of a ListConsumerGroupOffsets result event.
fn parse_group_offsets(
    ev: &Event,
    group: &str,
    index: &mut PartitionIndex<'_>,
) -> Result<Vec<(u32, i64)>, AdminError> {
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
    let [g] = groups else {
        return Err(AdminError::new(
            None,
            format!(
                "ListConsumerGroupOffsets {group}: {} group results",
                groups.len()
            ),
        ));
    };
    // SAFETY: valid group result owned by `ev`; the error (if any) borrows from it.
    let err = unsafe { rdsys::rd_kafka_group_result_error(*g) };
    if !err.is_null() {
        // SAFETY: non-null error owned by `ev`.
        return Err(unsafe {
            AdminError::from_borrowed(&format!("ListConsumerGroupOffsets {group}"), err)
        });
    }
    // SAFETY: valid group result; the list borrows from `ev`.
    let parts = unsafe { ev.partitions(rdsys::rd_kafka_group_result_partitions(*g)) };
    let mut out = Vec::with_capacity(parts.len());
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
        match index.resolve(k, topic, tp.partition) {
            Some(i) => out.push((i, tp.offset)),
            None => debug!(
                group,
                partition = tp.partition,
                "committed offset not asked for"
            ),
        }
    }
    out.sort_unstable_by_key(|&(i, _)| i);
    if !index.dups.is_empty() {
        let found = out.clone();
        for &(dup, orig) in &index.dups {
            if let Ok(pos) = found.binary_search_by_key(&orig, |&(i, _)| i) {
                out.push((dup, found[pos].1));
            }
        }
        out.sort_unstable_by_key(|&(i, _)| i);
    }
    Ok(out)
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
        roughly(took);

        // All down, leaders known from cached metadata: librdkafka itself reports -1001
        // without error for every partition; that becomes the outer timeout error.
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

        cluster.broker_up(-1).unwrap();
        let t0 = StdInstant::now();
        let r = a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
        eprintln!("ListOffsets after broker_up: {:?}", t0.elapsed());
        assert_eq!(oks(&r), [0, 0]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn drop_with_requests_in_flight() {
        let cluster = mock();
        cluster.create_topic("x", 2, 1).unwrap();
        let a = Arc::new(admin(&cluster));
        let parts = [tp("x", 0), tp("x", 1)];
        a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
        cluster.broker_down(-1).unwrap();
        // Requests that will not be answered for 30 s: one awaited in a task, one abandoned
        // by a short caller-side timeout.
        let task = {
            let a = Arc::clone(&a);
            let parts = parts.clone();
            tokio::spawn(async move {
                let groups = vec!["g".to_string()];
                a.list_group_offsets(&groups, &parts, 1, Duration::from_secs(30))
                    .await
            })
        };
        let abandoned = tokio::time::timeout(
            Duration::from_millis(300),
            a.list_offsets(&parts, OffsetSpec::Latest, Duration::from_secs(30)),
        )
        .await;
        assert!(abandoned.is_err());
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        let t0 = StdInstant::now();
        drop(Arc::into_inner(a).expect("last reference"));
        let took = t0.elapsed();
        eprintln!("drop Admin with 2 requests in flight: {took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
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

#[cfg(test)]
mod experiments {
    use super::*;
    use rdkafka::mocking::MockCluster;

    fn tp(topic: &str, p: i32) -> TopicPartition {
        (Arc::from(topic), p)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn exp_groups_down() {
        let steps = std::env::var("STEPS").unwrap_or_default();
        let cluster = MockCluster::new(3).unwrap();
        cluster.create_topic("d", 2, 1).unwrap();
        let a = Admin::new(&cluster.bootstrap_servers(), &BTreeMap::new()).unwrap();
        let parts = [tp("d", 0), tp("d", 1)];
        let groups: Vec<String> = (0..5).map(|i| format!("g{i}")).collect();
        if steps.contains('w') {
            let r = a
                .list_group_offsets(&groups, &parts, 2, Duration::from_secs(5))
                .await;
            eprintln!("warm: {:?}", r[0]);
        }
        cluster.broker_down(-1).unwrap();
        let n: usize = std::env::var("N")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5);
        let inflight: usize = std::env::var("INFLIGHT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2);
        let t0 = std::time::Instant::now();
        let r = a
            .list_group_offsets(&groups[..n], &parts, inflight, Duration::from_secs(1))
            .await;
        eprintln!("down: {:?} {:?}", t0.elapsed(), r);
        if steps.contains('s') {
            tokio::time::sleep(Duration::from_secs(3)).await;
            eprintln!("slept");
        }
        cluster.broker_up(-1).unwrap();
        eprintln!("up");
        tokio::time::sleep(Duration::from_secs(3)).await;
        eprintln!("slept after up");
        let r = a
            .list_group_offsets(&groups, &parts, 2, Duration::from_secs(5))
            .await;
        eprintln!("after: {:?}", r[0]);
    }
}

#[cfg(test)]
mod experiments2 {
    use super::*;
    use rdkafka::mocking::MockCluster;
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn exp_not_coordinator() {
        let cluster = MockCluster::new(3).unwrap();
        cluster.create_topic("d", 2, 1).unwrap();
        let a = Admin::new(&cluster.bootstrap_servers(), &BTreeMap::new()).unwrap();
        let parts = [(Arc::from("d"), 0)];
        let groups = vec!["g".to_string()];
        let r = a
            .list_group_offsets(&groups, &parts, 1, Duration::from_secs(5))
            .await;
        eprintln!("warm: {r:?}");
        let e = match std::env::var("ERR").as_deref() {
            Ok("load") => RDKafkaRespErr::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            Ok("na") => RDKafkaRespErr::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            _ => RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        };
        cluster.request_errors(RDKafkaApiKey::OffsetFetch, &[e]);
        let r = a
            .list_group_offsets(&groups, &parts, 1, Duration::from_secs(5))
            .await;
        eprintln!("injected: {r:?}");
    }
}
