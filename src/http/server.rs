//! The HTTP/1.1 server loop, with the limits `axum::serve` lacks: a header-read timeout, an
//! idle timeout, a cap on open connections (clamped to the descriptor limit), and graceful
//! shutdown.
//!
//! hyper 1.x's own `header_read_timeout` starts whenever hyper waits for a request head, idle
//! keep-alive time included, so it would close Prometheus's kept-alive connections between two
//! scrapes after the (short) header timeout. Both timeouts are therefore kept here, in
//! [`Deadlines`], a wrapper around the socket: the header clock runs from the connection's start,
//! or from the first byte of a later request, until hyper hands the request to the router; the
//! idle clock runs from the last byte moved either way. Under TLS the clocks watch the socket
//! (the encrypted bytes), and the handshake has the header clock's time.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::web_config::WebConfig;
use crate::config::{ConfigError, HttpConfig};

/// Descriptors kept out of `http.max_connections` for everything else: the listener, Kafka
/// connections (a few per broker and cluster), logs, the config file.
const RESERVED_DESCRIPTORS: u64 = 64;

impl HttpConfig {
    /// Limits that cannot work, each naming its key.
    pub fn limit_errors(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        for (key, value) in [
            ("http.header_read_timeout", self.header_read_timeout),
            ("http.idle_timeout", self.idle_timeout),
        ] {
            if value.is_zero() {
                errors.push(ConfigError::new(
                    key,
                    "must be more than 0 (a timeout of 0 would close every connection at once)",
                ));
            } else if value > Duration::from_secs(365 * 24 * 3600) {
                errors.push(ConfigError::new(key, "must be at most a year"));
            }
        }
        for (key, value) in [
            ("http.max_connections", self.max_connections),
            ("http.max_concurrent_scrapes", self.max_concurrent_scrapes),
            ("http.max_request_body", self.max_request_body),
        ] {
            if value == 0 {
                errors.push(ConfigError::new(key, "must be at least 1"));
            }
        }
        errors
    }
}

/// Raises the soft descriptor limit to the hard one and returns the connection cap: at most
/// `configured`, and low enough to leave [`RESERVED_DESCRIPTORS`] free under the limit
/// (logged when it has to be lowered).
pub fn connection_cap(configured: usize) -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => limit = raised,
            Err(e) => tracing::debug!(error = %e, "cannot raise the descriptor limit"),
        }
    }
    let Some(descriptors) = limit.current else {
        return configured;
    };
    let fits = descriptors.saturating_sub(RESERVED_DESCRIPTORS).max(1);
    let fits = usize::try_from(fits).unwrap_or(usize::MAX);
    if fits < configured {
        tracing::warn!(
            configured,
            used = fits,
            descriptors,
            "http.max_connections lowered to fit the descriptor limit (RLIMIT_NOFILE)"
        );
    }
    configured.min(fits)
}

/// How long shutdown waits for open connections to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What the server needs from `[http]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `stop` completes, then lets open connections finish
/// for up to [`SHUTDOWN_GRACE`] (an idle one is closed at once). With a web-config file that
/// has `tls_server_config`, every connection is HTTPS, with the certificate in force when it
/// was accepted.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    web: Option<Arc<WebConfig>>,
    stop: impl Future<Output = ()>,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    // Timeouts are kept by `Deadlines` (see the module's comment); hyper's own is off.
    http.header_read_timeout(None);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut stop => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors or memory: wait a little rather than spin, as axum does.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Beyond the cap the connection is closed at once, so the listener never stalls and
        // descriptors stay free.
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::debug!(
                max = limits.max_connections,
                "connection refused: http.max_connections reached"
            );
            continue;
        };
        let _ = stream.set_nodelay(true);
        let busy = Arc::new(AtomicBool::new(false));
        let io = Deadlines::new(stream, limits, busy.clone());
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let request_busy = RequestBusy::start(busy.clone());
            let response = router.clone().oneshot(request.map(Body::new));
            async move {
                let response = match response.await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response.map(|body| {
                    Body::new(UntilDropped {
                        body,
                        _busy: request_busy,
                    })
                }))
            }
        });
        let watcher = graceful.watcher();
        let http = http.clone();
        let web = web.clone();
        tokio::spawn(async move {
            // Looked up here, not in the accept loop: a changed file is read again on the way.
            let tls = web.as_ref().and_then(|w| w.current().tls.clone());
            let served = match tls {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(io), service))
                        .await
                }
                Some(acceptor) => match handshake(&acceptor, io, limits).await {
                    Some(tls) => {
                        watcher
                            .watch(http.serve_connection(TokioIo::new(tls), service))
                            .await
                    }
                    None => Ok(()),
                },
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection closed");
            }
            drop(permit);
        });
    }
    // Requests in flight get a moment to finish; a stalled client does not hold the exit
    // for its whole idle timeout.
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!(
            grace = ?SHUTDOWN_GRACE,
            "shutdown: dropping the connections still open"
        );
    }
}

/// The TLS handshake, within `http.header_read_timeout` of the connection's start (as the
/// request head is over plain HTTP), so a client that goes silent mid-handshake frees its
/// place as soon as one that sends no head does. `None` (logged at debug) when it fails.
async fn handshake(
    acceptor: &TlsAcceptor,
    io: Deadlines,
    limits: Limits,
) -> Option<TlsStream<Deadlines>> {
    let handshake = acceptor.accept(io);
    match tokio::time::timeout(limits.header_read_timeout, handshake).await {
        Ok(Ok(mut tls)) => {
            tls.get_mut().0.restart_header_clock();
            Some(tls)
        }
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake not done within http.header_read_timeout");
            None
        }
    }
}

/// Marks a request as being served (its head is read) until its response body is dropped.
struct RequestBusy(Arc<AtomicBool>);

impl RequestBusy {
    fn start(flag: Arc<AtomicBool>) -> RequestBusy {
        flag.store(true, Ordering::Release);
        RequestBusy(flag)
    }
}

impl Drop for RequestBusy {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A response body that keeps a value alive until hyper is done with the body.
struct UntilDropped<T> {
    body: Body,
    _busy: T,
}

impl<T: Unpin> http_body::Body for UntilDropped<T> {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket with its two clocks. Any read or write that waits past the nearer
/// deadline fails with `TimedOut`, which makes hyper close the connection.
struct Deadlines {
    io: TcpStream,
    limits: Limits,
    /// Set while a request is being served: its head is complete, so no header clock.
    busy: Arc<AtomicBool>,
    /// When the head being awaited must be complete (`None`: no head is being read).
    head_by: Option<Instant>,
    opened: Instant,
    last_progress: Instant,
    timer: Pin<Box<Sleep>>,
}

impl Deadlines {
    fn new(io: TcpStream, limits: Limits, busy: Arc<AtomicBool>) -> Deadlines {
        let now = Instant::now();
        let head_by = now + limits.header_read_timeout;
        Deadlines {
            io,
            limits,
            busy,
            head_by: Some(head_by),
            opened: now,
            last_progress: now,
            timer: Box::pin(tokio::time::sleep_until(head_by)),
        }
    }

    /// After a TLS handshake, whose writes stopped the header clock: the first head is due
    /// as over plain HTTP, by the connection's start plus the header timeout.
    fn restart_header_clock(&mut self) {
        self.head_by = Some(self.opened + self.limits.header_read_timeout);
    }

    fn deadline(&self) -> Instant {
        let idle = self.last_progress + self.limits.idle_timeout;
        self.head_by.map_or(idle, |h| h.min(idle))
    }

    /// Bytes moved: the idle clock restarts. Bytes read while no request is being served are
    /// the start of a head (the header clock starts if it is not running); bytes written mean
    /// a head was read.
    fn progress(&mut self, read: bool) {
        self.last_progress = Instant::now();
        if self.busy.load(Ordering::Acquire) || !read {
            self.head_by = None;
        } else if self.head_by.is_none() {
            self.head_by = Some(self.last_progress + self.limits.header_read_timeout);
        }
    }

    /// Called when the socket is not ready: `Ready` with the error once the deadline passed,
    /// else `Pending` with the timer armed.
    fn expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if self.busy.load(Ordering::Acquire) {
            self.head_by = None;
        }
        loop {
            let deadline = self.deadline();
            if Instant::now() >= deadline {
                let which = if self.head_by.is_some_and(|h| h <= deadline) {
                    "http.header_read_timeout"
                } else {
                    "http.idle_timeout"
                };
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{which} passed"),
                ));
            }
            if self.timer.deadline() != deadline {
                self.timer.as_mut().reset(deadline);
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// `poll` of the socket, with progress and deadlines applied.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        read: bool,
        poll: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
        moved: impl FnOnce(&T) -> bool,
    ) -> Poll<io::Result<T>> {
        match poll(Pin::new(&mut self.io), cx) {
            Poll::Ready(Ok(v)) => {
                if moved(&v) {
                    self.progress(read);
                }
                Poll::Ready(Ok(v))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.expired(cx).map(Err),
        }
    }
}

impl AsyncRead for Deadlines {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = |io: Pin<&mut TcpStream>, cx: &mut Context<'_>| {
            io.poll_read(cx, buf)
                .map_ok(|()| buf.filled().len() - before)
        };
        self.watch(cx, true, read, |n| *n > 0).map_ok(|_| ())
    }
}

impl AsyncWrite for Deadlines {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.watch(cx, false, |io, cx| io.poll_write(cx, buf), |n| *n > 0)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.watch(
            cx,
            false,
            |io, cx| io.poll_write_vectored(cx, bufs),
            |n| *n > 0,
        )
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.watch(cx, false, |io, cx| io.poll_flush(cx), |_| false)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.watch(cx, false, |io, cx| io.poll_shutdown(cx), |_| false)
    }
}
