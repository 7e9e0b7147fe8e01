use super::*;
use crate::model::GroupState;
use crate::store::{Commit, Store};

/// Builds a window from Burrow-style test data: offsets, lags (None = null), timestamps
/// in seconds.
fn window(offsets: &[i64], lags: &[Option<u32>], times: &[Secs]) -> Vec<Point> {
    offsets
        .iter()
        .zip(lags)
        .zip(times)
        .map(|((&offset, &lag), &time)| Point {
            offset,
            time,
            lag: lag.map(u64::from),
        })
        .collect()
}

fn burrow(w: &[Point], hw: &[i64], cur: u64, now: Secs, allowed: u64) -> Status {
    let input = PartitionInput {
        window: w,
        window_size: w.len().max(1),
        high_watermarks: hw,
        high_watermarks_since: 0,
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
        high_watermarks_since: 0,
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
                high_watermarks_since: 0,
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
        high_watermarks_since: 0,
        current_lag: 50,
    };
    // Burrow: STOP at once. Improved: OK until the head ring shows movement.
    assert_eq!(burrow(&w, &[150], 50, 1001, 0), Status::Stop);
    let p = PartitionInput {
        window: &w,
        ..input(&[150])
    };
    assert_eq!(rules_improved(&p, 1001, &k), Status::Ok);
    // Full ring, head moving, offset still since before the ring's oldest sample (1010): a
    // real stall is still reported.
    let p = PartitionInput {
        window: &w,
        high_watermarks_since: 1010,
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
        high_watermarks_since: 0,
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
        high_watermarks_since: 0,
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
        high_watermarks_since: 0,
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
    assert_eq!(v.lag_seconds(), Some(((1u32 << 26) - 1) as f64 / 10.0));
    // Every method survives the packing, with the largest lag that is not saturated.
    for method in LagMethod::ALL.into_iter().skip(1) {
        let v = Verdict::new(Status::Stall, method, 6_710_886.2);
        assert_eq!(
            (v.status(), v.method(), v.lag_tenths()),
            (Status::Stall, method, Some(67_108_862))
        );
    }
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

/// Improved rules, one store partition: `(verdict status, group status)` at `now`.
fn improved_in_store(store: &Store, now: Secs) -> (Status, Status) {
    let knobs = EvaluatorConfig {
        rules: RuleSet::Improved,
        poll_interval: 10,
        ..EvaluatorConfig::default()
    };
    let evals = evaluate_store(store, now, &knobs);
    (evals[0].verdicts[0].status(), evals[0].eval.status)
}

#[test]
fn item1_improved_rule1_no_stall_for_a_point_newer_than_the_ring() {
    use crate::store::WatermarkSample;
    let mut store = Store::new(10);
    let t = store.apply_metadata(100, &[("t", 1)])[0];
    let poll = |store: &mut Store, now: Secs, latest: i64| {
        store.apply_watermarks(
            now,
            &[WatermarkSample {
                topic: t,
                partition: 0,
                earliest: Some(0),
                latest: Some(latest),
            }],
        );
    };
    // Warren has run for a full ring: the head moved 1000 → 1900 over 10 polls.
    for k in 0..10u32 {
        poll(&mut store, 100 + 10 * k, 1000 + 100 * i64::from(k));
    }
    // A new group appears, starting from earliest: its one point is newer than the ring.
    store.apply_group_offsets(190, "g", &mut [Commit::new(t, 0, 500)]);
    let g = store.group("g").unwrap();
    let w: Vec<Point> = g.window(0, 10).collect();
    assert_eq!(
        w,
        [Point {
            offset: 500,
            time: 190,
            lag: Some(1400)
        }]
    );
    assert_eq!(store.high_watermarks(t, 0).count(), 10);
    assert_eq!(improved_in_store(&store, 190), (Status::Ok, Status::Ok));
    // The offset stands still while the head moves on: while the point is not older than
    // the ring's oldest sample, nothing is proven.
    for k in 10..19u32 {
        poll(&mut store, 100 + 10 * k, 1000 + 100 * i64::from(k));
        store.apply_group_offsets(100 + 10 * k, "g", &mut [Commit::new(t, 0, 500)]);
    }
    assert_eq!(store.high_watermarks(t, 0).last(), Some((1900, 190)));
    assert_eq!(improved_in_store(&store, 280), (Status::Ok, Status::Ok));
    // One poll later the offset has stood still since before the ring began: STALL.
    poll(&mut store, 290, 2900);
    store.apply_group_offsets(290, "g", &mut [Commit::new(t, 0, 500)]);
    assert_eq!(store.high_watermarks(t, 0).last(), Some((2000, 200)));
    assert_eq!(improved_in_store(&store, 290), (Status::Stall, Status::Err));
}

#[test]
fn item3_a_missed_watermark_sample_keeps_recent_zero_and_lag_seconds() {
    use crate::store::WatermarkSample;
    let mut store = Store::new(4);
    let t = store.apply_metadata(100, &[("t", 1)])[0];
    let poll = |store: &mut Store, now: Secs, latest: Option<i64>| {
        store.apply_watermarks(
            now,
            &[WatermarkSample {
                topic: t,
                partition: 0,
                earliest: latest.map(|_| 0),
                latest,
            }],
        );
    };
    poll(&mut store, 100, Some(90));
    store.apply_group_offsets(100, "g", &mut [Commit::new(t, 0, 90)]);
    poll(&mut store, 110, Some(95));
    store.apply_group_offsets(110, "g", &mut [Commit::new(t, 0, 90)]);
    // A leader election: no watermark for this partition this poll.
    poll(&mut store, 120, None);
    store.apply_group_offsets(120, "g", &mut [Commit::new(t, 0, 90)]);
    poll(&mut store, 130, Some(99));
    store.apply_group_offsets(130, "g", &mut [Commit::new(t, 0, 90)]);
    // Burrow: the head was at the offset 30 s ago (recent zero), so not STOP; the point had
    // zero lag, so OK.
    let evals = evaluate_store(&store, 130, &EvaluatorConfig::default());
    let v = evals[0].verdicts[0];
    assert_eq!(v.status(), Status::Ok);
    // The head passed offset 90 between 100 s and 110 s (91 of 90..95): produced at 102 s.
    assert_eq!(v.method(), LagMethod::Interpolated);
    assert_eq!(v.lag_seconds(), Some(28.0));
    assert_eq!(
        store.high_watermarks(t, 0).collect::<Vec<_>>(),
        [(99, 130), (95, 110), (90, 100)]
    );
}

/// One partition through a real store (Burrow's rules): the offsets committed at the times
/// given, each read after a watermark poll with the head given; `(window, status)` at the
/// last time.
fn item4_burrow_in_store(polls: &[(Secs, i64, i64)]) -> (Vec<(i64, Secs, Option<u64>)>, Status) {
    use crate::store::WatermarkSample;
    let mut store = Store::new(10);
    let t = store.apply_metadata(polls[0].0, &[("t", 1)])[0];
    for &(now, head, offset) in polls {
        store.apply_watermarks(
            now,
            &[WatermarkSample {
                topic: t,
                partition: 0,
                earliest: Some(0),
                latest: Some(head),
            }],
        );
        store.apply_group_offsets(now, "g", &mut [Commit::new(t, 0, offset)]);
    }
    let now = polls[polls.len() - 1].0;
    let window = store
        .group("g")
        .unwrap()
        .window(0, 10)
        .map(|p| (p.offset, p.time, p.lag))
        .collect();
    let evals = evaluate_store(&store, now, &EvaluatorConfig::default());
    (window, evals[0].verdicts[0].status())
}

#[test]
fn item4_a_lag_falling_from_5e9_to_4_5e9_is_ok() {
    let head = 10_000_000_000;
    let (window, status) = item4_burrow_in_store(&[
        (100, head, 5_000_000_000),
        (110, head, 5_250_000_000),
        (120, head, 5_500_000_000),
    ]);
    // The lag decreased: Burrow's last rule says OK, not WARN.
    assert_eq!(status, Status::Ok);
    assert_eq!(
        window,
        [
            (5_500_000_000, 120, Some(4_500_000_000)),
            (5_250_000_000, 110, Some(4_750_000_000)),
            (5_000_000_000, 100, Some(5_000_000_000)),
        ]
    );
}

#[test]
fn item4_a_rewind_by_more_than_2_pow_31_is_rewind() {
    let head = 10_000_000_100;
    let (window, status) = item4_burrow_in_store(&[
        (100, head, 10_000_000_000),
        (110, head, 10_000_000_050),
        (120, head, 100),
    ]);
    assert_eq!(status, Status::Rewind);
    assert_eq!(
        window,
        [
            (100, 120, Some(10_000_000_000)),
            (10_000_000_050, 110, Some(50)),
            (10_000_000_000, 100, Some(100)),
        ]
    );
}

#[test]
fn item4_a_200_s_silence_stops_on_time() {
    // Points 200 s apart: STOP fires once the silence exceeds the span (400 s), not later.
    let polls = [(1_000, 100, 10), (1_200, 300, 20), (1_400, 500, 30)];
    let mut store = Store::new(10);
    let t = store.apply_metadata(1_000, &[("t", 1)])[0];
    for &(now, head, offset) in &polls {
        store.apply_watermarks(
            now,
            &[crate::store::WatermarkSample {
                topic: t,
                partition: 0,
                earliest: Some(0),
                latest: Some(head),
            }],
        );
        store.apply_group_offsets(now, "g", &mut [Commit::new(t, 0, offset)]);
    }
    let status =
        |now| evaluate_store(&store, now, &EvaluatorConfig::default())[0].verdicts[0].status();
    // The lag grows: WARN until then.
    assert_eq!(status(1_800), Status::Warn);
    assert_eq!(status(1_801), Status::Stop);
}
