//! A group's windows: the recent committed offsets of each of its group-partitions,
//! struct-of-arrays, older points as deltas to their newer neighbour.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Secs;
use crate::model::Watermarks;

/// A stored lag that is unknown (no high watermark was known when its point was observed).
const LAG_UNKNOWN: u32 = u32::MAX;
/// A stored lag too large for `u32`: the exact value is in the side table.
const LAG_WIDE: u32 = u32::MAX - 1;
/// A stored offset delta outside `i32` (or `i32::MIN` itself): exact in the side table.
const OFFSET_WIDE: i32 = i32::MIN;
/// A stored time delta of 255 s or more: exact in the side table.
const DT_WIDE: u8 = u8::MAX;

/// Side-table fields: an older point's offset delta, lag and time delta, and the newest
/// point's lag (slot 0).
const F_OFFSET: u8 = 0;
const F_LAG: u8 = 1;
const F_DT: u8 = 2;
const F_NEWEST_LAG: u8 = 3;

/// Side-table key: (window index, older-point slot, field).
type Key = (u32, u8, u8);

/// Bit of a window's length byte set while its group-partition is missing from the group's
/// committed offsets (kept for the retention grace period).
const MISSING: u8 = 0x80;

/// The windows of a group's partitions, struct-of-arrays. Point 0 is the newest: its offset is
/// the group's `offsets[i]`; older points are stored as deltas to their newer neighbour, so
/// appending a point shifts them without rewriting.
///
/// Compact but exact: the arrays hold the common values (offset deltas within `i32`, lags
/// below `u32::MAX - 1`, time deltas below 255 s); a value that does not fit leaves a
/// sentinel there and is kept exactly in the group's side table (`wide`), which is empty
/// (no allocation) in the usual case.
///
/// Shared with snapshots (the Burrow API shows whole windows): one `Arc` per group, copied
/// on write, so a poll copies only the groups whose windows changed, and only while a snapshot
/// still holds them.
#[derive(Debug, Default, Clone)]
pub struct Windows(Arc<WindowData>);

#[derive(Debug, Default, Clone)]
struct WindowData {
    newest_time: Box<[Secs]>,
    /// The newest point's lag: [`LAG_UNKNOWN`], [`LAG_WIDE`] or the lag.
    newest_lag: Box<[u32]>,
    /// Low 7 bits: number of points; [`MISSING`] flag.
    len: Box<[u8]>,
    /// `n × (points - 1)`: newer offset − this offset (wrapping), or [`OFFSET_WIDE`].
    back_offset: Box<[i32]>,
    /// `n × (points - 1)`: this point's lag, as `newest_lag`.
    back_lag: Box<[u32]>,
    /// `n × (points - 1)`: newer time − this time in seconds, or [`DT_WIDE`].
    back_dt: Box<[u8]>,
    /// Exact values behind the sentinels (offset deltas as `i64` bits).
    wide: BTreeMap<Key, u64>,
}

/// One window point, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Point {
    pub offset: i64,
    pub time: Secs,
    /// `None` when unknown (no high watermark when the point was observed).
    pub lag: Option<u64>,
}

/// A window point's lag: unknown without a head.
pub(super) fn point_lag(watermarks: Option<&Watermarks>, offset: i64) -> Option<u64> {
    watermarks.and_then(|w| w.lag(offset))
}

fn compact_lag(lag: Option<u64>) -> Option<u32> {
    match lag {
        None => Some(LAG_UNKNOWN),
        Some(l) => u32::try_from(l).ok().filter(|&v| v < LAG_WIDE),
    }
}

/// Stores `compact` in `slot`, or the `sentinel` there and `exact` in the side table.
#[inline]
fn put<T: Copy + PartialEq>(
    slot: &mut T,
    wide: &mut BTreeMap<Key, u64>,
    key: Key,
    compact: Option<T>,
    sentinel: T,
    exact: u64,
) {
    match compact {
        Some(v) => {
            if *slot == sentinel {
                wide.remove(&key);
            }
            *slot = v;
        }
        None => {
            *slot = sentinel;
            wide.insert(key, exact);
        }
    }
}

/// All side-table keys of window `i`.
fn keys_of(i: usize) -> std::ops::RangeInclusive<Key> {
    (i as u32, 0, 0)..=(i as u32, u8::MAX, u8::MAX)
}

impl WindowData {
    /// Removes and returns window `i`'s side-table entries.
    fn take_wide(&mut self, i: usize) -> Vec<(Key, u64)> {
        if self.wide.is_empty() {
            return Vec::new();
        }
        let taken: Vec<(Key, u64)> = self.wide.range(keys_of(i)).map(|(&k, &v)| (k, v)).collect();
        for (k, _) in &taken {
            self.wide.remove(k);
        }
        taken
    }

    fn set_newest_lag(&mut self, i: usize, lag: Option<u64>) {
        let key = (i as u32, 0, F_NEWEST_LAG);
        let exact = lag.unwrap_or_default();
        put(
            &mut self.newest_lag[i],
            &mut self.wide,
            key,
            compact_lag(lag),
            LAG_WIDE,
            exact,
        );
    }

    fn set_back_offset(&mut self, i: usize, b: usize, slot: usize, delta: i64) {
        let key = (i as u32, slot as u8, F_OFFSET);
        let compact = i32::try_from(delta).ok().filter(|&v| v != OFFSET_WIDE);
        put(
            &mut self.back_offset[i * b + slot],
            &mut self.wide,
            key,
            compact,
            OFFSET_WIDE,
            delta as u64,
        );
    }

    fn back_offset(&self, i: usize, b: usize, slot: usize) -> i64 {
        match self.back_offset[i * b + slot] {
            OFFSET_WIDE => self.wide_at((i as u32, slot as u8, F_OFFSET)) as i64,
            v => v as i64,
        }
    }

    #[inline]
    fn wide_at(&self, key: Key) -> u64 {
        let v = self.wide.get(&key).copied();
        debug_assert!(v.is_some(), "side-table entry {key:?} missing");
        v.unwrap_or_default()
    }

    #[inline]
    fn lag_at(&self, raw: u32, key: Key) -> Option<u64> {
        match raw {
            LAG_UNKNOWN => None,
            LAG_WIDE => Some(self.wide_at(key)),
            v => Some(v as u64),
        }
    }

    /// Makes room for a new newest point in window `i`: older points move one slot back (the
    /// oldest falls off), the newest point's lag becomes slot 0's.
    fn shift(&mut self, i: usize, b: usize) {
        let row = i * b..(i + 1) * b;
        self.back_offset[row.clone()].copy_within(0..b - 1, 1);
        self.back_lag[row.clone()].copy_within(0..b - 1, 1);
        self.back_dt[row.clone()].copy_within(0..b - 1, 1);
        self.back_lag[row.start] = self.newest_lag[i];
        for ((w, slot, f), v) in self.take_wide(i) {
            let key = match f {
                F_NEWEST_LAG => (w, 0, F_LAG),
                _ if (slot as usize) + 1 < b => (w, slot + 1, f),
                _ => continue,
            };
            self.wide.insert(key, v);
        }
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
            wide: BTreeMap::new(),
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
        w.take_wide(dst);
        if !src.wide.is_empty() {
            for (&(_, slot, field), &v) in src.wide.range(keys_of(from)) {
                w.wide.insert((dst as u32, slot, field), v);
            }
        }
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
    /// `min-distance`). Every offset, lag and time is kept exactly.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(
        &mut self,
        i: usize,
        points: usize,
        prev: i64,
        offset: i64,
        time: Secs,
        lag: Option<u64>,
        min_distance: Secs,
    ) {
        let b = points - 1;
        let w = Arc::make_mut(&mut self.0);
        let len = (w.len[i] & !MISSING) as usize;
        // Wrapping: decoding wraps back, so any two i64 offsets round-trip exactly.
        let delta = offset.wrapping_sub(prev);
        if len > 0 && min_distance > 0 && time.saturating_sub(w.newest_time[i]) < min_distance {
            // Merge into the newest point: its older neighbour's delta absorbs the change.
            if len > 1 {
                let merged = w.back_offset(i, b, 0).wrapping_add(delta);
                w.set_back_offset(i, b, 0, merged);
            }
            w.set_newest_lag(i, lag);
            return;
        }
        let new_len = if len > 0 {
            let newest_time = w.newest_time[i];
            w.shift(i, b);
            w.set_back_offset(i, b, 0, delta);
            let dt = time.saturating_sub(newest_time);
            let key = (i as u32, 0, F_DT);
            let compact = u8::try_from(dt).ok().filter(|&v| v != DT_WIDE);
            put(
                &mut w.back_dt[i * b],
                &mut w.wide,
                key,
                compact,
                DT_WIDE,
                dt as u64,
            );
            (len + 1).min(points) as u8
        } else {
            w.take_wide(i);
            1
        };
        w.len[i] = (w.len[i] & MISSING) | new_len;
        w.newest_time[i] = time;
        w.set_newest_lag(i, lag);
    }

    /// Points of window `i` whose newest offset is `newest`, newest first.
    #[inline]
    pub fn points(&self, i: usize, points: usize, newest: i64) -> impl Iterator<Item = Point> + '_ {
        let b = points - 1;
        let w = &*self.0;
        let len = (w.len[i] & !MISSING) as usize;
        let key = move |slot: usize, field: u8| (i as u32, slot as u8, field);
        let mut cur = Point {
            offset: newest,
            time: w.newest_time[i],
            lag: w.lag_at(w.newest_lag[i], key(0, F_NEWEST_LAG)),
        };
        (0..len).map(move |k| {
            if k > 0 {
                let (slot, j) = (k - 1, i * b + k - 1);
                let dt = match w.back_dt[j] {
                    DT_WIDE => w.wide_at(key(slot, F_DT)) as Secs,
                    v => v as Secs,
                };
                cur = Point {
                    offset: cur.offset.wrapping_sub(w.back_offset(i, b, slot)),
                    time: cur.time.saturating_sub(dt),
                    lag: w.lag_at(w.back_lag[j], key(slot, F_LAG)),
                };
            }
            cur
        })
    }
}
