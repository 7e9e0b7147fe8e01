//! A group's windows: the recent committed offsets of each of its group-partitions,
//! struct-of-arrays, older points as deltas to their newer neighbour.

use std::sync::Arc;

use super::Secs;
use crate::model::Watermarks;

/// A point's lag that is unknown (no high watermark was known when it was observed).
pub const LAG_UNKNOWN: u32 = u32::MAX;
/// Lags at or above this are saturated (flagged as "at least").
pub const LAG_SATURATED: u32 = u32::MAX - 1;

/// Bit of a window's length byte set while its group-partition is missing from the group's
/// committed offsets (kept for the retention grace period).
const MISSING: u8 = 0x80;

/// The windows of a group's partitions, struct-of-arrays. Point 0 is the newest: its offset is
/// the group's `offsets[i]`; older points are stored as deltas to their newer neighbour, so
/// appending a point shifts them without rewriting.
/// Shared with snapshots (the Burrow API shows whole windows): one `Arc` per group, copied
/// on write, so a poll copies only the groups whose windows changed, and only while a snapshot
/// still holds them.
#[derive(Debug, Default, Clone)]
pub struct Windows(Arc<WindowData>);

#[derive(Debug, Default, Clone)]
struct WindowData {
    newest_time: Box<[Secs]>,
    newest_lag: Box<[u32]>,
    /// Low 7 bits: number of points; [`MISSING`] flag.
    len: Box<[u8]>,
    /// `n × (points - 1)`: newer offset − this offset.
    back_offset: Box<[i32]>,
    /// `n × (points - 1)`: this point's lag.
    back_lag: Box<[u32]>,
    /// `n × (points - 1)`: newer time − this time, encoded by [`encode_dt`].
    back_dt: Box<[u8]>,
}

/// One window point, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Point {
    pub offset: i64,
    pub time: Secs,
    /// `None` when unknown; saturated values read as [`LAG_SATURATED`].
    pub lag: Option<u32>,
}

/// Time deltas up to 127 s (the usual gap between polls) are kept to the second; longer ones
/// as a small float (3-bit mantissa, ±6.25 %, up to 91 days, then saturated). Point times are
/// poll times, so they are already uncertain by a poll interval; STOP compares whole spans.
pub(super) fn encode_dt(dt: u32) -> u8 {
    if dt < 128 {
        return dt as u8;
    }
    for e in 0..16u32 {
        let m = (dt as u64 + (1u64 << (e + 3))) >> (e + 4);
        if m < 16 {
            return (128 + (e << 3) + (m as u32 - 8)) as u8;
        }
    }
    u8::MAX
}

#[inline]
pub(super) fn decode_dt(v: u8) -> u32 {
    if v < 128 {
        v as u32
    } else {
        let e = ((v - 128) >> 3) as u32;
        (8 + (v & 7) as u32) << (e + 4)
    }
}

/// A window point's lag as stored: [`LAG_UNKNOWN`] without a head, saturated at
/// [`LAG_SATURATED`].
pub(super) fn point_lag(watermarks: Option<&Watermarks>, offset: i64) -> u32 {
    match watermarks.and_then(|w| w.lag(offset)) {
        Some(lag) => lag.min(LAG_SATURATED as u64) as u32,
        None => LAG_UNKNOWN,
    }
}

impl Windows {
    pub(super) fn with_len(n: usize, points: usize) -> Windows {
        let back = n * (points - 1);
        Windows(Arc::new(WindowData {
            newest_time: vec![0; n].into(),
            newest_lag: vec![LAG_UNKNOWN; n].into(),
            len: vec![0; n].into(),
            back_offset: vec![0; back].into(),
            back_lag: vec![LAG_UNKNOWN; back].into(),
            back_dt: vec![0; back].into(),
        }))
    }

    pub(super) fn copy_from(&mut self, dst: usize, src: &Windows, from: usize, points: usize) {
        let b = points - 1;
        let (w, src) = (Arc::make_mut(&mut self.0), &src.0);
        w.newest_time[dst] = src.newest_time[from];
        w.newest_lag[dst] = src.newest_lag[from];
        w.len[dst] = src.len[from];
        let (d, f) = (dst * b..(dst + 1) * b, from * b..(from + 1) * b);
        w.back_offset[d.clone()].copy_from_slice(&src.back_offset[f.clone()]);
        w.back_lag[d.clone()].copy_from_slice(&src.back_lag[f.clone()]);
        w.back_dt[d].copy_from_slice(&src.back_dt[f]);
    }

    /// Number of points in window `i`.
    #[inline]
    pub(super) fn len_of(&self, i: usize) -> usize {
        (self.0.len[i] & !MISSING) as usize
    }

    /// Whether window `i`'s group-partition is missing from the committed offsets.
    #[inline]
    pub(super) fn is_missing(&self, i: usize) -> bool {
        self.0.len[i] & MISSING != 0
    }

    /// Sets or clears window `i`'s missing flag, writing only on a change.
    pub(super) fn set_missing(&mut self, i: usize, missing: bool) {
        let have = self.0.len[i];
        let want = if missing {
            have | MISSING
        } else {
            have & !MISSING
        };
        if want != have {
            Arc::make_mut(&mut self.0).len[i] = want;
        }
    }

    /// Appends a point to window `i` whose newest offset was `prev` (ignored when empty). A
    /// point closer than `min_distance` to the newest replaces it and keeps its time (Burrow's
    /// `min-distance`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(
        &mut self,
        i: usize,
        points: usize,
        prev: i64,
        offset: i64,
        time: Secs,
        lag: u32,
        min_distance: Secs,
    ) {
        let b = points - 1;
        let w = Arc::make_mut(&mut self.0);
        let len = (w.len[i] & !MISSING) as usize;
        let delta = offset.checked_sub(prev).and_then(|d| i32::try_from(d).ok());
        if len > 0 && min_distance > 0 && time.saturating_sub(w.newest_time[i]) < min_distance {
            // Merge into the newest point: its older neighbour's delta absorbs the change.
            let merged = match (len, delta) {
                (1, Some(_)) => true,
                (_, Some(d)) => match w.back_offset[i * b].checked_add(d) {
                    Some(v) => {
                        w.back_offset[i * b] = v;
                        true
                    }
                    None => false,
                },
                _ => false,
            };
            if merged {
                w.newest_lag[i] = lag;
                return;
            }
        }
        let newest_lag = w.newest_lag[i];
        let newest_time = w.newest_time[i];
        let new_len = match delta {
            Some(delta) if len > 0 && b > 0 => {
                let row = i * b..(i + 1) * b;
                w.back_offset[row.clone()].copy_within(0..b - 1, 1);
                w.back_offset[row.start] = delta;
                w.back_lag[row.clone()].copy_within(0..b - 1, 1);
                w.back_lag[row.start] = newest_lag;
                w.back_dt[row.clone()].copy_within(0..b - 1, 1);
                w.back_dt[row.start] = encode_dt(time.saturating_sub(newest_time));
                (len + 1).min(points) as u8
            }
            // First point, or a jump too large for the deltas: the window restarts here.
            _ => 1,
        };
        w.len[i] = (w.len[i] & MISSING) | new_len;
        w.newest_time[i] = time;
        w.newest_lag[i] = lag;
    }

    /// Points of window `i` whose newest offset is `newest`, newest first.
    #[inline]
    pub fn points(&self, i: usize, points: usize, newest: i64) -> impl Iterator<Item = Point> + '_ {
        let b = points - 1;
        let w = &*self.0;
        let len = (w.len[i] & !MISSING) as usize;
        let mut cur = Point {
            offset: newest,
            time: w.newest_time[i],
            lag: lag_opt(w.newest_lag[i]),
        };
        (0..len).map(move |k| {
            if k > 0 {
                let j = i * b + k - 1;
                cur = Point {
                    offset: cur.offset - w.back_offset[j] as i64,
                    time: cur.time.saturating_sub(decode_dt(w.back_dt[j])),
                    lag: lag_opt(w.back_lag[j]),
                };
            }
            cur
        })
    }
}

#[inline]
fn lag_opt(v: u32) -> Option<u32> {
    (v != LAG_UNKNOWN).then_some(v)
}
