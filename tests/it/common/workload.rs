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

/// Produces one message every 25 ms (40/s) until `stop`.
pub fn producer(bootstrap: String, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("linger.ms", "0")
            .set("batch.num.messages", "1")
            .set("log_level", "3")
            .create()
            .expect("producer");
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let payload = i.to_string();
            let _ = p.send(
                BaseRecord::<(), str>::to(TOPIC)
                    .partition(0)
                    .payload(&payload),
            );
            i += 1;
            // Pacing (the workload's rate), not a wait for anything.
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = p.flush(Duration::from_secs(5));
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
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "6000")
            .set("log_level", "3")
            .create()
            .expect("consumer");
        c.subscribe(&[TOPIC]).expect("subscribe");
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

/// Stops the workload threads when the test ends, also on a panic.
pub struct Workload {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

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
        Workload { stop, threads }
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if !std::thread::panicking() {
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
    }
}
