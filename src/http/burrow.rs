//! Burrow's HTTP API v3 (read side), so Burrow's clients keep working: the same paths, JSON
//! field names and order (Go struct order), quirks (`current-lag` next to `current_lag`,
//! `observedAt`, 404 with `error:false` for a NOTFOUND group) and status codes. Served from the
//! snapshots like `/metrics`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Serialize, Serializer};

use super::AppState;
use crate::evaluate::{GroupEval, Status, Verdict};
use crate::snapshot::{ClusterSnapshot, GroupSnapshot};
use crate::store::Point;

/// The Burrow routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/burrow/admin", get(|| async { text("GOOD") }))
        .route("/burrow/admin/ready", get(ready))
        .route("/v3/kafka", get(clusters))
        .route("/v3/kafka/{cluster}", get(cluster_detail))
        .route("/v3/kafka/{cluster}/topic", get(topics))
        .route("/v3/kafka/{cluster}/topic/{topic}", get(topic_detail))
        .route(
            "/v3/kafka/{cluster}/topic/{topic}/consumers",
            get(topic_consumers),
        )
        .route("/v3/kafka/{cluster}/consumer", get(consumers))
        .route(
            "/v3/kafka/{cluster}/consumer/{group}",
            get(consumer_detail).delete(consumer_delete),
        )
        .route(
            "/v3/kafka/{cluster}/consumer/{group}/status",
            get(consumer_status),
        )
        .route(
            "/v3/kafka/{cluster}/consumer/{group}/lag",
            get(consumer_lag),
        )
        .route("/v3/config", get(config_main))
        .route("/v3/config/{kind}", get(config_modules))
        .route("/v3/config/{kind}/{name}", get(config_module))
        .route("/v3/admin/loglevel", get(loglevel_get).post(loglevel_set))
        .route("/v3/openapi.json", get(openapi))
}

/// The OpenAPI 3 document of this API (kept in the repository, checked by tests).
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[derive(Serialize)]
struct Ack<'a> {
    error: bool,
    message: &'a str,
    request: RequestInfo,
}

fn envelope(state: &AppState, uri: &Uri, code: StatusCode, error: bool, message: &str) -> Response {
    json(
        code,
        &Ack {
            error,
            message,
            request: request(uri, state),
        },
    )
}

/// Mutations are off unless `http.admin_token` is set, and then need `Authorization: Bearer`
/// with it (unlike Burrow, whose mutations are open to anyone who can reach it).
/// Returns the rejection, if any.
fn reject(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = state.config.http.admin_token.as_deref() else {
        return Some(envelope(
            state,
            uri,
            StatusCode::FORBIDDEN,
            true,
            "admin endpoints are disabled: set http.admin_token",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .unwrap_or("");
    // Compare without an early exit, so timing does not reveal the token's prefix.
    let same = given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        None
    } else {
        let mut r = envelope(
            state,
            uri,
            StatusCode::UNAUTHORIZED,
            true,
            "missing or wrong bearer token",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        Some(r)
    }
}

async fn consumer_delete(
    State(state): State<Arc<AppState>>,
    Path((cluster, group)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = reject(&state, &uri, &headers) {
        return r;
    }
    let Some(index) = state.config.clusters.iter().position(|c| c.name == cluster) else {
        return not_found(&uri, &state, "cluster not found");
    };
    // Asynchronous, as in Burrow: the scraper forgets the group at its next poll.
    state.snapshots.request_forget(index, &group);
    envelope(
        &state,
        &uri,
        StatusCode::OK,
        false,
        "consumer group removed",
    )
}

#[derive(Serialize)]
struct LogLevel<'a> {
    error: bool,
    message: &'a str,
    level: String,
    request: RequestInfo,
}

async fn loglevel_get(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    json(
        StatusCode::OK,
        &LogLevel {
            error: false,
            message: "log level returned",
            level: crate::logging::level(),
            request: request(&uri, &state),
        },
    )
}

#[derive(serde::Deserialize)]
struct LevelBody {
    level: String,
}

async fn loglevel_set(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = reject(&state, &uri, &headers) {
        return r;
    }
    let Ok(body) = serde_json::from_slice::<LevelBody>(&body) else {
        return envelope(
            &state,
            &uri,
            StatusCode::BAD_REQUEST,
            true,
            "could not decode message body",
        );
    };
    let Some(level) = crate::logging::burrow_level(&body.level) else {
        return envelope(
            &state,
            &uri,
            StatusCode::NOT_FOUND,
            true,
            "unknown log level",
        );
    };
    crate::logging::set_level(level);
    tracing::info!(level, "log level changed through the API");
    envelope(&state, &uri, StatusCode::OK, false, "set log level")
}

#[derive(Serialize)]
struct MainConfig<'a> {
    error: bool,
    message: &'a str,
    request: RequestInfo,
    general: serde_json::Value,
    logging: serde_json::Value,
    zookeeper: serde_json::Value,
    httpserver: serde_json::Value,
}

async fn config_main(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let http = &state.config.http;
    let body = MainConfig {
        error: false,
        message: "main config returned",
        request: request(&uri, &state),
        general: serde_json::json!({
            "pidfile": "",
            "stdout-logfile": "",
            "access-control-allow-origin": http.access_control_allow_origin.clone().unwrap_or_default(),
        }),
        logging: serde_json::json!({
            "filename": "", "max-size": 0, "max-backups": 0, "max-age": 0,
            "use-local-time": false, "use-compression": false, "level": crate::logging::level(),
        }),
        zookeeper: serde_json::json!({"servers": [], "timeout": 0, "root-path": ""}),
        httpserver: serde_json::json!({"default": {"address": http.listen.to_string(), "tls": "", "timeout": 0}}),
    };
    json(StatusCode::OK, &body)
}

const KINDS: [&str; 5] = ["storage", "evaluator", "cluster", "consumer", "notifier"];

/// Module names per kind: one storage and one evaluator (`default`), a cluster and a consumer
/// module per configured cluster, no notifiers.
fn module_names(state: &AppState, kind: &str) -> Vec<String> {
    match kind {
        "storage" | "evaluator" => vec!["default".to_string()],
        "cluster" | "consumer" => state
            .config
            .clusters
            .iter()
            .map(|c| c.name.clone())
            .collect(),
        _ => Vec::new(),
    }
}

#[derive(Serialize)]
struct ModuleList<'a> {
    error: bool,
    message: &'a str,
    request: RequestInfo,
    coordinator: &'a str,
    modules: Vec<String>,
}

async fn config_modules(
    State(state): State<Arc<AppState>>,
    Path(kind): Path<String>,
    uri: Uri,
) -> Response {
    let Some(kind) = KINDS.iter().find(|k| **k == kind) else {
        return not_found(&uri, &state, "unknown module kind");
    };
    json(
        StatusCode::OK,
        &ModuleList {
            error: false,
            message: "module list returned",
            request: request(&uri, &state),
            coordinator: kind,
            modules: module_names(&state, kind),
        },
    )
}

#[derive(Serialize)]
struct ModuleDetail<'a, M: Serialize> {
    error: bool,
    message: &'a str,
    module: M,
    request: RequestInfo,
}

async fn config_module(
    State(state): State<Arc<AppState>>,
    Path((kind, name)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let Some(kind) = KINDS.iter().find(|k| **k == kind) else {
        return not_found(&uri, &state, "unknown module kind");
    };
    let missing = format!("{kind} module not found");
    if !module_names(&state, kind).contains(&name) {
        return not_found(&uri, &state, &missing);
    }
    let c = state.config.clusters.iter().find(|c| c.name == name);
    let module = match (*kind, c) {
        ("storage", _) => serde_json::json!({
            "class-name": "inmemory",
            "intervals": state.config.window.points,
            "min-distance": state.config.clusters.first().map_or(0, |c| c.evaluator.min_distance.as_secs()),
            "group-allowlist": "",
            "expire-group": state.config.retention.as_secs(),
        }),
        ("evaluator", _) => serde_json::json!({"class-name": "caching", "expire-cache": 0}),
        ("cluster", Some(_)) => match cluster_module(&state, &name).map(serde_json::to_value) {
            Some(Ok(v)) => v,
            _ => return not_found(&uri, &state, &missing),
        },
        ("consumer", Some(c)) => serde_json::json!({
            "class-name": "kafka",
            "cluster": c.name,
            "servers": servers(&c.bootstrap_servers),
            "group-allowlist": c.groups.allow.join("|"),
            "zookeeper-path": "",
            "zookeeper-timeout": 0,
            "client-profile": client_profile(),
            "offsets-topic": "",
            "start-latest": false,
        }),
        _ => return not_found(&uri, &state, &missing),
    };
    let message = format!("{kind} module detail returned");
    json(
        StatusCode::OK,
        &ModuleDetail {
            error: false,
            message: &message,
            module,
            request: request(&uri, &state),
        },
    )
}

fn text(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// `request` in every reply: the decoded path and this host's name.
#[derive(Serialize)]
struct RequestInfo {
    url: String,
    host: Arc<str>,
}

fn request(uri: &Uri, state: &AppState) -> RequestInfo {
    RequestInfo {
        url: uri.path().to_string(),
        host: state.hostname.clone(),
    }
}

/// Compact JSON with Burrow's content type and no trailing newline.
fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[derive(Serialize)]
struct ErrorReply<'a> {
    error: bool,
    message: &'a str,
    request: RequestInfo,
}

/// `{"error":false,"message":…,"<key>":…,"request":…}`, Burrow's list and detail replies.
fn payload_reply(
    state: &AppState,
    uri: &Uri,
    message: &str,
    key: &str,
    value: impl Serialize,
) -> Response {
    let mut body = serde_json::Map::new();
    body.insert("error".into(), false.into());
    body.insert("message".into(), message.into());
    body.insert(key.into(), serde_json::to_value(value).unwrap_or_default());
    let info = serde_json::to_value(request(uri, state)).unwrap_or_default();
    body.insert("request".into(), info);
    json(StatusCode::OK, &body)
}

fn not_found(uri: &Uri, state: &AppState, message: &str) -> Response {
    let body = ErrorReply {
        error: true,
        message,
        request: request(uri, state),
    };
    json(StatusCode::NOT_FOUND, &body)
}

/// Burrow's body for a path it does not route (text/plain, with a newline).
pub async fn fallback() -> Response {
    (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        "{\"error\":true,\"message\":\"invalid request type\",\"result\":{}}\n",
    )
        .into_response()
}

fn find<'a>(clusters: &'a [Arc<ClusterSnapshot>], name: &str) -> Option<&'a Arc<ClusterSnapshot>> {
    clusters.iter().find(|c| &*c.cluster.raw == name)
}

async fn ready(State(state): State<Arc<AppState>>) -> Response {
    if state.snapshots.ready() {
        text("READY")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, text("STARTING")).into_response()
    }
}

async fn clusters(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let clusters = state.snapshots.load();
    payload_reply(
        &state,
        &uri,
        "cluster list returned",
        "clusters",
        clusters
            .iter()
            .map(|c| c.cluster.raw.clone())
            .collect::<Vec<_>>(),
    )
}

#[derive(Serialize)]
struct ClientProfile<'a> {
    name: &'a str,
    #[serde(rename = "client-id")]
    client_id: &'a str,
    #[serde(rename = "kafka-version")]
    kafka_version: &'a str,
    tls: Option<()>,
    sasl: Option<()>,
}

#[derive(Serialize)]
struct ClusterModule<'a> {
    #[serde(rename = "class-name")]
    class_name: &'a str,
    servers: Vec<&'a str>,
    #[serde(rename = "client-profile")]
    client_profile: ClientProfile<'a>,
    #[serde(rename = "topic-refresh")]
    topic_refresh: u64,
    #[serde(rename = "offset-refresh")]
    offset_refresh: u64,
}

fn client_profile() -> ClientProfile<'static> {
    ClientProfile {
        name: "default",
        client_id: "warren",
        kafka_version: "",
        tls: None,
        sasl: None,
    }
}

/// A cluster as Burrow's cluster module describes it (no secrets: servers and intervals only).
fn cluster_module<'a>(state: &'a AppState, cluster: &str) -> Option<ClusterModule<'a>> {
    let c = state.config.clusters.iter().find(|c| c.name == cluster)?;
    Some(ClusterModule {
        class_name: "kafka",
        servers: servers(&c.bootstrap_servers),
        client_profile: client_profile(),
        topic_refresh: c.metadata_refresh.as_secs(),
        offset_refresh: c.poll_interval.as_secs(),
    })
}

/// Bootstrap servers without any `user:pass@` part.
fn servers(list: &str) -> Vec<&str> {
    list.split(',')
        .map(|s| s.trim().rsplit('@').next().unwrap_or(""))
        .collect()
}

#[derive(Serialize)]
struct ClusterDetail<'a> {
    error: bool,
    message: &'a str,
    module: ClusterModule<'a>,
    request: RequestInfo,
}

async fn cluster_detail(
    State(state): State<Arc<AppState>>,
    Path(cluster): Path<String>,
    uri: Uri,
) -> Response {
    let Some(module) = cluster_module(&state, &cluster) else {
        return not_found(&uri, &state, "cluster module not found");
    };
    json(
        StatusCode::OK,
        &ClusterDetail {
            error: false,
            message: "cluster module detail returned",
            module,
            request: request(&uri, &state),
        },
    )
}

async fn topics(
    State(state): State<Arc<AppState>>,
    Path(cluster): Path<String>,
    uri: Uri,
) -> Response {
    let clusters = state.snapshots.load();
    let Some(c) = find(&clusters, &cluster) else {
        return not_found(&uri, &state, "cluster not found");
    };
    payload_reply(
        &state,
        &uri,
        "topic list returned",
        "topics",
        c.topics_sorted()
            .map(|t| t.name.raw.clone())
            .collect::<Vec<_>>(),
    )
}

async fn topic_detail(
    State(state): State<Arc<AppState>>,
    Path((cluster, topic)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let clusters = state.snapshots.load();
    let Some(t) = find(&clusters, &cluster).and_then(|c| c.topic(c.topic_id(&topic)?)) else {
        return not_found(&uri, &state, "cluster or topic not found");
    };
    // As Burrow: partitions without a head sample are skipped.
    let offsets: Vec<i64> = t
        .watermarks
        .iter()
        .map(|w| w.latest)
        .filter(|&l| l >= 0)
        .collect();
    payload_reply(&state, &uri, "topic offsets returned", "offsets", offsets)
}

async fn topic_consumers(
    State(state): State<Arc<AppState>>,
    Path((cluster, topic)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let clusters = state.snapshots.load();
    let Some(c) = find(&clusters, &cluster) else {
        return not_found(&uri, &state, "cluster not found");
    };
    let id = c.topic_id(&topic);
    let consumers: Vec<Arc<str>> = c
        .groups
        .iter()
        .filter(|g| id.is_some_and(|id| g.runs.iter().any(|r| r.topic == id)))
        .map(|g| g.name.raw.clone())
        .collect();
    payload_reply(
        &state,
        &uri,
        "consumers of topic returned",
        "consumers",
        consumers,
    )
}

async fn consumers(
    State(state): State<Arc<AppState>>,
    Path(cluster): Path<String>,
    uri: Uri,
) -> Response {
    let clusters = state.snapshots.load();
    let Some(c) = find(&clusters, &cluster) else {
        return not_found(&uri, &state, "cluster not found");
    };
    // Only groups with committed offsets: a listed group must never answer NOTFOUND (the
    // Datadog check aborts its run on that 404).
    let consumers: Vec<Arc<str>> = c
        .groups
        .iter()
        .filter(|g| !g.offsets.is_empty())
        .map(|g| g.name.raw.clone())
        .collect();
    payload_reply(
        &state,
        &uri,
        "consumer list returned",
        "consumers",
        consumers,
    )
}

/// A window point as Burrow prints it (`ConsumerOffset`).
#[derive(Serialize, Clone, Copy)]
struct Offset {
    offset: i64,
    timestamp: u64,
    #[serde(rename = "observedAt")]
    observed_at: u64,
    lag: Option<u32>,
}

impl From<Point> for Offset {
    fn from(p: Point) -> Offset {
        // Poll-based: the commit time is when the change was observed (whole seconds).
        let ms = p.time as u64 * 1000;
        Offset {
            offset: p.offset,
            timestamp: ms,
            observed_at: ms,
            lag: p.lag,
        }
    }
}

#[derive(Serialize)]
struct PartitionDetail {
    offsets: Vec<Option<Offset>>,
    owner: &'static str,
    client_id: &'static str,
    #[serde(rename = "current-lag")]
    current_lag: u64,
}

#[derive(Serialize)]
struct ConsumerDetail<'a> {
    error: bool,
    message: &'a str,
    topics: std::collections::BTreeMap<Arc<str>, Vec<PartitionDetail>>,
    request: RequestInfo,
}

/// Current lag of a group-partition as Burrow shows it: 0 without a head.
fn current_lag(c: &ClusterSnapshot, topic: u32, partition: i32, offset: i64) -> u64 {
    c.lag(topic, partition, offset).unwrap_or(0)
}

/// Every partition of every topic the group committed to: `(topic, partition, index)`, with
/// `index` `None` for partitions without a commit (Burrow lists them too).
fn group_partitions(c: &ClusterSnapshot, g: &GroupSnapshot) -> Vec<(u32, i32, Option<usize>)> {
    let mut topics: Vec<u32> = g.runs.iter().map(|r| r.topic).collect();
    topics.dedup();
    topics.sort_by(|a, b| {
        let name = |id: &u32| c.topic(*id).map(|t| t.name.raw.clone());
        name(a).cmp(&name(b))
    });
    let mut out = Vec::new();
    for t in topics {
        let count = c.topic(t).map_or(0, |t| t.watermarks.len() as i32);
        let mut committed: Vec<(i32, usize)> = g
            .runs
            .iter()
            .filter(|r| r.topic == t)
            .flat_map(|r| r.partitions().map(|(i, p)| (p, i)))
            .collect();
        committed.sort_unstable();
        let count = count.max(committed.last().map_or(0, |&(p, _)| p + 1));
        for p in 0..count {
            let index = committed.iter().find(|&&(q, _)| q == p).map(|&(_, i)| i);
            out.push((t, p, index));
        }
    }
    out
}

async fn consumer_detail(
    State(state): State<Arc<AppState>>,
    Path((cluster, group)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let clusters = state.snapshots.load();
    let Some((c, g)) = find(&clusters, &cluster).and_then(|c| Some((c, c.group(&group)?))) else {
        return not_found(&uri, &state, "cluster or consumer not found");
    };
    let points = c.window_points;
    let mut topics: std::collections::BTreeMap<Arc<str>, Vec<PartitionDetail>> = Default::default();
    for (t, p, index) in group_partitions(c, g) {
        let Some(topic) = c.topic(t) else { continue };
        let detail = match index {
            Some(i) => {
                let mut window: Vec<Option<Offset>> =
                    g.window(i, points).map(|p| Some(p.into())).collect();
                window.resize(points.max(window.len()), None);
                window.reverse();
                PartitionDetail {
                    offsets: window,
                    owner: "",
                    client_id: "",
                    current_lag: current_lag(c, t, p, g.offsets[i]),
                }
            }
            None => PartitionDetail {
                offsets: Vec::new(),
                owner: "",
                client_id: "",
                current_lag: 0,
            },
        };
        topics
            .entry(topic.name.raw.clone())
            .or_default()
            .push(detail);
    }
    json(
        StatusCode::OK,
        &ConsumerDetail {
            error: false,
            message: "consumer detail returned",
            topics,
            request: request(&uri, &state),
        },
    )
}

/// Burrow prints `complete` as a Go float32: `1`, `0`, `0.6666667`.
fn go_float32<S: Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.is_finite() {
        s.serialize_u64(*v as u64)
    } else {
        s.serialize_f32(*v)
    }
}

fn status_name<S: Serializer>(v: &Status, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_str())
}

#[derive(Serialize, Clone)]
struct PartitionStatus {
    topic: Arc<str>,
    partition: i32,
    owner: &'static str,
    client_id: &'static str,
    #[serde(serialize_with = "status_name")]
    status: Status,
    start: Option<Offset>,
    end: Option<Offset>,
    current_lag: u64,
    #[serde(serialize_with = "go_float32")]
    complete: f32,
}

#[derive(Serialize)]
struct GroupStatusBody {
    cluster: Arc<str>,
    group: String,
    #[serde(serialize_with = "status_name")]
    status: Status,
    #[serde(serialize_with = "go_float32")]
    complete: f32,
    partitions: Vec<PartitionStatus>,
    partition_count: u32,
    maxlag: Option<PartitionStatus>,
    totallag: u64,
}

#[derive(Serialize)]
struct StatusReply<'a> {
    error: bool,
    message: &'a str,
    status: GroupStatusBody,
    request: RequestInfo,
}

fn status_body(c: &ClusterSnapshot, g: &GroupSnapshot, all: bool) -> GroupStatusBody {
    let points = c.window_points;
    let eval: GroupEval = g.eval;
    let mut partitions = Vec::new();
    let mut maxlag = None;
    for (t, p, index) in group_partitions(c, g) {
        let Some(topic) = c.topic(t) else { continue };
        let ps = match index {
            Some(i) => {
                let verdict: Verdict = g.verdicts.get(i).copied().unwrap_or_default();
                let newest = g.window(i, points).next();
                let oldest = g.window(i, points).last();
                let len = g.window(i, points).count();
                PartitionStatus {
                    topic: topic.name.raw.clone(),
                    partition: p,
                    owner: "",
                    client_id: "",
                    status: verdict.status(),
                    start: oldest.map(Offset::from),
                    end: newest.map(Offset::from),
                    current_lag: current_lag(c, t, p, g.offsets[i]),
                    complete: if len >= points {
                        1.0
                    } else {
                        len as f32 / points.max(1) as f32
                    },
                }
            }
            None => PartitionStatus {
                topic: topic.name.raw.clone(),
                partition: p,
                owner: "",
                client_id: "",
                status: Status::Ok,
                start: None,
                end: None,
                current_lag: 0,
                complete: 0.0,
            },
        };
        if eval
            .max_lag
            .is_some_and(|m| m.topic == t && m.partition == p)
        {
            maxlag = Some(ps.clone());
        }
        if all || ps.status > Status::Ok {
            partitions.push(ps);
        }
    }
    GroupStatusBody {
        cluster: c.cluster.raw.clone(),
        group: g.name.raw.to_string(),
        status: eval.status,
        complete: eval.complete,
        partitions,
        partition_count: eval.partition_count,
        maxlag,
        totallag: eval.total_lag,
    }
}

fn group_status(state: &AppState, cluster: &str, group: &str, uri: &Uri, all: bool) -> Response {
    let clusters = state.snapshots.load();
    let found = find(&clusters, cluster).and_then(|c| Some((c, c.group(group)?)));
    let (code, status) = match found {
        Some((c, g)) if !g.offsets.is_empty() => (StatusCode::OK, status_body(c, g, all)),
        _ => {
            // Burrow: 404 with `error:false` and a NOTFOUND status object.
            let nf = GroupEval::not_found();
            let body = GroupStatusBody {
                cluster: Arc::from(cluster),
                group: group.to_string(),
                status: nf.status,
                complete: nf.complete,
                partitions: Vec::new(),
                partition_count: 0,
                maxlag: None,
                totallag: 0,
            };
            (StatusCode::NOT_FOUND, body)
        }
    };
    json(
        code,
        &StatusReply {
            error: false,
            message: "consumer status returned",
            status,
            request: request(uri, state),
        },
    )
}

async fn consumer_status(
    State(state): State<Arc<AppState>>,
    Path((cluster, group)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    group_status(&state, &cluster, &group, &uri, false)
}

async fn consumer_lag(
    State(state): State<Arc<AppState>>,
    Path((cluster, group)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    group_status(&state, &cluster, &group, &uri, true)
}
