//! Consumer groups: `/v3/kafka/{cluster}/consumer…` (list, detail, status, lag, delete).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Serialize, Serializer};

use super::clusters::ConsumerList;
use super::extract::Cluster;
use super::reply::{Reply, RequestInfo};
use crate::evaluate::{GroupEval, Status};
use crate::http::AppState;
use crate::snapshot::{ClusterSnapshot, Forget, GroupSnapshot};
use crate::store::Point;

pub async fn list(cluster: Cluster) -> Response {
    // Only groups with committed offsets: a listed group must never answer NOTFOUND (the
    // Datadog check aborts its run on that 404).
    let consumers = cluster
        .snapshot
        .groups
        .iter()
        .filter(|g| g.has_committed)
        .map(|g| g.name.raw.clone())
        .collect();
    let message = "consumer list returned";
    Reply::ok(cluster.request, message, ConsumerList { consumers }).into_response()
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    cluster: Cluster,
    Path((_, group)): Path<(String, String)>,
) -> Response {
    // Asynchronous, as in Burrow: the scraper forgets the group at its next poll.
    let forget = Forget::group(&group);
    state.snapshots.request_forget(cluster.index, forget);
    Reply::ack(cluster.request, "consumer group removed").into_response()
}

/// Burrow's `DELETE …/consumer/{group}/topic/{topic}`: the same handler and reply as a group's
/// deletion in Burrow; the scraper drops the topic from the group at its next poll.
pub async fn delete_topic(
    State(state): State<Arc<AppState>>,
    cluster: Cluster,
    Path((_, group, topic)): Path<(String, String, String)>,
) -> Response {
    let forget = Forget::topic(&group, &topic);
    state.snapshots.request_forget(cluster.index, forget);
    Reply::ack(cluster.request, "consumer group removed").into_response()
}

/// A window point as Burrow prints it (`ConsumerOffset`).
#[derive(Serialize, Clone, Copy)]
struct Offset {
    offset: i64,
    timestamp: u64,
    #[serde(rename = "observedAt")]
    observed_at: u64,
    lag: Option<u64>,
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

/// A partition a group's reply lists: every partition of every topic the group committed
/// to, with `index` `None` for partitions without a commit (Burrow lists them too).
struct ListedPartition {
    topic: u32,
    partition: i32,
    index: Option<usize>,
}

fn listed_partitions(c: &ClusterSnapshot, g: &GroupSnapshot) -> Vec<ListedPartition> {
    let mut topics: Vec<u32> = g.runs.iter().map(|r| r.topic).collect();
    topics.dedup();
    topics.sort_by(|a, b| {
        let name = |id: &u32| c.topic(*id).map(|t| t.name.raw.clone());
        name(a).cmp(&name(b))
    });
    let mut out = Vec::new();
    for topic in topics {
        let count = c.topic(topic).map_or(0, |t| t.watermarks.len() as i32);
        let mut committed: Vec<(i32, usize)> = g
            .runs
            .iter()
            .filter(|r| r.topic == topic)
            .flat_map(|r| r.partitions().map(|(i, p)| (p, i)))
            .collect();
        committed.sort_unstable();
        let count = count.max(committed.last().map_or(0, |&(p, _)| p + 1));
        for partition in 0..count {
            let index = committed
                .iter()
                .find(|&&(q, _)| q == partition)
                .map(|&(_, i)| i);
            out.push(ListedPartition {
                topic,
                partition,
                index,
            });
        }
    }
    out
}

/// Burrow's `owner` (the member's host, verbatim) and `client_id` of a partition: from the
/// group's last description, empty when no member owns it or it is not known.
fn owner(g: &GroupSnapshot, topic: &str, partition: i32) -> (Arc<str>, Arc<str>) {
    match g
        .membership
        .as_ref()
        .and_then(|m| m.owner(topic, partition))
    {
        Some(m) => (m.host.raw.clone(), m.client_id.raw.clone()),
        None => (Arc::from(""), Arc::from("")),
    }
}

/// Current lag of a group-partition as Burrow shows it: 0 without a head.
fn current_lag(c: &ClusterSnapshot, p: &ListedPartition, offset: i64) -> u64 {
    c.lag(p.topic, p.partition, offset).unwrap_or(0)
}

#[derive(Serialize)]
struct PartitionDetail {
    offsets: Vec<Option<Offset>>,
    owner: Arc<str>,
    client_id: Arc<str>,
    #[serde(rename = "current-lag")]
    current_lag: u64,
}

#[derive(Serialize)]
struct ConsumerDetail {
    topics: BTreeMap<Arc<str>, Vec<PartitionDetail>>,
}

pub async fn detail(cluster: Cluster, Path((_, group)): Path<(String, String)>) -> Response {
    let c = &cluster.snapshot;
    // A group without commits (only listed) has nothing in Burrow's storage: not found, as in
    // the list and the status.
    let Some(g) = c.group(&group).filter(|g| g.has_committed) else {
        let message = "cluster or consumer not found";
        return Reply::not_found(cluster.request, message).into_response();
    };
    let points = c.window_points;
    let mut topics: BTreeMap<Arc<str>, Vec<PartitionDetail>> = BTreeMap::new();
    for p in listed_partitions(c, g) {
        let Some(topic) = c.topic(p.topic) else {
            continue;
        };
        let (owner, client_id) = owner(g, &topic.name.raw, p.partition);
        let detail = match p.index {
            Some(i) => {
                let mut window: Vec<Option<Offset>> =
                    g.window(i, points).map(|p| Some(p.into())).collect();
                window.resize(points.max(window.len()), None);
                window.reverse();
                PartitionDetail {
                    offsets: window,
                    owner,
                    client_id,
                    current_lag: current_lag(c, &p, g.offsets[i]),
                }
            }
            None => PartitionDetail {
                offsets: Vec::new(),
                owner,
                client_id,
                current_lag: 0,
            },
        };
        topics
            .entry(topic.name.raw.clone())
            .or_default()
            .push(detail);
    }
    let message = "consumer detail returned";
    Reply::ok(cluster.request, message, ConsumerDetail { topics }).into_response()
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
    owner: Arc<str>,
    client_id: Arc<str>,
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

impl GroupStatusBody {
    /// Burrow's answer for a group it does not know: NOTFOUND.
    fn not_found(cluster: &str, group: &str) -> GroupStatusBody {
        let nf = GroupEval::not_found();
        GroupStatusBody {
            cluster: Arc::from(cluster),
            group: group.to_string(),
            status: nf.status,
            complete: nf.complete,
            partitions: Vec::new(),
            partition_count: 0,
            maxlag: None,
            totallag: 0,
        }
    }

    /// `all`: every partition (`/lag`), else only those not OK (`/status`).
    fn new(c: &ClusterSnapshot, g: &GroupSnapshot, all: bool) -> GroupStatusBody {
        let points = c.window_points;
        let eval = g.status.eval;
        let mut partitions = Vec::new();
        let mut maxlag = None;
        for p in listed_partitions(c, g) {
            let Some(topic) = c.topic(p.topic) else {
                continue;
            };
            let (owner, client_id) = owner(g, &topic.name.raw, p.partition);
            let ps = match p.index {
                Some(i) => {
                    let verdict = g.status.verdicts.get(i).copied().unwrap_or_default();
                    let len = g.window(i, points).count();
                    PartitionStatus {
                        topic: topic.name.raw.clone(),
                        partition: p.partition,
                        owner,
                        client_id,
                        status: verdict.status(),
                        start: g.window(i, points).last().map(Offset::from),
                        end: g.window(i, points).next().map(Offset::from),
                        current_lag: current_lag(c, &p, g.offsets[i]),
                        complete: if len >= points {
                            1.0
                        } else {
                            len as f32 / points.max(1) as f32
                        },
                    }
                }
                None => PartitionStatus {
                    topic: topic.name.raw.clone(),
                    partition: p.partition,
                    owner,
                    client_id,
                    status: Status::Ok,
                    start: None,
                    end: None,
                    current_lag: 0,
                    complete: 0.0,
                },
            };
            if eval
                .max_lag
                .is_some_and(|m| m.topic == p.topic && m.partition == p.partition)
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
}

#[derive(Serialize)]
struct StatusReply {
    status: GroupStatusBody,
}

/// A group's status; an unknown cluster or group is Burrow's NOTFOUND: a 404 with
/// `error:false` and a status object.
fn group_status(
    request: RequestInfo,
    cluster: Option<Cluster>,
    (cluster_name, group): (String, String),
    all: bool,
) -> Response {
    let found = cluster.as_ref().and_then(|c| {
        let g = c.snapshot.group(&group)?;
        g.has_committed.then_some((&c.snapshot, g))
    });
    let (code, status) = match found {
        Some((c, g)) => (StatusCode::OK, GroupStatusBody::new(c, g, all)),
        None => (
            StatusCode::NOT_FOUND,
            GroupStatusBody::not_found(&cluster_name, &group),
        ),
    };
    Reply::ok(request, "consumer status returned", StatusReply { status })
        .with_code(code)
        .into_response()
}

pub async fn status(
    request: RequestInfo,
    cluster: Option<Cluster>,
    Path(names): Path<(String, String)>,
) -> Response {
    group_status(request, cluster, names, false)
}

pub async fn lag(
    request: RequestInfo,
    cluster: Option<Cluster>,
    Path(names): Path<(String, String)>,
) -> Response {
    group_status(request, cluster, names, true)
}
