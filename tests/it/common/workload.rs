//! A workload of real clients on the test broker: a steady producer and three consumer groups
//! (keeping up, too slow, stopping), which the evaluator judges OK, WARN and ERR.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

use super::Broker;

/// The workload's topic (one partition).
pub const TOPIC: &str = "steady";

/// Produces 40 messages/s until `stop`.
pub fn producer(bootstrap: String, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    paced_producer(bootstrap, 40.0, stop)
}

/// Waits until `start + n / per_second`: a schedule that does not drift when a step is late.
fn wait_turn(start: Instant, n: u64, per_second: f64) {
    let due = start + Duration::from_secs_f64(n as f64 / per_second);
    if let Some(left) = due.checked_duration_since(Instant::now()) {
        // Pacing to the schedule, not waiting for a condition.
        std::thread::sleep(left);
    }
}

/// Produces to [`TOPIC`] at `per_second`, on a fixed schedule, until `stop`.
pub fn paced_producer(bootstrap: String, per_second: f64, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("linger.ms", "0")
            .set("batch.num.messages", "1")
            .set("log_level", "3")
            .create()
            .expect("producer");
        let start = Instant::now();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            wait_turn(start, n, per_second);
            let payload = n.to_string();
            let record = BaseRecord::<(), str>::to(TOPIC)
                .partition(0)
                .payload(&payload);
            if p.send(record).is_ok() {
                n += 1;
            }
        }
        let _ = p.flush(Duration::from_secs(5));
    })
}

/// A consumer in `group` reading [`TOPIC`] from the start (not yet subscribed).
fn group_consumer(bootstrap: &str, group: &str) -> BaseConsumer {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("log_level", "3")
        .create()
        .expect("consumer");
    c.subscribe(&[TOPIC]).expect("subscribe");
    c
}

/// A consumer in `group` reading at `per_second` on a fixed schedule (from its first message),
/// committing each message asynchronously, so a slow commit does not slow it down.
pub fn paced_consumer(
    bootstrap: String,
    group: &'static str,
    per_second: f64,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let c = group_consumer(&bootstrap, group);
        let mut start: Option<Instant> = None;
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            if let Some(start) = start {
                wait_turn(start, n, per_second);
            }
            if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
                start.get_or_insert_with(Instant::now);
                let _ = c.commit_message(&m, CommitMode::Async);
                n += 1;
            }
        }
    })
}

/// A real consumer in `group` committing each message; spends `per_message` on each and stops
/// consuming (staying alive) after `active_for`.
pub fn consumer(
    bootstrap: String,
    group: &'static str,
    per_message: Duration,
    active_for: Duration,
    stop: Arc<AtomicBool>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let c = group_consumer(&bootstrap, group);
        let started = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if started.elapsed() > active_for {
                // Stopped consuming, alive until the test ends: checks `stop` now and then.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
                // The time the consumer spends on a message (its speed).
                std::thread::sleep(per_message);
                let _ = c.commit_message(&m, CommitMode::Sync);
            }
        }
    })
}

/// Client threads, stopped (and, unless the test panics, joined) when dropped.
pub struct Threads {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Threads {
    /// Takes the threads started with `stop`.
    pub fn new(stop: Arc<AtomicBool>, threads: Vec<JoinHandle<()>>) -> Threads {
        Threads { stop, threads }
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if !std::thread::panicking() {
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
    }
}

/// The workload's clients, stopped when the test ends, also on a panic.
pub struct Workload(Threads);

impl Workload {
    /// Creates the topic and starts every client.
    pub fn start(broker: &Broker) -> Workload {
        broker.create_topic(TOPIC, 1);
        let stop = Arc::new(AtomicBool::new(false));
        let forever = Duration::from_secs(3600);
        let b = broker.bootstrap();
        let threads = vec![
            producer(b.clone(), stop.clone()),
            // Keeps up: 40/s produced, each message handled at once.
            consumer(b.clone(), "keeps-up", Duration::ZERO, forever, stop.clone()),
            // 10/s handled against 40/s produced: lag never decreases, WARN.
            consumer(
                b.clone(),
                "too-slow",
                Duration::from_millis(100),
                forever,
                stop.clone(),
            ),
            // Stops after 4 s: the head moves on, its offset does not, STOP (ERR).
            consumer(
                b,
                "stops",
                Duration::ZERO,
                Duration::from_secs(4),
                stop.clone(),
            ),
        ];
        Workload(Threads::new(stop, threads))
    }
}
