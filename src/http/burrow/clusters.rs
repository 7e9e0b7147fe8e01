//! Clusters and topics: `/v3/kafka`, `/v3/kafka/{cluster}`, `/v3/kafka/{cluster}/topic…`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::extract::Cluster;
use super::reply::{Reply, RequestInfo};
use crate::config::ClusterConfig;
use crate::http::AppState;

#[derive(Serialize)]
struct ClusterList {
    clusters: Vec<Arc<str>>,
}

pub async fn list(State(state): State<Arc<AppState>>, request: RequestInfo) -> Response {
    let clusters = state
        .snapshots
        .load()
        .iter()
        .map(|c| c.cluster.raw.clone())
        .collect();
    Reply::ok(request, "cluster list returned", ClusterList { clusters }).into_response()
}

#[derive(Serialize)]
pub struct ClientProfile<'a> {
    name: &'a str,
    #[serde(rename = "client-id")]
    client_id: &'a str,
    #[serde(rename = "kafka-version")]
    kafka_version: &'a str,
    tls: Option<()>,
    sasl: Option<()>,
}

/// The one client profile warren reports (it has no named profiles).
pub fn client_profile() -> ClientProfile<'static> {
    ClientProfile {
        name: "default",
        client_id: "warren",
        kafka_version: "",
        tls: None,
        sasl: None,
    }
}

/// A cluster as Burrow's cluster module describes it (no secrets: servers and intervals only).
#[derive(Serialize)]
pub struct ClusterModule<'a> {
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

impl<'a> ClusterModule<'a> {
    pub fn new(c: &'a ClusterConfig) -> ClusterModule<'a> {
        ClusterModule {
            class_name: "kafka",
            servers: servers(&c.bootstrap_servers),
            client_profile: client_profile(),
            topic_refresh: c.metadata_refresh.as_secs(),
            offset_refresh: c.poll_interval.as_secs(),
        }
    }
}

/// Bootstrap servers without any `user:pass@` part.
pub fn servers(list: &str) -> Vec<&str> {
    list.split(',')
        .map(|s| s.trim().rsplit('@').next().unwrap_or(""))
        .collect()
}

#[derive(Serialize)]
pub struct Module<M: Serialize> {
    pub module: M,
}

pub async fn detail(State(state): State<Arc<AppState>>, cluster: Cluster) -> Response {
    let module = ClusterModule::new(&state.config.clusters[cluster.index]);
    let message = "cluster module detail returned";
    Reply::ok(cluster.request, message, Module { module }).into_response()
}

#[derive(Serialize)]
struct TopicList {
    topics: Vec<Arc<str>>,
}

pub async fn topics(cluster: Cluster) -> Response {
    let topics = cluster
        .snapshot
        .topics_sorted()
        .map(|t| t.name.raw.clone())
        .collect();
    Reply::ok(cluster.request, "topic list returned", TopicList { topics }).into_response()
}

#[derive(Serialize)]
struct TopicOffsets {
    offsets: Vec<i64>,
}

pub async fn topic_detail(cluster: Cluster, Path((_, topic)): Path<(String, String)>) -> Response {
    let c = &cluster.snapshot;
    let Some(t) = c.topic_id(&topic).and_then(|id| c.topic(id)) else {
        return Reply::not_found(cluster.request, "cluster or topic not found").into_response();
    };
    // As Burrow: partitions without a head sample are skipped.
    let offsets = t
        .watermarks
        .iter()
        .map(|w| w.latest)
        .filter(|&l| l >= 0)
        .collect();
    Reply::ok(
        cluster.request,
        "topic offsets returned",
        TopicOffsets { offsets },
    )
    .into_response()
}

#[derive(Serialize)]
pub struct ConsumerList {
    pub consumers: Vec<Arc<str>>,
}

pub async fn topic_consumers(
    cluster: Cluster,
    Path((_, topic)): Path<(String, String)>,
) -> Response {
    let c = &cluster.snapshot;
    let id = c.topic_id(&topic);
    let consumers = c
        .groups
        .iter()
        .filter(|g| id.is_some_and(|id| g.runs.iter().any(|r| r.topic == id)))
        .map(|g| g.name.raw.clone())
        .collect();
    let message = "consumers of topic returned";
    Reply::ok(cluster.request, message, ConsumerList { consumers }).into_response()
}
