//! The status page: `GET /` (every cluster, then the groups that need attention, then the OK
//! groups paged and searchable) and a page per group
//! (`GET /clusters/{cluster}/groups/{group}`), HTML rendered on the server from the same
//! snapshots as `/metrics`: no Kafka call, no lock.
//!
//! No external assets: one inline stylesheet and a few lines of inline script, both allowed by
//! their hash in a strict Content-Security-Policy (nothing else may run or load). The script
//! refreshes the page without a full reload: every few seconds it fetches the same URL with
//! `?fragment=1`, which answers only the inner HTML of `<main>`, and swaps it in.
//!
//! [`overview`] and [`group`] write the pages' content, [`figures`] a group's figures for
//! both, [`sparkline`] the window charts,
//! [`html`] the escaping every Kafka name goes through; this module routes, lays out the
//! document and sets the headers.

mod figures;
mod group;
pub mod html;
mod overview;
mod sparkline;
#[cfg(test)]
mod tests;

use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;

pub use overview::{OverviewQuery, PAGE_SIZE};

use super::AppState;
use crate::snapshot::ClusterSnapshot;

/// The stylesheet, inlined in every page.
const STYLE: &str = include_str!("style.css");
/// The refresh script, inlined in every page; reads its period from `<body data-refresh>`.
const SCRIPT: &str = include_str!("refresh.js");

/// The Content-Security-Policy of every page: only the inline style and script above (by hash),
/// fetches of the page itself, the filter form to the page itself, and the blank `data:` icon.
static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let policy = format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
         img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        csp_hash(SCRIPT),
        csp_hash(STYLE)
    );
    HeaderValue::from_str(&policy).expect("a policy is ASCII")
});

/// A CSP source naming an inline element's content by hash: `sha256-<base64>`.
fn csp_hash(content: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, content.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// The page's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(overview_page))
        .route("/clusters/{cluster}/groups", get(group_page_by_query))
        .route("/clusters/{cluster}/groups/{group}", get(group_page))
}

/// The query parameters the pages understand; others are ignored, and a repeated one counts
/// once (the last), so no query string is an error.
#[derive(Debug, Default)]
struct Params {
    /// Filter (overview): groups whose name contains it, case-insensitively.
    q: Option<String>,
    /// Page of the OK groups (overview), from 1.
    page: Option<String>,
    /// Present: answer only `<main>`'s inner HTML (the refresh script asks so).
    fragment: Option<String>,
    /// The group, for names that cannot be a path segment (see [`html::group_href`]).
    name: Option<String>,
}

impl Params {
    fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        let mut p = Params::default();
        for (k, v) in pairs {
            let slot = match k.as_str() {
                "q" => &mut p.q,
                "page" => &mut p.page,
                "fragment" => &mut p.fragment,
                "name" => &mut p.name,
                _ => continue,
            };
            *slot = Some(v);
        }
        p
    }

    fn fragment(&self) -> bool {
        self.fragment.is_some()
    }
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Seconds between refreshes: the shortest poll interval (nothing changes faster), 2 to 60 s.
fn refresh_seconds(state: &AppState) -> u64 {
    state
        .config
        .clusters
        .iter()
        .map(|c| c.poll_interval)
        .min()
        .unwrap_or(Duration::from_secs(10))
        .as_secs()
        .clamp(2, 60)
}

async fn overview_page(
    State(state): State<Arc<AppState>>,
    Query(p): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params::from_pairs(p);
    let page = match p.page.as_deref().map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            let message = "page must be a whole number from 1";
            return error_page(&state, StatusCode::BAD_REQUEST, message, p.fragment());
        }
    };
    let query = OverviewQuery {
        q: p.q.clone().unwrap_or_default(),
        page,
    };
    let clusters = state.snapshots.load();
    let body = render_overview(
        &clusters,
        &query,
        now_unix(),
        refresh_seconds(&state),
        p.fragment(),
    );
    reply(StatusCode::OK, body)
}

async fn group_page(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    Query(p): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params::from_pairs(p);
    match path {
        Ok(Path((cluster, group))) => show_group(&state, &cluster, &group, p.fragment()),
        Err(_) => bad_path(&state, p.fragment()),
    }
}

async fn group_page_by_query(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    Query(p): Query<Vec<(String, String)>>,
) -> Response {
    let p = Params::from_pairs(p);
    let Ok(Path(cluster)) = path else {
        return bad_path(&state, p.fragment());
    };
    match p.name.as_deref() {
        Some(group) => show_group(&state, &cluster, group, p.fragment()),
        None => {
            let message = "name a group: /clusters/CLUSTER/groups/GROUP";
            error_page(&state, StatusCode::BAD_REQUEST, message, p.fragment())
        }
    }
}

/// A name in the path that is not UTF-8 once percent-decoded (axum's own reply would echo it
/// without the page's headers).
fn bad_path(state: &AppState, fragment: bool) -> Response {
    let message = "the cluster and group names must be UTF-8 once percent-decoded";
    error_page(state, StatusCode::BAD_REQUEST, message, fragment)
}

fn show_group(state: &AppState, cluster: &str, group: &str, fragment: bool) -> Response {
    let Some(index) = state.config.clusters.iter().position(|c| c.name == cluster) else {
        let message = format!("no cluster named “{cluster}”");
        return error_page(state, StatusCode::NOT_FOUND, &message, fragment);
    };
    let snapshot = state.snapshots.get(index);
    let refresh = refresh_seconds(state);
    match render_group(&snapshot, group, now_unix(), refresh, fragment) {
        Some(body) => reply(StatusCode::OK, body),
        None => {
            let message = format!("cluster “{cluster}” has no consumer group named “{group}”");
            error_page(state, StatusCode::NOT_FOUND, &message, fragment)
        }
    }
}

/// The overview: the whole document, or with `fragment` only `<main>`'s inner HTML.
pub fn render_overview(
    clusters: &[Arc<ClusterSnapshot>],
    query: &OverviewQuery,
    now: f64,
    refresh: u64,
    fragment: bool,
) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let header = |out: &mut String| overview::header(out, query);
    let main = |out: &mut String| overview::main(out, clusters, query, now);
    document(&mut out, "warren", refresh, fragment, header, main);
    out
}

/// Group `group`'s page (as [`render_overview`]); `None` when the cluster has no such group.
pub fn render_group(
    cluster: &ClusterSnapshot,
    group: &str,
    now: f64,
    refresh: u64,
    fragment: bool,
) -> Option<String> {
    let g = cluster.group(group)?;
    // About 700 bytes a partition; a huge group grows the buffer as it goes.
    let mut out = String::with_capacity(16 * 1024 + 700 * g.offsets.len().min(4096));
    let mut title = String::from("warren · ");
    html::text(&mut title, group);
    let header = |out: &mut String| group::header(out, cluster, g);
    let main = |out: &mut String| group::main(out, cluster, g, now);
    document(&mut out, &title, refresh, fragment, header, main);
    Some(out)
}

/// Writes the document around `main`: head with the inline style, the header (links to the
/// other endpoints, then `header`), `<main>`, the footer and the inline script. `title` is
/// HTML already. With `fragment`, only `main`.
fn document(
    out: &mut String,
    title: &str,
    refresh: u64,
    fragment: bool,
    header: impl FnOnce(&mut String),
    main: impl FnOnce(&mut String),
) {
    if fragment {
        main(out);
        return;
    }
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <link rel=\"icon\" href=\"data:,\"><title>",
    );
    out.push_str(title);
    out.push_str("</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body data-refresh=\"");
    html::uint(out, refresh);
    out.push_str(
        "\"><header><h1><a href=\"/\">warren</a></h1><nav>\
         <a href=\"/metrics\">/metrics</a><a href=\"/healthz\">/healthz</a>\
         <a href=\"/readyz\">/readyz</a><a href=\"/v3/kafka\">Burrow API</a></nav>",
    );
    header(out);
    out.push_str("</header>\n<main>");
    main(out);
    out.push_str("</main>\n<footer>warren ");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str(" · <span class=\"refresh\">refreshes every ");
    html::uint(out, refresh);
    out.push_str(" s</span></footer><script>");
    out.push_str(SCRIPT);
    out.push_str("</script></body></html>\n");
}

/// An error as a page (or a fragment) with the status `code`; `message` is plain text.
fn error_page(state: &AppState, code: StatusCode, message: &str, fragment: bool) -> Response {
    let mut out = String::new();
    let mut title = String::from("warren · ");
    title.push_str(code.canonical_reason().unwrap_or("error"));
    let main = |out: &mut String| {
        out.push_str("<h2>");
        out.push_str(code.as_str());
        out.push(' ');
        out.push_str(code.canonical_reason().unwrap_or(""));
        out.push_str("</h2><p class=\"error\">");
        html::text(out, message);
        out.push_str("</p><p><a href=\"/\">All clusters and groups</a></p>");
    };
    document(
        &mut out,
        &title,
        refresh_seconds(state),
        fragment,
        |_| {},
        main,
    );
    reply(code, out)
}

/// `body` as HTML with the page's security headers; never cached (it is live data).
fn reply(code: StatusCode, body: String) -> Response {
    let mut r = (code, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, CSP.clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
