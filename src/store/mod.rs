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
//!   (offset `i32`, lag `u32`, time `u8`), i.e. 8 + 9 + 9 × 9 = 98 B at 10 points (118.1 B
//!   per group-partition in all, measured). Compact but exact: an offset delta outside `i32`,
//!   a lag of `u32::MAX - 1` or more, or a time delta of 255 s or more leaves a sentinel in its
//!   array and is kept exactly in the group's side table (see [`Windows`]), which costs
//!   nothing per group-partition while empty (24 B per group);
//! - partitions are not stored per group-partition: a group lists [`Run`]s of consecutive
//!   partitions of one topic (a group normally commits every partition of a topic);
//! - per topic partition (shared by all groups): the watermarks and a ring of high watermarks
//!   whose times come from one cluster-wide ring of poll times; a missed poll leaves a ring as
//!   it was, and until that gap has left it the ring's own sample times are kept aside (no
//!   cost per partition otherwise, see `head`).
//!
//! The parts: [`window`], a group's windows; [`head`], a partition's head history (the
//! watermarks, the ring of high watermarks and its archive); this module, the [`Store`] with
//! its groups, names, commits and runs.

mod head;
mod membership;
mod record_time;
#[cfg(test)]
mod tests;
mod window;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::model::GroupState;

pub use head::{TopicState, ARCHIVE};
pub use membership::{Member, Membership, Owners, TopicOwners};
pub use record_time::{RecordTime, RecordWanted};
use window::point_lag;
pub use window::{Point, Windows};

/// Unix time in whole seconds (good until 2106).
pub type Secs = u32;

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
    /// The group has committed offsets at some point (Burrow's `lastCommit > 0`): it stays a
    /// known group (OK, `complete` 0) after all its topics were deleted, while a group that
    /// was only ever listed is not found, as in Burrow.
    pub has_committed: bool,
    /// Since when some group-partitions have been missing from the committed offsets.
    missing_since: Option<Secs>,
    /// From the last DescribeConsumerGroups answer; `None` until one (or when describing is
    /// off). Shared with snapshots.
    pub membership: Option<Arc<Membership>>,
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
            has_committed: false,
            missing_since: None,
            membership: None,
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
    #[inline]
    pub fn is_missing(&self, index: usize) -> bool {
        self.windows.is_missing(index)
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
    #[inline]
    pub fn window_len(&self, index: usize) -> usize {
        self.windows.len_of(index)
    }

    /// Points of group-partition `index`, newest first.
    #[inline]
    pub fn window(&self, index: usize, points: usize) -> impl Iterator<Item = Point> + '_ {
        self.windows.points(index, points, self.offsets[index])
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
    /// Keep member ids of described groups (see [`membership`]).
    member_ids: bool,
    /// Groups removed through the API, with a fingerprint of their present committed offsets
    /// then (not those kept missing for the grace period): they stay away until they commit
    /// something else; and when they were last seen (listed, or still committing the same), so
    /// a forgotten group that left Kafka is forgotten for good after `retention`.
    forgotten: HashMap<Arc<str>, (u64, Secs)>,
    /// Topics removed from a group through the API (group → topic name, fingerprint of the
    /// group's offsets on it then): they stay away until the group commits something else on
    /// them.
    forgotten_topics: HashMap<Arc<str>, Vec<(Arc<str>, u64)>>,
    /// Record timestamps at committed offsets (`time_lag = "record"`; empty otherwise).
    record_times: record_time::RecordTimes,
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
            member_ids: false,
            forgotten: HashMap::new(),
            forgotten_topics: HashMap::new(),
            record_times: HashMap::new(),
        }
    }

    /// Keep member ids for the owner series (`groups.member_ids`).
    pub fn with_member_ids(mut self, on: bool) -> Store {
        self.member_ids = on;
        self
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

    #[inline]
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
                t.resize(count as usize, points);
                id
            })
            .collect()
    }

    fn intern_topic(&mut self, name: &str, now: Secs) -> u32 {
        if let Some(&id) = self.topic_ids.get(name) {
            return id;
        }
        let state = TopicState::new(Name::new(name), now);
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
        // Only the present commits: a group-partition kept for the grace period after its
        // offset vanished is not in the next poll's commits either.
        let mut commits: Vec<Commit> = g
            .keys()
            .filter(|&(_, _, i)| !g.is_missing(i))
            .map(|(topic, partition, i)| Commit {
                topic,
                partition,
                offset: g.offsets[i],
            })
            .collect();
        let entry = (fingerprint(&mut commits), g.last_seen);
        self.forgotten.insert(g.name.raw.clone(), entry);
        true
    }

    /// Forgets `topic` in `group` (Burrow's `DELETE …/consumer/{group}/topic/{topic}`) until the
    /// group commits offsets on it other than its current ones; a group left without topics is
    /// removed, as Burrow does. Returns whether the group had offsets on the topic.
    pub fn forget_topic(&mut self, group: &str, topic: &str) -> bool {
        let points = self.points;
        let (Some(id), Some(g)) = (self.topic_id(topic), self.groups.get_mut(group)) else {
            return false;
        };
        // Only the present commits, as in `forget`.
        let mut commits: Vec<Commit> = g
            .keys()
            .filter(|&(t, _, i)| t == id && !g.is_missing(i))
            .map(|(topic, partition, i)| Commit {
                topic,
                partition,
                offset: g.offsets[i],
            })
            .collect();
        if commits.is_empty() {
            return false;
        }
        let rest: Vec<(u32, i32)> = g
            .keys()
            .filter(|&(t, _, _)| t != id)
            .map(|(t, p, _)| (t, p))
            .collect();
        let name = g.name.raw.clone();
        if rest.is_empty() {
            self.groups.remove(group);
        } else {
            g.relayout(&rest, points);
        }
        let topics = self.forgotten_topics.entry(name).or_default();
        topics.retain(|(t, _)| &**t != topic);
        topics.push((Arc::from(topic), fingerprint(&mut commits)));
        true
    }

    /// `commits` without those on `group`'s forgotten topics that did not change (moved to the
    /// end); a topic whose offsets changed is no longer forgotten.
    fn without_forgotten_topics<'c>(
        &mut self,
        group: &str,
        commits: &'c mut [Commit],
    ) -> &'c mut [Commit] {
        let Some(topics) = self.forgotten_topics.get_mut(group) else {
            return commits;
        };
        let mut hidden: Vec<u32> = Vec::new();
        topics.retain(|(name, seen)| {
            // A topic gone from the store was deleted: a re-created one is another topic.
            let Some(&id) = self.topic_ids.get(name) else {
                return false;
            };
            let mut on: Vec<Commit> = commits.iter().filter(|c| c.topic == id).copied().collect();
            if on.is_empty() || fingerprint(&mut on) == *seen {
                hidden.push(id);
                return true;
            }
            false
        });
        if topics.is_empty() {
            self.forgotten_topics.remove(group);
        }
        commits.sort_unstable_by_key(|c| hidden.contains(&c.topic));
        let kept = commits
            .iter()
            .filter(|c| !hidden.contains(&c.topic))
            .count();
        &mut commits[..kept]
    }

    /// Records a group listing entry (the group exists, in `state`).
    pub fn apply_group_state(&mut self, now: Secs, group: &str, state: GroupState) {
        if let Some((_, seen)) = self.forgotten.get_mut(group) {
            *seen = now;
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
        let read = commits.len();
        // Forgotten topics first: a forgotten group's fingerprint left them out too.
        let commits = self.without_forgotten_topics(group, commits);
        if let Some((forgotten, seen)) = self.forgotten.get_mut(group) {
            let mut present = commits.to_vec();
            if fingerprint(&mut present) == *forgotten {
                *seen = now;
                return;
            }
            self.forgotten.remove(group);
        }
        if read > 0 && commits.is_empty() && !self.groups.contains_key(group) {
            return; // all it committed is on forgotten topics
        }
        commits.sort_unstable_by_key(Commit::key);
        let g = match self.groups.get_mut(group) {
            Some(g) => g,
            None => Self::insert_group(&mut self.groups, group),
        };
        g.last_seen = now;
        g.has_committed |= !commits.is_empty();
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
        let mut changed: Vec<(usize, i64, Option<u64>)> = Vec::new();
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
            if g.windows.len_of(i) == 0 || offset != g.offsets[i] {
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

    /// Removes what has been gone for at least `retention`: topics neither in metadata nor
    /// with a head read by a poll, groups no longer seen, group-partitions no longer committed.
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
        self.forgotten.retain(|_, (_, seen)| keep(*seen));
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
