//! The router in process (axum's `oneshot`): every route of `/metrics`, the health endpoints and
//! Burrow's API, with status codes, headers and exact bodies. No broker: the snapshot is built
//! from a store fed by hand.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{router, AppState};
use crate::config::{load_from, Config};
use crate::snapshot::{ClusterSnapshot, Forget, Health, Snapshots};
use crate::store::{Commit, Store, WatermarkSample};
use crate::telemetry::Telemetry;

const TOKEN: &str = "s3cret-token-of-warren";
const HOST: &str = "test-host";

fn config(extra: &[(&str, &str)]) -> Config {
    let mut env: Vec<(String, String)> = [
        ("WARREN_CLUSTERS__0__NAME", "prod"),
        (
            "WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS",
            "user:pw@k1:9092,k2:9092",
        ),
        ("WARREN_CLUSTERS__0__LABELS__ENV", "eu"),
        ("WARREN_CLUSTERS__1__NAME", "idle"),
        ("WARREN_CLUSTERS__1__BOOTSTRAP_SERVERS", "k9:9092"),
        ("WARREN_WINDOW__POINTS", "3"),
        ("WARREN_HTTP__LISTEN", "127.0.0.1:9753"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    load_from(None, &env).expect("valid test config")
}

/// Cluster `prod` polled once at t=1: topic `orders` with heads 100, 50 and unknown; group
/// `app` committed 40, 60 and 5. Cluster `idle` not polled yet.
fn state_with(config: Config, prod_polled: bool) -> Arc<AppState> {
    let mut store = Store::new(config.window.points);
    let t = store.apply_metadata(1, &[("orders", 3)])[0];
    let samples: Vec<WatermarkSample> = [(0, 100), (1, 50), (2, -1)]
        .iter()
        .map(|&(partition, latest)| WatermarkSample {
            topic: t,
            partition,
            earliest: Some(partition as i64),
            latest: (latest >= 0).then_some(latest),
        })
        .collect();
    store.apply_watermarks(1, &samples);
    let mut commits = [
        Commit::new(t, 0, 40),
        Commit::new(t, 1, 60),
        Commit::new(t, 2, 5),
    ];
    store.apply_group_offsets(1, "app", &mut commits);
    store.apply_group_state(1, "app", crate::model::GroupState::Stable);
    let evals = crate::evaluate::evaluate_store(&store, 1, &config.clusters[0].evaluator);
    let labels = |i: usize| -> Vec<(String, String)> {
        config.clusters[i]
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let prod = ClusterSnapshot::empty("prod", &labels(0));
    let health = Health {
        up: prod_polled,
        polled: prod_polled,
        last_success: Some(1.5),
        poll_duration: Some(0.25),
    };
    let prod = prod.from_store(&store, &evals, health);
    let idle = ClusterSnapshot::empty("idle", &labels(1));
    Arc::new(AppState {
        snapshots: Arc::new(Snapshots::new(vec![prod, idle])),
        build: crate::app::build_info(),
        telemetry: Arc::new(Telemetry::new(&config.clusters)),
        listen: config.http.listen,
        scrapes: crate::http::metrics::scrape::Scrapes::new(config.http.max_concurrent_scrapes),
        config,
        hostname: Arc::from(HOST),
    })
}

fn state() -> Arc<AppState> {
    state_with(config(&[]), true)
}

async fn send(state: &Arc<AppState>, request: Request<Body>) -> Response {
    router(state.clone())
        .oneshot(request)
        .await
        .expect("infallible")
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

async fn body_text(r: Response) -> String {
    let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Status, content type and body of `GET path`.
async fn fetch(state: &Arc<AppState>, path: &str) -> (StatusCode, String, String) {
    let r = send(state, get(path)).await;
    let code = r.status();
    let ct = header_of(&r, header::CONTENT_TYPE.as_str());
    (code, ct, body_text(r).await)
}

fn header_of(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn fetch_json(state: &Arc<AppState>, path: &str) -> (StatusCode, Value) {
    let (code, ct, body) = fetch(state, path).await;
    assert_eq!(ct, "application/json", "{path}");
    (code, serde_json::from_str(&body).expect("JSON"))
}

fn request(path: &str) -> Value {
    json!({"url": path, "host": HOST})
}

#[tokio::test]
async fn health_endpoints() {
    let s = state();
    let (code, _, body) = fetch(&s, "/healthz").await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, "ok\n"));
    let (code, ct, body) = fetch(&s, "/").await;
    assert_eq!(
        (code, ct.as_str()),
        (StatusCode::OK, "text/html; charset=utf-8")
    );
    assert!(body.contains("<a href=\"/metrics\">"), "{body}");

    // `idle` has not been polled: not ready, and the reply says which cluster.
    let (code, _, body) = fetch(&s, "/readyz").await;
    assert_eq!(
        (code, body.as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: waiting for a first poll of idle\n"
        )
    );
    let (code, _, body) = fetch(&s, "/burrow/admin/ready").await;
    assert_eq!(
        (code, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "STARTING")
    );
    let idle = s.snapshots.get(1).with_health(Health {
        polled: true,
        ..Health::default()
    });
    s.snapshots.publish(1, idle);
    let (code, _, body) = fetch(&s, "/readyz").await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, "ready\n"));
    let (code, _, body) = fetch(&s, "/burrow/admin/ready").await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, "READY"));
    let (code, ct, body) = fetch(&s, "/burrow/admin").await;
    assert_eq!(
        (code, ct.as_str(), body.as_str()),
        (StatusCode::OK, "text/plain; charset=utf-8", "GOOD")
    );
}

#[tokio::test]
async fn metrics_in_both_formats_and_gzip() {
    let s = state();
    let (code, ct, text) = fetch(&s, "/metrics").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
    let labels = "cluster=\"prod\",env=\"eu\",group=\"app\",topic=\"orders\"";
    for line in [
        format!("kafka_consumergroup_group_lag{{{labels},partition=\"0\"}} 60"),
        format!("kafka_consumergroup_group_lag{{{labels},partition=\"1\"}} 0"),
        format!("kafka_consumergroup_group_offset{{{labels},partition=\"2\"}} 5"),
        "kafka_consumergroup_group_sum_lag{cluster=\"prod\",env=\"eu\",group=\"app\"} 60"
            .to_string(),
        "kafka_consumergroup_group_state{cluster=\"prod\",env=\"eu\",group=\"app\",state=\"Stable\"} 1"
            .to_string(),
        "kafka_consumergroup_group_state{cluster=\"prod\",env=\"eu\",group=\"app\",state=\"PreparingRebalance\"} 0"
            .to_string(),
        "warren_cluster_up{cluster=\"prod\",env=\"eu\"} 1".to_string(),
        "warren_cluster_up{cluster=\"idle\"} 0".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
    // No lag where the head is unknown.
    assert!(!text.contains(&format!(
        "kafka_consumergroup_group_lag{{{labels},partition=\"2\"}}"
    )));
    assert!(!text.contains("# EOF"));

    let om = Request::get("/metrics")
        .header(
            header::ACCEPT,
            "application/openmetrics-text; version=1.0.0",
        )
        .body(Body::empty())
        .unwrap();
    let r = send(&s, om).await;
    assert_eq!(
        header_of(&r, "content-type"),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let body = body_text(r).await;
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert_eq!(body.matches("# EOF").count(), 1);

    let gz = Request::get("/metrics")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let r = send(&s, gz).await;
    assert_eq!(header_of(&r, "content-encoding"), "gzip");
    let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut unzipped)
        .unwrap();
    // The same exposition up to warren's telemetry (whose request and scrape counts move).
    let kafka = |t: &str| {
        t.split("# HELP warren_poll_errors_total")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(kafka(&unzipped), kafka(&text));
    // warren's own: requests by route pattern (never the raw path) and code.
    for path in [
        "/healthz",
        "/healthz",
        "/v3/kafka/prod/consumer/app",
        "/v3/kafka/x/consumer/y",
        "/nope",
    ] {
        send(&s, get(path)).await;
    }
    let (_, _, text) = fetch(&s, "/metrics").await;
    for line in [
        "warren_http_requests_total{route=\"/healthz\",code=\"200\"} 2",
        "warren_http_requests_total{route=\"/v3/kafka/{cluster}/consumer/{group}\",code=\"200\"} 1",
        "warren_http_requests_total{route=\"/v3/kafka/{cluster}/consumer/{group}\",code=\"404\"} 1",
        "warren_http_requests_total{route=\"unmatched\",code=\"404\"} 1",
        "warren_scrapes_total{format=\"openmetrics\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
    assert!(
        text.contains("# TYPE warren_scrapes_total counter\n"),
        "{text}"
    );
}

#[tokio::test]
async fn burrow_cluster_and_topic_routes() {
    let s = state();
    let cases: Vec<(&str, StatusCode, Value)> = vec![
        (
            "/v3/kafka",
            StatusCode::OK,
            json!({"error": false, "message": "cluster list returned", "clusters": ["prod", "idle"],
                   "request": request("/v3/kafka")}),
        ),
        (
            "/v3/kafka/prod",
            StatusCode::OK,
            json!({"error": false, "message": "cluster module detail returned",
                   "module": {"class-name": "kafka", "servers": ["k1:9092", "k2:9092"],
                              "client-profile": {"name": "default", "client-id": "warren", "kafka-version": "", "tls": null, "sasl": null},
                              "topic-refresh": 60, "offset-refresh": 10},
                   "request": request("/v3/kafka/prod")}),
        ),
        (
            "/v3/kafka/nope",
            StatusCode::NOT_FOUND,
            json!({"error": true, "message": "cluster module not found", "request": request("/v3/kafka/nope")}),
        ),
        (
            "/v3/kafka/prod/topic",
            StatusCode::OK,
            json!({"error": false, "message": "topic list returned", "topics": ["orders"],
                   "request": request("/v3/kafka/prod/topic")}),
        ),
        (
            "/v3/kafka/nope/topic",
            StatusCode::NOT_FOUND,
            json!({"error": true, "message": "cluster not found", "request": request("/v3/kafka/nope/topic")}),
        ),
        (
            "/v3/kafka/prod/topic/orders",
            StatusCode::OK,
            json!({"error": false, "message": "topic offsets returned", "offsets": [100, 50],
                   "request": request("/v3/kafka/prod/topic/orders")}),
        ),
        (
            "/v3/kafka/prod/topic/nope",
            StatusCode::NOT_FOUND,
            json!({"error": true, "message": "cluster or topic not found", "request": request("/v3/kafka/prod/topic/nope")}),
        ),
        (
            "/v3/kafka/nope/topic/orders",
            StatusCode::NOT_FOUND,
            json!({"error": true, "message": "cluster or topic not found", "request": request("/v3/kafka/nope/topic/orders")}),
        ),
        (
            "/v3/kafka/prod/topic/orders/consumers",
            StatusCode::OK,
            json!({"error": false, "message": "consumers of topic returned", "consumers": ["app"],
                   "request": request("/v3/kafka/prod/topic/orders/consumers")}),
        ),
        (
            "/v3/kafka/idle/topic/orders/consumers",
            StatusCode::OK,
            json!({"error": false, "message": "consumers of topic returned", "consumers": [],
                   "request": request("/v3/kafka/idle/topic/orders/consumers")}),
        ),
    ];
    for (path, code, want) in cases {
        assert_eq!(fetch_json(&s, path).await, (code, want), "{path}");
    }
}

#[tokio::test]
async fn burrow_consumer_routes() {
    let s = state();
    let point = |offset: i64, lag: Value| json!({"offset": offset, "timestamp": 1000, "observedAt": 1000, "lag": lag});
    let status = |p: i32, status: &str, end: Value, lag: u64| {
        json!({"topic": "orders", "partition": p, "owner": "", "client_id": "", "status": status,
               "start": end.clone(), "end": end, "current_lag": lag, "complete": 0.33333334})
    };
    let stall = status(0, "STALL", point(40, json!(60)), 60);
    let cases: Vec<(&str, StatusCode, Value)> = vec![
        (
            "/v3/kafka/prod/consumer",
            StatusCode::OK,
            json!({"error": false, "message": "consumer list returned", "consumers": ["app"],
                   "request": request("/v3/kafka/prod/consumer")}),
        ),
        (
            "/v3/kafka/prod/consumer/app",
            StatusCode::OK,
            json!({"error": false, "message": "consumer detail returned",
                   "topics": {"orders": [
                       {"offsets": [null, null, point(40, json!(60))], "owner": "", "client_id": "", "current-lag": 60},
                       {"offsets": [null, null, point(60, json!(0))], "owner": "", "client_id": "", "current-lag": 0},
                       {"offsets": [null, null, point(5, Value::Null)], "owner": "", "client_id": "", "current-lag": 0}]},
                   "request": request("/v3/kafka/prod/consumer/app")}),
        ),
        (
            "/v3/kafka/prod/consumer/nope",
            StatusCode::NOT_FOUND,
            json!({"error": true, "message": "cluster or consumer not found", "request": request("/v3/kafka/prod/consumer/nope")}),
        ),
        (
            "/v3/kafka/nope/consumer/app",
            StatusCode::NOT_FOUND,
            json!({"error": true, "message": "cluster or consumer not found", "request": request("/v3/kafka/nope/consumer/app")}),
        ),
        (
            "/v3/kafka/prod/consumer/app/status",
            StatusCode::OK,
            json!({"error": false, "message": "consumer status returned",
                   "status": {"cluster": "prod", "group": "app", "status": "ERR", "complete": 0,
                              "partitions": [stall.clone()], "partition_count": 3, "maxlag": stall.clone(), "totallag": 60},
                   "request": request("/v3/kafka/prod/consumer/app/status")}),
        ),
        (
            "/v3/kafka/prod/consumer/app/lag",
            StatusCode::OK,
            json!({"error": false, "message": "consumer status returned",
                   "status": {"cluster": "prod", "group": "app", "status": "ERR", "complete": 0,
                              "partitions": [stall.clone(), status(1, "OK", point(60, json!(0)), 0), status(2, "OK", point(5, Value::Null), 0)],
                              "partition_count": 3, "maxlag": stall, "totallag": 60},
                   "request": request("/v3/kafka/prod/consumer/app/lag")}),
        ),
    ];
    for (path, code, want) in cases {
        assert_eq!(fetch_json(&s, path).await, (code, want), "{path}");
    }
    // NOTFOUND, for an unknown group or cluster alike: 404 with `error:false`.
    for (cluster, group) in [("prod", "nope"), ("nope", "app")] {
        let path = format!("/v3/kafka/{cluster}/consumer/{group}/status");
        let want = json!({"error": false, "message": "consumer status returned",
            "status": {"cluster": cluster, "group": group, "status": "NOTFOUND", "complete": 1,
                       "partitions": [], "partition_count": 0, "maxlag": null, "totallag": 0},
            "request": request(&path)});
        assert_eq!(fetch_json(&s, &path).await, (StatusCode::NOT_FOUND, want));
    }
    // Key order is Go struct order.
    let (_, _, raw) = fetch(&s, "/v3/kafka/prod/consumer/app/status").await;
    assert!(
        raw.starts_with("{\"error\":false,\"message\":\"consumer status returned\",\"status\":{\"cluster\":\"prod\",\"group\":\"app\",\"status\":\"ERR\",\"complete\":0,\"partitions\":[{\"topic\":\"orders\",\"partition\":0,"),
        "{raw}"
    );
    assert!(
        raw.ends_with(
            ",\"request\":{\"url\":\"/v3/kafka/prod/consumer/app/status\",\"host\":\"test-host\"}}"
        ),
        "{raw}"
    );
}

/// Issue 13, items 1-3: `app` described as Stable with two members owning partitions 0 and 1
/// of `orders` (partition 2 unassigned) after one rebalance.
fn state_described(member_ids: bool) -> Arc<AppState> {
    use crate::model::{Coordinator, GroupDescription, GroupMember, GroupState, TopicPartition};
    let s = state();
    let member = |id: &str, client: &str, host: &str, p: i32| GroupMember {
        member_id: id.into(),
        instance_id: None,
        client_id: client.into(),
        host: host.into(),
        assignment: vec![TopicPartition::new(Arc::from("orders"), p)],
    };
    let describe = |state, members| GroupDescription {
        id: "app".into(),
        state,
        protocol: "cooperative-sticky".into(),
        simple: false,
        coordinator: Some(Coordinator {
            id: 2,
            host: "k2".into(),
            port: 9092,
        }),
        members,
    };
    let mut store = Store::new(3).with_member_ids(member_ids);
    store.apply_metadata(1, &[("orders", 3)]);
    store.apply_group_description(1, &describe(GroupState::Empty, vec![]));
    let members = vec![
        member("m-1", "billing-1", "/10.0.0.5", 0),
        member("m-2", "billing-\"2\"", "/10.0.0.6", 1),
    ];
    store.apply_group_description(2, &describe(GroupState::Stable, members));
    let mut prod = ClusterSnapshot::clone(&s.snapshots.get(0));
    prod.groups[0].membership = store.group("app").and_then(|g| g.membership.clone());
    s.snapshots.publish(0, prod);
    s
}

#[tokio::test]
async fn item13_members_owners_and_rebalances() {
    let s = state_described(false);
    let (_, detail) = fetch_json(&s, "/v3/kafka/prod/consumer/app").await;
    let owners: Vec<(Value, Value)> = detail["topics"]["orders"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| (p["owner"].clone(), p["client_id"].clone()))
        .collect();
    assert_eq!(
        owners,
        [
            (json!("/10.0.0.5"), json!("billing-1")),
            (json!("/10.0.0.6"), json!("billing-\"2\"")),
            (json!(""), json!("")),
        ]
    );
    let (_, status) = fetch_json(&s, "/v3/kafka/prod/consumer/app/lag").await;
    assert_eq!(
        status["status"]["partitions"][0]["owner"],
        json!("/10.0.0.5")
    );
    assert_eq!(
        status["status"]["partitions"][0]["client_id"],
        json!("billing-1")
    );

    let (_, _, text) = fetch(&s, "/metrics").await;
    let g = "cluster=\"prod\",env=\"eu\",group=\"app\"";
    for line in [
        "# TYPE kafka_consumergroup_group_rebalances_total counter".to_string(),
        format!("kafka_consumergroup_group_members{{{g}}} 2"),
        format!("kafka_consumergroup_group_rebalances_total{{{g}}} 1"),
        format!("kafka_consumergroup_group_info{{{g},protocol=\"cooperative-sticky\",coordinator=\"2\"}} 1"),
        format!("kafka_consumergroup_partition_owner_info{{{g},topic=\"orders\",partition=\"0\",client_id=\"billing-1\",host=\"/10.0.0.5\"}} 1"),
        format!("kafka_consumergroup_partition_owner_info{{{g},topic=\"orders\",partition=\"1\",client_id=\"billing-\\\"2\\\"\",host=\"/10.0.0.6\"}} 1"),
        format!("kafka_consumergroup_group_topic_unassigned_partitions{{{g},topic=\"orders\"}} 1"),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
    assert!(
        !text.contains("member_id="),
        "member ids only when asked for"
    );
    let om = send(
        &s,
        Request::get("/metrics")
            .header(
                header::ACCEPT,
                "application/openmetrics-text; version=1.0.0",
            )
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let om = body_text(om).await;
    for line in [
        "# TYPE kafka_consumergroup_group_rebalances counter",
        "# TYPE kafka_consumergroup_partition_owner info",
        "# TYPE kafka_consumergroup_group info",
    ] {
        assert!(om.lines().any(|l| l == line), "missing {line}\n{om}");
    }

    let s = state_described(true);
    let (_, _, text) = fetch(&s, "/metrics").await;
    let line = format!("kafka_consumergroup_partition_owner_info{{{g},topic=\"orders\",partition=\"0\",client_id=\"billing-1\",host=\"/10.0.0.5\",member_id=\"m-1\"}} 1");
    assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
}

fn delete(path: &str, token: Option<&str>) -> Request<Body> {
    let mut r = Request::delete(path);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(Body::empty()).unwrap()
}

#[test]
fn http_limits_that_cannot_work_are_config_errors_naming_the_key() {
    for (key, var, value) in [
        (
            "http.header_read_timeout",
            "WARREN_HTTP__HEADER_READ_TIMEOUT",
            "0s",
        ),
        ("http.idle_timeout", "WARREN_HTTP__IDLE_TIMEOUT", "0ms"),
        ("http.max_connections", "WARREN_HTTP__MAX_CONNECTIONS", "0"),
        (
            "http.max_concurrent_scrapes",
            "WARREN_HTTP__MAX_CONCURRENT_SCRAPES",
            "0",
        ),
        (
            "http.max_request_body",
            "WARREN_HTTP__MAX_REQUEST_BODY",
            "0",
        ),
    ] {
        let env = vec![
            ("WARREN_CLUSTERS__0__NAME".to_string(), "c".to_string()),
            (
                "WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS".to_string(),
                "k:9092".to_string(),
            ),
            (var.to_string(), value.to_string()),
        ];
        let errors = load_from(None, &env).expect_err(var);
        assert_eq!(
            errors.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            [key],
            "{errors:?}"
        );
    }
}

#[tokio::test]
async fn metrics_beyond_the_scrape_cap_get_503_with_retry_after() {
    let s = state_with(
        config(&[("WARREN_HTTP__MAX_CONCURRENT_SCRAPES", "1")]),
        true,
    );
    // The first reply's body is not consumed: it holds the only place.
    let first = send(&s, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let r = send(&s, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header_of(&r, "retry-after"), "1");
    drop(first);
    let (code, _, _) = fetch(&s, "/metrics").await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn oversized_bodies_get_413_before_the_token_is_checked() {
    let s = state_with(
        config(&[
            ("WARREN_HTTP__ADMIN_TOKEN", TOKEN),
            ("WARREN_HTTP__MAX_REQUEST_BODY", "16"),
        ]),
        true,
    );
    let post = |body: &'static str, token: Option<&str>| {
        let mut r = Request::post("/v3/admin/loglevel")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len());
        if let Some(t) = token {
            r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        r.body(Body::from(body)).unwrap()
    };
    let big = "{\"level\":\"info\",\"padding\":1}";
    for token in [None, Some("wrong"), Some(TOKEN)] {
        let r = send(&s, post(big, token)).await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "{token:?}");
    }
    let r = send(&s, post("{\"level\":\"info\"}", None)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn mutations_need_the_admin_token() {
    // No token configured: every mutation is refused, before the cluster is even looked up.
    let s = state();
    for path in ["/v3/kafka/prod/consumer/app", "/v3/kafka/nope/consumer/app"] {
        let r = send(&s, delete(path, Some(TOKEN))).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let body: Value = serde_json::from_str(&body_text(r).await).unwrap();
        assert_eq!(
            body,
            json!({"error": true, "message": "admin endpoints are disabled: set http.admin_token", "request": request(path)})
        );
    }
    assert!(s.snapshots.take_forget_requests(0).is_empty());

    let s = state_with(config(&[("WARREN_HTTP__ADMIN_TOKEN", TOKEN)]), true);
    let path = "/v3/kafka/prod/consumer/app";
    for wrong in [
        None,
        Some("s3cret-token-of-warreN"),
        Some("s3cret"),
        Some(""),
    ] {
        let r = send(&s, delete(path, wrong)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert_eq!(header_of(&r, "www-authenticate"), "Bearer");
        let body: Value = serde_json::from_str(&body_text(r).await).unwrap();
        assert_eq!(
            body,
            json!({"error": true, "message": "missing or wrong bearer token", "request": request(path)})
        );
    }
    assert!(s.snapshots.take_forget_requests(0).is_empty());
    let r = send(&s, delete(path, Some(TOKEN))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = serde_json::from_str(&body_text(r).await).unwrap();
    assert_eq!(
        body,
        json!({"error": false, "message": "consumer group removed", "request": request(path)})
    );
    assert_eq!(
        s.snapshots.take_forget_requests(0),
        vec![Forget::group("app")]
    );
    // The right token, an unknown cluster: Burrow's 404.
    let r = send(&s, delete("/v3/kafka/nope/consumer/app", Some(TOKEN))).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(body_text(r)
        .await
        .contains("\"message\":\"cluster not found\""));

    // The log level: reading is open, setting needs the token and a valid body.
    let post = |token: &str, body: &str| {
        Request::post("/v3/admin/loglevel")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let r = send(&s, post("wrong", "{\"level\":\"info\"}")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = send(&s, post(TOKEN, "not json")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(r)
        .await
        .contains("\"message\":\"could not decode message body\""));
    let r = send(&s, post(TOKEN, "{\"level\":\"loud\"}")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(body_text(r)
        .await
        .contains("\"message\":\"unknown log level\""));
    let (code, v) = fetch_json(&s, "/v3/admin/loglevel").await;
    assert_eq!(
        (code, &v["message"]),
        (StatusCode::OK, &json!("log level returned"))
    );
}

#[tokio::test]
async fn burrow_config_routes_show_no_secrets() {
    let s = state_with(config(&[("WARREN_HTTP__ADMIN_TOKEN", TOKEN)]), true);
    let (code, _, raw) = fetch(&s, "/v3/config").await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        raw.starts_with("{\"error\":false,\"message\":\"main config returned\",\"request\":{\"url\":\"/v3/config\",\"host\":\"test-host\"},\"general\":{"),
        "{raw}"
    );
    assert!(raw.contains("\"httpserver\":{\"default\":{\"address\":\"127.0.0.1:9753\",\"tls\":\"\",\"timeout\":0}}"), "{raw}");
    let cases: Vec<(&str, StatusCode, Value)> = vec![
        (
            "/v3/config/cluster",
            StatusCode::OK,
            json!({"error": false, "message": "module list returned", "request": request("/v3/config/cluster"),
                   "coordinator": "cluster", "modules": ["prod", "idle"]}),
        ),
        (
            "/v3/config/storage/default",
            StatusCode::OK,
            json!({"error": false, "message": "storage module detail returned",
                   "module": {"class-name": "inmemory", "intervals": 3, "min-distance": 0, "group-allowlist": "", "expire-group": 600},
                   "request": request("/v3/config/storage/default")}),
        ),
        (
            "/v3/config/cluster/nope",
            StatusCode::NOT_FOUND,
            json!({"error": true, "message": "cluster module not found", "request": request("/v3/config/cluster/nope")}),
        ),
        (
            "/v3/config/notifier/x",
            StatusCode::NOT_FOUND,
            json!({"error": true, "message": "notifier module not found", "request": request("/v3/config/notifier/x")}),
        ),
    ];
    for (path, code, want) in cases {
        assert_eq!(fetch_json(&s, path).await, (code, want), "{path}");
    }
    for path in ["/v3/config", "/v3/config/consumer/prod", "/v3/kafka/prod"] {
        let (_, _, body) = fetch(&s, path).await;
        assert!(
            !body.contains(TOKEN) && !body.contains("pw@"),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn unrouted_paths_and_openapi() {
    let s = state();
    let r = send(&s, get("/v3/nothing/here")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(header_of(&r, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(header_of(&r, "x-content-type-options"), "nosniff");
    assert_eq!(
        body_text(r).await,
        "{\"error\":true,\"message\":\"invalid request type\",\"result\":{}}\n"
    );
    let (code, ct, body) = fetch(&s, "/v3/openapi.json").await;
    assert_eq!((code, ct.as_str()), (StatusCode::OK, "application/json"));
    assert_eq!(body, crate::http::burrow::OPENAPI);
}

#[tokio::test]
async fn cors_only_when_configured() {
    let s = state();
    let r = send(&s, get("/v3/kafka")).await;
    assert!(r.headers().get("access-control-allow-origin").is_none());

    let origin = "https://grafana.example";
    let s = state_with(
        config(&[("WARREN_HTTP__ACCESS_CONTROL_ALLOW_ORIGIN", origin)]),
        true,
    );
    for path in ["/v3/kafka", "/metrics", "/v3/kafka/nope"] {
        let r = send(&s, get(path)).await;
        assert_eq!(
            header_of(&r, "access-control-allow-origin"),
            origin,
            "{path}"
        );
    }
    // A browser's preflight for a DELETE with a token.
    let preflight = Request::options("/v3/kafka/prod/consumer/app")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "DELETE")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
        .body(Body::empty())
        .unwrap();
    let r = send(&s, preflight).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header_of(&r, "access-control-allow-origin"), origin);
    assert_eq!(
        header_of(&r, "access-control-allow-methods"),
        "GET,POST,DELETE"
    );
}

/// Burrow's `handleConsumerDetail` (core/internal/httpserver/kafka.go) answers 404 "cluster or
/// consumer not found" when storage has nothing to show; a group only listed, without commits,
/// is such a group (it is already missing from the list and NOTFOUND in status).
#[tokio::test]
async fn item7_listed_only_group_is_not_found_everywhere() {
    let config = config(&[]);
    let mut store = Store::new(config.window.points);
    store.apply_metadata(1, &[("orders", 1)]);
    store.apply_group_state(1, "listed-only", crate::model::GroupState::Empty);
    let evals = crate::evaluate::evaluate_store(&store, 1, &config.clusters[0].evaluator);
    let prod = ClusterSnapshot::empty("prod", &[]).from_store(&store, &evals, Health::default());
    let s = state_with(config, true);
    s.snapshots.publish(0, prod);
    let path = "/v3/kafka/prod/consumer/listed-only";
    assert_eq!(
        fetch_json(&s, path).await,
        (
            StatusCode::NOT_FOUND,
            json!({"error": true, "message": "cluster or consumer not found", "request": request(path)})
        )
    );
    let (code, list) = fetch_json(&s, "/v3/kafka/prod/consumer").await;
    assert_eq!((code, &list["consumers"]), (StatusCode::OK, &json!([])));
    let (code, status) = fetch_json(&s, &format!("{path}/status")).await;
    assert_eq!(
        (code, &status["status"]["status"]),
        (StatusCode::NOT_FOUND, &json!("NOTFOUND"))
    );
}

/// Burrow's `makeRequestInfo` (core/internal/httpserver/coordinator.go) puts Go's
/// `r.URL.Path`, the decoded path, in `request.url`.
#[tokio::test]
async fn item9_request_url_is_the_decoded_path() {
    let s = state();
    let cases = [
        (
            "/v3/kafka/prod/consumer/a%20b/status",
            "/v3/kafka/prod/consumer/a b/status",
        ),
        (
            "/v3/kafka/prod/consumer/a%2Fb%C3%A9/lag",
            "/v3/kafka/prod/consumer/a/bé/lag",
        ),
        ("/v3/kafka/n%6Fpe", "/v3/kafka/nope"),
        // Not an escape: the raw path (invalid UTF-8: see `reply::tests`).
        ("/v3/kafka/%zz%2", "/v3/kafka/%zz%2"),
    ];
    for (raw, decoded) in cases {
        let (_, body) = fetch_json(&s, raw).await;
        assert_eq!(body["request"], request(decoded), "{raw}");
    }
    // axum's `Path` decodes `{group}`: a group named `a/b` is found under `a%2Fb`.
    let (code, body) = fetch_json(&s, "/v3/kafka/prod/consumer/a%2Fb/status").await;
    assert_eq!(
        (code, &body["status"]["group"]),
        (StatusCode::NOT_FOUND, &json!("a/b"))
    );
}

fn with_method(method: &str, path: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap()
}

/// Status, the headers that matter here, and body.
async fn edge(s: &Arc<AppState>, r: Request<Body>) -> (StatusCode, [String; 4], String) {
    let r = send(s, r).await;
    let code = r.status();
    let headers = [
        "allow",
        "location",
        "content-type",
        "access-control-allow-origin",
    ]
    .map(|h| header_of(&r, h));
    (code, headers, body_text(r).await)
}

const INVALID: &str = "{\"error\":true,\"message\":\"invalid request type\",\"result\":{}}\n";

/// Burrow's router is httprouter v1.3.0 with its defaults (RedirectTrailingSlash,
/// RedirectFixedPath, HandleMethodNotAllowed, HandleOPTIONS; router.go `ServeHTTP`), routes
/// only the five config kinds (core/internal/httpserver/coordinator.go `Configure`), and sets
/// `Access-Control-Allow-Origin` only in `writeResponse` and the two admin handlers, not in
/// its `defaultHandler` 404.
#[tokio::test]
async fn item10_config_kinds_and_router_edges_like_httprouter() {
    let s = state_with(config(&[("WARREN_HTTP__ADMIN_TOKEN", TOKEN)]), true);
    let text = "text/plain; charset=utf-8".to_string();
    let none = String::new;
    let cases: Vec<(Request<Body>, StatusCode, [String; 4], &str)> = vec![
        // An unknown config kind is no route at all in Burrow.
        (
            get("/v3/config/nope"),
            StatusCode::NOT_FOUND,
            [none(), none(), text.clone(), none()],
            INVALID,
        ),
        // Trailing slash: 301 for GET (with Go's little HTML body), 307 for the other methods.
        (
            get("/v3/kafka/?x=1"),
            StatusCode::MOVED_PERMANENTLY,
            [
                none(),
                "/v3/kafka?x=1".into(),
                "text/html; charset=utf-8".into(),
                none(),
            ],
            "<a href=\"/v3/kafka?x=1\">Moved Permanently</a>.\n\n",
        ),
        (
            get("/v3/kafka/prod/consumer/app/status/"),
            StatusCode::MOVED_PERMANENTLY,
            [
                none(),
                "/v3/kafka/prod/consumer/app/status".into(),
                "text/html; charset=utf-8".into(),
                none(),
            ],
            "<a href=\"/v3/kafka/prod/consumer/app/status\">Moved Permanently</a>.\n\n",
        ),
        (
            get("/v3/config/storage/"),
            StatusCode::MOVED_PERMANENTLY,
            [
                none(),
                "/v3/config/storage".into(),
                "text/html; charset=utf-8".into(),
                none(),
            ],
            "<a href=\"/v3/config/storage\">Moved Permanently</a>.\n\n",
        ),
        (
            delete("/v3/kafka/prod/consumer/app/", Some(TOKEN)),
            StatusCode::TEMPORARY_REDIRECT,
            [none(), "/v3/kafka/prod/consumer/app".into(), none(), none()],
            "",
        ),
        // httprouter's tree quirk: after a parameter followed by several routes, no redirect.
        (
            get("/v3/kafka/prod/"),
            StatusCode::NOT_FOUND,
            [none(), none(), text.clone(), none()],
            INVALID,
        ),
        (
            get("/v3/kafka/prod/consumer/app/"),
            StatusCode::NOT_FOUND,
            [none(), none(), text.clone(), none()],
            INVALID,
        ),
        // No HEAD routes: 405 with Allow (the body is dropped for HEAD).
        (
            with_method("HEAD", "/v3/kafka"),
            StatusCode::METHOD_NOT_ALLOWED,
            ["GET, OPTIONS".into(), none(), text.clone(), none()],
            "",
        ),
        (
            with_method("HEAD", "/v3/nothing"),
            StatusCode::NOT_FOUND,
            [none(), none(), text.clone(), none()],
            "",
        ),
        // Wrong method: 405, text/plain, Allow sorted with OPTIONS.
        (
            with_method("POST", "/v3/kafka/prod/consumer/app"),
            StatusCode::METHOD_NOT_ALLOWED,
            ["DELETE, GET, OPTIONS".into(), none(), text.clone(), none()],
            "Method Not Allowed\n",
        ),
        (
            with_method("PUT", "/v3/admin/loglevel"),
            StatusCode::METHOD_NOT_ALLOWED,
            ["GET, OPTIONS, POST".into(), none(), text.clone(), none()],
            "Method Not Allowed\n",
        ),
        // OPTIONS: 200 with Allow and no body; 404 for an unknown path.
        (
            with_method("OPTIONS", "/v3/kafka/prod/consumer/app/topic/orders"),
            StatusCode::OK,
            ["DELETE, OPTIONS".into(), none(), none(), none()],
            "",
        ),
        (
            with_method("OPTIONS", "/v3/nothing"),
            StatusCode::NOT_FOUND,
            [none(), none(), text.clone(), none()],
            INVALID,
        ),
        // warren's own endpoints keep HEAD.
        (
            with_method("HEAD", "/healthz"),
            StatusCode::OK,
            [none(), none(), text.clone(), none()],
            "",
        ),
    ];
    for (r, code, headers, body) in cases {
        let what = format!("{} {}", r.method(), r.uri());
        let (c, h, b) = edge(&s, r).await;
        assert_eq!((c, h, b.as_str()), (code, headers, body), "{what}");
    }

    // With CORS configured: Burrow's fallback 404 has no CORS header, its JSON replies do.
    let origin = "https://grafana.example";
    let s = state_with(
        config(&[("WARREN_HTTP__ACCESS_CONTROL_ALLOW_ORIGIN", origin)]),
        true,
    );
    for (path, code, cors) in [
        ("/nothing", StatusCode::NOT_FOUND, ""),
        ("/v3/config/nope", StatusCode::NOT_FOUND, ""),
        ("/v3/kafka/", StatusCode::MOVED_PERMANENTLY, ""),
        ("/v3/kafka/nope", StatusCode::NOT_FOUND, origin),
        ("/v3/kafka", StatusCode::OK, origin),
    ] {
        let (c, h, _) = edge(&s, get(path)).await;
        assert_eq!((c, h[3].as_str()), (code, cors), "{path}");
    }
}

/// Burrow routes `DELETE /v3/kafka/:cluster/consumer/:consumer/topic/:topic` to
/// `handleConsumerDelete` (core/internal/httpserver/coordinator.go, kafka.go): 200 "consumer
/// group removed"; storage then drops the topic from the group (inmemory.go `deleteGroup`).
#[tokio::test]
async fn item8_delete_a_topic_of_a_group() {
    let path = "/v3/kafka/prod/consumer/app/topic/orders";
    let s = state();
    let r = send(&s, delete(path, Some(TOKEN))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = serde_json::from_str(&body_text(r).await).unwrap();
    assert_eq!(
        body,
        json!({"error": true, "message": "admin endpoints are disabled: set http.admin_token", "request": request(path)})
    );
    assert!(s.snapshots.take_forget_requests(0).is_empty());

    let s = state_with(config(&[("WARREN_HTTP__ADMIN_TOKEN", TOKEN)]), true);
    let r = send(&s, delete(path, Some("wrong"))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header_of(&r, "www-authenticate"), "Bearer");
    let body: Value = serde_json::from_str(&body_text(r).await).unwrap();
    assert_eq!(
        body,
        json!({"error": true, "message": "missing or wrong bearer token", "request": request(path)})
    );
    assert!(s.snapshots.take_forget_requests(0).is_empty());

    let r = send(&s, delete(path, Some(TOKEN))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = serde_json::from_str(&body_text(r).await).unwrap();
    assert_eq!(
        body,
        json!({"error": false, "message": "consumer group removed", "request": request(path)})
    );
    // The topic, not the whole group.
    assert_eq!(
        s.snapshots.take_forget_requests(0),
        vec![Forget::topic("app", "orders")]
    );
    // Decoded names, as for the group.
    let r = send(
        &s,
        delete("/v3/kafka/prod/consumer/a%2Fb/topic/t%20x", Some(TOKEN)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        s.snapshots.take_forget_requests(0),
        vec![Forget::topic("a/b", "t x")]
    );

    let nope = "/v3/kafka/nope/consumer/app/topic/orders";
    let r = send(&s, delete(nope, Some(TOKEN))).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_str(&body_text(r).await).unwrap();
    assert_eq!(
        body,
        json!({"error": true, "message": "cluster not found", "request": request(nope)})
    );
    assert!(s.snapshots.take_forget_requests(1).is_empty());
}

/// The edges' table of Burrow's routes is the router's: every entry reaches a handler.
#[tokio::test]
async fn item10_edge_table_matches_the_router() {
    let s = state_with(config(&[("WARREN_HTTP__ADMIN_TOKEN", TOKEN)]), true);
    for &(method, pattern, _) in crate::http::burrow::edges::ROUTES {
        let path = pattern
            .replace("{cluster}", "prod")
            .replace("{group}", "app")
            .replace("{topic}", "orders")
            .replace("{name}", "default");
        let r = Request::builder()
            .method(method)
            .uri(&path)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::from("{\"level\":\"info\"}"))
            .unwrap();
        let r = send(&s, r).await;
        let code = r.status();
        let body = body_text(r).await;
        assert!(
            code != StatusCode::METHOD_NOT_ALLOWED && !body.contains("invalid request type"),
            "{method} {path}: {code} {body}"
        );
    }
}

/// Burrow's `TestCachingEvaluator_TopicDeleted`: a group whose topics were all deleted stays a
/// known group (it has committed before), judged OK with `complete` 0 and no partitions, while
/// a group that only ever was listed is not found (item 7).
#[tokio::test]
async fn item6_a_group_whose_topics_were_deleted_is_ok_with_complete_0() {
    let config = config(&[]);
    let retention = config.retention;
    let mut store = Store::new(config.window.points);
    let t = store.apply_metadata(1, &[("old", 1)])[0];
    store.apply_watermarks(
        1,
        &[WatermarkSample {
            topic: t,
            partition: 0,
            earliest: Some(0),
            latest: Some(10),
        }],
    );
    store.apply_group_offsets(1, "gone", &mut [Commit::new(t, 0, 4)]);
    // The topic is deleted: gone from metadata, its offsets gone from the group's commits.
    let later = 2 + retention.as_secs() as u32;
    store.apply_metadata(later, &[]);
    store.apply_group_offsets(later, "gone", &mut []);
    store.expire(later, retention);
    assert!(store.topic_id("old").is_none());
    let g = store.group("gone").expect("the group is still known");
    assert_eq!((g.len(), g.has_committed), (0, true));

    let evals = crate::evaluate::evaluate_store(&store, later, &config.clusters[0].evaluator);
    let prod = ClusterSnapshot::empty("prod", &[]).from_store(&store, &evals, Health::default());
    let s = state_with(config, true);
    s.snapshots.publish(0, prod);
    let path = "/v3/kafka/prod/consumer/gone/status";
    assert_eq!(
        fetch_json(&s, path).await,
        (
            StatusCode::OK,
            json!({"error": false, "message": "consumer status returned",
                   "status": {"cluster": "prod", "group": "gone", "status": "OK", "complete": 0,
                              "partitions": [], "partition_count": 0, "maxlag": null, "totallag": 0},
                   "request": request(path)})
        )
    );
    let (code, list) = fetch_json(&s, "/v3/kafka/prod/consumer").await;
    assert_eq!(
        (code, &list["consumers"]),
        (StatusCode::OK, &json!(["gone"]))
    );
    let path = "/v3/kafka/prod/consumer/gone";
    assert_eq!(
        fetch_json(&s, path).await,
        (
            StatusCode::OK,
            json!({"error": false, "message": "consumer detail returned", "topics": {},
                   "request": request(path)})
        )
    );
}

/// Item 11: a consumer that stands still. Its window's newest point (`end`) keeps the lag of
/// the poll that saw the offset change (warren adds a point per change, Burrow per commit);
/// `current_lag` and `/metrics` are fresh every poll, so what a client reads never goes stale.
#[tokio::test]
async fn item11_current_lag_is_fresh_while_the_offset_stands_still() {
    let config = config(&[]);
    let mut store = Store::new(config.window.points);
    let t = store.apply_metadata(1, &[("orders", 1)])[0];
    let head = |store: &mut Store, now, latest| {
        let sample = WatermarkSample {
            topic: t,
            partition: 0,
            earliest: Some(0),
            latest: Some(latest),
        };
        store.apply_watermarks(now, &[sample]);
    };
    head(&mut store, 10, 100);
    store.apply_group_offsets(10, "still", &mut [Commit::new(t, 0, 40)]);
    head(&mut store, 20, 150);
    store.apply_group_offsets(20, "still", &mut [Commit::new(t, 0, 40)]);
    let evals = crate::evaluate::evaluate_store(&store, 20, &config.clusters[0].evaluator);
    let prod = ClusterSnapshot::empty("prod", &[]).from_store(&store, &evals, Health::default());
    let s = state_with(config, true);
    s.snapshots.publish(0, prod);

    let (code, v) = fetch_json(&s, "/v3/kafka/prod/consumer/still/lag").await;
    assert_eq!(code, StatusCode::OK);
    let p = &v["status"]["partitions"][0];
    assert_eq!(
        (
            &p["end"]["offset"],
            &p["end"]["lag"],
            &p["end"]["timestamp"]
        ),
        (&json!(40), &json!(60), &json!(10_000))
    );
    assert_eq!(p["current_lag"], json!(110));
    let (_, _, text) = fetch(&s, "/metrics").await;
    let line = "kafka_consumergroup_group_lag{cluster=\"prod\",group=\"still\",topic=\"orders\",partition=\"0\"} 110";
    assert!(text.lines().any(|l| l == line), "{text}");
}
