//! Burrow's admin endpoints: `/burrow/admin` (liveness), `/burrow/admin/ready`, and the log
//! level (`/v3/admin/loglevel`; setting it needs the admin token, see [`super::auth`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::reply::{text, Reply, RequestInfo};
use crate::http::AppState;

pub async fn alive() -> Response {
    text("GOOD")
}

pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    if state.snapshots.ready() {
        text("READY")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, text("STARTING")).into_response()
    }
}

#[derive(Serialize)]
struct LogLevel {
    level: String,
}

pub async fn log_level(request: RequestInfo) -> Response {
    let level = LogLevel {
        level: crate::logging::level(),
    };
    Reply::ok(request, "log level returned", level).into_response()
}

#[derive(Deserialize)]
struct LevelBody {
    level: String,
}

pub async fn set_log_level(request: RequestInfo, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<LevelBody>(&body) else {
        let message = "could not decode message body";
        return Reply::error(request, StatusCode::BAD_REQUEST, message).into_response();
    };
    let Some(level) = crate::logging::burrow_level(&body.level) else {
        return Reply::not_found(request, "unknown log level").into_response();
    };
    crate::logging::set_level(level);
    tracing::info!(level, "log level changed through the API");
    Reply::ack(request, "set log level").into_response()
}
