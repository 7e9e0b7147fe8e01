//! Burrow's sliding-window evaluation, pure: no I/O, no clock (now is a parameter), no
//! allocation in the per-partition path.
//!
//! The rules follow Burrow v1.9.5 (`core/internal/evaluator/caching.go`) in their exact order:
//! lag short-circuit → STOP → REWIND → zero-lag gate → STALL → WARN. Window points come from
//! polling, not from `__consumer_offsets`: a point is appended when the committed offset is seen
//! to change (time = when the change was observed, lag = high watermark of that poll minus the
//! new offset). So STOP measures time since the last observed *change*; a consumer that keeps
//! committing the same offset looks stopped here (Burrow would call it STALL).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::{Point, Secs, Store, TrackedGroup};

/// Burrow's status codes (the numbers are Burrow's too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Status {
    NotFound = 0,
    Ok = 1,
    Warn = 2,
    Err = 3,
    Stop = 4,
    Stall = 5,
    Rewind = 6,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::NotFound,
        Status::Ok,
        Status::Warn,
        Status::Err,
        Status::Stop,
        Status::Stall,
        Status::Rewind,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotFound => "NOTFOUND",
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Err => "ERR",
            Status::Stop => "STOP",
            Status::Stall => "STALL",
            Status::Rewind => "REWIND",
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    /// The status with Burrow's code `code`; codes Burrow does not define read as NOTFOUND.
    pub fn from_code(code: u8) -> Status {
        Status::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .unwrap_or(Status::NotFound)
    }

    /// A partition status as it counts for its group: STOP, STALL and REWIND are ERR.
    pub fn for_group(self) -> Status {
        if self >= Status::Stop {
            Status::Err
        } else {
            self
        }
    }
}

/// Which rules a cluster's partitions are judged by (config key `evaluator.rules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleSet {
    /// Burrow's rules, unchanged.
    #[default]
    Burrow,
    /// Burrow's rules minus its known false alarms (see [`rules_improved`]).
    Improved,
}

/// How a cluster's group-partitions are judged (config table `evaluator`), with Burrow's
/// defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluatorConfig {
    pub rules: RuleSet,
    /// Lag at or below this counts as zero (Burrow's `allowed-lag`).
    pub allowed_lag: u64,
    /// Windows less complete than this (0 to 1) are not judged (`minimum-complete`).
    pub minimum_complete: f32,
    /// A commit observed closer than this to the previous window point replaces it and keeps
    /// its time (`min-distance`; the store applies it).
    #[serde(with = "humantime_serde")]
    pub min_distance: Duration,
    /// The cluster's poll interval in whole seconds, at least 1: the improved rules' unit of
    /// patience. Not a key of its own: validation copies it from `poll_interval`.
    #[serde(skip)]
    pub poll_interval: Secs,
}

impl Default for EvaluatorConfig {
    fn default() -> Self {
        EvaluatorConfig {
            rules: RuleSet::Burrow,
            allowed_lag: 0,
            minimum_complete: 0.0,
            min_distance: Duration::ZERO,
            poll_interval: 10,
        }
    }
}

/// The evaluation of one group-partition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartitionEval {
    pub status: Status,
    /// Window fill: points / window size (1 when full, 0 without a window).
    pub complete: f32,
    pub current_lag: u64,
    /// The window's oldest and newest points (Burrow's `start` and `end`).
    pub start: Option<Point>,
    pub end: Option<Point>,
}

/// What the evaluator needs to know about one group-partition.
#[derive(Debug, Clone, Copy)]
pub struct PartitionInput<'a> {
    /// Window points, oldest first.
    pub window: &'a [Point],
    /// Window size (`window.points`).
    pub window_size: usize,
    /// The partition's recent high watermarks (Burrow's broker-offset ring), any order.
    pub high_watermarks: &'a [i64],
    /// Newest high watermark minus the newest committed offset, clamped at 0.
    pub current_lag: u64,
}

/// Whether the rules can read `high_watermarks` for a partition with this window and lag: the
/// improved rules always may; Burrow's only to rule out STOP (`recent_zero`). Lets a caller
/// skip gathering them for the common partitions, which are not stopped.
pub fn reads_high_watermarks(
    window: &[Point],
    current_lag: u64,
    now: Secs,
    knobs: &EvaluatorConfig,
) -> bool {
    match knobs.rules {
        RuleSet::Improved => true,
        RuleSet::Burrow => {
            current_lag > knobs.allowed_lag && !window.is_empty() && stopped(window, now)
        }
    }
}

/// Evaluates one partition (Burrow's `evaluatePartitionStatus`).
pub fn evaluate_partition(
    p: &PartitionInput<'_>,
    now: Secs,
    knobs: &EvaluatorConfig,
) -> PartitionEval {
    let mut eval = PartitionEval {
        status: Status::Ok,
        complete: 0.0,
        current_lag: p.current_lag,
        start: p.window.first().copied(),
        end: p.window.last().copied(),
    };
    if p.window.is_empty() || p.window_size == 0 {
        return eval;
    }
    eval.complete = if p.window.len() >= p.window_size {
        1.0
    } else {
        p.window.len() as f32 / p.window_size as f32
    };
    if eval.complete >= knobs.minimum_complete {
        eval.status = match knobs.rules {
            RuleSet::Burrow => rules_burrow(p, now, knobs.allowed_lag),
            RuleSet::Improved => rules_improved(p, now, knobs),
        };
    }
    eval
}

/// Whether the window's newest point is older than its span (strictly), Burrow's "stopped".
fn stopped(w: &[Point], now: Secs) -> bool {
    let (first, last) = (w[0].time, w[w.len() - 1].time);
    now.saturating_sub(last) > last.saturating_sub(first)
}

/// Some recent high watermark is at or below the newest committed offset: the consumer was
/// caught up recently, so it cannot be stopped.
fn recent_zero(p: &PartitionInput<'_>) -> bool {
    let newest = p.window[p.window.len() - 1].offset;
    p.high_watermarks.iter().any(|&hw| hw <= newest)
}

/// REWIND: the first decrease of the committed offset, not yet recovered (no later point
/// reaches the offset before the drop).
fn rewound(w: &[Point]) -> bool {
    let Some(i) = (1..w.len()).find(|&i| w[i].offset < w[i - 1].offset) else {
        return false;
    };
    let before = w[i - 1].offset;
    !w[i..].iter().any(|x| x.offset >= before)
}

fn had_zero_lag(w: &[Point], allowed: u64) -> bool {
    w.iter().any(|x| x.lag.is_some_and(|l| l as u64 <= allowed))
}

fn offsets_all_equal(w: &[Point]) -> bool {
    w.windows(2).all(|x| x[0].offset == x[1].offset)
}

/// The non-null lags never strictly decrease.
fn lag_never_decreases(w: &[Point]) -> bool {
    let mut prev: Option<u32> = None;
    for l in w.iter().filter_map(|x| x.lag) {
        if prev.is_some_and(|p| l < p) {
            return false;
        }
        prev = Some(l);
    }
    true
}

/// Burrow's rules, in Burrow's order.
pub fn rules_burrow(p: &PartitionInput<'_>, now: Secs, allowed: u64) -> Status {
    let w = p.window;
    if p.current_lag <= allowed {
        return Status::Ok;
    }
    if stopped(w, now) && !recent_zero(p) {
        return Status::Stop;
    }
    if rewound(w) {
        return Status::Rewind;
    }
    if had_zero_lag(w, allowed) {
        return Status::Ok;
    }
    if offsets_all_equal(w) {
        return Status::Stall;
    }
    if lag_never_decreases(w) {
        return Status::Warn;
    }
    Status::Ok
}

/// The improved rules: Burrow's, with three false alarms removed. Each change relaxes one rule
/// only where the data cannot support the alarm; real alarms keep firing.
///
/// 1. **No STOP on fewer than 2 points.** Burrow's STOP compares the time since the newest point
///    with the window's span; one point has span 0, so every lagging partition is STOP the
///    moment it is first seen (a new group, or any group after a restart). Here a single point
///    is judged by the head instead: STALL once a full ring of high watermarks shows the head
///    moving while the offset stood still since before the ring began; otherwise OK until more
///    evidence arrives.
/// 2. **No ERR on a topic that receives no new messages.** When the whole (full) high-watermark
///    ring is flat, nothing new arrives: a consumer short of the head is not falling behind
///    (often the gap is transaction markers or compaction it can never "consume"). Burrow says
///    STOP or STALL; here it is WARN, visible but not an error.
/// 3. **Tolerance for consumers that commit rarely.** Burrow's STOP fires as soon as the
///    silence exceeds the window's span, which a consumer committing every few minutes reaches
///    with any jitter while its window is short. Here silence must also exceed twice the
///    largest gap between the window's points and two poll intervals.
pub fn rules_improved(p: &PartitionInput<'_>, now: Secs, knobs: &EvaluatorConfig) -> Status {
    let w = p.window;
    let allowed = knobs.allowed_lag;
    if p.current_lag <= allowed {
        return Status::Ok;
    }
    let hw = p.high_watermarks;
    let ring_full = hw.len() >= p.window_size;
    let head_moved = hw.iter().max() != hw.iter().min();
    let idle = ring_full && !head_moved;
    if w.len() < 2 {
        // Rule 1: one point cannot show a stop; the head can show a stall.
        return match (ring_full && head_moved, idle) {
            (true, _) if !recent_zero(p) => Status::Stall,
            (_, true) => Status::Warn,
            _ => Status::Ok,
        };
    }
    let max_gap = w
        .windows(2)
        .map(|x| x[1].time.saturating_sub(x[0].time))
        .max()
        .unwrap_or(0);
    let silence = now.saturating_sub(w[w.len() - 1].time);
    let patient = silence > 2 * max_gap && silence > 2 * knobs.poll_interval;
    let status = if stopped(w, now) && patient && !recent_zero(p) {
        Status::Stop
    } else if rewound(w) {
        Status::Rewind
    } else if had_zero_lag(w, allowed) {
        Status::Ok
    } else if offsets_all_equal(w) {
        Status::Stall
    } else if lag_never_decreases(w) {
        Status::Warn
    } else {
        Status::Ok
    };
    // Rule 2: an idle topic turns the "stuck" verdicts into a warning.
    match status {
        Status::Stop | Status::Stall if idle => Status::Warn,
        s => s,
    }
}

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

/// How a lag in seconds was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LagMethod {
    /// No estimate (no head history yet): the series is absent.
    Unknown = 0,
    /// The committed offset is at the head: 0.
    CaughtUp = 1,
    /// The committed offset lies inside the head history: interpolated between the two
    /// samples around it.
    Interpolated = 2,
    /// The consumer is behind the whole history: the age of its oldest sample, a lower bound.
    LowerBound = 3,
}

impl LagMethod {
    pub const ALL: [LagMethod; 4] = [
        LagMethod::Unknown,
        LagMethod::CaughtUp,
        LagMethod::Interpolated,
        LagMethod::LowerBound,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LagMethod::Unknown => "unknown",
            LagMethod::CaughtUp => "caught_up",
            LagMethod::Interpolated => "interpolated",
            LagMethod::LowerBound => "lower_bound",
        }
    }
}

/// How long ago the message at `committed` (the next one the group reads) was produced, from
/// the partition's head history (newest first: high watermark, time). Never negative, NaN or
/// infinite: with no sample at or below `committed` the answer is a lower bound, and with no
/// history at all there is no answer.
pub fn lag_seconds(
    committed: i64,
    history: impl IntoIterator<Item = (i64, Secs)>,
    now: Secs,
) -> (LagMethod, f64) {
    let mut samples = history.into_iter();
    let Some(mut newer) = samples.next() else {
        return (LagMethod::Unknown, 0.0);
    };
    if committed >= newer.0 {
        return (LagMethod::CaughtUp, 0.0);
    }
    for (hw, time) in samples {
        if hw <= committed {
            // The head reached committed + 1 between `time` and `newer`'s time; assume a
            // steady rate in between.
            let (h1, t1) = newer;
            // h1 > committed >= hw; saturating: no overflow at the ends of the offset range
            // (the fraction is clamped anyway).
            let frac = committed.saturating_add(1).saturating_sub(hw) as f64
                / h1.saturating_sub(hw) as f64;
            let produced = time as f64 + frac.clamp(0.0, 1.0) * t1.saturating_sub(time) as f64;
            return (LagMethod::Interpolated, (now as f64 - produced).max(0.0));
        }
        newer = (hw, time);
    }
    match now.saturating_sub(newer.1) {
        0 => (LagMethod::Unknown, 0.0),
        age => (LagMethod::LowerBound, age as f64),
    }
}

/// A group-partition's verdict packed in 32 bits: status (3 bits), [`LagMethod`] (2 bits) and
/// lag in tenths of a second (27 bits, up to ~155 days; beyond, saturated as a lower bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict(u32);

impl Verdict {
    const MAX_TENTHS: u32 = (1 << 27) - 1;

    pub fn new(status: Status, method: LagMethod, seconds: f64) -> Verdict {
        // Non-negative, so adding one half and truncating (the cast) rounds, without a libm
        // call.
        let tenths = seconds.max(0.0) * 10.0 + 0.5;
        let (method, tenths) = if tenths >= Self::MAX_TENTHS as f64 {
            (LagMethod::LowerBound, Self::MAX_TENTHS)
        } else {
            (method, tenths as u32)
        };
        Verdict(status as u32 | (method as u32) << 3 | tenths << 5)
    }

    pub fn status(self) -> Status {
        Status::from_code((self.0 & 7) as u8)
    }

    pub fn method(self) -> LagMethod {
        LagMethod::ALL[((self.0 >> 3) & 3) as usize]
    }

    /// Lag in tenths of a second as stored, `None` when unknown.
    pub fn lag_tenths(self) -> Option<u32> {
        (self.method() != LagMethod::Unknown).then_some(self.0 >> 5)
    }

    /// Lag in seconds, `None` when unknown.
    pub fn lag_seconds(self) -> Option<f64> {
        self.lag_tenths().map(|t| t as f64 / 10.0)
    }
}

/// A group's evaluation with the verdict on each of its group-partitions.
#[derive(Debug, Clone)]
pub struct GroupStatus {
    pub eval: GroupEval,
    /// Largest known lag in seconds over the group's partitions.
    pub max_lag_seconds: Option<f64>,
    /// How many partitions' lag in seconds came from each [`LagMethod`].
    pub lag_methods: [u32; 4],
    /// Verdict per group-partition, in store order.
    pub verdicts: Arc<[Verdict]>,
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
    let mut lag_methods = [0u32; 4];
    let mut fold = GroupFold::default();
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
                if reads_high_watermarks(&scratch.points, current_lag, now, knobs) {
                    scratch
                        .high_watermarks
                        .extend(store.high_watermarks(topic, partition).map(|(hw, _)| hw));
                }
                let input = PartitionInput {
                    window: &scratch.points,
                    window_size: points,
                    high_watermarks: &scratch.high_watermarks,
                    current_lag,
                };
                let eval = evaluate_partition(&input, now, knobs);
                let (method, seconds) =
                    lag_seconds(offset, store.head_history(topic, partition), now);
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
        k = end;
    }
    let eval = fold.finish();
    GroupStatus {
        eval,
        max_lag_seconds,
        lag_methods,
        verdicts: verdicts.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GroupState;
    use crate::store::Commit;

    /// Builds a window from Burrow-style test data: offsets, lags (None = null), timestamps
    /// in seconds.
    fn window(offsets: &[i64], lags: &[Option<u32>], times: &[Secs]) -> Vec<Point> {
        offsets
            .iter()
            .zip(lags)
            .zip(times)
            .map(|((&offset, &lag), &time)| Point { offset, time, lag })
            .collect()
    }

    fn burrow(w: &[Point], hw: &[i64], cur: u64, now: Secs, allowed: u64) -> Status {
        let input = PartitionInput {
            window: w,
            window_size: w.len().max(1),
            high_watermarks: hw,
            current_lag: cur,
        };
        rules_burrow(&input, now, allowed)
    }

    const T5: [Secs; 5] = [100, 200, 300, 400, 500];

    fn lags(v: &[u32]) -> Vec<Option<u32>> {
        v.iter().map(|&l| Some(l)).collect()
    }

    /// Burrow's own test vectors (burrow.md §1.4), one named case each.
    #[test]
    fn burrow_test_vectors() {
        let inc = [1000, 2000, 3000, 4000, 5000];
        let flat = [1000; 5];
        let recovered = window(
            &[1000, 2000, 3000, 2000, 4000],
            &lags(&[100, 150, 200, 1250, 300]),
            &T5,
        );
        // (name, window, head ring, current lag, now, allowed lag, expected)
        type Case = (&'static str, Vec<Point>, Vec<i64>, u64, Secs, u64, Status);
        let cases: Vec<Case> = vec![
            (
                "0 normal, had zero lag",
                window(&inc, &lags(&[0, 50, 100, 150, 200]), &T5),
                vec![5200],
                200,
                600,
                0,
                Status::Ok,
            ),
            (
                "1 not stopped at equal span",
                window(&inc, &lags(&[0, 50, 100, 150, 200]), &T5),
                vec![5200],
                200,
                900,
                0,
                Status::Ok,
            ),
            (
                "2 stopped: silence longer than span",
                window(&inc, &lags(&[0, 50, 100, 150, 200]), &T5),
                vec![5200],
                200,
                1000,
                0,
                Status::Stop,
            ),
            (
                "3 stopped with lag",
                window(&inc, &lags(&[50, 100, 150, 200, 250]), &T5),
                vec![5250],
                250,
                1000,
                0,
                Status::Stop,
            ),
            (
                "4 flat offsets but had zero lag",
                window(&flat, &lags(&[0, 50, 100, 150, 200]), &T5),
                vec![1200],
                200,
                600,
                0,
                Status::Ok,
            ),
            (
                "5 stall",
                window(&flat, &lags(&[100, 150, 200, 250, 300]), &T5),
                vec![1300],
                300,
                600,
                0,
                Status::Stall,
            ),
            (
                "6 stall with constant lag",
                window(&flat, &lags(&[100; 5]), &T5),
                vec![1100],
                100,
                600,
                0,
                Status::Stall,
            ),
            (
                "7 recovered rewind, lag decreased",
                recovered.clone(),
                vec![4300],
                300,
                600,
                0,
                Status::Ok,
            ),
            (
                "8 zero current lag wins over stop",
                window(&inc, &lags(&[50, 100, 150, 200, 250]), &T5),
                vec![5250],
                0,
                1000,
                0,
                Status::Ok,
            ),
            (
                "12 allowed lag",
                window(&[1000, 2000, 2000], &lags(&[2, 1, 1]), &[100, 200, 300]),
                vec![2001],
                1,
                550,
                1,
                Status::Ok,
            ),
            (
                "13 allowed lag does not hide a stall",
                window(&flat, &lags(&[100, 150, 200, 250, 300]), &T5),
                vec![1300],
                300,
                600,
                99,
                Status::Stall,
            ),
            (
                "14 allowed lag gate",
                recovered.clone(),
                vec![4300],
                300,
                600,
                99,
                Status::Ok,
            ),
            (
                "15 rewind not recovered",
                window(
                    &[1000, 2000, 3000, 2000, 2500],
                    &lags(&[100, 150, 200, 1250, 300]),
                    &T5,
                ),
                vec![4300],
                300,
                600,
                0,
                Status::Rewind,
            ),
            (
                "warn: lag grows",
                window(&inc, &lags(&[100, 150, 200, 250, 300]), &T5),
                vec![5300],
                300,
                600,
                0,
                Status::Warn,
            ),
        ];
        for (name, w, hw, cur, now, allowed, want) in cases {
            assert_eq!(burrow(&w, &hw, cur, now, allowed), want, "case {name}");
        }
    }

    /// Burrow cases 9 and 10: 15 commits a second apart, lag 0, then silence.
    #[test]
    fn recent_zero_lag_in_the_head_ring_prevents_stop() {
        let times: Vec<Secs> = (0..15).map(|i| 1000 + i).collect();
        let offsets: Vec<i64> = (0..15).map(|i| 100 + i * 10).collect();
        let w = window(&offsets, &[Some(0); 15], &times);
        let last = *offsets.last().unwrap();
        let now = 1014 + 18;
        assert_eq!(
            burrow(&w, &[last + 5, last + 931], 931, now, 0),
            Status::Stop
        );
        assert_eq!(burrow(&w, &[last, last + 1], 1, now, 0), Status::Ok);
    }

    #[test]
    fn null_lags() {
        // Case 11: null-lag points between are skipped by the zero-lag gate and WARN.
        let w = window(
            &[1000, 1500, 2000, 3000, 4000, 4500, 5000],
            &[
                Some(0),
                None,
                Some(50),
                Some(100),
                Some(150),
                None,
                Some(200),
            ],
            &[100, 150, 200, 300, 400, 450, 500],
        );
        assert_eq!(burrow(&w, &[5700], 200, 600, 0), Status::Ok);
        // All null: no gate; STALL if offsets are equal, else WARN.
        let all_null = [None; 3];
        let t3 = [100, 200, 300];
        assert_eq!(
            burrow(&window(&[5, 5, 5], &all_null, &t3), &[900], 9, 350, 0),
            Status::Stall
        );
        assert_eq!(
            burrow(&window(&[5, 6, 7], &all_null, &t3), &[900], 9, 350, 0),
            Status::Warn
        );
    }

    #[test]
    fn ordering_stop_before_rewind_before_gate() {
        // A rewound, stopped partition is STOP: STOP is checked first.
        let w = window(&[1000, 2000, 1500], &lags(&[0, 100, 700]), &[100, 200, 300]);
        assert_eq!(burrow(&w, &[2200], 700, 600, 0), Status::Stop);
        // Not stopped: REWIND wins over the zero-lag gate (lag 0 at the first point).
        assert_eq!(burrow(&w, &[2200], 700, 400, 0), Status::Rewind);
        // A later commit past the old offset clears the rewind; then the gate says OK.
        let w = window(
            &[1000, 2000, 1500, 2100],
            &lags(&[0, 100, 700, 100]),
            &[100, 200, 300, 400],
        );
        assert_eq!(burrow(&w, &[2200], 100, 500, 0), Status::Ok);
        // Only the first decrease counts: a second one after recovery is ignored.
        let w = window(&[10, 5, 20, 15, 16], &lags(&[1, 20, 25, 30, 31]), &T5);
        assert_eq!(burrow(&w, &[31], 15, 600, 0), Status::Warn);
    }

    #[test]
    fn single_point_window() {
        let w = window(&[100], &lags(&[50]), &[1000]);
        // Burrow: STOP as soon as now > ts, unless a head sample is at or below the offset.
        assert_eq!(burrow(&w, &[150], 50, 1001, 0), Status::Stop);
        assert_eq!(burrow(&w, &[100, 150], 50, 1001, 0), Status::Stall);
        // Same second: not stopped; the vacuous STALL loop says STALL.
        assert_eq!(burrow(&w, &[150], 50, 1000, 0), Status::Stall);
    }

    #[test]
    fn minimum_complete_and_complete() {
        let w = window(&[1000; 5], &lags(&[100; 5]), &T5);
        let input = PartitionInput {
            window: &w,
            window_size: 10,
            high_watermarks: &[1100],
            current_lag: 100,
        };
        let mut knobs = EvaluatorConfig::default();
        let e = evaluate_partition(&input, 600, &knobs);
        assert_eq!((e.status, e.complete), (Status::Stall, 0.5));
        assert_eq!((e.start, e.end), (Some(w[0]), Some(w[4])));
        knobs.minimum_complete = 0.6;
        let e = evaluate_partition(&input, 600, &knobs);
        assert_eq!((e.status, e.complete), (Status::Ok, 0.5));
        let empty = PartitionInput {
            window: &[],
            ..input
        };
        let e = evaluate_partition(&empty, 600, &knobs);
        assert_eq!(
            (e.status, e.complete, e.current_lag),
            (Status::Ok, 0.0, 100)
        );
    }

    /// The three pictures users know, under both rule sets.
    #[test]
    fn pictures() {
        let knobs = EvaluatorConfig::default();
        let improved = EvaluatorConfig {
            rules: RuleSet::Improved,
            ..knobs
        };
        let times: Vec<Secs> = (0..10).map(|i| 1000 + i * 10).collect();
        // A normal consumer: keeps up, lag goes to zero now and then.
        let normal = window(
            &(0..10).map(|i| 1000 + i * 100).collect::<Vec<_>>(),
            &lags(&[5, 0, 12, 3, 0, 8, 1, 0, 4, 2]),
            &times,
        );
        // Slower than its producer: lag grows at every point.
        let slow = window(
            &(0..10).map(|i| 1000 + i * 50).collect::<Vec<_>>(),
            &lags(&(0..10).map(|i| 50 + i * 50).collect::<Vec<_>>()),
            &times,
        );
        // Its offset stops while the head advances.
        let stuck = window(
            &[1000; 10],
            &lags(&(0..10).map(|i| 10 + i * 100).collect::<Vec<_>>()),
            &times,
        );
        for k in [knobs, improved] {
            let eval = |w: &[Point], hw: &[i64], cur: u64, now: Secs| {
                let input = PartitionInput {
                    window: w,
                    window_size: 10,
                    high_watermarks: hw,
                    current_lag: cur,
                };
                evaluate_partition(&input, now, &k).status
            };
            let hw: Vec<i64> = (0..10).map(|i| 1900 + i * 10).collect();
            assert_eq!(
                eval(&normal, &hw, 2, 1100),
                Status::Ok,
                "{:?} normal",
                k.rules
            );
            let mut g = GroupFold::default();
            g.add(
                0,
                0,
                &PartitionEval {
                    status: Status::Ok,
                    complete: 1.0,
                    current_lag: 2,
                    start: None,
                    end: None,
                },
            );
            assert_eq!(g.finish().status, Status::Ok);

            let hw: Vec<i64> = (0..10).map(|i| 1500 + i * 100).collect();
            let s = eval(&slow, &hw, 600, 1100);
            assert_eq!(s, Status::Warn, "{:?} slow", k.rules);

            let hw: Vec<i64> = (0..10).map(|i| 1100 + i * 100).collect();
            let s = eval(&stuck, &hw, 1000, 1100);
            assert!(
                matches!(s, Status::Stall | Status::Stop),
                "{:?} stuck: {s:?}",
                k.rules
            );
            let mut g = GroupFold::default();
            g.add(
                0,
                0,
                &PartitionEval {
                    status: Status::Ok,
                    complete: 1.0,
                    current_lag: 2,
                    start: None,
                    end: None,
                },
            );
            g.add(
                0,
                1,
                &PartitionEval {
                    status: s,
                    complete: 1.0,
                    current_lag: 1000,
                    start: None,
                    end: None,
                },
            );
            let g = g.finish();
            assert_eq!(
                (
                    g.status,
                    g.max_lag.map(|m| (m.partition, m.lag)),
                    g.total_lag
                ),
                (Status::Err, Some((1, 1000)), 1002)
            );
        }
    }

    #[test]
    fn group_fold() {
        let p = |status, complete, current_lag| PartitionEval {
            status,
            complete,
            current_lag,
            start: None,
            end: None,
        };
        let mut g = GroupFold::default();
        g.add(3, 0, &p(Status::Warn, 1.0, 7));
        g.add(3, 1, &p(Status::Ok, 0.5, 9));
        g.add(3, 2, &p(Status::Ok, 1.0, 9));
        g.add(3, 3, &p(Status::Rewind, 1.0, 1));
        let e = g.finish();
        assert_eq!(e.status, Status::Err);
        assert_eq!(e.partition_count, 4);
        assert_eq!(e.total_lag, 26);
        let first = MaxLag {
            topic: 3,
            partition: 1,
            lag: 9,
        };
        assert_eq!(e.max_lag, Some(first), "first of the tied maxima");
        assert_eq!(e.complete, 0.75);
        assert_eq!(GroupFold::default().finish().complete, 0.0);
        assert_eq!(GroupFold::default().finish().status, Status::Ok);
        let nf = GroupEval::not_found();
        assert_eq!(
            (
                nf.status,
                nf.complete,
                nf.partition_count,
                nf.total_lag,
                nf.max_lag
            ),
            (Status::NotFound, 1.0, 0, 0, None)
        );
    }

    #[test]
    fn improved_rule_1_no_stop_on_one_point() {
        let k = EvaluatorConfig {
            rules: RuleSet::Improved,
            ..EvaluatorConfig::default()
        };
        let w = window(&[100], &lags(&[50]), &[1000]);
        let input = |hw: &'static [i64]| PartitionInput {
            window: &[],
            window_size: 3,
            high_watermarks: hw,
            current_lag: 50,
        };
        // Burrow: STOP at once. Improved: OK until the head ring shows movement.
        assert_eq!(burrow(&w, &[150], 50, 1001, 0), Status::Stop);
        let p = PartitionInput {
            window: &w,
            ..input(&[150])
        };
        assert_eq!(rules_improved(&p, 1001, &k), Status::Ok);
        // Full ring, head moving, offset still: a real stall is still reported.
        let p = PartitionInput {
            window: &w,
            ..input(&[150, 160, 170])
        };
        assert_eq!(rules_improved(&p, 1030, &k), Status::Stall);
    }

    #[test]
    fn improved_rule_2_idle_topic_is_not_an_error() {
        let k = EvaluatorConfig {
            rules: RuleSet::Improved,
            ..EvaluatorConfig::default()
        };
        // Transaction markers: offset 99, head 100, nothing produced for the whole ring.
        let w = window(&[90, 99], &lags(&[10, 1]), &[100, 110]);
        let p = PartitionInput {
            window: &w,
            window_size: 3,
            high_watermarks: &[100, 100, 100],
            current_lag: 1,
        };
        assert_eq!(rules_burrow(&p, 1000, 0), Status::Stop);
        assert_eq!(rules_improved(&p, 1000, &k), Status::Warn);
        // The head moves: the stop is real and still reported.
        let p = PartitionInput {
            high_watermarks: &[100, 150, 200],
            current_lag: 101,
            ..p
        };
        assert_eq!(rules_improved(&p, 1000, &k), Status::Stop);
    }

    #[test]
    fn improved_rule_3_rare_committers() {
        let k = EvaluatorConfig {
            rules: RuleSet::Improved,
            poll_interval: 10,
            ..EvaluatorConfig::default()
        };
        // Commits every 60 s; observed 61 s after the last with a two-point window.
        let w = window(&[1000, 1600], &lags(&[300, 300]), &[1000, 1060]);
        let p = PartitionInput {
            window: &w,
            window_size: 10,
            high_watermarks: &[1900, 1950],
            current_lag: 350,
        };
        assert_eq!(rules_burrow(&p, 1121, 0), Status::Stop);
        assert_eq!(rules_improved(&p, 1121, &k), Status::Warn);
        // Silent for more than twice its cadence: stopped after all.
        assert_eq!(rules_improved(&p, 1181, &k), Status::Stop);
    }

    /// A steady producer: 40 messages per second, sampled every 10 s for an hour.
    fn steady_history(now: Secs) -> Vec<(i64, Secs)> {
        (0..360)
            .map(|k| ((now - k * 10) as i64 * 40, now - k * 10))
            .collect()
    }

    #[test]
    fn threads_do_not_change_the_result() {
        use crate::store::WatermarkSample;
        let mut store = Store::new(4);
        let ids = store.apply_metadata(0, &[("t", 8)]);
        for poll in 0..5u32 {
            let now = poll * 10;
            let samples: Vec<WatermarkSample> = (0..8)
                .map(|p| WatermarkSample {
                    topic: ids[0],
                    partition: p,
                    earliest: Some(0),
                    latest: Some(i64::from(poll) * 100 + i64::from(p)),
                })
                .collect();
            store.apply_watermarks(now, &samples);
            // Groups listed without commits (no partitions) sit between the others.
            store.apply_group_state(now, "empty-a", GroupState::Empty);
            store.apply_group_state(now, "g05-empty", GroupState::Empty);
            // 13 groups of 1 to 8 partitions, lagging, caught up or stopped.
            for g in 0..13i64 {
                let mut commits: Vec<Commit> = (0..=(g % 8) as i32)
                    .map(|p| {
                        let offset = (i64::from(poll) * 100 - g * 7).max(0) * (g % 3);
                        Commit::new(ids[0], p, offset)
                    })
                    .collect();
                store.apply_group_offsets(now, &format!("g{g:02}"), &mut commits);
            }
        }
        let knobs = EvaluatorConfig::default();
        let one = evaluate_store_on(&store, 45, &knobs, 1);
        assert_eq!(one.len(), 15);
        for threads in [2, 3, 5, 13, 20] {
            let many = evaluate_store_on(&store, 45, &knobs, threads);
            assert_eq!(many.len(), one.len(), "{threads} threads");
            for (a, b) in one.iter().zip(&many) {
                assert_eq!(a.eval, b.eval, "{threads} threads");
                assert_eq!(a.verdicts, b.verdicts, "{threads} threads");
                assert_eq!(a.lag_methods, b.lag_methods, "{threads} threads");
                assert_eq!(a.max_lag_seconds, b.max_lag_seconds, "{threads} threads");
            }
        }
        let statuses: std::collections::BTreeSet<Status> = one
            .iter()
            .flat_map(|g| g.verdicts.iter().map(|v| v.status()))
            .collect();
        assert!(statuses.len() >= 2, "a mix of statuses: {statuses:?}");
    }

    #[test]
    fn a_recent_head_at_the_offset_still_rules_out_stop_in_a_store() {
        // The evaluator reads a partition's head ring only for partitions that look stopped
        // (`reads_high_watermarks`); this one does, and its ring holds the head at the
        // committed offset, so Burrow's rules say STALL, not STOP.
        use crate::store::WatermarkSample;
        let mut store = Store::new(4);
        let ids = store.apply_metadata(100, &[("t", 1)]);
        for (now, latest) in [(100, 90), (110, 95), (120, 97), (130, 99)] {
            store.apply_watermarks(
                now,
                &[WatermarkSample {
                    topic: ids[0],
                    partition: 0,
                    earliest: Some(0),
                    latest: Some(latest),
                }],
            );
            if now >= 110 {
                store.apply_group_offsets(now, "g", &mut [Commit::new(ids[0], 0, 90)]);
            }
        }
        let hws: Vec<i64> = store.high_watermarks(ids[0], 0).map(|(hw, _)| hw).collect();
        assert_eq!(hws, [99, 97, 95, 90]);
        let g = store.group("g").unwrap();
        let window: Vec<Point> = g.window(0, 4).collect();
        assert_eq!(window.len(), 1, "{window:?}");
        assert!(reads_high_watermarks(
            &window,
            9,
            130,
            &EvaluatorConfig::default()
        ));
        let evals = evaluate_store(&store, 130, &EvaluatorConfig::default());
        assert_eq!(evals[0].verdicts[0].status(), Status::Stall);
        // Without the ring the same window is STOP: the ring is what decides.
        let input = PartitionInput {
            window: &window,
            window_size: 4,
            high_watermarks: &[],
            current_lag: 9,
        };
        assert_eq!(rules_burrow(&input, 130, 0), Status::Stop);
    }

    #[test]
    fn group_counts_uncommitted_partitions_like_burrow() {
        use crate::store::WatermarkSample;
        let mut store = Store::new(3);
        let ids = store.apply_metadata(10, &[("b-topic", 3), ("a-topic", 2)]);
        let samples: Vec<WatermarkSample> = [
            (ids[0], 0, 50),
            (ids[0], 1, 60),
            (ids[0], 2, 70),
            (ids[1], 0, 5),
            (ids[1], 1, 9),
        ]
        .iter()
        .map(|&(topic, partition, l)| WatermarkSample {
            topic,
            partition,
            earliest: Some(0),
            latest: Some(l),
        })
        .collect();
        store.apply_watermarks(10, &samples);
        // Partition 1 of b-topic has no commit; a-topic's partition 1 lags as much as b/2.
        store.apply_group_offsets(
            10,
            "g",
            &mut [
                Commit::new(ids[0], 0, 50),
                Commit::new(ids[0], 2, 60),
                Commit::new(ids[1], 1, 0),
                Commit::new(ids[1], 0, 5),
            ],
        );
        let evals = evaluate_store(&store, 10, &EvaluatorConfig::default());
        let e = evals[0].eval;
        assert_eq!(
            e.partition_count, 5,
            "2 + 3 partitions, one without a commit"
        );
        assert_eq!(e.total_lag, 19);
        // b-topic/2 lags 10, more than a-topic/1 (9).
        assert_eq!(
            e.max_lag,
            Some(MaxLag {
                topic: ids[0],
                partition: 2,
                lag: 10
            })
        );
        assert_eq!(e.complete, 0.0);
        // Now both lag 9: the tie goes to the topic first by name.
        let mut store2 = store;
        store2.apply_group_offsets(
            11,
            "g",
            &mut [
                Commit::new(ids[0], 0, 50),
                Commit::new(ids[0], 2, 61),
                Commit::new(ids[1], 1, 0),
                Commit::new(ids[1], 0, 5),
            ],
        );
        let e = evaluate_store(&store2, 11, &EvaluatorConfig::default())[0].eval;
        assert_eq!(
            e.max_lag,
            Some(MaxLag {
                topic: ids[1],
                partition: 1,
                lag: 9
            })
        );
    }

    #[test]
    fn lag_seconds_cases() {
        let now = 100_000;
        let h = steady_history(now);
        // Interpolation on a steady producer: within 5 % of the truth (here exact to 0.1 s).
        for behind in [25.0, 125.0, 1234.5] {
            let committed = ((now as f64 - behind) * 40.0) as i64;
            let (m, s) = lag_seconds(committed, h.iter().copied(), now);
            assert_eq!(m, LagMethod::Interpolated);
            assert!((s - behind).abs() <= behind * 0.05, "{behind}: {s}");
        }
        // Caught up, or a commit above the head (topic re-created between reads): 0.
        assert_eq!(
            lag_seconds(now as i64 * 40, h.iter().copied(), now),
            (LagMethod::CaughtUp, 0.0)
        );
        assert_eq!(
            lag_seconds(i64::MAX, h.iter().copied(), now),
            (LagMethod::CaughtUp, 0.0)
        );
        // Behind the whole history: a finite lower bound, the age of the oldest sample.
        let (m, s) = lag_seconds(0, h.iter().copied(), now);
        assert_eq!((m, s), (LagMethod::LowerBound, 3590.0));
        // No history: unknown, and a single sample taken now says nothing either.
        assert_eq!(lag_seconds(5, [], now), (LagMethod::Unknown, 0.0));
        assert_eq!(lag_seconds(5, [(10, now)], now), (LagMethod::Unknown, 0.0));
    }

    #[test]
    fn lag_seconds_on_an_idle_topic() {
        // The head stopped at 500 at t=1000 after moving 10/s; the consumer is at 300.
        let now = 5000;
        let mut h: Vec<(i64, Secs)> = (0..10).map(|k| (500, now - k * 10)).collect();
        h.push((500, 1000));
        h.push((400, 990));
        h.push((200, 970));
        let (m, s) = lag_seconds(300, h.iter().copied(), now);
        assert_eq!(m, LagMethod::Interpolated);
        // Offset 300 was produced at ~980.1 s: it is ~4020 s old, and keeps ageing.
        assert!((s - 4019.9).abs() < 0.01, "{s}");
        let (_, later) = lag_seconds(300, h.iter().copied(), now + 60);
        assert!((later - s - 60.0).abs() < 1e-9);
        // Caught up on an idle topic: 0, not a growing number.
        assert_eq!(lag_seconds(500, h.iter().copied(), now).1, 0.0);
    }

    #[test]
    fn lag_seconds_after_offsets_went_back() {
        // Topic re-created: the history restarted at small offsets; the group still holds a
        // commit from the old topic, far above the new head. Finite and non-negative.
        let now = 2000;
        let h = [(30i64, now), (20, now - 10), (10, now - 20)];
        assert_eq!(lag_seconds(9_000, h, now), (LagMethod::CaughtUp, 0.0));
        // And a fresh commit below everything: a lower bound.
        assert_eq!(lag_seconds(3, h, now), (LagMethod::LowerBound, 20.0));
    }

    #[test]
    fn all_lag_values_are_finite() {
        let now = 1_000_000;
        let histories: Vec<Vec<(i64, Secs)>> = vec![
            vec![],
            vec![(0, now)],
            vec![(5, now), (5, now), (5, 0)],
            vec![(i64::MAX, now), (i64::MIN + 1, 0)],
            vec![(10, now), (0, now)],
            steady_history(now),
        ];
        for h in &histories {
            for c in [i64::MIN, -1, 0, 1, 5, 7, 39_000_000, i64::MAX] {
                let (m, s) = lag_seconds(c, h.iter().copied(), now);
                assert!(s.is_finite() && s >= 0.0, "{c} {h:?}: {m:?} {s}");
                let v = Verdict::new(Status::Ok, m, s);
                assert!(v.lag_seconds().is_none_or(|x| x.is_finite() && x >= 0.0));
            }
        }
    }

    #[test]
    fn verdict_packing() {
        let v = Verdict::new(Status::Rewind, LagMethod::Interpolated, 12.34);
        assert_eq!(
            (v.status(), v.method(), v.lag_seconds()),
            (Status::Rewind, LagMethod::Interpolated, Some(12.3))
        );
        let v = Verdict::new(Status::Ok, LagMethod::Unknown, 0.0);
        assert_eq!(v.lag_seconds(), None);
        let v = Verdict::new(Status::Warn, LagMethod::Interpolated, 1e12);
        assert_eq!(
            v.method(),
            LagMethod::LowerBound,
            "saturated values are lower bounds"
        );
        assert_eq!(v.lag_seconds(), Some(((1u32 << 27) - 1) as f64 / 10.0));
        // Rounded to the nearest tenth.
        let v = Verdict::new(Status::Ok, LagMethod::Interpolated, 7.96);
        assert_eq!(v.lag_seconds(), Some(8.0));
        let v = Verdict::new(Status::Ok, LagMethod::Interpolated, 7.94);
        assert_eq!(v.lag_seconds(), Some(7.9));
        assert_eq!(v.lag_tenths(), Some(79));
    }

    #[test]
    fn status_codes_and_names() {
        let all = [
            (Status::NotFound, 0, "NOTFOUND"),
            (Status::Ok, 1, "OK"),
            (Status::Warn, 2, "WARN"),
            (Status::Err, 3, "ERR"),
            (Status::Stop, 4, "STOP"),
            (Status::Stall, 5, "STALL"),
            (Status::Rewind, 6, "REWIND"),
        ];
        for (s, code, name) in all {
            assert_eq!((s.code(), s.as_str()), (code, name));
            assert_eq!(Status::from_code(code), s);
        }
        assert_eq!(Status::from_code(7), Status::NotFound);
        assert_eq!(Status::Stall.for_group(), Status::Err);
        assert_eq!(Status::Warn.for_group(), Status::Warn);
    }
}
