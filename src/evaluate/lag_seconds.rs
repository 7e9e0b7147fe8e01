//! Lag in seconds from a partition's head history, and a group-partition's [`Verdict`]
//! (status, how the lag was obtained, and the lag) packed in 32 bits.

use super::Status;
use crate::store::Secs;

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
    /// The timestamp of the record at the committed offset (`time_lag = "record"`): exact.
    Record = 4,
    /// The record at the committed offset is gone (retention, compaction) or is a
    /// transaction marker: the timestamp of the next record there is.
    NextRecord = 5,
}

impl LagMethod {
    pub const ALL: [LagMethod; 6] = [
        LagMethod::Unknown,
        LagMethod::CaughtUp,
        LagMethod::Interpolated,
        LagMethod::LowerBound,
        LagMethod::Record,
        LagMethod::NextRecord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LagMethod::Unknown => "unknown",
            LagMethod::CaughtUp => "caught_up",
            LagMethod::Interpolated => "interpolated",
            LagMethod::LowerBound => "lower_bound",
            LagMethod::Record => "record",
            LagMethod::NextRecord => "next_record",
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

/// How long ago a record stamped `timestamp_ms` was produced, at `now`: never negative (a
/// producer's clock ahead of ours reads as 0).
pub fn record_age(timestamp_ms: i64, now: Secs) -> f64 {
    (i64::from(now) * 1000).saturating_sub(timestamp_ms).max(0) as f64 / 1000.0
}

/// A group-partition's verdict packed in 32 bits: status (3 bits), [`LagMethod`] (3 bits) and
/// lag in tenths of a second (26 bits, up to ~77 days; beyond, saturated as a lower bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict(u32);

impl Verdict {
    const MAX_TENTHS: u32 = (1 << 26) - 1;

    #[inline]
    pub fn new(status: Status, method: LagMethod, seconds: f64) -> Verdict {
        // Non-negative, so adding one half and truncating (the cast) rounds, without a libm
        // call.
        let tenths = seconds.max(0.0) * 10.0 + 0.5;
        let (method, tenths) = if tenths >= Self::MAX_TENTHS as f64 {
            (LagMethod::LowerBound, Self::MAX_TENTHS)
        } else {
            (method, tenths as u32)
        };
        Verdict(status as u32 | (method as u32) << 3 | tenths << 6)
    }

    #[inline]
    pub fn status(self) -> Status {
        Status::from_code((self.0 & 7) as u8)
    }

    #[inline]
    pub fn method(self) -> LagMethod {
        LagMethod::ALL
            .get(((self.0 >> 3) & 7) as usize)
            .copied()
            .unwrap_or(LagMethod::Unknown)
    }

    /// Lag in tenths of a second as stored, `None` when unknown.
    #[inline]
    pub fn lag_tenths(self) -> Option<u32> {
        (self.method() != LagMethod::Unknown).then_some(self.0 >> 6)
    }

    /// Lag in seconds, `None` when unknown.
    #[inline]
    pub fn lag_seconds(self) -> Option<f64> {
        self.lag_tenths().map(|t| t as f64 / 10.0)
    }
}
