use super::*;
use crate::model::Watermarks;

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

fn window(store: &Store, group: &str, i: usize) -> Vec<(i64, Secs, Option<u64>)> {
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
fn point_lag_is_exact_and_unknown_without_watermark() {
    let wm = |latest| Watermarks {
        earliest: 0,
        latest,
    };
    assert_eq!(point_lag(Some(&wm(100)), 120), Some(0));
    assert_eq!(point_lag(Some(&wm(-1)), 5), None);
    assert_eq!(point_lag(None, 5), None);
    assert_eq!(point_lag(Some(&wm(i64::MAX)), 0), Some(i64::MAX as u64));
    assert_eq!(point_lag(Some(&wm(100)), 40), Some(60));
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
    // A delta beyond i32 is kept exactly; the window goes on.
    s.apply_group_offsets(3, "g", &mut [Commit::new(t, 0, 9_000_000_000)]);
    assert_eq!(
        window(&s, "g", 0),
        vec![
            (9_000_000_000, 3, Some(1_000_000_000)),
            (300, 2, Some(9_999_999_700)),
            (500, 1, Some(9_999_999_500)),
        ]
    );
}

#[test]
fn high_watermark_ring_survives_a_failure_and_restarts_going_back() {
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
    assert_eq!(ring(&s), vec![(20, 40), (12, 30), (8, 20)], "ring kept");
    assert_eq!(
        s.topic(t).unwrap().watermarks[0].latest,
        20,
        "last good value kept"
    );
    wm(&mut s, 60, t, &[25]);
    assert_eq!(ring(&s), vec![(25, 60), (20, 40), (12, 30)]);
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

/// Issue 17, item 4: a topic whose heads every poll reads stays, however long ago the last
/// metadata refresh; one whose heads stop answering goes after retention.
#[test]
fn item4_topics_read_by_each_poll_outlive_a_retention_shorter_than_the_metadata_refresh() {
    let ret = Duration::from_secs(30);
    let mut s = Store::new(3);
    let t = s.apply_metadata(0, &[("a", 2)])[0];
    for now in (0..=300).step_by(5) {
        wm(&mut s, now, t, &[100 + now as i64, 100]);
        s.apply_group_offsets(now, "g", &mut [Commit::new(t, 0, 1), Commit::new(t, 1, 2)]);
        s.expire(now, ret);
        assert!(s.topic_id("a").is_some(), "topic kept at {now}");
        assert_eq!(
            s.group("g").unwrap().len(),
            2,
            "group-partitions kept at {now}"
        );
    }
    // The heads stop answering (topic deleted, metadata not refreshed yet): gone 30 s after
    // the last good read.
    let failed = |p| WatermarkSample {
        topic: t,
        partition: p,
        earliest: None,
        latest: None,
    };
    s.apply_watermarks(305, &[failed(0), failed(1)]);
    s.expire(329, ret);
    assert!(s.topic_id("a").is_some());
    s.expire(330, ret);
    assert!(s.topic_id("a").is_none());
}

#[test]
fn item2_forget_sticks_while_a_partition_is_in_the_grace_period() {
    let mut s = Store::new(3);
    let t = s.apply_metadata(0, &[("t", 2)])[0];
    wm(&mut s, 0, t, &[10, 10]);
    s.apply_group_offsets(1, "g", &mut [Commit::new(t, 0, 3), Commit::new(t, 1, 4)]);
    // Partition 1's offset vanishes: kept for the retention grace period, flagged missing.
    s.apply_group_offsets(2, "g", &mut [Commit::new(t, 0, 3)]);
    assert!(s.group("g").unwrap().is_missing(1));
    assert!(s.forget("g"));
    s.apply_group_state(3, "g", GroupState::Empty);
    s.apply_group_offsets(3, "g", &mut [Commit::new(t, 0, 3)]);
    assert!(
        s.group("g").is_none(),
        "same present commits: still forgotten"
    );
    s.apply_group_offsets(4, "g", &mut [Commit::new(t, 0, 6)]);
    assert_eq!(
        window(&s, "g", 0),
        vec![(6, 4, Some(4))],
        "back once it commits something else"
    );
    assert_eq!(s.group("g").unwrap().len(), 1);
}

#[test]
fn item3_a_missed_watermark_sample_keeps_the_ring_with_true_times() {
    let mut s = Store::new(3);
    let t = s.apply_metadata(0, &[("t", 1)])[0];
    let missed = |s: &mut Store, now: Secs| {
        s.apply_watermarks(
            now,
            &[WatermarkSample {
                topic: t,
                partition: 0,
                earliest: None,
                latest: None,
            }],
        )
    };
    for (now, hw) in [(10, 5), (20, 8), (30, 12)] {
        wm(&mut s, now, t, &[hw]);
    }
    let ring = |s: &Store| s.high_watermarks(t, 0).collect::<Vec<_>>();
    let history = |s: &Store| s.head_history(t, 0).collect::<Vec<_>>();
    missed(&mut s, 40);
    assert_eq!(ring(&s), vec![(12, 30), (8, 20), (5, 10)], "kept as it was");
    assert_eq!(s.topic(t).unwrap().watermarks[0].latest, 12);
    wm(&mut s, 50, t, &[20]);
    assert_eq!(ring(&s), vec![(20, 50), (12, 30), (8, 20)]);
    assert_eq!(history(&s)[3..], [(5, 10)], "archived with its own time");
    missed(&mut s, 60);
    missed(&mut s, 70);
    wm(&mut s, 80, t, &[25]);
    assert_eq!(ring(&s), vec![(25, 80), (20, 50), (12, 30)]);
    wm(&mut s, 90, t, &[30]);
    wm(&mut s, 100, t, &[31]);
    assert_eq!(ring(&s), vec![(31, 100), (30, 90), (25, 80)]);
    assert_eq!(
        history(&s),
        vec![
            (31, 100),
            (30, 90),
            (25, 80),
            (20, 50),
            (12, 30),
            (8, 20),
            (5, 10)
        ]
    );
    // The gaps have left the ring: later samples take their times from the polls again.
    wm(&mut s, 110, t, &[33]);
    assert_eq!(ring(&s), vec![(33, 110), (31, 100), (30, 90)]);
    // A watermark that goes back (topic re-created) still restarts the ring and archive.
    missed(&mut s, 120);
    wm(&mut s, 130, t, &[3]);
    assert_eq!(ring(&s), vec![(3, 130)]);
    assert_eq!(history(&s), vec![(3, 130)]);
    wm(&mut s, 140, t, &[4]);
    assert_eq!(ring(&s), vec![(4, 140), (3, 130)]);
}

#[test]
fn item8_forgotten_topics_stay_away_until_the_group_commits_other_offsets_on_them() {
    let mut s = Store::new(3);
    let ids = s.apply_metadata(0, &[("a", 2), ("b", 1)]);
    let (a, b) = (ids[0], ids[1]);
    wm(&mut s, 0, a, &[10, 10]);
    wm(&mut s, 0, b, &[10]);
    let commits = |a0: i64| {
        [
            Commit::new(a, 0, a0),
            Commit::new(a, 1, 4),
            Commit::new(b, 0, 7),
        ]
    };
    s.apply_group_offsets(1, "g", &mut commits(3));
    assert!(!s.forget_topic("g", "nope"), "unknown topic");
    assert!(!s.forget_topic("h", "a"), "unknown group");
    assert!(s.forget_topic("g", "a"));
    assert!(!s.forget_topic("g", "a"), "already gone");
    let keys = |s: &Store| -> Vec<(u32, i32)> {
        let g = s.group("g").expect("group kept: it still has topic b");
        g.runs
            .iter()
            .flat_map(|r| r.partitions().map(move |(_, p)| (r.topic, p)))
            .collect()
    };
    assert_eq!(keys(&s), vec![(b, 0)]);
    // The same offsets on `a`: still forgotten, while `b` goes on.
    s.apply_group_offsets(2, "g", &mut commits(3));
    assert_eq!(keys(&s), vec![(b, 0)]);
    // Something else committed on `a`: back, with fresh windows.
    s.apply_group_offsets(3, "g", &mut commits(5));
    assert_eq!(keys(&s), vec![(a, 0), (a, 1), (b, 0)]);
    assert_eq!(window(&s, "g", 0), vec![(5, 3, Some(5))]);
    assert_eq!(window(&s, "g", 1), vec![(4, 3, Some(6))]);

    // Burrow removes a group left without topics; it stays away like its topic.
    s.apply_group_offsets(4, "one", &mut [Commit::new(b, 0, 2)]);
    assert!(s.forget_topic("one", "b"));
    assert!(s.group("one").is_none());
    s.apply_group_offsets(5, "one", &mut [Commit::new(b, 0, 2)]);
    assert!(s.group("one").is_none(), "same offsets: still forgotten");
    s.apply_group_offsets(6, "one", &mut [Commit::new(b, 0, 3)]);
    assert_eq!(window(&s, "one", 0), vec![(3, 6, Some(7))]);
}

/// A point's lag (exact over Kafka's whole range).
fn lag64(p: &Point) -> Option<u64> {
    p.lag
}

fn window64(store: &Store, group: &str, i: usize) -> Vec<(i64, Secs, Option<u64>)> {
    let g = store.group(group).unwrap();
    g.window(i, store.points())
        .map(|p| (p.offset, p.time, lag64(&p)))
        .collect()
}

#[test]
fn item4_lags_beyond_u32_are_exact_in_the_window() {
    let mut s = Store::new(4);
    let t = s.apply_metadata(100, &[("t", 1)])[0];
    for (now, offset) in [
        (100, 5_000_000_000i64),
        (110, 5_250_000_000),
        (120, 5_500_000_000),
    ] {
        wm(&mut s, now, t, &[10_000_000_000]);
        s.apply_group_offsets(now, "g", &mut [Commit::new(t, 0, offset)]);
    }
    assert_eq!(
        window64(&s, "g", 0),
        vec![
            (5_500_000_000, 120, Some(4_500_000_000)),
            (5_250_000_000, 110, Some(4_750_000_000)),
            (5_000_000_000, 100, Some(5_000_000_000)),
        ]
    );
    // The largest lag Kafka can have, and one just past the old u32 sentinels.
    wm(&mut s, 130, t, &[i64::MAX]);
    s.apply_group_offsets(130, "g", &mut [Commit::new(t, 0, 0)]);
    wm(&mut s, 140, t, &[u32::MAX as i64 + 1]);
    s.apply_group_offsets(140, "g", &mut [Commit::new(t, 0, 1)]);
    let w = window64(&s, "g", 0);
    assert_eq!(w[0], (1, 140, Some(u32::MAX as u64)));
    assert_eq!(w[1], (0, 130, Some(i64::MAX as u64)));
    assert_eq!(w[2], (5_500_000_000, 120, Some(4_500_000_000)));
}

#[test]
fn item4_a_rewind_beyond_i32_keeps_the_window() {
    let mut s = Store::new(4);
    let t = s.apply_metadata(100, &[("t", 1)])[0];
    for (now, offset) in [(100, 10_000_000_000i64), (110, 10_000_000_050), (120, 100)] {
        wm(&mut s, now, t, &[10_000_000_100]);
        s.apply_group_offsets(now, "g", &mut [Commit::new(t, 0, offset)]);
    }
    assert_eq!(
        window64(&s, "g", 0),
        vec![
            (100, 120, Some(10_000_000_000)),
            (10_000_000_050, 110, Some(50)),
            (10_000_000_000, 100, Some(100)),
        ]
    );
    // And forward again by more than 2^31, then the extremes of i64.
    wm(&mut s, 130, t, &[i64::MAX]);
    s.apply_group_offsets(130, "g", &mut [Commit::new(t, 0, i64::MAX)]);
    s.apply_group_offsets(140, "g", &mut [Commit::new(t, 0, -1)]);
    let offsets: Vec<i64> = window64(&s, "g", 0).iter().map(|p| p.0).collect();
    assert_eq!(offsets, vec![-1, i64::MAX, 100, 10_000_000_050]);
}

#[test]
fn item4_time_gaps_are_exact_to_the_second() {
    let gaps: [Secs; 9] = [200, 127, 128, 254, 255, 3_599, 86_400, 86_401, 40 * 86_400];
    let mut s = Store::new(gaps.len() + 1);
    let t = s.apply_metadata(0, &[("t", 1)])[0];
    wm(&mut s, 0, t, &[1_000]);
    let mut now: Secs = 1_000_000;
    let mut times = vec![now];
    s.apply_group_offsets(now, "g", &mut [Commit::new(t, 0, 0)]);
    for (k, gap) in gaps.iter().enumerate() {
        now += gap;
        times.push(now);
        s.apply_group_offsets(now, "g", &mut [Commit::new(t, 0, k as i64 + 1)]);
    }
    let got: Vec<Secs> = window64(&s, "g", 0).iter().map(|p| p.1).collect();
    times.reverse();
    assert_eq!(got, times);
    // Every gap up to a day, one at a time.
    let mut s = Store::new(2);
    let t = s.apply_metadata(0, &[("t", 1)])[0];
    let mut now: Secs = 1_000_000;
    s.apply_group_offsets(now, "g", &mut [Commit::new(t, 0, 0)]);
    for gap in (0..=86_400).step_by(7).chain([86_400]) {
        now += gap;
        s.apply_group_offsets(now, "g", &mut [Commit::new(t, 0, now as i64)]);
        let w = window64(&s, "g", 0);
        assert_eq!(w[0].1 - w[1].1, gap);
    }
}

/// A window's points as `(offset, time, lag)`, newest first.
type Pts = Vec<(i64, Secs, Option<u64>)>;

/// What a window should hold: Burrow's storage, newest first (a reference model).
#[derive(Default, Clone)]
struct Model(Pts);

impl Model {
    fn push(&mut self, points: usize, min_distance: Secs, p: (i64, Secs, Option<u64>)) {
        if let Some(newest) = self.0.first_mut() {
            if newest.0 == p.0 {
                return;
            }
            if min_distance > 0 && p.1.saturating_sub(newest.1) < min_distance {
                *newest = (p.0, newest.1, p.2);
                return;
            }
        }
        self.0.insert(0, p);
        self.0.truncate(points);
    }
}

#[test]
fn item4_windows_round_trip_small_and_huge_values() {
    const POINTS: usize = 5;
    let mut s = Store::new(POINTS).with_min_distance(15);
    let names = ["a", "b"];
    let ids = s.apply_metadata(0, &[("a", 4), ("b", 2)]);
    // Partitions committed, by stage: later stages add partitions that sort before and
    // between existing ones, so windows move to other indexes.
    let stages: [&[(usize, i32)]; 3] = [
        &[(0, 1), (0, 3), (1, 1)],
        &[(0, 0), (0, 1), (0, 3), (1, 0), (1, 1)],
        &[(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)],
    ];
    let steps: [i64; 9] = [
        5,
        3_000_000_000,
        -7,
        -1_000_000_000_000,
        0,
        1,
        i32::MAX as i64 + 1,
        i32::MIN as i64,
        2_000_000,
    ];
    let gaps: [Secs; 7] = [10, 5, 200, 100_000, 3, 255, 30];
    let heads: [i64; 3] = [10_000_000_000_000, 1_000, -1];
    let mut models: BTreeMap<(usize, i32), Model> = BTreeMap::new();
    let mut offsets: BTreeMap<(usize, i32), i64> = BTreeMap::new();
    let mut now: Secs = 1_000_000;
    let mut snapshots: Vec<(Windows, Arc<[i64]>, Vec<Pts>)> = Vec::new();
    for poll in 0..60usize {
        now += gaps[poll % gaps.len()];
        let head = heads[poll % heads.len()];
        for &t in &ids {
            let latest = vec![head + poll as i64; 4];
            if head < 0 {
                // A failed request: no head, the points' lags are unknown.
                let samples: Vec<WatermarkSample> = (0..4)
                    .map(|p| WatermarkSample {
                        topic: t,
                        partition: p,
                        earliest: None,
                        latest: None,
                    })
                    .collect();
                s.apply_watermarks(now, &samples);
            } else {
                wm(&mut s, now, t, &latest);
            }
        }
        let stage = stages[(poll / 20).min(2)];
        let mut commits = Vec::new();
        for (k, &(topic, partition)) in stage.iter().enumerate() {
            let o = offsets.entry((topic, partition)).or_insert(1_000);
            if (poll + k) % 4 != 0 {
                *o = o.wrapping_add(steps[(poll * 3 + k) % steps.len()]);
            }
            commits.push(Commit::new(ids[topic], partition, *o));
            let wmarks = s.topic(ids[topic]).unwrap().watermarks[partition as usize];
            let lag = wmarks.lag(*o);
            models
                .entry((topic, partition))
                .or_default()
                .push(POINTS, 15, (*o, now, lag));
        }
        s.apply_group_offsets(now, "g", &mut commits);
        let g = s.group("g").unwrap();
        let mut seen = Vec::new();
        for (t, p, i) in g.keys() {
            let topic = ids.iter().position(|&x| x == t).unwrap();
            let got: Vec<_> = g
                .window(i, POINTS)
                .map(|p| (p.offset, p.time, lag64(&p)))
                .collect();
            assert_eq!(
                got,
                models[&(topic, p)].0,
                "poll {poll}, {}/{p}",
                names[topic]
            );
            seen.push(got);
        }
        // Snapshots keep reading what they saw while the store moves on (copy on write).
        if poll % 7 == 0 {
            snapshots.push((g.windows.clone(), g.offsets.clone(), seen));
        }
        for (windows, offsets, seen) in &snapshots {
            for (i, want) in seen.iter().enumerate() {
                let got: Vec<_> = windows
                    .points(i, POINTS, offsets[i])
                    .map(|p| (p.offset, p.time, lag64(&p)))
                    .collect();
                assert_eq!(&got, want, "snapshot, poll {poll}");
            }
        }
    }
}

#[test]
fn forgetting_a_group_after_one_of_its_topics_sticks() {
    let mut s = Store::new(3);
    let ids = s.apply_metadata(0, &[("a", 1), ("b", 1)]);
    let (a, b) = (ids[0], ids[1]);
    let both = |b_offset| [Commit::new(a, 0, 3), Commit::new(b, 0, b_offset)];
    s.apply_group_offsets(1, "g", &mut both(7));
    assert!(s.forget_topic("g", "a"));
    assert!(s.forget("g"));
    s.apply_group_offsets(2, "g", &mut both(7));
    assert!(s.group("g").is_none(), "same commits: still forgotten");
    s.apply_group_offsets(3, "g", &mut both(8));
    let g = s.group("g").expect("b moved: the group is back");
    assert_eq!(g.len(), 1, "topic a is still forgotten");
    assert_eq!(window(&s, "g", 0), vec![(8, 3, None)]);
}

#[test]
fn forgetting_a_topic_sticks_while_one_of_its_partitions_is_in_the_grace_period() {
    let mut s = Store::new(3);
    let ids = s.apply_metadata(0, &[("a", 2), ("b", 1)]);
    let (a, b) = (ids[0], ids[1]);
    s.apply_group_offsets(
        1,
        "g",
        &mut [
            Commit::new(a, 0, 3),
            Commit::new(a, 1, 4),
            Commit::new(b, 0, 1),
        ],
    );
    // a:1's commit vanished: kept for the grace period.
    s.apply_group_offsets(2, "g", &mut [Commit::new(a, 0, 3), Commit::new(b, 0, 1)]);
    assert_eq!(s.group("g").unwrap().len(), 3);
    assert!(s.forget_topic("g", "a"));
    s.apply_group_offsets(3, "g", &mut [Commit::new(a, 0, 3), Commit::new(b, 0, 1)]);
    assert_eq!(s.group("g").unwrap().len(), 1, "topic a stays forgotten");
}

#[test]
fn forgotten_groups_that_are_not_seen_again_are_dropped_after_retention() {
    let mut s = Store::new(3);
    let a = s.apply_metadata(0, &[("a", 1)])[0];
    s.apply_group_offsets(1, "g", &mut [Commit::new(a, 0, 3)]);
    assert!(s.forget("g"));
    let retention = Duration::from_secs(100);
    // Still committing the same: still forgotten, and seen.
    s.apply_group_offsets(90, "g", &mut [Commit::new(a, 0, 3)]);
    s.apply_metadata(150, &[("a", 1)]);
    s.expire(150, retention);
    s.apply_group_offsets(150, "g", &mut [Commit::new(a, 0, 3)]);
    assert!(
        s.group("g").is_none(),
        "seen at 90, within retention at 150"
    );
    // Not seen from 150 to 260: the entry goes; the same commits are a group again.
    s.apply_metadata(260, &[("a", 1)]);
    s.expire(260, retention);
    s.apply_group_offsets(260, "g", &mut [Commit::new(a, 0, 3)]);
    assert!(s.group("g").is_some());
}

/// Record times are wanted where a group lags and none was read at that offset: the largest
/// lags first, at most `limit`, none skipped; a time nobody sits at any more goes, and so does
/// one whose record retention deleted.
#[test]
fn record_times_follow_the_lagging_offsets() {
    let mut store = Store::new(3);
    let t = store.apply_metadata(1, &[("orders", 2)])[0];
    let heads = |start: i64| {
        [(0, 100), (1, 50)].map(|(p, latest)| WatermarkSample {
            topic: t,
            partition: p,
            earliest: Some(start),
            latest: Some(latest),
        })
    };
    store.apply_watermarks(1, &heads(0));
    store.apply_group_offsets(1, "a", &mut [Commit::new(t, 0, 40), Commit::new(t, 1, 50)]);
    store.apply_group_offsets(1, "b", &mut [Commit::new(t, 0, 90), Commit::new(t, 1, 20)]);
    let wanted =
        |store: &mut Store, limit, skip: Option<(u32, i32, i64)>| -> Vec<(i32, i64, u64)> {
            store
                .records_wanted(limit, |w| Some(w.key()) == skip)
                .iter()
                .map(|w| (w.partition, w.offset, w.lag))
                .collect()
        };
    // Group a is caught up on partition 1.
    assert_eq!(
        wanted(&mut store, 10, None),
        [(0, 40, 60), (1, 20, 30), (0, 90, 10)]
    );
    assert_eq!(wanted(&mut store, 1, None), [(0, 40, 60)]);
    assert_eq!(
        wanted(&mut store, 10, Some((t, 0, 40))),
        [(1, 20, 30), (0, 90, 10)]
    );
    let time = |read_offset| RecordTime {
        timestamp_ms: 1_000,
        read_offset,
    };
    store.apply_record_time(t, 0, 40, time(40));
    store.apply_record_time(t, 0, 90, time(90));
    assert_eq!(store.record_time(t, 0, 40), Some(time(40)));
    assert_eq!(wanted(&mut store, 10, None), [(1, 20, 30)]);
    // Group b moves on partition 0: its old offset's time goes, a's stays.
    store.apply_group_offsets(2, "b", &mut [Commit::new(t, 0, 95), Commit::new(t, 1, 20)]);
    assert_eq!(wanted(&mut store, 10, None), [(1, 20, 30), (0, 95, 5)]);
    assert_eq!(store.record_time(t, 0, 90), None);
    assert_eq!(store.record_time(t, 0, 40), Some(time(40)));
    // Retention deletes offset 40's record: read again (the next record answers now).
    store.apply_watermarks(3, &heads(41));
    assert_eq!(
        wanted(&mut store, 10, None),
        [(0, 40, 60), (1, 20, 30), (0, 95, 5)]
    );
    assert_eq!(store.record_time(t, 0, 40), None);
}
