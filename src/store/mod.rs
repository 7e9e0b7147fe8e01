//! The per-cluster store: what the scraper has learnt, kept compact.
//!
//! One [`Store`] per cluster, owned outright by that cluster's scraper task (no locks).
//! Names are interned once; series are addressed by dense indexes, never by hashing label sets.
//!
//! Memory layout, chosen for the budget of ≤ 120 B per tracked group-partition with a
//! 10-point window (see `benches/render.rs`):
//! - per group, struct-of-arrays over all its group-partitions: the newest committed offset
//!   (`Arc<[i64]>`, shared with snapshots, so it is not copied per poll), the newest point's time
//!   and lag, and `points - 1` older points as deltas to their newer neighbour
//!   (offset `i32`, lag `u32`, time `u8`), i.e. 8 + 9 + 9 × 9 = 98 B at 10 points;
//! - partitions are not stored per group-partition: a group lists [`Run`]s of consecutive
//!   partitions of one topic (a group normally commits every partition of a topic);
//! - per topic partition (shared by all groups): the watermarks and a ring of high watermarks
//!   whose times come from one cluster-wide ring of poll times.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::model::{GroupState, Watermarks};

/// Unix time in whole seconds (good until 2106).
pub type Secs = u32;

/// A point's lag that is unknown (no high watermark was known when it was observed).
pub const LAG_UNKNOWN: u32 = u32::MAX;
/// Lags at or above this are saturated (flagged as "at least").
pub const LAG_SATURATED: u32 = u32::MAX - 1;

/// High-watermark samples kept per partition beyond the ring, for lag in seconds.
pub const ARCHIVE: usize = 6;

/// Bit of a window's length byte set while its group-partition is missing from the group's
/// committed offsets (kept for the retention grace period).
const MISSING: u8 = 0x80;

/// An interned name: the raw text and the text escaped for a Prometheus label value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub raw: Arc<str>,
    /// Same allocation as `raw` when nothing needed escaping (the usual case).
    pub escaped: Arc<str>,
}

impl Name {
    pub fn new(raw: &str) -> Name {
        let raw: Arc<str> = Arc::from(raw);
        let escaped = match escape_label_value(&raw) {
            Some(e) => Arc::from(e),
            None => raw.clone(),
        };
        Name { raw, escaped }
    }
}

/// Escapes `\`, `"` and newline as the Prometheus text formats require; `None` when `s` needs
/// no escaping.
pub fn escape_label_value(s: &str) -> Option<String> {
    if !s.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Some(out)
}

/// One watermark sample for a partition; `None` where that request failed.
#[derive(Debug, Clone, Copy)]
pub struct WatermarkSample {
    pub topic: u32,
    pub partition: i32,
    pub earliest: Option<i64>,
    pub latest: Option<i64>,
}

/// A group's committed offset on a partition, as read in one poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Commit {
    /// The store's topic id (see [`Store::apply_metadata`]).
    pub topic: u32,
    pub partition: i32,
    /// The next offset the group reads.
    pub offset: i64,
}

impl Commit {
    pub fn new(topic: u32, partition: i32, offset: i64) -> Commit {
        Commit {
            topic,
            partition,
            offset,
        }
    }

    fn key(&self) -> (u32, i32) {
        (self.topic, self.partition)
    }
}

/// A topic as the store knows it.
#[derive(Debug)]
pub struct TopicState {
    pub name: Name,
    /// Indexed by partition id; shared with snapshots and replaced (copy on write) per poll.
    pub watermarks: Arc<[Watermarks]>,
    /// Per partition, `points - 1` older high watermarks as `newer - older` deltas.
    hw_back: Box<[u32]>,
    /// Per partition, how many consecutive samples (newest first) the ring holds.
    hw_len: Box<[u8]>,
    /// Per partition, [`ARCHIVE`] older high watermarks that fell off the ring, thinned to
    /// roughly geometric ages (for lag in seconds): `newer - this` watermark and time deltas;
    /// the newer neighbour of entry 0 is the ring's oldest sample.
    arc_back: Box<[u32]>,
    arc_dt: Box<[u16]>,
    arc_len: Box<[u8]>,
    pub last_seen: Secs,
}

/// Consecutive partitions `first..first + len` of one topic, whose windows start at `start`
/// in the group's arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub topic: u32,
    pub first: i32,
    pub len: u32,
    pub start: u32,
}

impl Run {
    pub fn partitions(&self) -> impl Iterator<Item = (usize, i32)> {
        let (start, first) = (self.start as usize, self.first);
        (0..self.len as usize).map(move |i| (start + i, first + i as i32))
    }
}

/// A consumer group and the windows of all its group-partitions.
#[derive(Debug)]
pub struct TrackedGroup {
    pub name: Name,
    /// State from the last group listing; `Unknown` when listing does not work.
    pub state: GroupState,
    /// Last time the group's committed offsets were read successfully (or it was listed).
    pub last_seen: Secs,
    /// Sorted by (topic id, partition); shared with snapshots.
    pub runs: Arc<[Run]>,
    /// The newest committed offset of each group-partition; shared with snapshots.
    pub offsets: Arc<[i64]>,
    pub windows: Windows,
    /// Since when some group-partitions have been missing from the committed offsets.
    missing_since: Option<Secs>,
}

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
fn encode_dt(dt: u32) -> u8 {
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

fn decode_dt(v: u8) -> u32 {
    if v < 128 {
        v as u32
    } else {
        let e = ((v - 128) >> 3) as u32;
        (8 + (v & 7) as u32) << (e + 4)
    }
}

/// A window point's lag as stored: [`LAG_UNKNOWN`] without a head, saturated at
/// [`LAG_SATURATED`].
fn point_lag(watermarks: Option<&Watermarks>, offset: i64) -> u32 {
    match watermarks.and_then(|w| w.lag(offset)) {
        Some(lag) => lag.min(LAG_SATURATED as u64) as u32,
        None => LAG_UNKNOWN,
    }
}

impl Windows {
    fn with_len(n: usize, points: usize) -> Windows {
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

    fn copy_from(&mut self, dst: usize, src: &Windows, from: usize, points: usize) {
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

    /// Sets or clears window `i`'s missing flag, writing only on a change.
    fn set_missing(&mut self, i: usize, missing: bool) {
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
    fn push(
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

fn lag_opt(v: u32) -> Option<u32> {
    (v != LAG_UNKNOWN).then_some(v)
}

impl TrackedGroup {
    fn new(name: Name) -> TrackedGroup {
        TrackedGroup {
            name,
            state: GroupState::Unknown,
            last_seen: 0,
            runs: Arc::from(Vec::new()),
            offsets: Arc::from(Vec::new()),
            windows: Windows::default(),
            missing_since: None,
        }
    }

    /// Number of tracked group-partitions.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// `(topic, partition, index)` of every group-partition, sorted.
    fn keys(&self) -> impl Iterator<Item = (u32, i32, usize)> + '_ {
        self.runs
            .iter()
            .flat_map(|r| r.partitions().map(move |(i, p)| (r.topic, p, i)))
    }

    /// Whether group-partition `index` is currently missing from the committed offsets.
    pub fn is_missing(&self, index: usize) -> bool {
        self.windows.0.len[index] & MISSING != 0
    }

    /// Rebuilds the layout for the sorted, de-duplicated `keys`, carrying over the windows of
    /// keys that already existed.
    fn relayout(&mut self, keys: &[(u32, i32)], points: usize) {
        let mut windows = Windows::with_len(keys.len(), points);
        let mut offsets = vec![-1i64; keys.len()];
        let old: Vec<(u32, i32, usize)> = self.keys().collect();
        let mut o = 0;
        for (dst, key) in keys.iter().enumerate() {
            while o < old.len() && (old[o].0, old[o].1) < *key {
                o += 1;
            }
            if o < old.len() && (old[o].0, old[o].1) == *key {
                windows.copy_from(dst, &self.windows, old[o].2, points);
                offsets[dst] = self.offsets[old[o].2];
            }
        }
        self.runs = runs_of(keys).into();
        self.offsets = offsets.into();
        self.windows = windows;
    }

    /// Number of points in group-partition `index`'s window.
    pub fn window_len(&self, index: usize) -> usize {
        (self.windows.0.len[index] & !MISSING) as usize
    }

    /// Points of group-partition `index`, newest first.
    pub fn window(&self, index: usize, points: usize) -> impl Iterator<Item = Point> + '_ {
        self.windows.points(index, points, self.offsets[index])
    }
}

/// Adds a sample (its watermark and time deltas to its newer neighbour) at the newest end of
/// a partition's archive. When full, the most redundant entry goes first: one inside a flat
/// run, else the one whose neighbours are closest together
/// relative to its age, which keeps the ages roughly geometric. The oldest entry stays.
fn archive_push(back: &mut [u32], dt: &mut [u16], len: &mut u8, hw_delta: u32, time_delta: u32) {
    let cap = back.len();
    if cap == 0 {
        return;
    }
    let mut n = (*len as usize).min(cap);
    if n == cap && cap > 1 {
        let mut age = 0u64;
        let mut drop = 0;
        let mut best = f64::INFINITY;
        for j in 0..n - 1 {
            age += decode_dt16(dt[j]) as u64;
            // Inside a flat run (same watermark on both sides) a sample says nothing new; the
            // run's ends bracket when the head moved, so they stay.
            if back[j] == 0 && back[j + 1] == 0 {
                drop = j;
                break;
            }
            let gap = decode_dt16(dt[j]) as u64 + decode_dt16(dt[j + 1]) as u64;
            let score = gap as f64 / age.max(1) as f64;
            if score < best {
                best = score;
                drop = j;
            }
        }
        match back[drop + 1].checked_add(back[drop]) {
            Some(merged) => {
                back[drop + 1] = merged;
                let gap = decode_dt16(dt[drop + 1]).saturating_add(decode_dt16(dt[drop]));
                dt[drop + 1] = encode_dt16(gap);
                back.copy_within(drop + 1..n, drop);
                dt.copy_within(drop + 1..n, drop);
                n -= 1;
            }
            // The older part is too far below to express: forget it.
            None => n = drop,
        }
    }
    let keep = n.min(cap - 1);
    back.copy_within(0..keep, 1);
    dt.copy_within(0..keep, 1);
    back[0] = hw_delta;
    dt[0] = encode_dt16(time_delta);
    *len = (keep + 1) as u8;
}

/// Archive gaps: exact seconds up to 9 h, then minutes (up to ~22 days, saturated).
fn encode_dt16(dt: u32) -> u16 {
    if dt < 0x8000 {
        dt as u16
    } else {
        0x8000 | (dt / 60).min(0x7fff) as u16
    }
}

fn decode_dt16(v: u16) -> u32 {
    if v & 0x8000 == 0 {
        v as u32
    } else {
        (v & 0x7fff) as u32 * 60
    }
}

/// A hash of a group's committed offsets (sorted in place first).
fn fingerprint(commits: &mut [Commit]) -> u64 {
    use std::hash::{Hash, Hasher};
    commits.sort_unstable();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    commits.hash(&mut h);
    h.finish()
}

/// Groups sorted `(topic, partition)` keys into runs of consecutive partitions.
fn runs_of(keys: &[(u32, i32)]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (i, &(topic, partition)) in keys.iter().enumerate() {
        match runs.last_mut() {
            Some(r) if r.topic == topic && r.first + r.len as i32 == partition => r.len += 1,
            _ => runs.push(Run {
                topic,
                first: partition,
                len: 1,
                start: i as u32,
            }),
        }
    }
    runs
}

/// Everything known about one cluster.
#[derive(Debug)]
pub struct Store {
    points: usize,
    topics: Vec<Option<TopicState>>,
    topic_ids: HashMap<Arc<str>, u32>,
    free_topic_ids: Vec<u32>,
    groups: BTreeMap<Arc<str>, TrackedGroup>,
    /// Times of the last `points` watermark polls, newest first.
    poll_times: Vec<Secs>,
    /// Burrow's `min-distance`, in seconds (0 = off).
    min_distance: Secs,
    /// Groups removed through the API, with a fingerprint of their committed offsets then:
    /// they stay away until they commit something else.
    forgotten: HashMap<Arc<str>, u64>,
}

impl Store {
    /// `points` is the window size (clamped to 2..=127: the length byte keeps a flag bit).
    pub fn new(points: usize) -> Store {
        Store {
            points: points.clamp(2, 127),
            topics: Vec::new(),
            topic_ids: HashMap::new(),
            free_topic_ids: Vec::new(),
            groups: BTreeMap::new(),
            poll_times: Vec::new(),
            min_distance: 0,
            forgotten: HashMap::new(),
        }
    }

    /// Sets Burrow's `min-distance` (see [`Windows::push`]).
    pub fn with_min_distance(mut self, secs: Secs) -> Store {
        self.min_distance = secs;
        self
    }

    pub fn points(&self) -> usize {
        self.points
    }

    pub fn topic_id(&self, name: &str) -> Option<u32> {
        self.topic_ids.get(name).copied()
    }

    pub fn topic(&self, id: u32) -> Option<&TopicState> {
        self.topics.get(id as usize).and_then(Option::as_ref)
    }

    /// Live topics with their ids, in id order.
    pub fn topics(&self) -> impl Iterator<Item = (u32, &TopicState)> {
        self.topics
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i as u32, t)))
    }

    /// Groups sorted by name.
    pub fn groups(&self) -> impl Iterator<Item = &TrackedGroup> {
        self.groups.values()
    }

    pub fn group(&self, name: &str) -> Option<&TrackedGroup> {
        self.groups.get(name)
    }

    /// Number of tracked group-partitions.
    pub fn group_partitions(&self) -> usize {
        self.groups.values().map(TrackedGroup::len).sum()
    }

    /// Records metadata: the watched topics and their partition counts, seen at `now`.
    /// Returns the topic ids in the order given.
    pub fn apply_metadata(&mut self, now: Secs, topics: &[(&str, u32)]) -> Vec<u32> {
        let points = self.points;
        topics
            .iter()
            .map(|&(name, count)| {
                let id = self.intern_topic(name, now);
                let t = self.topics[id as usize].as_mut().expect("interned topic");
                t.last_seen = now;
                let old = t.watermarks.len();
                let count = count as usize;
                if old != count {
                    // Partitions are only ever added in Kafka; a shrink means the topic was
                    // re-created, so its history does not apply either way.
                    let mut wm = vec![Watermarks::UNKNOWN; count];
                    let mut back = vec![0u32; count * (points - 1)];
                    let mut len = vec![0u8; count];
                    let mut arc_back = vec![0u32; count * ARCHIVE];
                    let mut arc_dt = vec![0u16; count * ARCHIVE];
                    let mut arc_len = vec![0u8; count];
                    if count > old {
                        wm[..old].copy_from_slice(&t.watermarks);
                        back[..old * (points - 1)].copy_from_slice(&t.hw_back);
                        len[..old].copy_from_slice(&t.hw_len);
                        arc_back[..old * ARCHIVE].copy_from_slice(&t.arc_back);
                        arc_dt[..old * ARCHIVE].copy_from_slice(&t.arc_dt);
                        arc_len[..old].copy_from_slice(&t.arc_len);
                    }
                    t.watermarks = wm.into();
                    t.hw_back = back.into();
                    t.hw_len = len.into();
                    t.arc_back = arc_back.into();
                    t.arc_dt = arc_dt.into();
                    t.arc_len = arc_len.into();
                }
                id
            })
            .collect()
    }

    fn intern_topic(&mut self, name: &str, now: Secs) -> u32 {
        if let Some(&id) = self.topic_ids.get(name) {
            return id;
        }
        let state = TopicState {
            name: Name::new(name),
            watermarks: Arc::from(Vec::new()),
            hw_back: Box::new([]),
            hw_len: Box::new([]),
            arc_back: Box::new([]),
            arc_dt: Box::new([]),
            arc_len: Box::new([]),
            last_seen: now,
        };
        let key = state.name.raw.clone();
        let id = match self.free_topic_ids.pop() {
            Some(id) => {
                self.topics[id as usize] = Some(state);
                id
            }
            None => {
                self.topics.push(Some(state));
                (self.topics.len() - 1) as u32
            }
        };
        self.topic_ids.insert(key, id);
        id
    }

    /// Records one poll's watermarks. A failed sample keeps the last good value (lag stays
    /// computable) but breaks that partition's high-watermark ring: its history restarts.
    pub fn apply_watermarks(&mut self, now: Secs, samples: &[WatermarkSample]) {
        let points = self.points;
        let b = points - 1;
        // One more than the ring: the time of the sample leaving it, for the archive.
        self.poll_times.insert(0, now);
        self.poll_times.truncate(points + 1);
        // Copy on write: the previous snapshot may still hold the old arrays.
        let mut touched: Vec<Option<(Vec<Watermarks>, Vec<bool>)>> = Vec::new();
        touched.resize_with(self.topics.len(), || None);
        for s in samples {
            let Some(Some(t)) = self.topics.get_mut(s.topic as usize) else {
                continue;
            };
            let p = s.partition as usize;
            if s.partition < 0 || p >= t.watermarks.len() {
                continue;
            }
            let (wm, sampled) = touched[s.topic as usize]
                .get_or_insert_with(|| (t.watermarks.to_vec(), vec![false; t.watermarks.len()]));
            let prev = wm[p].latest;
            if let Some(e) = s.earliest {
                wm[p].earliest = e;
            }
            let Some(latest) = s.latest else { continue };
            sampled[p] = true;
            wm[p].latest = latest;
            let len = t.hw_len[p] as usize;
            let row = p * b..(p + 1) * b;
            let arc = p * ARCHIVE..(p + 1) * ARCHIVE;
            match u32::try_from(latest.saturating_sub(prev)) {
                Ok(delta) if len > 0 && prev >= 0 => {
                    if len == points && self.poll_times.len() > points {
                        // The ring's oldest sample leaves it: keep it in the archive.
                        let dt =
                            self.poll_times[points - 1].saturating_sub(self.poll_times[points]);
                        archive_push(
                            &mut t.arc_back[arc.clone()],
                            &mut t.arc_dt[arc],
                            &mut t.arc_len[p],
                            t.hw_back[row.end - 1],
                            dt,
                        );
                    }
                    t.hw_back[row.clone()].copy_within(0..b - 1, 1);
                    t.hw_back[row.start] = delta;
                    t.hw_len[p] = (len + 1).min(points) as u8;
                }
                // First sample, or the watermark went back (topic re-created).
                _ => {
                    t.hw_len[p] = 1;
                    t.arc_len[p] = 0;
                }
            }
        }
        for (id, t) in self.topics.iter_mut().enumerate() {
            let Some(t) = t else { continue };
            match touched[id].take() {
                Some((wm, sampled)) => {
                    // A partition without a sample this poll: its ring has a gap, restart it.
                    for (p, ok) in sampled.into_iter().enumerate() {
                        if !ok {
                            t.hw_len[p] = 0;
                            t.arc_len[p] = 0;
                        }
                    }
                    t.watermarks = wm.into();
                }
                None => {
                    t.hw_len.fill(0);
                    t.arc_len.fill(0);
                }
            }
        }
    }

    /// High-watermark samples of a partition, newest first, with their poll times (Burrow's
    /// broker-offset ring: the last `points` polls without a gap).
    pub fn high_watermarks(
        &self,
        topic: u32,
        partition: i32,
    ) -> impl Iterator<Item = (i64, Secs)> + '_ {
        let b = self.points - 1;
        let found = self.topic(topic).and_then(|t| {
            let p = usize::try_from(partition).ok()?;
            (p < t.watermarks.len()).then_some((t, p))
        });
        let len = found.map_or(0, |(t, p)| {
            (t.hw_len[p] as usize)
                .min(self.poll_times.len())
                .min(self.points)
        });
        let mut hw = found.map_or(0, |(t, p)| t.watermarks[p].latest);
        (0..len).map(move |k| {
            if let (true, Some((t, p))) = (k > 0, found) {
                hw -= t.hw_back[p * b + k - 1] as i64;
            }
            (hw, self.poll_times[k])
        })
    }

    /// The partition's head history, newest first: the ring, then the archive (older samples
    /// at roughly geometric ages). For lag in seconds.
    pub fn head_history(
        &self,
        topic: u32,
        partition: i32,
    ) -> impl Iterator<Item = (i64, Secs)> + '_ {
        let mut ring = self.high_watermarks(topic, partition).peekable();
        let found = self.topic(topic).and_then(|t| {
            let p = usize::try_from(partition).ok()?;
            (p < t.watermarks.len() && t.hw_len[p] as usize == self.points).then_some((t, p))
        });
        let mut last: Option<(i64, Secs)> = None;
        let mut k = 0;
        std::iter::from_fn(move || {
            if let Some(s) = ring.next() {
                last = Some(s);
                return Some(s);
            }
            let (t, p) = found?;
            if k >= t.arc_len[p] as usize {
                return None;
            }
            let (hw, time) = last?;
            let j = p * ARCHIVE + k;
            k += 1;
            let s = (
                hw - t.arc_back[j] as i64,
                time.saturating_sub(decode_dt16(t.arc_dt[j])),
            );
            last = Some(s);
            Some(s)
        })
    }

    fn insert_group<'a>(
        groups: &'a mut BTreeMap<Arc<str>, TrackedGroup>,
        group: &str,
    ) -> &'a mut TrackedGroup {
        let state = TrackedGroup::new(Name::new(group));
        groups.entry(state.name.raw.clone()).or_insert(state)
    }

    /// Forgets `group` (Burrow's `DELETE`) until it commits offsets other than its current
    /// ones. Returns whether it was known.
    pub fn forget(&mut self, group: &str) -> bool {
        let Some(g) = self.groups.remove(group) else {
            return false;
        };
        let mut commits: Vec<Commit> = g
            .keys()
            .map(|(topic, partition, i)| Commit {
                topic,
                partition,
                offset: g.offsets[i],
            })
            .collect();
        self.forgotten
            .insert(g.name.raw.clone(), fingerprint(&mut commits));
        true
    }

    /// Records a group listing entry (the group exists, in `state`).
    pub fn apply_group_state(&mut self, now: Secs, group: &str, state: GroupState) {
        if self.forgotten.contains_key(group) {
            return;
        }
        let g = match self.groups.get_mut(group) {
            Some(g) => g,
            None => Self::insert_group(&mut self.groups, group),
        };
        g.state = state;
        g.last_seen = g.last_seen.max(now);
    }

    /// Records a successful read of a group's committed offsets: `(topic id, partition,
    /// offset)` for every partition with a commit. Read after the watermarks of the same poll
    /// were applied, so each new window point gets this poll's lag.
    pub fn apply_group_offsets(&mut self, now: Secs, group: &str, commits: &mut [Commit]) {
        let (points, min_distance) = (self.points, self.min_distance);
        if let Some(&seen) = self.forgotten.get(group) {
            if fingerprint(commits) == seen {
                return;
            }
            self.forgotten.remove(group);
        }
        commits.sort_unstable_by_key(Commit::key);
        let g = match self.groups.get_mut(group) {
            Some(g) => g,
            None => Self::insert_group(&mut self.groups, group),
        };
        g.last_seen = now;
        // Same layout as before? Then update in place.
        let same = g.len() == commits.len()
            && g.keys()
                .zip(commits.iter())
                .all(|(a, b)| (a.0, a.1) == b.key());
        if !same {
            let mut keys: Vec<(u32, i32)> = g.keys().map(|(t, p, _)| (t, p)).collect();
            keys.extend(commits.iter().map(Commit::key));
            keys.sort_unstable();
            keys.dedup();
            g.relayout(&keys, points);
        }
        let index: Vec<(u32, i32, usize)> = g.keys().collect();
        let mut changed: Vec<(usize, i64, u32)> = Vec::new();
        let mut c = 0;
        let mut any_missing = false;
        for (topic, partition, i) in index {
            while c < commits.len() && commits[c].key() < (topic, partition) {
                c += 1;
            }
            let hit = c < commits.len() && commits[c].key() == (topic, partition);
            if !hit {
                g.windows.set_missing(i, true);
                any_missing = true;
                continue;
            }
            g.windows.set_missing(i, false);
            let offset = commits[c].offset;
            if g.windows.0.len[i] & !MISSING == 0 || offset != g.offsets[i] {
                let watermarks = self.topics[topic as usize]
                    .as_ref()
                    .and_then(|t| t.watermarks.get(partition as usize));
                changed.push((i, offset, point_lag(watermarks, offset)));
            }
        }
        if !changed.is_empty() {
            // Copy on write only when something moved: the last snapshot shares the array.
            let offsets = Arc::make_mut(&mut g.offsets);
            for (i, offset, lag) in changed {
                g.windows
                    .push(i, points, offsets[i], offset, now, lag, min_distance);
                offsets[i] = offset;
            }
        }
        if !any_missing {
            g.missing_since = None;
        } else if g.missing_since.is_none() {
            g.missing_since = Some(now);
        }
    }

    /// Removes what has been gone for at least `retention`: topics no longer in metadata,
    /// groups no longer seen, group-partitions no longer committed.
    pub fn expire(&mut self, now: Secs, retention: Duration) {
        let keep = |seen: Secs| now.saturating_sub(seen) < retention.as_secs() as u32;
        let gone: Vec<u32> = self
            .topics()
            .filter(|(_, t)| !keep(t.last_seen))
            .map(|(id, _)| id)
            .collect();
        for &id in &gone {
            if let Some(t) = self.topics[id as usize].take() {
                self.topic_ids.remove(&t.name.raw);
            }
            self.free_topic_ids.push(id);
        }
        let points = self.points;
        self.groups.retain(|_, g| keep(g.last_seen));
        for g in self.groups.values_mut() {
            let drop_missing = g.missing_since.is_some_and(|t| !keep(t));
            let stale_topic = g.runs.iter().any(|r| gone.contains(&r.topic));
            if drop_missing || stale_topic {
                let keys: Vec<(u32, i32)> = g
                    .keys()
                    .filter(|&(t, _, i)| {
                        let dropped = drop_missing && g.is_missing(i);
                        !gone.contains(&t) && !dropped
                    })
                    .map(|(t, p, _)| (t, p))
                    .collect();
                g.relayout(&keys, points);
                if drop_missing {
                    g.missing_since = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wm(store: &mut Store, now: Secs, topic: u32, latest: &[i64]) {
        let samples: Vec<WatermarkSample> = latest
            .iter()
            .enumerate()
            .map(|(p, &l)| WatermarkSample {
                topic,
                partition: p as i32,
                earliest: Some(0),
                latest: Some(l),
            })
            .collect();
        store.apply_watermarks(now, &samples);
    }

    fn window(store: &Store, group: &str, i: usize) -> Vec<(i64, Secs, Option<u32>)> {
        let g = store.group(group).unwrap();
        g.window(i, store.points())
            .map(|p| (p.offset, p.time, p.lag))
            .collect()
    }

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape_label_value("plain-name_1.x"), None);
        assert_eq!(
            escape_label_value("a\"b\\c\nd").as_deref(),
            Some("a\\\"b\\\\c\\nd")
        );
        let n = Name::new("x\"y");
        assert_eq!(&*n.raw, "x\"y");
        assert_eq!(&*n.escaped, "x\\\"y");
    }

    #[test]
    fn runs_group_consecutive_partitions() {
        let runs = runs_of(&[(0, 0), (0, 1), (0, 2), (0, 5), (1, 0), (1, 1)]);
        assert_eq!(
            runs,
            vec![
                Run {
                    topic: 0,
                    first: 0,
                    len: 3,
                    start: 0
                },
                Run {
                    topic: 0,
                    first: 5,
                    len: 1,
                    start: 3
                },
                Run {
                    topic: 1,
                    first: 0,
                    len: 2,
                    start: 4
                },
            ]
        );
    }

    #[test]
    fn window_appends_on_change_and_keeps_lag_of_the_poll() {
        let mut s = Store::new(3);
        let t = s.apply_metadata(100, &[("orders", 2)])[0];
        wm(&mut s, 100, t, &[50, 70]);
        s.apply_group_offsets(
            100,
            "g",
            &mut [Commit::new(t, 0, 10), Commit::new(t, 1, 70)],
        );
        wm(&mut s, 110, t, &[60, 80]);
        // Same offset: no new point.
        s.apply_group_offsets(
            110,
            "g",
            &mut [Commit::new(t, 1, 70), Commit::new(t, 0, 10)],
        );
        wm(&mut s, 120, t, &[90, 80]);
        s.apply_group_offsets(
            120,
            "g",
            &mut [Commit::new(t, 0, 40), Commit::new(t, 1, 80)],
        );
        wm(&mut s, 130, t, &[95, 80]);
        s.apply_group_offsets(
            130,
            "g",
            &mut [Commit::new(t, 0, 45), Commit::new(t, 1, 80)],
        );
        wm(&mut s, 140, t, &[99, 80]);
        s.apply_group_offsets(
            140,
            "g",
            &mut [Commit::new(t, 0, 46), Commit::new(t, 1, 80)],
        );
        assert_eq!(
            window(&s, "g", 0),
            vec![
                (46, 140, Some(53)),
                (45, 130, Some(50)),
                (40, 120, Some(50))
            ]
        );
        assert_eq!(
            window(&s, "g", 1),
            vec![(80, 120, Some(0)), (70, 100, Some(0))]
        );
        assert_eq!(&*s.group("g").unwrap().offsets, &[46, 80]);
    }

    #[test]
    fn min_distance_merges_close_points_and_keeps_the_first_time() {
        let mut s = Store::new(4).with_min_distance(30);
        let t = s.apply_metadata(0, &[("t", 1)])[0];
        wm(&mut s, 0, t, &[1000]);
        s.apply_group_offsets(100, "g", &mut [Commit::new(t, 0, 10)]);
        s.apply_group_offsets(110, "g", &mut [Commit::new(t, 0, 20)]);
        assert_eq!(window(&s, "g", 0), vec![(20, 100, Some(980))]);
        s.apply_group_offsets(140, "g", &mut [Commit::new(t, 0, 30)]);
        s.apply_group_offsets(150, "g", &mut [Commit::new(t, 0, 45)]);
        assert_eq!(
            window(&s, "g", 0),
            vec![(45, 140, Some(955)), (20, 100, Some(980))]
        );
    }

    #[test]
    fn forgotten_groups_stay_away_until_they_commit_again() {
        let mut s = Store::new(3);
        let t = s.apply_metadata(0, &[("t", 2)])[0];
        wm(&mut s, 0, t, &[10, 10]);
        s.apply_group_offsets(1, "g", &mut [Commit::new(t, 0, 3), Commit::new(t, 1, 4)]);
        assert!(s.forget("g"));
        assert!(!s.forget("g"));
        s.apply_group_state(2, "g", GroupState::Empty);
        s.apply_group_offsets(2, "g", &mut [Commit::new(t, 1, 4), Commit::new(t, 0, 3)]);
        assert!(s.group("g").is_none(), "same offsets: still forgotten");
        s.apply_group_offsets(3, "g", &mut [Commit::new(t, 0, 5), Commit::new(t, 1, 4)]);
        assert_eq!(
            window(&s, "g", 0),
            vec![(5, 3, Some(5))],
            "back, with a fresh window"
        );
    }

    #[test]
    fn point_lag_is_clamped_saturated_and_unknown_without_watermark() {
        let wm = |latest| Watermarks {
            earliest: 0,
            latest,
        };
        assert_eq!(point_lag(Some(&wm(100)), 120), 0);
        assert_eq!(point_lag(Some(&wm(-1)), 5), LAG_UNKNOWN);
        assert_eq!(point_lag(None, 5), LAG_UNKNOWN);
        assert_eq!(point_lag(Some(&wm(i64::MAX)), 0), LAG_SATURATED);
        assert_eq!(point_lag(Some(&wm(100)), 40), 60);
    }

    #[test]
    fn rewinds_and_huge_jumps() {
        let mut s = Store::new(4);
        let t = s.apply_metadata(1, &[("t", 1)])[0];
        wm(&mut s, 1, t, &[10_000_000_000]);
        s.apply_group_offsets(1, "g", &mut [Commit::new(t, 0, 500)]);
        s.apply_group_offsets(2, "g", &mut [Commit::new(t, 0, 300)]);
        assert_eq!(
            window(&s, "g", 0).iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![300, 500]
        );
        // A delta beyond i32 restarts the window rather than storing a wrong offset.
        s.apply_group_offsets(3, "g", &mut [Commit::new(t, 0, 9_000_000_000)]);
        assert_eq!(
            window(&s, "g", 0),
            vec![(9_000_000_000, 3, Some(1_000_000_000))]
        );
    }

    #[test]
    fn time_deltas_keep_seconds_then_minutes() {
        for dt in 0..128 {
            assert_eq!(decode_dt(encode_dt(dt)), dt);
        }
        assert_eq!(decode_dt(encode_dt(128)), 128);
        assert_eq!(decode_dt(encode_dt(130)), 128);
        assert_eq!(decode_dt(encode_dt(248)), 256);
        assert_eq!(decode_dt(encode_dt(40_000)), 40_960);
        assert_eq!(decode_dt(encode_dt(u32::MAX)), 15 << 19);
        // Within 6.25 % everywhere in range, and monotonic.
        let mut last = 0;
        for dt in (128..8_000_000u32).step_by(997) {
            let back = decode_dt(encode_dt(dt));
            assert!(
                (back as f64 - dt as f64).abs() <= dt as f64 * 0.0625,
                "{dt} -> {back}"
            );
            assert!(back >= last);
            last = back;
        }
        let mut s = Store::new(3);
        let t = s.apply_metadata(0, &[("t", 1)])[0];
        wm(&mut s, 0, t, &[1000]);
        s.apply_group_offsets(10_000, "g", &mut [Commit::new(t, 0, 1)]);
        s.apply_group_offsets(10_000 + 86_400, "g", &mut [Commit::new(t, 0, 2)]);
        assert_eq!(decode_dt(encode_dt(86_400)), 90_112);
        let w = window(&s, "g", 0);
        assert_eq!(w[1].1, 10_000 + 86_400 - 90_112);
    }

    #[test]
    fn high_watermark_ring_restarts_on_failure_and_going_back() {
        let mut s = Store::new(3);
        let t = s.apply_metadata(0, &[("t", 1)])[0];
        for (now, hw) in [(10, 5), (20, 8), (30, 12), (40, 20)] {
            wm(&mut s, now, t, &[hw]);
        }
        let ring = |s: &Store| s.high_watermarks(t, 0).collect::<Vec<_>>();
        assert_eq!(ring(&s), vec![(20, 40), (12, 30), (8, 20)]);
        s.apply_watermarks(
            50,
            &[WatermarkSample {
                topic: t,
                partition: 0,
                earliest: None,
                latest: None,
            }],
        );
        assert_eq!(ring(&s), vec![]);
        assert_eq!(
            s.topic(t).unwrap().watermarks[0].latest,
            20,
            "last good value kept"
        );
        wm(&mut s, 60, t, &[25]);
        wm(&mut s, 70, t, &[3]);
        assert_eq!(ring(&s), vec![(3, 70)]);
    }

    #[test]
    fn head_history_keeps_older_samples_at_growing_ages() {
        let mut s = Store::new(3);
        let t = s.apply_metadata(0, &[("t", 1)])[0];
        // 100 polls, 10 s apart, 7 messages per poll.
        for i in 0..100u32 {
            wm(&mut s, i * 10, t, &[i as i64 * 7]);
        }
        let h: Vec<(i64, Secs)> = s.head_history(t, 0).collect();
        assert_eq!(&h[..3], &[(693, 990), (686, 980), (679, 970)], "the ring");
        assert_eq!(h.len(), 3 + ARCHIVE);
        // Every sample is exact (a steady producer: watermark = 0.7 × time) and ages grow.
        for w in h.windows(2) {
            assert!(w[1].1 < w[0].1);
        }
        for &(hw, time) in &h {
            assert_eq!(hw * 10, time as i64 * 7, "sample ({hw}, {time})");
        }
        let gaps: Vec<Secs> = h.windows(2).map(|w| w[0].1 - w[1].1).collect();
        assert!(gaps.last() > gaps.first(), "{gaps:?}");
        assert!(
            h.last().unwrap().1 <= 300,
            "spans most of the history: {h:?}"
        );
        // A flat run keeps only its newest sample.
        let mut s = Store::new(2);
        let t = s.apply_metadata(0, &[("t", 1)])[0];
        for (i, hw) in [5, 5, 5, 5, 5, 5, 5, 5, 5, 9, 9].iter().enumerate() {
            wm(&mut s, i as Secs, t, &[*hw]);
        }
        let h: Vec<(i64, Secs)> = s.head_history(t, 0).collect();
        assert_eq!(h[..2], [(9, 10), (9, 9)]);
        assert!(h[2..].iter().all(|&(hw, _)| hw == 5));
        assert_eq!(h[2], (5, 8), "the newest of the flat run stays");
        assert_eq!(h.last(), Some(&(5, 0)), "and so does its oldest");
    }

    #[test]
    fn new_partitions_keep_existing_windows() {
        let mut s = Store::new(3);
        let t = s.apply_metadata(0, &[("a", 4)])[0];
        let u = s.apply_metadata(0, &[("b", 1)])[0];
        wm(&mut s, 0, t, &[100, 100, 100, 100]);
        s.apply_group_offsets(1, "g", &mut [Commit::new(t, 2, 10)]);
        s.apply_group_offsets(
            2,
            "g",
            &mut [
                Commit::new(t, 2, 20),
                Commit::new(t, 0, 5),
                Commit::new(u, 0, 7),
            ],
        );
        let g = s.group("g").unwrap();
        assert_eq!(&*g.offsets, &[5, 20, 7]);
        assert_eq!(
            window(&s, "g", 1),
            vec![(20, 2, Some(80)), (10, 1, Some(90))]
        );
        assert_eq!(window(&s, "g", 2), vec![(7, 2, None)]);
    }

    #[test]
    fn expiry_after_retention() {
        let ret = Duration::from_secs(60);
        let mut s = Store::new(3);
        let t = s.apply_metadata(0, &[("a", 2)])[0];
        wm(&mut s, 0, t, &[100, 100]);
        s.apply_group_offsets(0, "g", &mut [Commit::new(t, 0, 1), Commit::new(t, 1, 2)]);
        s.apply_group_offsets(0, "h", &mut [Commit::new(t, 0, 1)]);
        // p1 of g stops being committed at 10; h is no longer seen after 0.
        s.apply_metadata(10, &[("a", 2)]);
        s.apply_group_offsets(10, "g", &mut [Commit::new(t, 0, 3)]);
        s.expire(59, ret);
        assert_eq!(s.group("g").unwrap().len(), 2);
        assert!(s.group("g").unwrap().is_missing(1));
        assert!(s.group("h").is_some());
        s.expire(60, ret);
        assert!(s.group("h").is_none());
        s.apply_metadata(69, &[("a", 2)]);
        s.apply_group_offsets(69, "g", &mut [Commit::new(t, 0, 3)]);
        s.expire(70, ret);
        assert_eq!(&*s.group("g").unwrap().offsets, &[3]);
        // The topic vanishes from metadata: it and its group-partitions go after retention.
        s.apply_group_offsets(75, "g", &mut []);
        s.expire(128, ret);
        assert!(s.topic_id("a").is_some());
        s.expire(129, ret);
        assert!(s.topic_id("a").is_none());
        assert_eq!(s.group("g").unwrap().len(), 0);
    }
}
