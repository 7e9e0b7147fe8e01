//! A group's evaluation: partition verdicts folded into the group's (Burrow's
//! `evaluateGroup`), and a whole store evaluated, on several threads when it is large.

use std::sync::Arc;

use super::{
    evaluate_partition, lag_seconds, reads_high_watermarks, record_age, EvaluatorConfig, LagMethod,
    PartitionEval, PartitionInput, Rates, Status, Verdict,
};
use crate::store::{Point, Secs, Store, TrackedGroup};

/// A group's evaluation (Burrow's `evaluateGroup`), folded over its partitions in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupEval {
    pub status: Status,
    /// Share of partitions whose window is full.
    pub complete: f32,
    pub partition_count: u32,
    pub total_lag: u64,
    /// The partition with the largest current lag; the first in fold order wins ties, so
    /// the result is deterministic.
    pub max_lag: Option<MaxLag>,
}

/// Where a group's largest current lag is: topic id, partition, lag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxLag {
    pub topic: u32,
    pub partition: i32,
    pub lag: u64,
}

/// Folds partition evaluations into a group's. Feed partitions in a deterministic order
/// (topics by name, partitions ascending).
#[derive(Debug, Clone, Copy)]
pub struct GroupFold {
    status: Status,
    full: u32,
    count: u32,
    total_lag: u64,
    max_lag: Option<MaxLag>,
}

impl Default for GroupFold {
    fn default() -> Self {
        GroupFold {
            status: Status::Ok,
            full: 0,
            count: 0,
            total_lag: 0,
            max_lag: None,
        }
    }
}

impl GroupEval {
    /// Burrow's answer for a group it does not know (unknown, or expired).
    pub fn not_found() -> GroupEval {
        GroupEval {
            status: Status::NotFound,
            complete: 1.0,
            partition_count: 0,
            total_lag: 0,
            max_lag: None,
        }
    }
}

impl GroupFold {
    /// Adds partition `partition` of topic `topic`.
    #[inline]
    pub fn add(&mut self, topic: u32, partition: i32, p: &PartitionEval) {
        let g = p.status.for_group();
        if g > self.status {
            self.status = g;
        }
        if self.max_lag.is_none_or(|m| p.current_lag > m.lag) {
            self.max_lag = Some(MaxLag {
                topic,
                partition,
                lag: p.current_lag,
            });
        }
        if p.complete >= 1.0 {
            self.full += 1;
        }
        self.total_lag = self.total_lag.saturating_add(p.current_lag);
        self.count += 1;
    }

    pub fn finish(self) -> GroupEval {
        GroupEval {
            status: self.status,
            complete: if self.count > 0 {
                self.full as f32 / self.count as f32
            } else {
                0.0
            },
            partition_count: self.count,
            total_lag: self.total_lag,
            max_lag: self.max_lag,
        }
    }
}

/// A group's evaluation with the verdict on each of its group-partitions.
#[derive(Debug, Clone)]
pub struct GroupStatus {
    pub eval: GroupEval,
    /// Largest known lag in seconds over the group's partitions.
    pub max_lag_seconds: Option<f64>,
    /// How many partitions' lag in seconds came from each [`LagMethod`](super::LagMethod).
    pub lag_methods: [u32; LagMethod::ALL.len()],
    /// Verdict per group-partition, in store order.
    pub verdicts: Arc<[Verdict]>,
    /// Movement sums per topic (topic id), topics by name (see [`super::rates`]).
    pub topic_rates: Arc<[(u32, Rates)]>,
}

impl GroupStatus {
    /// Movement sums of the whole group: its topics' added up.
    pub fn rates(&self) -> Rates {
        let mut rates = Rates::default();
        for (_, r) in self.topic_rates.iter() {
            rates.add(r);
        }
        rates
    }
}

/// Reusable buffers, so evaluating a million group-partitions allocates once per group.
#[derive(Debug, Default)]
pub struct Scratch {
    points: Vec<Point>,
    high_watermarks: Vec<i64>,
    runs: Vec<usize>,
}

/// Group-partitions per evaluation thread: a store of up to 100,000 is evaluated on the calling
/// thread, a larger one on a thread per started 100,000 (a thread costs nothing measurable
/// there, and two halve a large store's evaluation on two cores).
const GROUP_PARTITIONS_PER_THREAD: usize = 100_000;
/// At most this many evaluation threads.
const MAX_THREADS: usize = 8;

/// Evaluates every group of `store`, in the store's group order. A large store is split into
/// contiguous slices of groups of about equal size, evaluated on scoped threads (up to the
/// machine's parallelism); the result is the same as on one thread.
pub fn evaluate_store(store: &Store, now: Secs, knobs: &EvaluatorConfig) -> Vec<GroupStatus> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = store
        .group_partitions()
        .div_ceil(GROUP_PARTITIONS_PER_THREAD);
    evaluate_store_on(store, now, knobs, wanted.clamp(1, cores.min(MAX_THREADS)))
}

/// [`evaluate_store`] on at most `threads` threads (1: the calling thread only). A thread the
/// system refuses is not an error: its slice is evaluated on the calling thread.
pub fn evaluate_store_on(
    store: &Store,
    now: Secs,
    knobs: &EvaluatorConfig,
    threads: usize,
) -> Vec<GroupStatus> {
    let evaluate_slice = |groups: &[&TrackedGroup]| {
        let mut scratch = Scratch::default();
        groups
            .iter()
            .map(|g| evaluate_group(store, g, now, knobs, &mut scratch))
            .collect::<Vec<_>>()
    };
    let groups: Vec<&TrackedGroup> = store.groups().collect();
    if threads <= 1 || groups.len() < 2 {
        return evaluate_slice(&groups);
    }
    // Cut where the running count of group-partitions passes each k/threads of the total.
    let total: usize = groups.iter().map(|g| g.len()).sum();
    let mut cuts = vec![0];
    let mut seen = 0;
    for (i, g) in groups.iter().enumerate() {
        let passed = total > 0 && seen * threads >= total * cuts.len();
        if passed && cuts.len() < threads && i > *cuts.last().unwrap_or(&0) {
            cuts.push(i);
        }
        seen += g.len();
    }
    cuts.push(groups.len());
    std::thread::scope(|scope| {
        // Either a running thread or, when spawning failed, the slice to evaluate here.
        let slices: Vec<_> = cuts
            .windows(2)
            .map(|c| {
                let slice = &groups[c[0]..c[1]];
                std::thread::Builder::new()
                    .name("warren-evaluate".into())
                    .spawn_scoped(scope, move || evaluate_slice(slice))
                    .map_err(|_| slice)
            })
            .collect();
        let mut out = Vec::with_capacity(groups.len());
        for slice in slices {
            match slice {
                Ok(thread) => match thread.join() {
                    Ok(evals) => out.extend(evals),
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(slice) => out.extend(evaluate_slice(slice)),
            }
        }
        out
    })
}

/// Evaluates one group. Partitions are folded topic by topic in name order, partitions
/// ascending, so the max-lag tie-break is deterministic.
pub fn evaluate_group(
    store: &Store,
    g: &TrackedGroup,
    now: Secs,
    knobs: &EvaluatorConfig,
    scratch: &mut Scratch,
) -> GroupStatus {
    let points = store.points();
    let mut verdicts = vec![Verdict::default(); g.len()];
    let mut max_lag_seconds: Option<f64> = None;
    let mut lag_methods = [0u32; LagMethod::ALL.len()];
    let mut fold = GroupFold::default();
    let mut topic_rates: Vec<(u32, Rates)> = Vec::new();
    scratch.runs.clear();
    scratch.runs.extend(0..g.runs.len());
    let topic_name = |id: u32| store.topic(id).map(|t| &*t.name.raw);
    // Topics by name; a topic's runs keep their (ascending partition) order.
    scratch.runs.sort_by(|&a, &b| {
        topic_name(g.runs[a].topic)
            .cmp(&topic_name(g.runs[b].topic))
            .then(a.cmp(&b))
    });
    // Burrow lists every partition of a topic once the group committed to any of them; the
    // others count with complete 0 (so `partition_count` and `complete` match Burrow's).
    let uncommitted = PartitionEval {
        status: Status::Ok,
        complete: 0.0,
        current_lag: 0,
        start: None,
        end: None,
    };
    let mut k = 0;
    while k < scratch.runs.len() {
        let topic = g.runs[scratch.runs[k]].topic;
        let end = k + scratch.runs[k..]
            .iter()
            .take_while(|&&r| g.runs[r].topic == topic)
            .count();
        let watermarks = store.topic(topic).map(|t| &t.watermarks);
        let partition_count = watermarks.map_or(0, |w| w.len() as i32);
        let mut rates = Rates::default();
        let mut next = 0;
        for &r in &scratch.runs[k..end] {
            let run = g.runs[r];
            for p in next..run.first {
                fold.add(topic, p, &uncommitted);
            }
            next = run.first + run.len as i32;
            for (i, partition) in run.partitions() {
                let offset = g.offsets[i];
                // Burrow: no head yet counts as no lag.
                let current_lag = watermarks
                    .and_then(|w| w.get(partition as usize))
                    .and_then(|w| w.lag(offset))
                    .unwrap_or(0);
                // Oldest first, written from the back (the store yields newest first).
                let len = g.window_len(i);
                scratch.points.resize(len, Point::default());
                for (slot, point) in scratch.points.iter_mut().rev().zip(g.window(i, points)) {
                    *slot = point;
                }
                scratch.high_watermarks.clear();
                let mut high_watermarks_since = 0;
                if reads_high_watermarks(&scratch.points, current_lag, now, knobs) {
                    // Newest first: the last time seen is the ring's oldest.
                    scratch
                        .high_watermarks
                        .extend(store.high_watermarks(topic, partition).map(|(hw, time)| {
                            high_watermarks_since = time;
                            hw
                        }));
                }
                let input = PartitionInput {
                    window: &scratch.points,
                    window_size: points,
                    high_watermarks: &scratch.high_watermarks,
                    high_watermarks_since,
                    current_lag,
                };
                let eval = evaluate_partition(&input, now, knobs);
                rates.add_partition(scratch.points.first(), offset, current_lag, now);
                // A record read at the committed offset answers exactly; without one (record
                // mode off, not read yet, over the read budget) the head history estimates.
                let record = (current_lag > 0)
                    .then(|| store.record_time(topic, partition, offset))
                    .flatten();
                let (method, seconds) = match record {
                    Some(r) => (r.method(offset), record_age(r.timestamp_ms, now)),
                    None => lag_seconds(offset, store.head_history(topic, partition), now),
                };
                let verdict = Verdict::new(eval.status, method, seconds);
                if let Some(s) = verdict.lag_seconds() {
                    max_lag_seconds = Some(max_lag_seconds.map_or(s, |m| m.max(s)));
                }
                lag_methods[verdict.method() as usize] += 1;
                verdicts[i] = verdict;
                fold.add(topic, partition, &eval);
            }
        }
        for p in next..partition_count {
            fold.add(topic, p, &uncommitted);
        }
        topic_rates.push((topic, rates));
        k = end;
    }
    let eval = fold.finish();
    GroupStatus {
        eval,
        max_lag_seconds,
        lag_methods,
        verdicts: verdicts.into(),
        topic_rates: topic_rates.into(),
    }
}
