//! The event poller: one dedicated `std::thread` per [`super::Admin`] drains its result queue,
//! hands each admin result to the caller waiting for it and logs librdkafka's own events.
//!
//! Each request carries a boxed [`Reply`] (a oneshot sender); the poller gets it back with the
//! result event. If the caller gave up (tokio timeout, dropped future) the send fails and the
//! event is freed. ListConsumerGroupOffsets requests also carry a [`Ticket`], so that requests
//! abandoned by their caller but still held by librdkafka can be counted.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use super::ffi::{Event, Polled, Queue};
use super::AdminError;

/// How long the poller blocks per poll; with [`DRAIN_LIMIT`], bounds how long `Drop for Admin`
/// waits for it.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long a stopped poller may spend draining the events queued when it stopped.
const DRAIN_LIMIT: Duration = Duration::from_millis(100);

/// What the opaque of every request points to; the poller gets it back exactly once.
pub(super) struct Reply {
    tx: oneshot::Sender<Event>,
    /// For ListConsumerGroupOffsets requests: tells the caller's side it was answered.
    ticket: Option<Arc<Ticket>>,
}

impl Reply {
    /// A reply to attach to one request, and the receiver of its result event.
    pub(super) fn new(ticket: Option<Arc<Ticket>>) -> (Box<Reply>, oneshot::Receiver<Event>) {
        let (tx, rx) = oneshot::channel();
        (Box::new(Reply { tx, ticket }), rx)
    }
}

const PENDING: u8 = 0;
const ANSWERED: u8 = 1;
const ABANDONED: u8 = 2;

/// Tracks one ListConsumerGroupOffsets request that librdkafka may keep for up to an hour (see
/// `GROUP_OFFSETS_RDKAFKA_TIMEOUT`): `abandoned` counts those whose caller gave up, so a
/// cluster outage cannot pile up an unbounded backlog of them.
pub(super) struct Ticket {
    state: AtomicU8,
    abandoned: Arc<AtomicUsize>,
}

impl Ticket {
    /// A pending request, counted in `abandoned` if its caller gives up before the answer.
    pub(super) fn new(abandoned: &Arc<AtomicUsize>) -> (Arc<Ticket>, TicketGuard) {
        let t = Arc::new(Ticket {
            state: AtomicU8::new(PENDING),
            abandoned: Arc::clone(abandoned),
        });
        (Arc::clone(&t), TicketGuard(t))
    }

    /// Poller side, before handing the event over.
    pub(super) fn answered(&self) {
        if self.state.swap(ANSWERED, Ordering::AcqRel) == ABANDONED {
            self.abandoned.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Caller side: dropping it without an answer marks the request abandoned.
pub(super) struct TicketGuard(Arc<Ticket>);

impl TicketGuard {
    /// For a request that was never sent: dropping the guard then counts nothing.
    pub(super) fn disarm(self) {
        self.0.state.store(ANSWERED, Ordering::Release);
    }
}

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

/// The poller's loop: runs until `stop` is set, checked after every event (librdkafka's debug
/// logging can queue events faster than they are drained, so the queue may never be empty),
/// then drains the events queued by then, for at most [`DRAIN_LIMIT`].
///
/// `last_error` keeps the text of the latest non-fatal client error event (a TLS handshake or
/// SASL failure, a broker down) for the scraper's one "cluster is down" line.
pub(super) fn poll_loop(queue: &Queue, stop: &AtomicBool, last_error: &Mutex<Option<String>>) {
    while !stop.load(Ordering::Acquire) {
        if let Some(polled) = queue.poll(POLL_INTERVAL) {
            handle(polled, last_error);
        }
    }
    // Hands over the answers and log lines queued before the stop, not those that keep coming
    // (whatever is left is freed with the queue).
    let until = std::time::Instant::now() + DRAIN_LIMIT;
    for _ in 0..queue.len() {
        if std::time::Instant::now() >= until {
            return;
        }
        match queue.poll(Duration::ZERO) {
            Some(polled) => handle(polled, last_error),
            None => return,
        }
    }
}

fn handle(polled: Polled, last_error: &Mutex<Option<String>>) {
    match polled {
        Polled::Result(reply, ev) => deliver(*reply, ev),
        Polled::Orphan => warn!("admin result without a reply opaque"),
        Polled::Log {
            level,
            facility,
            text,
        } => log_line(level, &facility, &text),
        Polled::UnreadableLog => {}
        Polled::Error { code, text, fatal } => {
            error_line(code, &text, fatal);
            if !fatal {
                *last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
            }
        }
        Polled::Other(ty) => debug!(event_type = ty, "ignoring librdkafka event"),
    }
}

fn deliver(reply: Reply, ev: Event) {
    if let Some(t) = &reply.ticket {
        t.answered();
    }
    // Fails only if the caller gave up; the event is then dropped (destroyed) here.
    let _ = reply.tx.send(ev);
}

/// Forwards a librdkafka log line to `tracing` (syslog levels). A connection failure
/// (facility `FAIL`) is debug: it repeats at every reconnect, and the error event that comes
/// with it is reported once per outage by the scraper (see [`error_line`]).
fn log_line(level: i32, fac: &str, text: &str) {
    if fac == "FAIL" {
        debug!(target: "librdkafka", facility = %fac, "{text}");
        return;
    }
    match level {
        ..=3 => error!(target: "librdkafka", facility = %fac, "{text}"),
        4 => warn!(target: "librdkafka", facility = %fac, "{text}"),
        5 | 6 => info!(target: "librdkafka", facility = %fac, "{text}"),
        _ => debug!(target: "librdkafka", facility = %fac, "{text}"),
    }
}

/// Logs a client-level error event (broker down, TLS, authentication, ...). A non-fatal one is
/// debug: librdkafka raises it again at every reconnect, and it names no cluster; the scraper
/// logs it once per outage with the cluster's name (see `Admin::last_error`).
fn error_line(code: RDKafkaErrorCode, text: &str, fatal: bool) {
    if fatal {
        error!(target: "librdkafka", ?code, "fatal: {text}");
    } else {
        debug!(target: "librdkafka", ?code, "{text}");
    }
}

/// Waits for the result event of the call named `what` until `deadline` (`timeout` is the
/// caller's, for the error).
pub(super) async fn wait(
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
