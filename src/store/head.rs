//! A partition's head history: per topic partition, the watermarks, a ring of high
//! watermarks whose times come from the store's cluster-wide ring of poll times, and an
//! archive of older samples at roughly geometric ages (for lag in seconds).
//!
//! A poll without a sample for a partition (a failed request, a leader election) leaves its
//! ring as it was, as Burrow's does. Its samples then no longer line up with the cluster's
//! polls, so until that gap has left the ring the partition keeps its samples' times aside
//! ([`TopicState`]'s `gapped`): no per-partition cost otherwise, but one flag bit.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Name, Secs, Store, WatermarkSample};
use crate::model::Watermarks;

/// High-watermark samples kept per partition beyond the ring, for lag in seconds.
pub const ARCHIVE: usize = 6;

/// Bit of a ring's length byte set while the ring holds a gap (a missed poll), so its sample
/// times are kept in [`TopicState`]'s `gapped` rather than read from the poll times. Ring
/// lengths fit in 7 bits (at most 127 points).
const GAP: u8 = 0x80;

/// A topic as the store knows it.
#[derive(Debug)]
pub struct TopicState {
    pub name: Name,
    /// Indexed by partition id; shared with snapshots and replaced (copy on write) per poll.
    pub watermarks: Arc<[Watermarks]>,
    /// Per partition, `points - 1` older high watermarks as `newer - older` deltas.
    hw_back: Box<[u32]>,
    /// Per partition, how many samples (newest first) the ring holds (low 7 bits), and the
    /// [`GAP`] flag.
    hw_len: Box<[u8]>,
    /// The sample times (newest first, `points` slots) of each partition whose ring holds a
    /// gap; the others' sample times are the store's last poll times.
    gapped: HashMap<u32, Box<[Secs]>>,
    /// Per partition, [`ARCHIVE`] older high watermarks that fell off the ring, thinned to
    /// roughly geometric ages (for lag in seconds): `newer - this` watermark and time deltas;
    /// the newer neighbour of entry 0 is the ring's oldest sample.
    arc_back: Box<[u32]>,
    arc_dt: Box<[u16]>,
    arc_len: Box<[u8]>,
    /// Last metadata refresh that listed the topic, or poll that read one of its heads.
    pub last_seen: Secs,
    /// `cleanup.policy` lists `compact` (offsets there are not message counts); `None` until
    /// the topic's configuration was read.
    pub compacted: Option<bool>,
}

impl TopicState {
    /// A topic without partitions yet (see [`TopicState::resize`]).
    pub(super) fn new(name: Name, now: Secs) -> TopicState {
        TopicState {
            name,
            watermarks: Arc::from(Vec::new()),
            hw_back: Box::new([]),
            hw_len: Box::new([]),
            gapped: HashMap::new(),
            arc_back: Box::new([]),
            arc_dt: Box::new([]),
            arc_len: Box::new([]),
            last_seen: now,
            compacted: None,
        }
    }

    /// Sets the partition count (from metadata), for rings of `points` samples.
    pub(super) fn resize(&mut self, count: usize, points: usize) {
        let old = self.watermarks.len();
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
                wm[..old].copy_from_slice(&self.watermarks);
                back[..old * (points - 1)].copy_from_slice(&self.hw_back);
                len[..old].copy_from_slice(&self.hw_len);
                arc_back[..old * ARCHIVE].copy_from_slice(&self.arc_back);
                arc_dt[..old * ARCHIVE].copy_from_slice(&self.arc_dt);
                arc_len[..old].copy_from_slice(&self.arc_len);
            } else {
                self.gapped.clear();
            }
            self.watermarks = wm.into();
            self.hw_back = back.into();
            self.hw_len = len.into();
            self.arc_back = arc_back.into();
            self.arc_dt = arc_dt.into();
            self.arc_len = arc_len.into();
        }
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

#[inline]
fn decode_dt16(v: u16) -> u32 {
    if v & 0x8000 == 0 {
        v as u32
    } else {
        (v & 0x7fff) as u32 * 60
    }
}

impl Store {
    /// Records one poll's watermarks. A failed sample keeps the last good value (lag stays
    /// computable) and leaves that partition's high-watermark ring as it was (Burrow's keeps
    /// its ring too): the next good sample is appended with its own time, and every sample
    /// keeps its own. A topic with a good sample is seen at `now` (see [`Store::expire`]). A watermark that goes back (topic re-created) restarts the ring; a topic
    /// without any sample this poll (no longer in metadata) loses its rings.
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
            let len = (t.hw_len[p] & !GAP) as usize;
            let gap = t.hw_len[p] & GAP != 0;
            let row = p * b..(p + 1) * b;
            let arc = p * ARCHIVE..(p + 1) * ARCHIVE;
            match u32::try_from(latest.saturating_sub(prev)) {
                Ok(delta) if len > 0 && prev >= 0 => {
                    // The ring's sample times before this one (newest first).
                    let times = match gap {
                        true => t.gapped.get_mut(&(p as u32)).map(|v| &mut v[..]),
                        false => None,
                    };
                    let oldest_dt = match &times {
                        Some(v) => Some(v[points - 2].saturating_sub(v[points - 1])),
                        None => (self.poll_times.len() > points).then(|| {
                            self.poll_times[points - 1].saturating_sub(self.poll_times[points])
                        }),
                    };
                    if let (true, Some(dt)) = (len == points, oldest_dt) {
                        // The ring's oldest sample leaves it: keep it in the archive.
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
                    let len = (len + 1).min(points);
                    t.hw_len[p] = len as u8;
                    if let Some(v) = times {
                        v.copy_within(0..points - 1, 1);
                        v[0] = now;
                        if self.poll_times.get(..len) == Some(&v[..len]) {
                            // The gap has left the ring: the poll times apply again.
                            t.gapped.remove(&(p as u32));
                        } else {
                            t.hw_len[p] |= GAP;
                        }
                    }
                }
                // First sample, or the watermark went back (topic re-created).
                _ => {
                    if gap {
                        t.gapped.remove(&(p as u32));
                    }
                    t.hw_len[p] = 1;
                    t.arc_len[p] = 0;
                }
            }
        }
        for (id, t) in self.topics.iter_mut().enumerate() {
            let Some(t) = t else { continue };
            match touched[id].take() {
                Some((wm, sampled)) => {
                    // A topic is seen when a poll reads one of its heads, not only at a
                    // metadata refresh: otherwise a `retention` shorter than the refresh
                    // interval expires live topics between refreshes (issue 17, item 4).
                    if sampled.contains(&true) {
                        t.last_seen = t.last_seen.max(now);
                    }
                    // A partition without a sample this poll keeps its ring, which now has a
                    // gap: its samples were taken at the polls before this one.
                    for (p, ok) in sampled.into_iter().enumerate() {
                        let len = t.hw_len[p] as usize;
                        if ok || len == 0 || len & GAP as usize != 0 {
                            continue;
                        }
                        let len = len.min(self.poll_times.len() - 1);
                        let mut times = vec![0; points].into_boxed_slice();
                        times[..len].copy_from_slice(&self.poll_times[1..=len]);
                        t.gapped.insert(p as u32, times);
                        t.hw_len[p] = len as u8 | GAP;
                    }
                    t.watermarks = wm.into();
                }
                None => {
                    t.hw_len.fill(0);
                    t.arc_len.fill(0);
                    t.gapped.clear();
                }
            }
        }
    }

    /// High-watermark samples of a partition, newest first, with their poll times (Burrow's
    /// broker-offset ring: the last `points` samples, each with its own time).
    #[inline]
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
        let times: &[Secs] = match found {
            Some((t, p)) if t.hw_len[p] & GAP != 0 => {
                t.gapped.get(&(p as u32)).map_or(&[], |v| &v[..])
            }
            _ => &self.poll_times,
        };
        let len = found.map_or(0, |(t, p)| {
            ((t.hw_len[p] & !GAP) as usize)
                .min(times.len())
                .min(self.points)
        });
        let mut hw = found.map_or(0, |(t, p)| t.watermarks[p].latest);
        (0..len).map(move |k| {
            if let (true, Some((t, p))) = (k > 0, found) {
                hw -= t.hw_back[p * b + k - 1] as i64;
            }
            (hw, times[k])
        })
    }

    /// Records whether topic `name` is compacted (its `cleanup.policy`); unknown topics are
    /// ignored.
    pub fn apply_topic_compacted(&mut self, name: &str, compacted: bool) {
        if let Some(id) = self.topic_id(name) {
            if let Some(Some(t)) = self.topics.get_mut(id as usize) {
                t.compacted = Some(compacted);
            }
        }
    }

    /// Messages per second produced to the partition over its high-watermark ring (newest
    /// minus oldest sample over the time between them); `None` with fewer than two samples or
    /// when the head went back (topic re-created).
    pub fn produce_rate(&self, topic: u32, partition: i32) -> Option<f64> {
        let mut ring = self.high_watermarks(topic, partition);
        let (newest, newest_at) = ring.next()?;
        let (oldest, oldest_at) = ring.last()?;
        let span = newest_at.checked_sub(oldest_at).filter(|&s| s > 0)?;
        let produced = newest.checked_sub(oldest).filter(|&d| d >= 0)?;
        Some(produced as f64 / span as f64)
    }

    /// The partition's head history, newest first: the ring, then the archive (older samples
    /// at roughly geometric ages). For lag in seconds.
    #[inline]
    pub fn head_history(
        &self,
        topic: u32,
        partition: i32,
    ) -> impl Iterator<Item = (i64, Secs)> + '_ {
        let mut ring = self.high_watermarks(topic, partition).peekable();
        let found = self.topic(topic).and_then(|t| {
            let p = usize::try_from(partition).ok()?;
            let full = |len: u8| (len & !GAP) as usize == self.points;
            (p < t.watermarks.len() && full(t.hw_len[p])).then_some((t, p))
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
}
