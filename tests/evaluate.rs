//! The evaluator end to end: a steady producer and three real consumer groups on the test
//! broker reach OK, WARN and ERR in `/metrics` within 3 × `window.points` polls.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{wait_for, Broker, Warren};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

const TOPIC: &str = "steady";

/// Produces one message every 25 ms (40/s) until `stop`.
fn producer(bootstrap: String, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("linger.ms", "0")
            .set("batch.num.messages", "1")
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
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = p.flush(Duration::from_secs(5));
    })
}

/// A real consumer in group `group`: subscribes, consumes, commits each message. It spends
/// `per_message` on each one and stops consuming (staying alive) after `active_for`.
fn consumer(
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
            .create()
            .expect("consumer");
        c.subscribe(&[TOPIC]).expect("subscribe");
        let started = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if started.elapsed() > active_for {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
                std::thread::sleep(per_message);
                let _ = c.commit_message(&m, CommitMode::Sync);
            }
        }
    })
}

#[test]
fn three_consumers_reach_ok_warn_and_err() {
    let broker = Broker::start("evaluate");
    broker.create_topic(TOPIC, 1);
    let stop = Arc::new(AtomicBool::new(false));
    let forever = Duration::from_secs(3600);
    let mut threads = vec![producer(broker.bootstrap(), stop.clone())];
    // Keeps up: 40/s produced, each message handled at once.
    threads.push(consumer(
        broker.bootstrap(),
        "keeps-up",
        Duration::ZERO,
        forever,
        stop.clone(),
    ));
    // Slowed below the producer's rate: 10/s handled against 40/s produced.
    threads.push(consumer(
        broker.bootstrap(),
        "too-slow",
        Duration::from_millis(100),
        forever,
        stop.clone(),
    ));
    // Stops after a while: the head moves on, its offset does not.
    threads.push(consumer(
        broker.bootstrap(),
        "stops",
        Duration::ZERO,
        Duration::from_secs(4),
        stop.clone(),
    ));

    let w = Warren::start(&format!(
        "[[clusters]]\nname = \"e\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\nmetadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\nrequest_timeout = \"2s\"\nevaluator = {{ allowed_lag = 5 }}\n",
        broker.bootstrap()
    ));
    let started = Instant::now();
    let status =
        |g: &str| format!("kafka_consumergroup_group_status{{cluster=\"e\",group=\"{g}\"}}");
    let part = |g: &str| {
        format!("kafka_consumergroup_partition_status{{cluster=\"e\",group=\"{g}\",topic=\"{TOPIC}\",partition=\"0\"}}")
    };
    // 3 x window.points polls at 1 s, plus the time the groups take to join and commit.
    let m = wait_for(Duration::from_secs(40), "OK, WARN and ERR", || {
        let m = w.metrics();
        let ok = m.get(&status("keeps-up")) == Some(&1.0)
            && m.get(&status("too-slow")) == Some(&2.0)
            && m.get(&status("stops")) == Some(&3.0);
        ok.then_some(m)
    });
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    assert_eq!(m.get(&part("keeps-up")), Some(&1.0));
    assert_eq!(m.get(&part("too-slow")), Some(&2.0));
    assert_eq!(m.get(&part("stops")), Some(&4.0), "STOP");
    assert!(took <= Duration::from_secs(40), "took {took:?}");
    for t in threads {
        let _ = t.join();
    }
}
