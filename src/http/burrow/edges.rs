//! What Burrow's router (httprouter v1.3.0 with its defaults) answers before any handler runs:
//! a trailing slash redirects (301 for GET, 307 otherwise), a known path with another method is
//! a 405 with `Allow` (HEAD included: httprouter has no HEAD routes), and OPTIONS on a known
//! path is a 200 with `Allow` and no body. None of these, nor the fallback 404, carry Burrow's
//! CORS header: Burrow sets it only in its JSON writer and admin handlers.
//!
//! Paths outside Burrow's routes (warren's own `/metrics`, `/healthz`, `/readyz`, `/`,
//! `/v3/openapi.json`) pass through untouched.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Marks a response that must not carry `Access-Control-Allow-Origin` (see
/// [`strip_cors`]).
#[derive(Clone, Copy)]
pub struct NoCors;

/// Burrow's routes: method, pattern (`{…}` is one segment), and whether httprouter redirects
/// the pattern with a trailing slash. It does not for the two GET routes whose parameter is
/// followed by a `/` node shared by several routes (`/:cluster/` → `topic`, `consumer`;
/// `/:consumer/` → `status`, `lag`): its tree walk finds no handle and no recommendation there,
/// so they answer 404.
pub const ROUTES: &[(&str, &str, bool)] = &[
    ("GET", "/burrow/admin", true),
    ("GET", "/burrow/admin/ready", true),
    ("GET", "/v3/kafka", true),
    ("GET", "/v3/kafka/{cluster}", false),
    ("GET", "/v3/kafka/{cluster}/topic", true),
    ("GET", "/v3/kafka/{cluster}/topic/{topic}", true),
    ("GET", "/v3/kafka/{cluster}/topic/{topic}/consumers", true),
    ("GET", "/v3/kafka/{cluster}/consumer", true),
    ("GET", "/v3/kafka/{cluster}/consumer/{group}", false),
    ("DELETE", "/v3/kafka/{cluster}/consumer/{group}", true),
    (
        "DELETE",
        "/v3/kafka/{cluster}/consumer/{group}/topic/{topic}",
        true,
    ),
    ("GET", "/v3/kafka/{cluster}/consumer/{group}/status", true),
    ("GET", "/v3/kafka/{cluster}/consumer/{group}/lag", true),
    ("GET", "/v3/config", true),
    ("GET", "/v3/config/storage", true),
    ("GET", "/v3/config/storage/{name}", true),
    ("GET", "/v3/config/evaluator", true),
    ("GET", "/v3/config/evaluator/{name}", true),
    ("GET", "/v3/config/cluster", true),
    ("GET", "/v3/config/cluster/{name}", true),
    ("GET", "/v3/config/consumer", true),
    ("GET", "/v3/config/consumer/{name}", true),
    ("GET", "/v3/config/notifier", true),
    ("GET", "/v3/config/notifier/{name}", true),
    ("GET", "/v3/admin/loglevel", true),
    ("POST", "/v3/admin/loglevel", true),
];

/// Whether `path` (raw) matches `pattern`: equal segments, `{…}` for any non-empty one.
fn matches(pattern: &str, path: &str) -> bool {
    let (mut want, mut got) = (pattern.split('/'), path.split('/'));
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// httprouter's `Allow`: the methods routed for `path`, OPTIONS added, sorted, `, `-joined.
fn allow(path: &str) -> Option<String> {
    let mut methods: Vec<&str> = ROUTES
        .iter()
        .filter(|(_, pattern, _)| matches(pattern, path))
        .map(|&(method, _, _)| method)
        .collect();
    if methods.is_empty() {
        return None;
    }
    methods.push("OPTIONS");
    methods.sort_unstable();
    methods.dedup();
    Some(methods.join(", "))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// Go's `http.Redirect` to `location`: GET gets a 301 with a small HTML body, other methods a
/// 307 without body.
fn redirect(method: &Method, location: &str) -> Response {
    let Ok(value) = HeaderValue::from_str(location) else {
        return super::not_found();
    };
    let mut r = if method == Method::GET {
        let body = format!(
            "<a href=\"{}\">Moved Permanently</a>.\n\n",
            html_escape(location)
        );
        let ct = "text/html; charset=utf-8";
        (
            StatusCode::MOVED_PERMANENTLY,
            [(header::CONTENT_TYPE, ct)],
            body,
        )
            .into_response()
    } else {
        StatusCode::TEMPORARY_REDIRECT.into_response()
    };
    r.headers_mut().insert(header::LOCATION, value);
    r.extensions_mut().insert(NoCors);
    r
}

/// The middleware: answers httprouter's edges for Burrow's paths, passes the rest on.
pub async fn edges(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let routed = |m: &str| {
        ROUTES
            .iter()
            .any(|&(rm, pattern, _)| rm == m && matches(pattern, &path))
    };
    let mut response = if routed(method.as_str()) {
        return next.run(request).await;
    } else if method == Method::OPTIONS {
        match allow(&path) {
            Some(allow) => with_allow(StatusCode::OK.into_response(), &allow),
            None => next.run(request).await,
        }
    } else if let Some(location) = slash_redirect(&method, &path, request.uri().query()) {
        redirect(&method, &location)
    } else if let Some(allow) = allow(&path) {
        let body = "Method Not Allowed\n";
        with_allow(
            super::text_error(StatusCode::METHOD_NOT_ALLOWED, body),
            &allow,
        )
    } else {
        next.run(request).await
    };
    if method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    response
}

/// Where httprouter's RedirectTrailingSlash sends `path` (with the query), if anywhere.
fn slash_redirect(method: &Method, path: &str, query: Option<&str>) -> Option<String> {
    let stripped = path.strip_suffix('/').filter(|s| !s.is_empty())?;
    let redirects = ROUTES
        .iter()
        .any(|&(m, pattern, slash)| slash && m == method.as_str() && matches(pattern, stripped));
    redirects.then(|| match query {
        Some(q) => format!("{stripped}?{q}"),
        None => stripped.to_string(),
    })
}

fn with_allow(mut r: Response, allow: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(allow) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r.extensions_mut().insert(NoCors);
    r
}

/// Drops `Access-Control-Allow-Origin` from the responses marked [`NoCors`] (put outside the
/// CORS layer).
pub async fn strip_cors(mut r: Response) -> Response {
    if r.extensions().get::<NoCors>().is_some() {
        r.headers_mut().remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    }
    r
}
