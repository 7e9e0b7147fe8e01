//! Consume rate, lag velocity and time to catch up, from the windows already kept (no Kafka
//! calls).
//!
//! Method: for each group-partition, its movement from the oldest point of its evaluation
//! window (the last `window.points` observed commits) to now: messages consumed (committed
//! offset now minus then) and the change of its lag (lag now minus the lag recorded with that
//! point), over the seconds between. Per group-topic and per group these are summed: the
//! consume rate is Σ consumed / span, the lag velocity Σ Δlag / span (negative while the
//! backlog shrinks), so the produce rate over the same spans is their sum. Partitions whose
//! movement is unknown (no point yet, no head when the point was taken, a rewind, or no time
//! between) are left out of every sum, their lag included.
//!
//! The backlog is *shrinking* when the lag velocity is at most −1 message per longest span (at
//! that rate at least one message a window): the time to catch up is then lag / −velocity,
//! finite and at most lag × the longest span. It is *falling behind* when the lag is above 0
//! and the velocity at least +1 message per longest span: no estimate. Otherwise the time is 0
//! without lag, and there is no estimate for a lag that stands still; neither is falling behind.

use crate::store::{Point, Secs};

/// Movement sums of one group-topic or group.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// Partitions with a known movement.
    pub partitions: u32,
    /// Their current lag.
    pub lag: u64,
    /// Messages consumed per second.
    pub consume: f64,
    /// Change of lag per second (negative: shrinking).
    pub velocity: f64,
    /// The longest span of the partitions counted, in seconds.
    max_span: u32,
}

/// Whether the backlog shrinks, grows or stands still (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trend {
    /// Seconds to catch up (0 when there is no lag); finite.
    CatchingUp(f64),
    FallingBehind,
    Steady,
}

impl Rates {
    /// Adds one group-partition: its window's oldest point, its committed offset and lag now.
    #[inline]
    pub fn add_partition(&mut self, oldest: Option<&Point>, offset: i64, lag: u64, now: Secs) {
        let Some(then) = oldest else { return };
        let (Some(lag_then), Some(span)) = (then.lag, now.checked_sub(then.time)) else {
            return;
        };
        let consumed = offset.saturating_sub(then.offset);
        if span == 0 || consumed < 0 {
            return;
        }
        let change = (lag as i64).saturating_sub(lag_then as i64);
        self.max_span = self.max_span.max(span);
        let span = span as f64;
        self.partitions += 1;
        self.lag = self.lag.saturating_add(lag);
        self.consume += consumed as f64 / span;
        self.velocity += change as f64 / span;
    }

    /// Adds the sums of another group-topic.
    pub fn add(&mut self, other: &Rates) {
        self.partitions += other.partitions;
        self.lag = self.lag.saturating_add(other.lag);
        self.consume += other.consume;
        self.velocity += other.velocity;
        self.max_span = self.max_span.max(other.max_span);
    }

    /// Messages produced per second to the partitions counted, over the same spans.
    pub fn produce(&self) -> f64 {
        (self.consume + self.velocity).max(0.0)
    }

    /// `None` when no partition's movement is known.
    pub fn trend(&self) -> Option<Trend> {
        if self.partitions == 0 {
            return None;
        }
        // At least one message per longest span, either way (span > 0 for every partition).
        let threshold = 1.0 / f64::from(self.max_span.max(1));
        Some(if self.lag == 0 {
            Trend::CatchingUp(0.0)
        } else if self.velocity <= -threshold {
            // At most lag × the longest span: finite.
            Trend::CatchingUp(self.lag as f64 / -self.velocity)
        } else if self.velocity >= threshold {
            Trend::FallingBehind
        } else {
            Trend::Steady
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(offset: i64, time: Secs, lag: Option<u64>) -> Point {
        Point { offset, time, lag }
    }

    #[test]
    fn a_draining_backlog_gives_lag_over_its_shrink_rate() {
        // 100 s ago: offset 1,000 with lag 5,000; now offset 3,000 with lag 4,000 (1,000
        // produced meanwhile): consuming 20/s, producing 10/s, shrinking 10/s.
        let mut r = Rates::default();
        r.add_partition(Some(&point(1_000, 900, Some(5_000))), 3_000, 4_000, 1_000);
        assert_eq!(r.consume, 20.0);
        assert_eq!(r.velocity, -10.0);
        assert_eq!(r.produce(), 10.0);
        assert_eq!(r.trend(), Some(Trend::CatchingUp(400.0)));
    }

    #[test]
    fn a_growing_backlog_falls_behind_and_a_steady_one_has_no_estimate() {
        let mut growing = Rates::default();
        growing.add_partition(Some(&point(0, 0, Some(10))), 50, 30, 10);
        assert_eq!(growing.trend(), Some(Trend::FallingBehind));
        let mut steady = Rates::default();
        steady.add_partition(Some(&point(0, 0, Some(10))), 50, 10, 10);
        assert_eq!(steady.trend(), Some(Trend::Steady));
        let mut idle = Rates::default();
        idle.add_partition(Some(&point(7, 0, Some(0))), 7, 0, 10);
        assert_eq!(idle.trend(), Some(Trend::CatchingUp(0.0)));
        assert_eq!((idle.consume, idle.velocity), (0.0, 0.0));
    }

    /// The trend follows the velocity, whatever the spans: an old slow rise and a fast recent
    /// drain are shrinking, and a near-zero velocity made of opposite rounding is steady.
    #[test]
    fn the_trend_follows_the_velocity_over_unequal_spans() {
        let mut r = Rates::default();
        r.add_partition(Some(&point(0, 0, Some(10))), 0, 12, 1000); // +2 in 1000 s
        r.add_partition(Some(&point(0, 990, Some(10))), 1, 9, 1000); // −1 in 10 s
        assert!(r.velocity < 0.0);
        assert!(matches!(r.trend(), Some(Trend::CatchingUp(s)) if s <= 21.0 * 1000.0));
        let mut r = Rates::default();
        r.add_partition(Some(&point(0, 90, Some(0))), 0, 7, 100); // +7 in 10 s
        r.add_partition(Some(&point(0, 90, Some(0))), 0, 1, 100); // +1 in 10 s
        r.add_partition(Some(&point(0, 0, Some(80))), 80, 0, 100); // −80 in 100 s
        assert_eq!(r.trend(), Some(Trend::Steady), "velocity {}", r.velocity);
    }

    #[test]
    fn unknown_movements_are_left_out() {
        let mut r = Rates::default();
        r.add_partition(None, 10, 5, 10);
        r.add_partition(Some(&point(0, 0, None)), 10, 5, 10); // no head then
        r.add_partition(Some(&point(20, 0, Some(1))), 10, 5, 10); // rewind
        r.add_partition(Some(&point(0, 10, Some(1))), 10, 5, 10); // no time between
        r.add_partition(Some(&point(0, 11, Some(1))), 10, 5, 10); // clock went back
        assert_eq!(r.partitions, 0);
        assert_eq!(r.trend(), None);
    }

    #[test]
    fn a_shrink_of_one_message_over_a_long_span_stays_finite() {
        let mut r = Rates::default();
        r.add_partition(
            Some(&point(0, 0, Some(u32::MAX as u64))),
            1,
            u32::MAX as u64 - 1,
            u32::MAX,
        );
        let Some(Trend::CatchingUp(secs)) = r.trend() else {
            panic!("{r:?}");
        };
        assert!(secs.is_finite() && secs <= (u32::MAX as f64) * (u32::MAX as f64));
        // Sums of topics add up.
        let mut g = Rates::default();
        g.add(&r);
        g.add(&r);
        assert_eq!(g.partitions, 2);
        assert_eq!(g.trend(), r.trend());
    }
}
