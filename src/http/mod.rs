//! The HTTP side: `/metrics`, `/healthz`, `/readyz` and Burrow's API, all served from
//! snapshots without locks.

pub mod burrow;
pub mod metrics;
pub mod page;
pub mod server;
pub mod web_config;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::config::Config;
use crate::snapshot::Snapshots;
use crate::telemetry::Telemetry;
use metrics::scrape::{self, Content, Encoding, ReplyBody, ScrapePermit, Scrapes};
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
    /// `/metrics` replies in flight and the bodies they share.
    pub scrapes: Scrapes,
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
/// replies of Burrow's router itself: 404 for no route, 405, redirects, OPTIONS). Outermost,
/// `http.max_request_body`: a larger `Content-Length` gets 413 before anything else looks at
/// the request (authentication included), and a chunked body is cut at the limit.
pub fn router(state: Arc<AppState>) -> Router {
    let max_request_body = state.config.http.max_request_body;
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
        .merge(page::routes())
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .merge(burrow::routes(&state))
        .fallback(burrow::fallback)
        .layer(axum::middleware::from_fn(burrow::edges::edges))
        .layer(from_fn_with_state(state.clone(), web_config::protect))
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
        .layer(RequestBodyLimitLayer::new(max_request_body))
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

/// Serves the snapshots' part of the exposition shared with concurrent scrapes of the same
/// generation (see [`metrics::scrape`]), then fresh telemetry; 503 beyond
/// `http.max_concurrent_scrapes`.
async fn metrics_handler(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let started = std::time::Instant::now();
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let format = Format::negotiate(header_str(header::ACCEPT));
    let encoding = Encoding::negotiate(header_str(header::ACCEPT_ENCODING));
    let Some(permit) = state.scrapes.permit() else {
        let message = "too many scrapes in flight (http.max_concurrent_scrapes); retry shortly\n";
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            message,
        )
            .into_response();
    };
    let estimate = || metrics::estimated_size(&state.snapshots.load());
    if state.scrapes.streams(format, encoding, estimate) {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let streamer = state.clone();
        let rendering = permit.clone();
        tokio::task::spawn_blocking(move || {
            let _place = rendering;
            let s = &streamer;
            let size = scrape::render_streamed(
                &s.snapshots.load(),
                &s.build,
                &s.telemetry,
                format,
                encoding,
                &tx,
            );
            s.scrapes.streamed(format, encoding, size);
        });
        let content = Content::Streamed(rx);
        return metrics_response(&state, content, permit, format, encoding, started);
    }
    let generation = state.snapshots.generation();
    let loader = state.clone();
    let shared = state
        .scrapes
        .shared_part(format, encoding, generation, permit.clone(), move || {
            (loader.snapshots.load(), loader.build.clone())
        })
        .await;
    let shared = match shared {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot render /metrics");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let parts = scrape::reply_parts(&shared, &state.telemetry, format, encoding);
    let content = Content::Shared(parts);
    metrics_response(&state, content, permit, format, encoding, started)
}

fn metrics_response(
    state: &AppState,
    content: Content,
    permit: ScrapePermit,
    format: Format,
    encoding: Encoding,
    started: std::time::Instant,
) -> Response {
    let body = ReplyBody::new(content, permit, state.telemetry.clone(), format, started);
    let mut response = Response::new(Body::new(body));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if encoding == Encoding::Gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

#[cfg(test)]
mod tests;
