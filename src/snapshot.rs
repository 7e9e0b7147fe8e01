//! Immutable per-cluster snapshots, published by each scraper after every poll and read by the
//! HTTP side without locks: scrapes never wait for a poll and never touch the store.
//!
//! A snapshot shares the store's big arrays (`Arc<[i64]>` offsets, `Arc<[Watermarks]>`), so
//! building one per poll costs a few small allocations per group, not a copy of every series.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};

use crate::evaluate::{GroupStatus, Verdict};
use crate::model::{GroupState, Watermarks};
use crate::store::{Membership, Name, Point, Run, Store, Windows};

/// How finely a cluster's consumer groups are exposed on `/metrics` (config key
/// `clusters[].granularity`). Evaluation is per partition in every mode; group-level series are
/// the same in all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// Every series: per group-partition, per group-topic and per group.
    #[default]
    Partition,
    /// Per group-topic and per group: no line per partition.
    Topic,
    /// Per group only.
    Group,
}

impl Granularity {
    /// Whether per-partition series are written.
    pub fn partitions(self) -> bool {
        self == Granularity::Partition
    }

    /// Whether per group-topic series are written.
    pub fn topics(self) -> bool {
        self != Granularity::Group
    }
}

/// How the cluster's scraper is doing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// The last poll succeeded.
    pub up: bool,
    /// A first poll has completed or failed (readiness).
    pub polled: bool,
    /// Unix time (s) of the last successful poll.
    pub last_success: Option<f64>,
    /// Duration of the last poll, successful or not.
    pub poll_duration: Option<f64>,
}

/// A topic in a snapshot.
#[derive(Debug, Clone)]
pub struct TopicSnapshot {
    pub name: Name,
    /// Indexed by partition id; `-1` where unknown.
    pub watermarks: Arc<[Watermarks]>,
    /// Messages per second produced, per partition id (see [`Store::produce_rate`]).
    pub produce_rates: Arc<[Option<f32>]>,
    /// See [`crate::store::TopicState::compacted`].
    pub compacted: Option<bool>,
}

/// A consumer group in a snapshot.
#[derive(Debug, Clone)]
pub struct GroupSnapshot {
    pub name: Name,
    pub state: GroupState,
    /// See [`crate::store::TrackedGroup::has_committed`].
    pub has_committed: bool,
    /// Members and owners from the last description; `None` until one (or describing off).
    pub membership: Option<Arc<Membership>>,
    /// Runs of consecutive partitions; `topic` is an id for [`ClusterSnapshot::topic`].
    pub runs: Arc<[Run]>,
    /// Committed offset per group-partition, indexed by the runs.
    pub offsets: Arc<[i64]>,
    /// The group's evaluation from the poll that made this snapshot (verdicts indexed like
    /// `offsets`).
    pub status: GroupStatus,
    /// The windows, shared with the store (copied on write there).
    pub windows: Windows,
}

impl GroupSnapshot {
    /// `(topic index, partition, committed offset)` of every group-partition.
    pub fn partitions(&self) -> impl Iterator<Item = (u32, i32, i64)> + '_ {
        self.runs.iter().flat_map(move |r| {
            r.partitions()
                .map(move |(i, p)| (r.topic, p, self.offsets[i]))
        })
    }

    /// Window points of group-partition `index`, newest first.
    pub fn window(&self, index: usize, points: usize) -> impl Iterator<Item = Point> + '_ {
        self.windows.points(index, points, self.offsets[index])
    }

    /// `(topic index, partition, verdict)` of every group-partition.
    pub fn verdicts(&self) -> impl Iterator<Item = (u32, i32, Verdict)> + '_ {
        self.runs.iter().flat_map(move |r| {
            r.partitions().map(move |(i, p)| {
                (
                    r.topic,
                    p,
                    self.status.verdicts.get(i).copied().unwrap_or_default(),
                )
            })
        })
    }

    /// `(topic index, verdicts)` per topic: the runs are sorted by topic, so a topic's
    /// group-partitions are one range of the store's order.
    pub fn topic_verdicts(&self) -> impl Iterator<Item = (u32, &[Verdict])> + '_ {
        let mut next = 0;
        std::iter::from_fn(move || {
            let first = self.runs.get(next)?;
            let start = first.start as usize;
            let mut end = start + first.len as usize;
            next += 1;
            while let Some(r) = self.runs.get(next).filter(|r| r.topic == first.topic) {
                end = r.start as usize + r.len as usize;
                next += 1;
            }
            Some((
                first.topic,
                self.status.verdicts.get(start..end).unwrap_or(&[]),
            ))
        })
    }
}

/// Everything the HTTP side shows about one cluster.
#[derive(Debug, Clone)]
pub struct ClusterSnapshot {
    pub cluster: Name,
    /// Static labels: name and value.
    pub labels: Vec<(String, Name)>,
    /// `cluster="…",k="v",…` escaped once, the start of every series' label set.
    pub label_prefix: String,
    pub health: Health,
    /// Indexed by the store's topic ids (shared with the runs, so nothing is remapped per poll).
    pub topics: Vec<Option<TopicSnapshot>>,
    /// Topic ids sorted by name.
    pub topic_order: Vec<u32>,
    /// Sorted by name.
    pub groups: Vec<GroupSnapshot>,
    /// Window size (`window.points`).
    pub window_points: usize,
    /// Which series `/metrics` writes for this cluster.
    pub granularity: Granularity,
}

impl ClusterSnapshot {
    /// An empty snapshot for a cluster that has not been polled yet.
    pub fn empty(cluster: &str, labels: &[(String, String)]) -> ClusterSnapshot {
        let cluster = Name::new(cluster);
        let labels: Vec<(String, Name)> = labels
            .iter()
            .map(|(k, v)| (k.clone(), Name::new(v)))
            .collect();
        let mut label_prefix = format!("cluster=\"{}\"", cluster.escaped);
        for (k, v) in &labels {
            label_prefix.push_str(&format!(",{k}=\"{}\"", v.escaped));
        }
        ClusterSnapshot {
            cluster,
            labels,
            label_prefix,
            health: Health::default(),
            topics: Vec::new(),
            topic_order: Vec::new(),
            groups: Vec::new(),
            window_points: 0,
            granularity: Granularity::Partition,
        }
    }

    /// The same snapshot exposed at `granularity`.
    pub fn with_granularity(self, granularity: Granularity) -> ClusterSnapshot {
        ClusterSnapshot {
            granularity,
            ..self
        }
    }

    /// The snapshot of `store` and its evaluation (`evals`, in the store's group order) with
    /// `health`, keeping this snapshot's names and labels.
    pub fn from_store(
        &self,
        store: &Store,
        evals: &[GroupStatus],
        health: Health,
    ) -> ClusterSnapshot {
        let mut topics: Vec<Option<TopicSnapshot>> = Vec::new();
        for (id, t) in store.topics() {
            let id = id as usize;
            if topics.len() <= id {
                topics.resize(id + 1, None);
            }
            let produce_rates = (0..t.watermarks.len() as i32)
                .map(|p| store.produce_rate(id as u32, p).map(|r| r as f32))
                .collect();
            topics[id] = Some(TopicSnapshot {
                name: t.name.clone(),
                watermarks: t.watermarks.clone(),
                produce_rates,
                compacted: t.compacted,
            });
        }
        let mut topic_order: Vec<u32> = store.topics().map(|(id, _)| id).collect();
        topic_order.sort_by(|a, b| {
            let name = |id: &u32| topics[*id as usize].as_ref().map(|t| &*t.name.raw);
            name(a).cmp(&name(b))
        });
        let groups = store
            .groups()
            .zip(evals)
            .map(|(g, e)| GroupSnapshot {
                name: g.name.clone(),
                state: g.state,
                has_committed: g.has_committed,
                membership: g.membership.clone(),
                runs: g.runs.clone(),
                offsets: g.offsets.clone(),
                status: e.clone(),
                windows: g.windows.clone(),
            })
            .collect();
        ClusterSnapshot {
            cluster: self.cluster.clone(),
            labels: self.labels.clone(),
            label_prefix: self.label_prefix.clone(),
            health,
            topics,
            topic_order,
            groups,
            window_points: store.points(),
            granularity: self.granularity,
        }
    }

    /// The lag of a group-partition whose committed offset is `offset` (see
    /// [`Watermarks::lag`]); `None` while the partition's latest offset is unknown.
    #[inline]
    pub fn lag(&self, topic: u32, partition: i32, offset: i64) -> Option<u64> {
        self.topic(topic)?
            .watermarks
            .get(usize::try_from(partition).ok()?)?
            .lag(offset)
    }

    /// The topic with index `id` (as in [`Run::topic`]).
    pub fn topic(&self, id: u32) -> Option<&TopicSnapshot> {
        self.topics.get(id as usize).and_then(Option::as_ref)
    }

    pub fn group(&self, name: &str) -> Option<&GroupSnapshot> {
        self.groups
            .binary_search_by(|g| (*g.name.raw).cmp(name))
            .ok()
            .map(|i| &self.groups[i])
    }

    /// The id of topic `name`.
    pub fn topic_id(&self, name: &str) -> Option<u32> {
        self.topic_order
            .iter()
            .copied()
            .find(|&id| self.topic(id).is_some_and(|t| &*t.name.raw == name))
    }

    /// Topics sorted by name.
    pub fn topics_sorted(&self) -> impl Iterator<Item = &TopicSnapshot> {
        self.topic_order.iter().filter_map(|&id| self.topic(id))
    }

    /// The same data with other health (a failed poll keeps the last good data).
    pub fn with_health(&self, health: Health) -> ClusterSnapshot {
        ClusterSnapshot {
            health,
            ..self.clone()
        }
    }
}

/// A request from the API to forget a group, or one topic of it, until it commits other
/// offsets (Burrow's `DELETE …/consumer/{group}` and `…/consumer/{group}/topic/{topic}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forget {
    pub group: String,
    /// `None`: the whole group.
    pub topic: Option<String>,
}

impl Forget {
    pub fn group(group: &str) -> Forget {
        Forget {
            group: group.to_string(),
            topic: None,
        }
    }

    pub fn topic(group: &str, topic: &str) -> Forget {
        Forget {
            group: group.to_string(),
            topic: Some(topic.to_string()),
        }
    }
}

/// The latest snapshot of every cluster, in config order. Each scraper swaps its own slot.
/// Also carries the API's requests to forget groups back to the scrapers (the only way
/// anything flows upstream: a queue the scraper drains at its next poll, in order).
#[derive(Debug)]
pub struct Snapshots {
    clusters: Vec<ArcSwap<ClusterSnapshot>>,
    forget: Vec<std::sync::Mutex<Vec<Forget>>>,
    /// Moves on every publish: what `/metrics` keys its shared body by.
    generation: AtomicU64,
}

impl Snapshots {
    pub fn new(initial: Vec<ClusterSnapshot>) -> Snapshots {
        let forget = initial.iter().map(|_| Default::default()).collect();
        Snapshots {
            clusters: initial.into_iter().map(ArcSwap::from_pointee).collect(),
            forget,
            generation: AtomicU64::new(0),
        }
    }

    /// Asks cluster `cluster`'s scraper to carry out `request` at its next poll.
    pub fn request_forget(&self, cluster: usize, request: Forget) {
        if let Some(q) = self.forget.get(cluster) {
            let mut q = q.lock().unwrap_or_else(|e| e.into_inner());
            // Once each: the queue waits for the next successful poll, however many ask.
            if !q.contains(&request) {
                q.push(request);
            }
        }
    }

    /// The requests to carry out, in the order they came, taken out of the queue.
    pub fn take_forget_requests(&self, cluster: usize) -> Vec<Forget> {
        self.forget
            .get(cluster)
            .map(|q| std::mem::take(&mut *q.lock().unwrap_or_else(|e| e.into_inner())))
            .unwrap_or_default()
    }

    pub fn publish(&self, cluster: usize, snapshot: ClusterSnapshot) {
        self.clusters[cluster].store(Arc::new(snapshot));
        // After the store: a reader that sees the new generation loads the new snapshot.
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The number of publishes so far. Read it before [`Snapshots::load`]: what is loaded
    /// is then at least as new as the generation read.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn get(&self, cluster: usize) -> Arc<ClusterSnapshot> {
        self.clusters[cluster].load_full()
    }

    /// All clusters' current snapshots.
    pub fn load(&self) -> Vec<Arc<ClusterSnapshot>> {
        self.clusters.iter().map(ArcSwap::load_full).collect()
    }

    /// Every cluster has completed or failed a first poll.
    pub fn ready(&self) -> bool {
        self.clusters.iter().all(|c| c.load().health.polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Commit, WatermarkSample};

    #[test]
    fn snapshot_remaps_topics_sorted_by_name() {
        let mut store = Store::new(3);
        let ids = store.apply_metadata(1, &[("zeta", 1), ("alpha", 2)]);
        let samples: Vec<WatermarkSample> = [(ids[0], 0, 7), (ids[1], 0, 3), (ids[1], 1, 4)]
            .iter()
            .map(|&(topic, partition, l)| WatermarkSample {
                topic,
                partition,
                earliest: Some(1),
                latest: Some(l),
            })
            .collect();
        store.apply_watermarks(1, &samples);
        store.apply_group_offsets(
            1,
            "g",
            &mut [Commit::new(ids[0], 0, 5), Commit::new(ids[1], 1, 2)],
        );
        let base = ClusterSnapshot::empty("c\"1", &[("env".into(), "prod".into())]);
        assert_eq!(base.label_prefix, "cluster=\"c\\\"1\",env=\"prod\"");
        let evals = crate::evaluate::evaluate_store(&store, 1, &Default::default());
        let snap = base.from_store(&store, &evals, Health::default());
        let names: Vec<&str> = snap.topics_sorted().map(|t| &*t.name.raw).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        let parts: Vec<(&str, i32, i64)> = snap.groups[0]
            .partitions()
            .map(|(t, p, o)| (&*snap.topic(t).unwrap().name.raw, p, o))
            .collect();
        // Store order is by topic id: zeta (id 0) first.
        assert_eq!(parts, [("zeta", 0, 5), ("alpha", 1, 2)]);
    }
}
