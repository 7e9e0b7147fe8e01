//! Burrow's reply envelope: `{"error":…,"message":…,<payload>…,"request":{"url":…,"host":…}}`,
//! compact JSON with Burrow's content type. Field order is Go struct order, which puts the
//! request last except in the config replies.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::http::AppState;

/// `request` in every reply: the decoded path and this host's name.
#[derive(Debug, Clone, Serialize)]
pub struct RequestInfo {
    pub url: String,
    pub host: Arc<str>,
}

impl RequestInfo {
    pub fn new(uri: &Uri, host: &Arc<str>) -> RequestInfo {
        RequestInfo {
            url: decode_path(uri.path()),
            host: host.clone(),
        }
    }
}

/// Every handler's `request`, taken from the request itself.
impl FromRequestParts<Arc<AppState>> for RequestInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestInfo::new(&parts.uri, &state.hostname))
    }
}

/// The percent-decoded path (Go's `r.URL.Path`, which Burrow prints); the raw path when an
/// escape is malformed or the decoded bytes are not UTF-8.
pub fn decode_path(raw: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let digits = bytes.get(i + 1).copied().and_then(hex);
            let low = bytes.get(i + 2).copied().and_then(hex);
            let (Some(h), Some(l)) = (digits, low) else {
                return raw.to_string();
            };
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| raw.to_string())
}

/// No payload: the plain `{"error","message","request"}` envelope.
#[derive(Serialize)]
pub struct Empty {}

/// One Burrow reply. `payload`'s fields are written between `message` and `request` (or after
/// `request`, for the config replies, as Burrow orders them).
#[derive(Serialize)]
pub struct Reply<'a, P: Serialize> {
    #[serde(skip)]
    code: StatusCode,
    error: bool,
    message: &'a str,
    #[serde(rename = "request", skip_serializing_if = "Option::is_none")]
    request_first: Option<RequestInfo>,
    #[serde(flatten)]
    payload: P,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<RequestInfo>,
}

impl<'a, P: Serialize> Reply<'a, P> {
    /// A successful reply (`error:false`, 200).
    pub fn ok(request: RequestInfo, message: &'a str, payload: P) -> Self {
        Reply {
            code: StatusCode::OK,
            error: false,
            message,
            request_first: None,
            payload,
            request: Some(request),
        }
    }

    /// Another status code (Burrow's NOTFOUND status is a 404 with `error:false`).
    pub fn with_code(mut self, code: StatusCode) -> Self {
        self.code = code;
        self
    }

    /// `request` right after `message` (Burrow's config replies).
    pub fn request_first(mut self) -> Self {
        self.request_first = self.request.take();
        self
    }
}

impl<'a> Reply<'a, Empty> {
    /// An error reply (`error:true`) with status `code`.
    pub fn error(request: RequestInfo, code: StatusCode, message: &'a str) -> Self {
        Reply {
            code,
            error: true,
            ..Reply::ok(request, message, Empty {})
        }
    }

    /// A 404 error reply.
    pub fn not_found(request: RequestInfo, message: &'a str) -> Self {
        Reply::error(request, StatusCode::NOT_FOUND, message)
    }

    /// An acknowledgement without payload (`error:false`).
    pub fn ack(request: RequestInfo, message: &'a str) -> Self {
        Reply::ok(request, message, Empty {})
    }
}

impl<P: Serialize> IntoResponse for Reply<'_, P> {
    fn into_response(self) -> Response {
        json(self.code, &self)
    }
}

/// Compact JSON with Burrow's content type and no trailing newline.
pub fn json(code: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (code, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A `text/plain` reply (Burrow's `/burrow/admin` endpoints).
pub fn text(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::decode_path;

    #[test]
    fn item9_request_url_is_the_decoded_path_or_the_raw_one() {
        assert_eq!(decode_path("/a%20b/%C3%A9%2F"), "/a b/é/");
        // axum answers 400 before any handler for a parameter that is not UTF-8 once decoded,
        // so this is only reachable here: invalid UTF-8 or a malformed escape keeps the raw path.
        assert_eq!(decode_path("/g/%FF"), "/g/%FF");
        assert_eq!(decode_path("/g/%zz"), "/g/%zz");
        assert_eq!(decode_path("/g/%2"), "/g/%2");
        assert_eq!(decode_path("/plain+path"), "/plain+path");
    }
}
