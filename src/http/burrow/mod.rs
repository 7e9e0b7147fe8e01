//! Burrow's HTTP API v3, so Burrow's clients keep working: the same paths, JSON field names and
//! order (Go struct order), quirks (`current-lag` next to `current_lag`, `observedAt`, 404 with
//! `error:false` for a NOTFOUND group) and status codes. Served from the snapshots like
//! `/metrics`.
//!
//! [`reply`] is the one envelope every reply uses, [`extract`] resolves `{cluster}` (and 404s)
//! for every handler, [`auth`] guards the mutations; the handlers are grouped by resource.

mod admin;
pub(crate) mod auth;
mod clusters;
mod config;
mod consumers;
pub mod edges;
mod extract;
mod reply;

use std::sync::Arc;

use axum::handler::Handler;
use axum::http::{header, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Router;

use super::AppState;

/// The OpenAPI 3 document of this API (kept in the repository, checked by tests).
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The Burrow routes; the mutating ones need the admin token.
pub fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let admin = from_fn_with_state(state.clone(), auth::require_admin_token);
    Router::new()
        .route("/burrow/admin", get(admin::alive))
        .route("/burrow/admin/ready", get(admin::ready))
        .route("/v3/kafka", get(clusters::list))
        .route("/v3/kafka/{cluster}", get(clusters::detail))
        .route("/v3/kafka/{cluster}/topic", get(clusters::topics))
        .route(
            "/v3/kafka/{cluster}/topic/{topic}",
            get(clusters::topic_detail),
        )
        .route(
            "/v3/kafka/{cluster}/topic/{topic}/consumers",
            get(clusters::topic_consumers),
        )
        .route("/v3/kafka/{cluster}/consumer", get(consumers::list))
        .route(
            "/v3/kafka/{cluster}/consumer/{group}",
            get(consumers::detail).delete(consumers::delete.layer(admin.clone())),
        )
        .route(
            "/v3/kafka/{cluster}/consumer/{group}/topic/{topic}",
            delete(consumers::delete_topic.layer(admin.clone())),
        )
        .route(
            "/v3/kafka/{cluster}/consumer/{group}/status",
            get(consumers::status),
        )
        .route(
            "/v3/kafka/{cluster}/consumer/{group}/lag",
            get(consumers::lag),
        )
        .route("/v3/config", get(config::main))
        .route("/v3/config/{kind}", get(config::modules))
        .route("/v3/config/{kind}/{name}", get(config::module))
        .route(
            "/v3/admin/loglevel",
            get(admin::log_level).post(admin::set_log_level.layer(admin)),
        )
        .route("/v3/openapi.json", get(openapi))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Burrow's body for a path it does not route (text/plain, with a newline, no CORS header).
pub async fn fallback() -> Response {
    not_found()
}

/// The reply of Burrow's `defaultHandler`, for a path it does not route.
pub fn not_found() -> Response {
    let body = "{\"error\":true,\"message\":\"invalid request type\",\"result\":{}}\n";
    text_error(StatusCode::NOT_FOUND, body)
}

/// Go's `http.Error`: text/plain, `nosniff`, and never Burrow's CORS header.
fn text_error(code: StatusCode, body: &'static str) -> Response {
    let mut r = (
        code,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response();
    r.extensions_mut().insert(edges::NoCors);
    r
}
