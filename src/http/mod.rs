//! The HTTP side: `/metrics`, `/healthz`, `/readyz` and Burrow's API, all served from
//! snapshots without locks.

pub mod burrow;
pub mod metrics;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http_body::Frame;
use tokio::sync::mpsc;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Config;
use crate::snapshot::Snapshots;
use crate::telemetry::Telemetry;
use metrics::{BuildInfo, Format};

/// What every handler reads.
#[derive(Debug)]
pub struct AppState {
    pub snapshots: Arc<Snapshots>,
    pub build: BuildInfo,
    /// warren's own instrumentation (the scrapers record into it too).
    pub telemetry: Arc<Telemetry>,
    /// The configuration (Burrow's config endpoints show parts of it, never secrets).
    pub config: Config,
    /// The address the server is bound to (`http.listen`, with the actual port when it was 0).
    pub listen: SocketAddr,
    /// This machine's name, for Burrow's `request.host`.
    pub hostname: Arc<str>,
}

/// The host name as the kernel knows it (`localhost` when unreadable).
pub fn hostname() -> Arc<str> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
        .into()
}

/// The router with all endpoints, gzip (fastest level) when the client accepts it, and
/// `Access-Control-Allow-Origin` when `http.access_control_allow_origin` is set (except on the
/// replies of Burrow's router itself: 404 for no route, 405, redirects, OPTIONS).
pub fn router(state: Arc<AppState>) -> Router {
    let cors = state
        .config
        .http
        .access_control_allow_origin
        .as_deref()
        .and_then(|o| HeaderValue::from_str(o).ok())
        .map(|origin| {
            CorsLayer::new()
                .allow_origin(AllowOrigin::exact(origin))
                .allow_methods([Method::GET, Method::POST, Method::DELETE])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        });
    Router::new()
        .route("/", get(index))
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .merge(burrow::routes(&state))
        .fallback(burrow::fallback)
        .layer(axum::middleware::from_fn(burrow::edges::edges))
        .layer(from_fn_with_state(state.clone(), count_requests))
        .with_state(state)
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .no_br()
                .no_deflate()
                .no_zstd()
                .quality(CompressionLevel::Fastest),
        )
        .layer(tower::util::option_layer(cors))
        .layer(axum::middleware::map_response(burrow::edges::strip_cors))
}

/// Counts every request by route pattern (never the raw path: names from Kafka in paths would
/// make unbounded series) and status code.
async fn count_requests(
    State(state): State<Arc<AppState>>,
    route: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    state
        .telemetry
        .http_request(route, response.status().as_u16());
    response
}

async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<html><head><title>warren</title></head><body><h1>warren</h1>\
         <p>Kafka consumer-lag exporter.</p><ul>\
         <li><a href=\"/metrics\">/metrics</a></li>\
         <li><a href=\"/healthz\">/healthz</a></li>\
         <li><a href=\"/readyz\">/readyz</a></li></ul></body></html>\n",
    )
}

/// 503 until every cluster has completed (or failed) its first poll.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let waiting: Vec<String> = state
        .snapshots
        .load()
        .iter()
        .filter(|c| !c.health.polled)
        .map(|c| c.cluster.raw.to_string())
        .collect();
    if waiting.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        let msg = format!(
            "not ready: waiting for a first poll of {}\n",
            waiting.join(", ")
        );
        (StatusCode::SERVICE_UNAVAILABLE, msg).into_response()
    }
}

/// Renders on a blocking thread and streams the chunks, so a huge exposition neither blocks
/// the runtime nor sits in memory whole.
async fn metrics_handler(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let clusters = state.snapshots.load();
    let state2 = state.clone();
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut open = true;
        let telemetry = &state2.telemetry;
        metrics::render(&clusters, &state2.build, telemetry, format, &mut |chunk| {
            if open && !chunk.is_empty() {
                let full = std::mem::replace(chunk, Vec::with_capacity(metrics::CHUNK + 4096));
                // The client may have gone; stop sending but finish cheaply.
                open = tx.blocking_send(Bytes::from(full)).is_ok();
            }
            chunk.clear();
        });
        telemetry.scrape(format.as_str(), started.elapsed());
    });
    Response::builder()
        .header(header::CONTENT_TYPE, format.content_type())
        .body(Body::new(ChunkBody(rx)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A response body fed by the rendering thread.
struct ChunkBody(mpsc::Receiver<Bytes>);

impl http_body::Body for ChunkBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
    }
}

#[cfg(test)]
mod tests;
