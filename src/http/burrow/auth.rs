//! The admin token, as a layer on the mutating routes (`DELETE` a group, `POST` the log level).
//! Mutations are off unless `http.admin_token` is set, and then need `Authorization: Bearer`
//! with it (unlike Burrow, whose mutations are open to anyone who can reach it).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::reply::{Reply, RequestInfo};
use crate::http::AppState;

/// The bearer token of an `Authorization` header, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let (scheme, token) = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Whether `headers` carry `Authorization: Bearer` with `token`. Constant time: how long the
/// comparison takes does not reveal the token's prefix.
fn token_matches(token: &str, headers: &HeaderMap) -> bool {
    let given = bearer(headers).unwrap_or("");
    bool::from(given.as_bytes().ct_eq(token.as_bytes()))
}

/// Whether the request carries the configured admin token (the basic-auth layer lets such a
/// request through: it may already do more than any basic-auth user).
pub(crate) fn has_admin_token(state: &AppState, headers: &HeaderMap) -> bool {
    let token = state.config.http.current_admin_token();
    token.is_some_and(|t| token_matches(&t, headers))
}

/// Passes the request on only with the configured token; 403 while no token is configured,
/// 401 (with `WWW-Authenticate: Bearer`) for a missing or wrong one.
pub async fn require_admin_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let info = || RequestInfo::new(request.uri(), &state.hostname);
    let Some(token) = state.config.http.current_admin_token() else {
        let message = "admin endpoints are disabled: set http.admin_token";
        return Reply::error(info(), StatusCode::FORBIDDEN, message).into_response();
    };
    if token_matches(&token, request.headers()) {
        return next.run(request).await;
    }
    let message = "missing or wrong bearer token";
    let mut r = Reply::error(info(), StatusCode::UNAUTHORIZED, message).into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}
