//! The status page in process: the escaper against hostile names, the routes through the whole
//! router (axum's `oneshot`) with their headers and exact fragments, paging and filtering, and
//! the sparkline. The snapshots come from a store fed by hand: no broker.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tower::ServiceExt;

use super::overview::{OverviewQuery, PAGE_SIZE};
use super::{html, render_group, render_overview, sparkline, SCRIPT, STYLE};
use crate::config::load_from;
use crate::http::{router, AppState};
use crate::snapshot::{ClusterSnapshot, Health, Snapshots};
use crate::store::{Commit, Store, WatermarkSample};
use crate::telemetry::Telemetry;

const SCRIPT_NAME: &str = "<script>alert(1)</script>";
const IMG_NAME: &str = "\"><img src=x onerror=alert(1)>";
const ODD_TOPIC: &str = "t'\"<b>&amp;/?#";

/// What the escaper makes of a string.
fn escaped(s: &str) -> String {
    let mut out = String::new();
    html::text(&mut out, s);
    out
}

fn encoded(s: &str) -> String {
    let mut out = String::new();
    html::url_component(&mut out, s);
    out
}

#[test]
fn the_escaper_neutralises_hostile_names() {
    assert_eq!(
        escaped(SCRIPT_NAME),
        "&lt;script&gt;alert(1)&lt;/script&gt;"
    );
    assert_eq!(
        escaped(IMG_NAME),
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
    );
    assert_eq!(escaped("a'b&c"), "a&#39;b&amp;c");
    assert_eq!(
        escaped("nul\0bell\x07del\x7ftab\tnl\n"),
        "nul\u{fffd}bell\u{fffd}del\u{fffd}tab\tnl\n"
    );
    assert_eq!(escaped("plain-name.v2"), "plain-name.v2");
    assert_eq!(escaped("héllo ✓"), "héllo ✓");
    // URLs: everything but the unreserved characters is percent-encoded, so the result needs no
    // further escaping in an attribute and stays one path segment.
    assert_eq!(
        encoded(SCRIPT_NAME),
        "%3Cscript%3Ealert%281%29%3C%2Fscript%3E"
    );
    assert_eq!(
        encoded(IMG_NAME),
        "%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"
    );
    assert_eq!(encoded("a/b?c#d%e f&g"), "a%2Fb%3Fc%23d%25e%20f%26g");
    assert_eq!(encoded("é"), "%C3%A9");
    assert_eq!(encoded("Az09-._~"), "Az09-._~");
    let href = |c: &str, g: &str| {
        let mut out = String::new();
        html::group_href(&mut out, c, g);
        out
    };
    assert_eq!(href("prod", "a/b"), "/clusters/prod/groups/a%2Fb");
    // Names a browser would resolve as a path step, or that leave the segment empty.
    assert_eq!(href("prod", ".."), "/clusters/prod/groups?name=..");
    assert_eq!(href("prod", "."), "/clusters/prod/groups?name=.");
    assert_eq!(href("prod", ""), "/clusters/prod/groups?name=");
}

#[test]
fn durations_read_in_their_two_largest_units() {
    let d = |s: f64| {
        let mut out = String::new();
        html::duration(&mut out, s);
        out
    };
    assert_eq!(d(0.0), "0s");
    assert_eq!(d(4.56), "4.6s");
    assert_eq!(d(42.4), "42s");
    assert_eq!(d(60.0), "1m");
    assert_eq!(d(303.0), "5m 3s");
    assert_eq!(d(4.0 * 3600.0 + 12.0 * 60.0 + 5.0), "4h 12m");
    assert_eq!(d(2.0 * 86_400.0 + 3.0 * 3600.0), "2d 3h");
    assert_eq!(d(-3.0), "0s");
    assert_eq!(d(f64::NAN), "0s");
}

#[test]
fn sparklines_follow_the_known_lags() {
    let svg = |points: &[(u32, Option<u64>)]| {
        let mut out = String::new();
        sparkline::write(&mut out, points);
        out
    };
    assert_eq!(svg(&[]), "–");
    assert_eq!(svg(&[(5, None)]), "–");
    // Two points: lag 0 at the bottom left, lag 10 (the largest) at the top right.
    let two = svg(&[(100, Some(0)), (110, Some(10))]);
    assert!(
        two.contains("<polyline points=\"2.5,21.5 117.5,2.5\"/>"),
        "{two}"
    );
    assert!(
        two.contains("<circle cx=\"117.5\" cy=\"2.5\" r=\"2\"/>"),
        "{two}"
    );
    assert!(two.contains("aria-label=\"lag 0 to 10 over 10s\""), "{two}");
    // An unknown lag breaks the line in two.
    let gap = svg(&[
        (0, Some(4)),
        (1, Some(8)),
        (2, None),
        (3, Some(2)),
        (4, Some(4)),
    ]);
    assert_eq!(gap.matches("<polyline").count(), 2, "{gap}");
    // One point: only the dot, in the middle.
    let one = svg(&[(7, Some(3))]);
    assert!(!one.contains("<polyline"), "{one}");
    assert!(one.contains("<circle cx=\"60.0\" cy=\"2.5\""), "{one}");
}

/// Cluster `prod` (label env=eu) after two polls at t=1 and t=2:
/// - `app` on `orders` (3 partitions): caught up on 0, behind on 1 (lag grows 20 → 40), no
///   head on 2: WARN (the lag never decreased);
/// - the hostile groups, and `a/b` and `..`, one commit each on `ODD_TOPIC` at t=2 with lag 5:
///   one point, STALL, so ERR;
/// - `ok-000` .. `ok-{ok_groups}` caught up on `orders/0`: OK.
fn state(ok_groups: usize) -> Arc<AppState> {
    let env: Vec<(String, String)> = [
        ("WARREN_CLUSTERS__0__NAME", "prod"),
        ("WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS", "k1:9092"),
        ("WARREN_CLUSTERS__0__POLL_INTERVAL", "5s"),
        ("WARREN_CLUSTERS__0__LABELS__ENV", "eu"),
        ("WARREN_WINDOW__POINTS", "3"),
        ("WARREN_HTTP__LISTEN", "127.0.0.1:9753"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = load_from(None, &env).expect("valid test config");
    let mut store = Store::new(config.window.points);
    for (now, step) in [(1u32, 1i64), (2, 2)] {
        let ids = store.apply_metadata(now, &[("orders", 3), (ODD_TOPIC, 1)]);
        let (orders, odd) = (ids[0], ids[1]);
        let sample = |topic, partition, latest: Option<i64>| WatermarkSample {
            topic,
            partition,
            earliest: Some(0),
            latest,
        };
        let samples = [
            sample(orders, 0, Some(100 * step)),
            sample(orders, 1, Some(100 * step)),
            sample(orders, 2, None),
            sample(odd, 0, Some(50)),
        ];
        store.apply_watermarks(now, &samples);
        let mut app = [
            Commit::new(orders, 0, 100 * step),
            Commit::new(orders, 1, 100 * step - 20 * step),
            Commit::new(orders, 2, 7),
        ];
        store.apply_group_offsets(now, "app", &mut app);
        for i in 0..ok_groups {
            let name = format!("ok-{i:03}");
            store.apply_group_offsets(now, &name, &mut [Commit::new(orders, 0, 100 * step)]);
        }
        if now == 2 {
            for name in [SCRIPT_NAME, IMG_NAME, "a/b", ".."] {
                store.apply_group_offsets(now, name, &mut [Commit::new(odd, 0, 45)]);
            }
        }
    }
    let evals = crate::evaluate::evaluate_store(&store, 2, &config.clusters[0].evaluator);
    let labels = vec![("env".to_string(), "eu".to_string())];
    let health = Health {
        up: true,
        polled: true,
        last_success: Some(2.0),
        poll_duration: Some(0.25),
    };
    let prod = ClusterSnapshot::empty("prod", &labels).from_store(&store, &evals, health);
    Arc::new(AppState {
        snapshots: Arc::new(Snapshots::new(vec![prod])),
        build: crate::app::build_info(),
        telemetry: Arc::new(Telemetry::new(&config.clusters)),
        listen: config.http.listen,
        scrapes: crate::http::metrics::scrape::Scrapes::new(config.http.max_concurrent_scrapes),
        config,
        hostname: Arc::from("test-host"),
    })
}

struct Reply {
    code: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn get(state: &Arc<AppState>, path: &str) -> Reply {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let r = router(state.clone()).oneshot(request).await.unwrap();
    let (code, headers) = (r.status(), r.headers().clone());
    let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = String::from_utf8(bytes.to_vec()).unwrap();
    Reply {
        code,
        headers,
        body,
    }
}

/// The page's headers, on every reply (pages, fragments, errors).
fn assert_page_headers(r: &Reply, path: &str) {
    let h = |name: header::HeaderName| {
        r.headers
            .get(&name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        h(header::CONTENT_TYPE),
        "text/html; charset=utf-8",
        "{path}"
    );
    assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
    assert_eq!(h(header::REFERRER_POLICY), "no-referrer", "{path}");
    assert_eq!(h(header::X_FRAME_OPTIONS), "DENY", "{path}");
    assert_eq!(h(header::CACHE_CONTROL), "no-store", "{path}");
    let csp = h(header::CONTENT_SECURITY_POLICY);
    let expected = format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; img-src data:; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        super::csp_hash(SCRIPT),
        super::csp_hash(STYLE)
    );
    assert_eq!(csp, expected, "{path}");
    assert!(!csp.contains("unsafe"), "{csp}");
}

#[test]
fn the_policy_hashes_are_sha256_in_base64() {
    // `printf 'abc' | openssl dgst -sha256 -binary | base64`
    assert_eq!(
        super::csp_hash("abc"),
        "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
    );
}

#[tokio::test]
async fn the_overview_shows_clusters_then_groups_needing_attention() {
    let s = state(2);
    let r = get(&s, "/").await;
    assert_eq!(r.code, StatusCode::OK);
    assert_page_headers(&r, "/");
    let b = &r.body;
    // The inline style and script are exactly the hashed ones, and the only ones.
    assert!(b.contains(&format!("<style>{STYLE}</style>")));
    assert!(b.contains(&format!("<script>{SCRIPT}</script>")));
    assert_eq!(b.matches("<script").count(), 1);
    assert_eq!(b.matches("<style").count(), 1);
    for link in ["/metrics", "/healthz", "/readyz"] {
        assert!(
            b.contains(&format!("<a href=\"{link}\">{link}</a>")),
            "{link}"
        );
    }
    assert!(b.contains("<body data-refresh=\"5\">"), "the poll interval");
    // The cluster: up, 2 topics, 7 groups: 4 ERR, 1 WARN, 2 OK.
    assert!(
        b.contains("<tr class=\"cluster\"><td class=\"name\">prod <span class=\"muted\">env=eu</span></td><td class=\"health\"><span class=\"up\">up</span></td>"),
        "{b}"
    );
    assert!(
        b.contains("<td class=\"num\">250 ms</td><td class=\"num\">2</td><td class=\"num\">7</td><td class=\"num\">4</td><td class=\"num\">1</td><td class=\"num\">2</td></tr>"),
        "{b}"
    );
    // ERR first (larger lag first, then by name), then WARN; OK groups in their own list.
    let attention = &b[b.find("id=\"attention\"").unwrap()..b.find("id=\"ok\"").unwrap()];
    let names: Vec<&str> = attention
        .split("<a class=\"group\" href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert_eq!(
        names,
        [
            "/clusters/prod/groups/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E",
            "/clusters/prod/groups?name=..",
            "/clusters/prod/groups/%3Cscript%3Ealert%281%29%3C%2Fscript%3E",
            "/clusters/prod/groups/a%2Fb",
            "/clusters/prod/groups/app",
        ]
    );
    // `app`: WARN, 3 partitions, lag 0 + 40 (+ none without a head), largest on orders/1.
    assert!(
        attention.contains("<td><a class=\"group\" href=\"/clusters/prod/groups/app\">app</a></td><td class=\"status\"><span class=\"st st-warn\">WARN</span></td><td class=\"state\">Unknown</td><td class=\"num partitions\">3</td><td class=\"num lag\">40</td><td class=\"num max-lag\"><span title=\"orders partition 1\">40</span></td>"),
        "{attention}"
    );
    assert!(attention.contains("<span class=\"st st-err\">ERR</span>"));
    let ok = &b[b.find("id=\"ok\"").unwrap()..];
    assert!(ok.starts_with("id=\"ok\"><h2>OK (2)</h2>"), "{ok}");
    assert!(ok.contains(">ok-000</a>") && ok.contains(">ok-001</a>"));
}

#[tokio::test]
async fn hostile_names_are_escaped_everywhere() {
    let s = state(0);
    let overview = get(&s, "/").await.body;
    let mut pages = vec![overview];
    for group in [SCRIPT_NAME, IMG_NAME] {
        let mut path = String::new();
        html::group_href(&mut path, "prod", group);
        let r = get(&s, &path).await;
        assert_eq!(r.code, StatusCode::OK, "{path}");
        assert_page_headers(&r, &path);
        assert!(
            r.body.contains(&format!(
                "<span class=\"group-name\">{}</span>",
                escaped(group)
            )),
            "{}",
            r.body
        );
        assert!(r.body.contains(&format!(
            "<span class=\"topic-name\">{}</span>",
            escaped(ODD_TOPIC)
        )));
        pages.push(r.body);
    }
    // A name in a failed lookup is escaped too.
    let r = get(&s, "/clusters/prod/groups/%3Cb%3Ebold%3C%2Fb%3E").await;
    assert_eq!(r.code, StatusCode::NOT_FOUND);
    assert!(r
        .body
        .contains("no consumer group named “&lt;b&gt;bold&lt;/b&gt;”"));
    pages.push(r.body);
    for page in &pages {
        for raw in [
            SCRIPT_NAME,
            IMG_NAME,
            ODD_TOPIC,
            "<img",
            "<b>",
            "onerror=alert(1)>",
        ] {
            assert!(!page.contains(raw), "{raw} unescaped in:\n{page}");
        }
        assert_eq!(page.matches("<script").count(), 1);
    }
}

#[tokio::test]
async fn a_group_page_shows_every_partition() {
    let s = state(0);
    let r = get(&s, "/clusters/prod/groups/app").await;
    assert_eq!(r.code, StatusCode::OK);
    let b = &r.body;
    assert!(b.contains("<title>warren · app</title>"));
    assert!(b.contains(
        "<dt>Status</dt><dd class=\"status\"><span class=\"st st-warn\">WARN</span></dd>"
    ));
    assert!(b.contains("<dt>Lag</dt><dd class=\"lag\">40</dd><dt>Max lag</dt><dd class=\"max-lag\">40 <span class=\"muted\">(orders partition 1)</span></dd>"), "{b}");
    // Partition 1: WARN, committed 160 of 200, lag 40; partition 2 has no head.
    assert!(b.contains("<tr class=\"partition\"><td class=\"num\">1</td><td class=\"status\"><span class=\"st st-warn\">WARN</span></td><td class=\"num committed\">160</td><td class=\"num head\">200</td><td class=\"num lag\">40</td>"), "{b}");
    assert!(b.contains("<tr class=\"partition\"><td class=\"num\">2</td><td class=\"status\"><span class=\"st st-ok\">OK</span></td><td class=\"num committed\">7</td><td class=\"num head\">–</td><td class=\"num lag\">–</td>"), "{b}");
    // The window of partition 1: lag 20 at t=1, 40 at t=2.
    assert!(b.contains("aria-label=\"lag 20 to 40 over 1s\""), "{b}");
    assert!(b.contains(
        "<dt>Members</dt><dd class=\"members\"><span class=\"muted\">not described</span></dd>"
    ));
    // Names that are not a plain path segment.
    for path in [
        "/clusters/prod/groups/a%2Fb",
        "/clusters/prod/groups?name=..",
    ] {
        let r = get(&s, path).await;
        assert_eq!(r.code, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn unknown_names_and_bad_parameters_get_an_error_page() {
    let s = state(0);
    for (path, code, message) in [
        (
            "/clusters/nope/groups/app",
            StatusCode::NOT_FOUND,
            "no cluster named “nope”",
        ),
        (
            "/clusters/prod/groups/nope",
            StatusCode::NOT_FOUND,
            "cluster “prod” has no consumer group named “nope”",
        ),
        (
            "/clusters/prod/groups",
            StatusCode::BAD_REQUEST,
            "name a group: /clusters/CLUSTER/groups/GROUP",
        ),
        (
            "/?page=0",
            StatusCode::BAD_REQUEST,
            "page must be a whole number from 1",
        ),
        (
            "/?page=abc",
            StatusCode::BAD_REQUEST,
            "page must be a whole number from 1",
        ),
    ] {
        let r = get(&s, path).await;
        assert_eq!(r.code, code, "{path}");
        assert_page_headers(&r, path);
        assert!(
            r.body
                .contains(&format!("<p class=\"error\">{message}</p>")),
            "{path}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn a_fragment_is_the_main_element_only() {
    let s = state(3);
    let clusters = s.snapshots.load();
    let query = OverviewQuery::default();
    let full = render_overview(&clusters, &query, 10.0, 5, false);
    let fragment = render_overview(&clusters, &query, 10.0, 5, true);
    let main = &full[full.find("<main>").unwrap() + 6..full.find("</main>").unwrap()];
    assert_eq!(fragment, main);
    assert!(fragment.starts_with("<section id=\"clusters\">"));
    let group = render_group(&clusters[0], "app", 10.0, 5, true).unwrap();
    assert!(group.starts_with("<h2 class=\"title\">"), "{group}");
    assert!(!group.contains("<html") && !group.contains("<script"));
    // Through the router.
    let r = get(&s, "/clusters/prod/groups/app?fragment=1").await;
    assert_page_headers(&r, "fragment");
    assert!(r.body.starts_with("<h2 class=\"title\">"));
}

#[test]
fn ok_groups_are_paged_and_filtered_on_the_server() {
    let s = state(2 * PAGE_SIZE + 50);
    let clusters = s.snapshots.load();
    let rows = |q: &str, page: usize| {
        let query = OverviewQuery { q: q.into(), page };
        let body = render_overview(&clusters, &query, 10.0, 5, true);
        let ok = body[body.find("id=\"ok\"").unwrap()..].to_string();
        let names: Vec<String> = ok
            .split("\">ok-")
            .skip(1)
            .map(|s| format!("ok-{}", &s[..3]))
            .collect();
        (body, ok, names)
    };
    let (_, ok, names) = rows("", 1);
    assert!(ok.starts_with("id=\"ok\"><h2>OK (250)</h2>"));
    assert_eq!(names.len(), PAGE_SIZE);
    assert_eq!(
        (names[0].as_str(), names[99].as_str()),
        ("ok-000", "ok-099")
    );
    assert!(
        ok.contains("<span>page 1 of 3</span><a rel=\"next\" href=\"/?page=2\">"),
        "{ok}"
    );
    let (_, ok, names) = rows("", 3);
    assert_eq!(names.len(), 50);
    assert_eq!(names[0], "ok-200");
    assert!(ok.contains("<a rel=\"prev\" href=\"/?page=2\">"));
    // Past the last page: the last.
    assert_eq!(rows("", 9).2, names);
    // The filter: case-insensitive substring, on both lists, kept in the pager's links.
    let (body, ok, names) = rows("OK-1", 1);
    assert!(ok.starts_with("id=\"ok\"><h2>OK (100)</h2>"));
    assert_eq!(names.len(), PAGE_SIZE);
    assert!(body.contains("Needs attention (0)"));
    let (body, _, names) = rows("0 1&x", 1);
    assert!(names.is_empty());
    assert!(body.contains("Groups whose name contains “0 1&amp;x”"));
    let (_, ok, _) = rows("k-", 2);
    assert!(ok.contains("href=\"/?q=k-&amp;page=1\""), "{ok}");
    let (body, _, _) = rows("script", 1);
    assert!(body.contains("Needs attention (1)"));
}

#[tokio::test]
async fn the_filter_box_keeps_the_query_escaped() {
    let s = state(0);
    // A repeated parameter counts once, the last: no query string is an error.
    let r = get(&s, "/?q=x&q=%22%3E%3Cscript%3E&page=1&page=1&%FF=%FE").await;
    assert_eq!(r.code, StatusCode::OK);
    assert!(r.body.contains("name=\"q\" placeholder=\"Filter groups by name\" aria-label=\"Filter groups by name\" value=\"&quot;&gt;&lt;script&gt;\""), "{}", r.body);
    assert_eq!(r.body.matches("<script").count(), 1);
}
