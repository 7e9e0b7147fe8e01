//! The only `unsafe` code in warren: RAII handles for the librdkafka objects the admin calls
//! use ([`request`] for what a request is built from), the calls themselves, ([`event`]) the
//! code that copies result events into the plain rows of [`super::parse`], and
//! ([`token_refresh`]) the OAUTHBEARER token callback, and (`partition_find`) a faster
//! search, with an index while librdkafka parses an OffsetFetch answer, that librdkafka is
//! linked to.
//!
//! Everything here is safe to call from safe code:
//! - every librdkafka object we own lives in a newtype whose `Drop` destroys it; a [`Queue`]
//!   holds an `Arc` of the client it belongs to, so the client cannot be destroyed first;
//! - raw pointers never leave this module;
//! - every request submitted here carries a boxed [`Reply`] as its AdminOptions opaque, and
//!   [`Queue::poll`] is the only place that takes it back (with `Box::from_raw`), once per
//!   result event;
//! - everything borrowed from an event (strings, lists) is copied into owned values while the
//!   event is borrowed;
//! - the OAUTHBEARER token callback (AWS MSK IAM) reaches the client's context through the
//!   configuration opaque rdkafka sets, which lives until the client is destroyed; the one
//!   constructor that installs the callback checks that the opaque is that context.

use std::ffi::{c_char, c_int, CStr, CString};
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::client::Client;
use rdkafka::types::RDKafkaErrorCode;

use super::parse::ErrorText;
use super::poller::Reply;
use super::AdminError;

mod event;
#[cfg(warren_wrap_find)]
mod partition_find;
#[cfg(warren_wrap_find)]
pub use partition_find::indexed_answers;
mod request;
mod token_refresh;

pub(super) use event::Event;
use request::Options;
pub(super) use request::{ConfigResource, GroupOffsetsRequest, Tpl};
pub(super) use token_refresh::AdminContext;

/// The admin client: rdkafka's `Client`, destroyed without a consumer close (see `Drop`).
pub(super) struct KafkaClient(ManuallyDrop<Client<AdminContext>>);

impl KafkaClient {
    pub(super) fn new(client: Client<AdminContext>) -> Self {
        KafkaClient(ManuallyDrop::new(client))
    }
}

pub(super) use crate::kafka::drop_off_worker;

/// Returns the free memory of every malloc arena to the system (glibc's `malloc_trim`; a no-op
/// elsewhere). librdkafka's threads allocate from arenas of their own, which keep what a
/// closed client freed: 14 MB at 5,000 partitions for the record reader.
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> c_int;
        }
        // SAFETY: glibc's malloc_trim takes no pointer and may be called at any time.
        unsafe { malloc_trim(0) };
    }
}

impl Deref for KafkaClient {
    type Target = Client<AdminContext>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Drop for KafkaClient {
    /// What `Client`'s own drop does in rdkafka 0.39 (rd_kafka_destroy, then release its
    /// context; recheck on an upgrade), except that the consumer is not closed.
    /// rd_kafka_destroy closes a consumer first, waiting without a time limit for its group
    /// handle to terminate, which needs the coordinator; the admin client never joins its group
    /// and commits nothing, so there is nothing to close.
    fn drop(&mut self) {
        let context = Arc::as_ptr(self.0.context());
        // SAFETY: we own the handle (the `Client` in `self.0` is never dropped, so it is
        // destroyed once, here), and nothing uses it any more: this runs when the last `Arc` of
        // this client is dropped, so every `Queue` of it (each holds one) has been destroyed
        // and no call (metadata holds one while it runs) is in progress.
        unsafe {
            rdsys::rd_kafka_destroy_flags(
                self.0.native_ptr(),
                rdsys::RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE as c_int,
            )
        };
        // SAFETY: `context` comes from the `Arc` inside the undropped `Client` (`as_ptr` is the
        // pointer `into_raw` gives), which nothing uses again, and librdkafka (which had it as
        // its opaque) is gone: this drops that `Arc` as the `Client`'s drop would have.
        unsafe { Arc::decrement_strong_count(context) };
    }
}

/// librdkafka rejects request timeouts above one hour.
const MAX_REQUEST_TIMEOUT_MS: u128 = 3_600_000;

/// librdkafka timeouts are `int` milliseconds, at least 1 (0 would mean "no wait").
pub(super) fn timeout_ms(t: Duration) -> c_int {
    t.as_millis().clamp(1, MAX_REQUEST_TIMEOUT_MS) as c_int
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

/// librdkafka's text for an error code ("Broker: Not leader for partition").
pub(super) fn err2str(code: RDKafkaErrorCode) -> String {
    match rdsys::rd_kafka_resp_err_t::try_from(code as i32) {
        // SAFETY: rd_kafka_err2str returns a static string for any code (unknown ones included).
        Ok(err) => unsafe { cstr_lossy(rdsys::rd_kafka_err2str(err)) },
        // Every code we get came from librdkafka as an `rd_kafka_resp_err_t`.
        Err(_) => format!("Err-{}?", code as i32),
    }
}

/// Copies an `rd_kafka_error_t` we do not own (it borrows from an event).
///
/// # Safety
/// `err` must be a valid, non-null `rd_kafka_error_t`.
unsafe fn error_text(err: *const rdsys::rd_kafka_error_t) -> ErrorText {
    // SAFETY: the caller guarantees `err` is valid; both accessors return owned-by-err data
    // that we copy immediately.
    let (code, text) = unsafe {
        (
            rdsys::rd_kafka_error_code(err),
            cstr_lossy(rdsys::rd_kafka_error_string(err)),
        )
    };
    ErrorText {
        code: code.into(),
        text,
    }
}

/// Consumes an owned `rd_kafka_error_t*` returned by an options setter: Ok if null.
///
/// # Safety
/// `err` must be null or a valid error that the caller owns and never touches again.
unsafe fn take_owned_error(
    what: &str,
    err: *mut rdsys::rd_kafka_error_t,
) -> Result<(), AdminError> {
    if err.is_null() {
        return Ok(());
    }
    // SAFETY: non-null, valid per the caller.
    let e = unsafe { error_text(err) };
    // SAFETY: we own it and never touch it again.
    unsafe { rdsys::rd_kafka_error_destroy(err) };
    Err(AdminError::new(Some(e.code), format!("{what}: {}", e.text)))
}

// ---------------------------------------------------------------------------------------------
// Queues and requests
// ---------------------------------------------------------------------------------------------

/// An `rd_kafka_queue_t` we hold a reference to, and the client it belongs to.
pub(super) struct Queue {
    ptr: NonNull<rdsys::rd_kafka_queue_t>,
    /// Keeps the client alive until the queue is destroyed.
    client: Arc<KafkaClient>,
}

// SAFETY: librdkafka queues are internally locked and may be used from any thread; the client
// handle is thread-safe too.
unsafe impl Send for Queue {}
// SAFETY: as above; callers enqueue requests while the poller thread polls concurrently.
unsafe impl Sync for Queue {}

/// What [`Queue::poll`] found, copied out of the event unless it is an admin result.
pub(super) enum Polled {
    /// An admin result and the reply its request carried.
    Result(Box<Reply>, Event),
    /// An admin result without a reply opaque.
    Orphan,
    /// A librdkafka log line (syslog level).
    Log {
        level: c_int,
        facility: String,
        text: String,
    },
    /// A log event that could not be read.
    UnreadableLog,
    /// A client-level error (broker down, authentication, ...).
    Error {
        code: RDKafkaErrorCode,
        text: String,
        fatal: bool,
    },
    /// Any other event type (the event is destroyed).
    Other(c_int),
}

impl Queue {
    /// A new queue of `client`, for admin results.
    pub(super) fn new(client: &Arc<KafkaClient>) -> Result<Self, AdminError> {
        // SAFETY: live handle; the queue keeps an `Arc` of its client.
        let q = unsafe { rdsys::rd_kafka_queue_new(client.native_ptr()) };
        NonNull::new(q)
            .map(|ptr| Queue {
                ptr,
                client: Arc::clone(client),
            })
            .ok_or_else(|| AdminError::new(None, "rd_kafka_queue_new returned NULL"))
    }

    fn ptr(&self) -> *mut rdsys::rd_kafka_queue_t {
        self.ptr.as_ptr()
    }

    fn rk(&self) -> *mut rdsys::rd_kafka_t {
        self.client.native_ptr()
    }

    /// Forwards the client's main and consumer queues (logs, error events) into this queue,
    /// until the returned handles are dropped.
    pub(super) fn forward_client_queues(&self) -> Vec<Forwarded> {
        let rk = self.rk();
        let mut forwarded = Vec::with_capacity(2);
        // SAFETY: live handle; both getters return new references (or NULL), released by
        // `Queue::drop` after `Forwarded::drop` has undone the forwarding.
        for q in unsafe {
            [
                rdsys::rd_kafka_queue_get_main(rk),
                rdsys::rd_kafka_queue_get_consumer(rk),
            ]
        } {
            if let Some(ptr) = NonNull::new(q) {
                let q = Queue {
                    ptr,
                    client: Arc::clone(&self.client),
                };
                // SAFETY: both queues are valid; forwarding only moves future events (and
                // librdkafka keeps its own reference to the destination).
                unsafe { rdsys::rd_kafka_queue_forward(q.ptr(), self.ptr()) };
                forwarded.push(Forwarded(q));
            }
        }
        forwarded
    }

    /// Waits up to `timeout` for the next event.
    pub(super) fn poll(&self, timeout: Duration) -> Option<Polled> {
        // SAFETY: valid queue.
        let ev = unsafe { rdsys::rd_kafka_queue_poll(self.ptr(), timeout_ms(timeout)) };
        let ev = NonNull::new(ev).map(Event)?;
        Some(match ev.event_type() {
            rdsys::RD_KAFKA_EVENT_LISTOFFSETS_RESULT
            | rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT
            | rdsys::RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT
            | rdsys::RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT
            | rdsys::RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT => {
                // SAFETY: valid admin result event.
                let opaque = unsafe { rdsys::rd_kafka_event_opaque(ev.ptr()) };
                if opaque.is_null() {
                    return Some(Polled::Orphan);
                }
                // SAFETY: every admin request is submitted by `Queue::submit`, which attaches a
                // `Box<Reply>` to exactly one request, and librdkafka delivers exactly one
                // result event per request; the event is polled (and reaches this line) once.
                let reply = unsafe { Box::from_raw(opaque.cast::<Reply>()) };
                Polled::Result(reply, ev)
            }
            rdsys::RD_KAFKA_EVENT_LOG => {
                let (mut fac, mut text, mut level) = (std::ptr::null(), std::ptr::null(), 0);
                // SAFETY: valid log event; the strings borrow from it and are copied at once.
                unsafe {
                    if rdsys::rd_kafka_event_log(ev.ptr(), &mut fac, &mut text, &mut level) != 0 {
                        return Some(Polled::UnreadableLog);
                    }
                    Polled::Log {
                        level,
                        facility: cstr_lossy(fac),
                        text: cstr_lossy(text),
                    }
                }
            }
            // SAFETY: valid error event; the string borrows from it and is copied at once.
            rdsys::RD_KAFKA_EVENT_ERROR => unsafe {
                Polled::Error {
                    code: rdsys::rd_kafka_event_error(ev.ptr()).into(),
                    text: cstr_lossy(rdsys::rd_kafka_event_error_string(ev.ptr())),
                    fatal: rdsys::rd_kafka_event_error_is_fatal(ev.ptr()) != 0,
                }
            },
            ty => Polled::Other(ty),
        })
    }

    /// Events waiting in the queue.
    pub(super) fn len(&self) -> usize {
        // SAFETY: valid queue.
        unsafe { rdsys::rd_kafka_queue_length(self.ptr()) }
    }

    /// Creates the options of one request, attaches `reply` and runs `call`, which must submit
    /// exactly one admin request with these options to this queue (librdkafka then always
    /// answers with exactly one event carrying the opaque, even for argument errors).
    fn submit(
        &self,
        op: rdsys::rd_kafka_admin_op_t,
        timeout: Duration,
        read_uncommitted: bool,
        reply: Box<Reply>,
        call: impl FnOnce(
            *mut rdsys::rd_kafka_t,
            *const rdsys::rd_kafka_AdminOptions_t,
            *mut rdsys::rd_kafka_queue_t,
        ),
    ) -> Result<(), AdminError> {
        let opts = Options::new(&self.client, op, timeout)?;
        if read_uncommitted {
            opts.set_read_uncommitted()?;
        }
        let opaque = Box::into_raw(reply);
        // SAFETY: valid options; `Queue::poll` reclaims `opaque` from the result event.
        unsafe { rdsys::rd_kafka_AdminOptions_set_opaque(opts.ptr(), opaque.cast()) };
        call(self.rk(), opts.ptr(), self.ptr());
        Ok(())
    }

    /// ListOffsets (isolation READ_UNCOMMITTED) for `tpl`; the result event carries `reply`.
    pub(super) fn list_offsets(
        &self,
        tpl: &Tpl,
        timeout: Duration,
        reply: Box<Reply>,
    ) -> Result<(), AdminError> {
        let op = rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS;
        self.submit(op, timeout, true, reply, |rk, o, q| {
            // SAFETY: live handle, valid list/options/queue; librdkafka copies list and
            // options before returning.
            unsafe { rdsys::rd_kafka_ListOffsets(rk, tpl.ptr(), o, q) }
        })
    }

    /// ListConsumerGroupOffsets for one request; the result event carries `reply`.
    pub(super) fn list_group_offsets(
        &self,
        req: &GroupOffsetsRequest,
        timeout: Duration,
        reply: Box<Reply>,
    ) -> Result<(), AdminError> {
        let op = rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS;
        self.submit(op, timeout, false, reply, |rk, o, q| {
            let mut reqs = [req.0.as_ptr()];
            // SAFETY: live handle, valid options/queue, an array of exactly one valid request
            // (librdkafka rejects any other count); the request is copied before returning.
            unsafe { rdsys::rd_kafka_ListConsumerGroupOffsets(rk, reqs.as_mut_ptr(), 1, o, q) }
        })
    }

    /// DescribeConsumerGroups for `groups` (librdkafka asks each group's coordinator); the
    /// result event carries `reply`.
    pub(super) fn describe_groups(
        &self,
        groups: &[CString],
        timeout: Duration,
        reply: Box<Reply>,
    ) -> Result<(), AdminError> {
        let op = rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS;
        self.submit(op, timeout, false, reply, |rk, o, q| {
            let mut names: Vec<*const c_char> = groups.iter().map(|g| g.as_ptr()).collect();
            // SAFETY: live handle, valid options/queue, `names` holds `names.len()` valid
            // C strings that outlive the call; librdkafka copies them before returning.
            unsafe {
                rdsys::rd_kafka_DescribeConsumerGroups(rk, names.as_mut_ptr(), names.len(), o, q)
            }
        })
    }

    /// DescribeConfigs for `resources` (any broker answers for topics); the result event
    /// carries `reply`.
    pub(super) fn describe_configs(
        &self,
        resources: &[ConfigResource],
        timeout: Duration,
        reply: Box<Reply>,
    ) -> Result<(), AdminError> {
        let op = rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS;
        self.submit(op, timeout, false, reply, |rk, o, q| {
            let mut ptrs: Vec<*mut rdsys::rd_kafka_ConfigResource_t> =
                resources.iter().map(|r| r.0.as_ptr()).collect();
            // SAFETY: live handle, valid options/queue, `ptrs` holds `ptrs.len()` valid
            // resources that outlive the call; librdkafka copies each before returning.
            unsafe { rdsys::rd_kafka_DescribeConfigs(rk, ptrs.as_mut_ptr(), ptrs.len(), o, q) }
        })
    }

    /// ListConsumerGroups; the result event carries `reply`.
    pub(super) fn list_groups(
        &self,
        timeout: Duration,
        reply: Box<Reply>,
    ) -> Result<(), AdminError> {
        let op = rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS;
        self.submit(op, timeout, false, reply, |rk, o, q| {
            // SAFETY: live handle, valid options and queue; options are copied.
            unsafe { rdsys::rd_kafka_ListConsumerGroups(rk, o, q) }
        })
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: we hold this reference; the client it belongs to is still alive (we hold an
        // `Arc` of it). Requests still in flight inside librdkafka are answered into the
        // destroyed queue and freed there, leaking only their small reply Box (freeing it
        // ourselves could race with librdkafka).
        unsafe { rdsys::rd_kafka_queue_destroy(self.ptr()) }
    }
}

/// A client queue forwarded into one of our queues; dropping it undoes the forwarding.
pub(super) struct Forwarded(Queue);

impl Drop for Forwarded {
    fn drop(&mut self) {
        // SAFETY: valid queue; NULL undoes the forwarding before the queue is released.
        unsafe { rdsys::rd_kafka_queue_forward(self.0.ptr(), std::ptr::null_mut()) };
    }
}
