//! `warren demo`: warren watching an embedded librdkafka `MockCluster`, no Kafka needed.
//!
//! One std thread owns the mock (3 brokers, topics `orders` with 6 partitions and `payments` with
//! 3) and runs two workers on scoped threads: a producer writing [`RATE`] messages per second to
//! every partition, and a committer that about once a second reads the partitions' heads and commits
//! explicit offsets for four consumer groups, each with its own [`Behaviour`] (see [`GROUPS`]).
//! The groups never join: they only commit, which is all lag monitoring looks at.
//!
//! warren itself runs through [`crate::app::serve`] with one cluster, `demo`. The mock cannot list
//! consumer groups, so the groups are named in `groups.static`. On SIGINT/SIGTERM the server and
//! scraper stop first, then the workers, then the mock.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::oneshot;

use crate::config::{ClusterConfig, Config, HttpConfig, OffsetRequests, WindowConfig};

/// Topics created in the mock: name and partition count.
const TOPICS: &[(&str, i32)] = &[("orders", 6), ("payments", 3)];
/// Brokers in the mock cluster (also the topics' replication factor).
const BROKERS: i32 = 3;
/// Messages produced per second to every partition.
const RATE: i64 = 20;
/// How often the committer acts, on average; one tick of [`Behaviour::target`].
const TICK: Duration = Duration::from_secs(1);
/// Each tick is delayed by up to this much (see [`jitter`]).
const MAX_JITTER: Duration = Duration::from_millis(400);
/// Ticks after which `audit-stopped` stops committing.
const STOP_AFTER: u64 = 30;
/// `replay-rewind` rewinds every this many ticks...
const REWIND_EVERY: u64 = 40;
/// ...by this many offsets...
const REWIND_BY: i64 = 500;
/// ...on this partition...
const REWIND_PARTITION: (&str, i32) = ("orders", 0);
/// ...then replays at this many offsets per tick until it is back at the head: twice the
/// production rate, so it is back where it was after `REWIND_BY / CATCH_UP` ticks (REWIND while
/// below it) and at the head after `REWIND_BY / RATE` ticks.
const CATCH_UP: i64 = 2 * RATE;
/// Timeout of the workers' Kafka calls.
const KAFKA_TIMEOUT: Duration = Duration::from_secs(5);

/// What a demo consumer group does with its committed offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Commits the head every tick: lag stays near 0.
    Fast,
    /// Commits every tick, but only half of what was produced: lag grows steadily.
    Slow,
    /// Keeps up for [`STOP_AFTER`] ticks, then commits nothing more.
    Stopped,
    /// Keeps up; every [`REWIND_EVERY`] ticks commits [`REWIND_BY`] lower on one partition.
    Rewind,
}

impl Behaviour {
    /// The offset to commit at `tick` (1 for the first) on a partition whose head (high
    /// watermark) is `head`, given the group's `previous` commit there (`None` before the
    /// first); `rewound` says whether this is the partition `Rewind` rewinds. `None`: commit
    /// nothing on it this tick.
    pub fn target(self, tick: u64, head: i64, previous: Option<i64>, rewound: bool) -> Option<i64> {
        match self {
            Behaviour::Fast => Some(head),
            Behaviour::Slow => Some((head / 2).max(previous.unwrap_or(0))),
            Behaviour::Stopped => (tick < STOP_AFTER).then_some(head),
            Behaviour::Rewind => {
                let Some(prev) = previous else {
                    return Some(head);
                };
                if rewound && tick.is_multiple_of(REWIND_EVERY) {
                    Some((prev - REWIND_BY).max(0))
                } else {
                    Some(head.min(prev + CATCH_UP).max(prev))
                }
            }
        }
    }
}

/// A demo consumer group.
#[derive(Debug, Clone, Copy)]
pub struct DemoGroup {
    pub name: &'static str,
    pub behaviour: Behaviour,
    /// One line for the console.
    pub description: &'static str,
}

/// The demo's consumer groups; each consumes every topic.
pub const GROUPS: &[DemoGroup] = &[
    DemoGroup {
        name: "billing-fast",
        behaviour: Behaviour::Fast,
        description: "commits the head every second; lag stays near 0 -> OK",
    },
    DemoGroup {
        name: "analytics-slow",
        behaviour: Behaviour::Slow,
        description: "commits every second at half the production rate; lag grows -> WARN",
    },
    DemoGroup {
        name: "audit-stopped",
        behaviour: Behaviour::Stopped,
        description: "keeps up for 30 s, then stops committing -> ERR, partitions STOP, \
                      ~20 s later",
    },
    DemoGroup {
        name: "replay-rewind",
        behaviour: Behaviour::Rewind,
        description: "keeps up; every 40 s rewinds orders/0 by 500 and replays it at twice \
                      the rate -> ERR, REWIND, for ~15 s",
    },
];

/// The configuration warren runs with against the mock at `bootstrap`.
pub fn demo_config(bootstrap: &str, listen: SocketAddr) -> Config {
    let mut cluster = ClusterConfig::new("demo", bootstrap);
    cluster.poll_interval = Duration::from_secs(2);
    cluster.metadata_refresh = Duration::from_secs(10);
    // The mock cannot list groups: try rarely, `groups.static` names them.
    cluster.groups_refresh = Duration::from_secs(3600);
    cluster.request_timeout = Duration::from_secs(5);
    cluster.groups.static_groups = GROUPS.iter().map(|g| g.name.to_string()).collect();
    // Nor describe them (no DescribeGroups): no member or owner series in the demo.
    cluster.groups.describe = false;
    // Nor answer a group's request for all its commits.
    cluster.offset_requests = Some(OffsetRequests::Partitions);
    cluster.topics.deny = vec!["^__".into()];
    cluster.labels = BTreeMap::from([("env".to_string(), "demo".to_string())]);
    let config = Config {
        http: HttpConfig {
            listen,
            ..HttpConfig::default()
        },
        window: WindowConfig { points: 10 },
        clusters: vec![cluster],
        ..Config::default()
    };
    // Fixed values apart from the mock's address: validation cannot fail.
    config
        .validate()
        .unwrap_or_else(|errors| panic!("invalid demo configuration: {errors:?}"))
}

/// Starts the mock and its workers, serves warren on `listen` until SIGINT/SIGTERM; the bound
/// address goes to `address_file` (`--address-file`) when given.
pub async fn run(
    listen: SocketAddr,
    address_file: Option<std::path::PathBuf>,
) -> Result<(), String> {
    let listener = crate::app::bind(listen).await?;
    crate::app::report_address(&listener, address_file.as_deref())?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("listener address: {e}"))?;
    // The page first: it is what a newcomer wants to open.
    println!("warren demo: status page at http://{addr}/  (Ctrl-C to stop)");
    let shutdown = crate::app::shutdown_on_signals();

    let stop = Arc::new(Stop::default());
    let (ready_tx, ready_rx) = oneshot::channel();
    let mock_thread = std::thread::Builder::new()
        .name("demo-mock".into())
        .spawn({
            let stop = stop.clone();
            move || run_mock(&stop, ready_tx)
        })
        .map_err(|e| format!("cannot start the demo thread: {e}"))?;
    let join = move || async move {
        match tokio::task::spawn_blocking(move || mock_thread.join()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err("the demo thread panicked".to_string()),
        }
    };

    let bootstrap = match ready_rx.await {
        Ok(Ok(bootstrap)) => bootstrap,
        Ok(Err(e)) => {
            let _ = join().await;
            return Err(e);
        }
        Err(_) => {
            join().await?;
            return Err("the demo thread ended before the mock cluster started".into());
        }
    };

    println!("warren demo: mock Kafka with {BROKERS} brokers at {bootstrap}");
    let topics: Vec<String> = TOPICS
        .iter()
        .map(|(t, n)| format!("{t} ({n} partitions)"))
        .collect();
    println!(
        "  topics: {}; {RATE} messages/s per partition",
        topics.join(", ")
    );
    for g in GROUPS {
        println!("  {:<15} {}", g.name, g.description);
    }
    println!("Metrics at http://{addr}/metrics, Burrow's API at http://{addr}/v3/kafka");
    println!("(The mock cannot list or describe consumer groups, nor read topic configurations: warren watches the groups via groups.static, leaves describing off, and logs one warning about each of the others.)");

    let served = crate::app::serve(demo_config(&bootstrap, addr), listener, shutdown).await;
    stop.set();
    let joined = join().await;
    served.and(joined)
}

/// Body of the thread owning the mock: reports the bootstrap servers (or the startup error) on
/// `ready`, then runs the workers until `stop`, then drops the mock.
fn run_mock(stop: &Stop, ready: oneshot::Sender<Result<String, String>>) {
    let started = start_mock().and_then(|mock| {
        let bootstrap = mock.bootstrap_servers();
        let producer = producer(&bootstrap)?;
        let committer = Committer::new(&bootstrap)?;
        Ok((mock, bootstrap, producer, committer))
    });
    let (mock, bootstrap, producer, committer) = match started {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("demo-producer".into())
            .spawn_scoped(s, || produce(&producer, stop))
            .and_then(|p| {
                std::thread::Builder::new()
                    .name("demo-committer".into())
                    .spawn_scoped(s, || committer.run(stop))
                    .map(|c| (p, c))
            });
        match spawned {
            Ok(_) => {
                let _ = ready.send(Ok(bootstrap));
            }
            Err(e) => {
                stop.set();
                let _ = ready.send(Err(format!("cannot start the demo workers: {e}")));
            }
        }
        // The scope joins the workers; they return once `stop` is set.
    });
    drop(producer);
    drop(committer);
    drop(mock);
    tracing::info!("demo cluster stopped");
}

fn start_mock() -> Result<MockCluster<'static, DefaultProducerContext>, String> {
    let mock =
        MockCluster::new(BROKERS).map_err(|e| format!("cannot start the mock cluster: {e}"))?;
    for &(topic, partitions) in TOPICS {
        mock.create_topic(topic, partitions, BROKERS)
            .map_err(|e| format!("cannot create topic {topic} in the mock cluster: {e}"))?;
    }
    Ok(mock)
}

fn producer(bootstrap: &str) -> Result<BaseProducer, String> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("client.id", "warren-demo-producer")
        .set("linger.ms", "10")
        .create()
        .map_err(|e| format!("cannot create the demo producer: {e}"))
}

/// Writes [`RATE`] messages per second to every partition of [`TOPICS`] until `stop`.
fn produce(producer: &BaseProducer, stop: &Stop) {
    let every = Duration::from_secs(1) / RATE as u32;
    let start = Instant::now();
    let mut round: u32 = 0;
    let mut dropped: u64 = 0;
    while !stop.wait_until(start + every * round) {
        for &(topic, partitions) in TOPICS {
            for p in 0..partitions {
                let payload = format!("{topic}-{p}-{round}");
                let record = BaseRecord::<(), str>::to(topic)
                    .partition(p)
                    .payload(&payload);
                if let Err((e, _)) = producer.send(record) {
                    if dropped == 0 {
                        tracing::warn!(error = %e, "demo producer is dropping messages");
                    }
                    dropped += 1;
                }
            }
        }
        // Serves delivery reports, so the queue drains.
        producer.poll(Duration::ZERO);
        round = round.wrapping_add(1);
    }
    let _ = producer.flush(Duration::from_secs(2));
}

/// Commits offsets for every group of [`GROUPS`], one consumer (`group.id`) each.
struct Committer {
    /// Parallel to [`GROUPS`].
    consumers: Vec<BaseConsumer>,
    partitions: Vec<(&'static str, i32)>,
}

impl Committer {
    fn new(bootstrap: &str) -> Result<Committer, String> {
        let consumers = GROUPS
            .iter()
            .map(|g| {
                ClientConfig::new()
                    .set("bootstrap.servers", bootstrap)
                    .set("group.id", g.name)
                    .set("client.id", format!("warren-demo-{}", g.name))
                    .set("enable.auto.commit", "false")
                    .create()
                    .map_err(|e| format!("cannot create the consumer of group {}: {e}", g.name))
            })
            .collect::<Result<Vec<BaseConsumer>, String>>()?;
        let partitions = TOPICS
            .iter()
            .flat_map(|&(t, n)| (0..n).map(move |p| (t, p)))
            .collect();
        Ok(Committer {
            consumers,
            partitions,
        })
    }

    /// Once per [`TICK`]: reads every partition's head, commits each group's targets.
    fn run(&self, stop: &Stop) {
        let Some(reader) = self.consumers.first() else {
            return;
        };
        // previous[g][i]: group g's last commit on partition i.
        let mut previous = vec![vec![None; self.partitions.len()]; self.consumers.len()];
        let mut failing = vec![false; self.consumers.len()];
        let start = Instant::now();
        let mut tick: u64 = 0;
        loop {
            tick += 1;
            if stop.wait_until(start + TICK * tick as u32 + jitter(tick)) {
                break;
            }
            let heads: Vec<Option<i64>> = self
                .partitions
                .iter()
                .map(|&(t, p)| {
                    reader
                        .fetch_watermarks(t, p, KAFKA_TIMEOUT)
                        .ok()
                        .map(|(_, high)| high)
                })
                .collect();
            for (g, (group, consumer)) in GROUPS.iter().zip(&self.consumers).enumerate() {
                let mut tpl = TopicPartitionList::new();
                let mut targets = Vec::new();
                for (i, &(topic, p)) in self.partitions.iter().enumerate() {
                    let Some(head) = heads[i] else { continue };
                    let rewound = (topic, p) == REWIND_PARTITION;
                    let target = group.behaviour.target(tick, head, previous[g][i], rewound);
                    if let Some(offset) = target {
                        if tpl
                            .add_partition_offset(topic, p, Offset::Offset(offset))
                            .is_ok()
                        {
                            targets.push((i, offset));
                        }
                    }
                }
                if targets.is_empty() {
                    continue;
                }
                match consumer.commit(&tpl, CommitMode::Sync) {
                    Ok(()) => {
                        for (i, offset) in targets {
                            previous[g][i] = Some(offset);
                        }
                        if failing[g] {
                            tracing::info!(group = group.name, "demo commits work again");
                            failing[g] = false;
                        }
                    }
                    Err(e) => {
                        if !failing[g] {
                            tracing::warn!(group = group.name, error = %e, "demo commit failed");
                            failing[g] = true;
                        }
                    }
                }
                // Serves the consumer's queued events (commit results, errors).
                let _ = consumer.poll(Duration::ZERO);
            }
        }
    }
}

/// How late tick `tick` runs: pseudo-random, in `[0, MAX_JITTER)`, different every tick.
///
/// Without it, commits (every second) and polls (every 2 s) keep the same phase, so a group
/// that keeps up shows the same small lag at every poll, e.g. always 1: a lag that never
/// decreases, which Burrow's rules call WARN. Real consumers have jitter; so does the demo.
fn jitter(tick: u64) -> Duration {
    let h = tick.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let millis = (h >> 32) % MAX_JITTER.as_millis() as u64;
    Duration::from_millis(millis)
}

/// A stop flag threads can sleep on.
#[derive(Debug, Default)]
struct Stop {
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl Stop {
    fn set(&self) {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.changed.notify_all();
    }

    /// Sleeps until `deadline` or until set; true when set.
    fn wait_until(&self, deadline: Instant) -> bool {
        let mut stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if *stopped {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            stopped = self
                .changed
                .wait_timeout(stopped, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_commits_the_head() {
        assert_eq!(Behaviour::Fast.target(1, 20, None, false), Some(20));
        assert_eq!(Behaviour::Fast.target(7, 140, Some(120), true), Some(140));
    }

    #[test]
    fn slow_advances_at_half_the_rate() {
        assert_eq!(Behaviour::Slow.target(1, 20, None, false), Some(10));
        assert_eq!(Behaviour::Slow.target(2, 41, Some(10), false), Some(20));
        assert_eq!(
            Behaviour::Slow.target(60, 1200, Some(590), false),
            Some(600)
        );
        // Never goes back, even if the head read is stale.
        assert_eq!(Behaviour::Slow.target(3, 30, Some(20), false), Some(20));
    }

    #[test]
    fn stopped_keeps_up_then_commits_nothing() {
        assert_eq!(Behaviour::Stopped.target(1, 20, None, false), Some(20));
        assert_eq!(
            Behaviour::Stopped.target(29, 580, Some(560), false),
            Some(580)
        );
        assert_eq!(Behaviour::Stopped.target(30, 600, Some(580), false), None);
        assert_eq!(
            Behaviour::Stopped.target(500, 10_000, Some(580), false),
            None
        );
    }

    #[test]
    fn rewind_goes_back_on_one_partition_then_catches_up() {
        let r = Behaviour::Rewind;
        assert_eq!(r.target(1, 20, None, true), Some(20));
        assert_eq!(r.target(39, 780, Some(760), true), Some(780));
        // Tick 40: 300 back on the rewound partition only.
        assert_eq!(r.target(40, 800, Some(780), true), Some(280));
        assert_eq!(r.target(40, 800, Some(780), false), Some(800));
        assert_eq!(r.target(80, 1600, Some(1580), true), Some(1080));
        // Then 40 a tick (twice the rate) until back at the head.
        assert_eq!(r.target(41, 820, Some(280), true), Some(320));
        assert_eq!(r.target(65, 1300, Some(1240), true), Some(1280));
        assert_eq!(r.target(66, 1320, Some(1280), true), Some(1320));
        // Never below 0, and the first commit of a tick-40 start is the head.
        assert_eq!(r.target(40, 800, Some(100), true), Some(0));
        assert_eq!(r.target(40, 800, None, true), Some(800));
        // A stale head does not move the offset back outside a rewind.
        assert_eq!(r.target(42, 500, Some(520), true), Some(520));
    }

    #[test]
    fn config_names_the_groups_statically() {
        let c = demo_config("127.0.0.1:1,127.0.0.1:2", "127.0.0.1:9".parse().unwrap());
        assert_eq!(c.window.points, 10);
        let cl = &c.clusters[0];
        assert_eq!(cl.name, "demo");
        assert_eq!(cl.bootstrap_servers, "127.0.0.1:1,127.0.0.1:2");
        assert_eq!(cl.poll_interval, Duration::from_secs(2));
        assert_eq!(cl.metadata_refresh, Duration::from_secs(10));
        assert_eq!(
            cl.groups.static_groups,
            [
                "billing-fast",
                "analytics-slow",
                "audit-stopped",
                "replay-rewind"
            ]
        );
        assert_eq!(cl.labels.get("env").map(String::as_str), Some("demo"));
        assert!(!cl.topic_filter().matches("__consumer_offsets"));
        assert!(cl.topic_filter().matches("orders"));
    }

    #[test]
    fn jitter_is_bounded_and_varies() {
        let all: Vec<Duration> = (1..=100).map(jitter).collect();
        assert!(all.iter().all(|&j| j < MAX_JITTER));
        assert_eq!(jitter(7), jitter(7));
        let mut distinct = all.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 50, "{distinct:?}");
        // Ticks stay in order, at least 600 ms apart.
        assert!(all
            .windows(2)
            .all(|w| TICK + w[1] >= w[0] + Duration::from_millis(600)));
    }

    #[test]
    fn stop_wakes_sleepers() {
        let stop = Arc::new(Stop::default());
        let far = Instant::now() + Duration::from_secs(60);
        assert!(!stop.wait_until(Instant::now()));
        let s = stop.clone();
        let sleeper = std::thread::spawn(move || s.wait_until(far));
        stop.set();
        assert!(sleeper.join().unwrap());
        assert!(stop.wait_until(far));
    }
}
