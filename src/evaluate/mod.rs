//! Burrow's sliding-window evaluation, pure: no I/O, no clock (now is a parameter), no
//! allocation in the per-partition path.
//!
//! The rules follow Burrow v1.9.5 (`core/internal/evaluator/caching.go`) in their exact order:
//! lag short-circuit → STOP → REWIND → zero-lag gate → STALL → WARN. Window points come from
//! polling, not from `__consumer_offsets`: a point is appended when the committed offset is seen
//! to change (time = when the change was observed, lag = high watermark of that poll minus the
//! new offset). So STOP measures time since the last observed *change*; a consumer that keeps
//! committing the same offset looks stopped here (Burrow would call it STALL).
//!
//! The parts: this module, the statuses, the configuration and the rules for one partition;
//! [`lag_seconds`](mod@lag_seconds), lag in seconds and the packed per-partition [`Verdict`];
//! [`group`], the fold into a group's evaluation and the evaluation of a whole store;
//! [`rates`], consume rate, lag velocity and time to catch up.

mod group;
mod lag_seconds;
pub mod rates;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::{Point, Secs};

pub use group::{
    evaluate_group, evaluate_store, evaluate_store_on, GroupEval, GroupFold, GroupStatus, MaxLag,
    Scratch,
};
pub use lag_seconds::{lag_seconds, record_age, LagMethod, Verdict};
pub use rates::{Rates, Trend};

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
    #[inline]
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
    /// When the oldest of `high_watermarks` was sampled (0 when there are none): the improved
    /// rules flag a single point only when it is older than the ring.
    pub high_watermarks_since: Secs,
    /// Newest high watermark minus the newest committed offset, clamped at 0.
    pub current_lag: u64,
}

/// Whether the rules can read `high_watermarks` for a partition with this window and lag: the
/// improved rules always may; Burrow's only to rule out STOP (`recent_zero`). Lets a caller
/// skip gathering them for the common partitions, which are not stopped.
#[inline]
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
#[inline]
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
    w.iter().any(|x| x.lag.is_some_and(|l| l <= allowed))
}

fn offsets_all_equal(w: &[Point]) -> bool {
    w.windows(2).all(|x| x[0].offset == x[1].offset)
}

/// The non-null lags never strictly decrease.
fn lag_never_decreases(w: &[Point]) -> bool {
    let mut prev: Option<u64> = None;
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
///    moving while the offset stood still since before the ring began (the point is older than
///    the ring's oldest sample); otherwise OK until more evidence arrives.
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
        // Rule 1: one point cannot show a stop; the head can show a stall, but only for an
        // offset that stood still for the whole ring (a point newer than the ring's oldest
        // sample is a group seen for the first time, not a stuck one).
        let before_ring = w.first().is_some_and(|x| x.time < p.high_watermarks_since);
        return match (ring_full && head_moved && before_ring, idle) {
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
