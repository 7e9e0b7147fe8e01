use super::*;
use crate::model::GroupState;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::time::Instant as StdInstant;

type Mock = MockCluster<'static, DefaultProducerContext>;

const T: Duration = Duration::from_secs(10);

fn mock() -> Mock {
    MockCluster::new(3).expect("mock cluster")
}

fn admin(cluster: &Mock) -> Admin {
    Admin::new(&cluster.bootstrap_servers(), &BTreeMap::new()).expect("admin")
}

fn tp(topic: &str, p: i32) -> TopicPartition {
    TopicPartition::new(topic, p)
}

/// Committed offsets from (input index, offset) pairs.
fn committed(pairs: &[(u32, i64)]) -> Vec<Committed> {
    pairs
        .iter()
        .map(|&(index, offset)| Committed { index, offset })
        .collect()
}

/// Produces `n` one-byte messages to each (partition, n).
fn produce(cluster: &Mock, topic: &str, counts: &[(i32, usize)]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    for &(p, n) in counts {
        for _ in 0..n {
            let mut rec = BaseRecord::<(), str>::to(topic).partition(p).payload("x");
            loop {
                match producer.send(rec) {
                    Ok(()) => break,
                    Err((_, r)) => {
                        rec = r;
                        producer.poll(Duration::from_millis(10));
                    }
                }
            }
        }
    }
    producer.flush(T).expect("flush");
}

/// Commits explicit offsets for `group` without joining it.
fn commit(cluster: &Mock, group: &str, offsets: &[(&str, i32, i64)]) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for &(t, p, o) in offsets {
        tpl.add_partition_offset(t, p, Offset::Offset(o)).unwrap();
    }
    consumer.commit(&tpl, CommitMode::Sync).expect("commit");
}

fn oks(r: &[Result<i64, AdminError>]) -> Vec<i64> {
    r.iter().map(|r| *r.as_ref().expect("ok offset")).collect()
}

#[test]
fn futures_are_send_and_admin_is_sync() {
    fn send<T: Send>(_: &T) {}
    fn sync<T: Send + Sync>() {}
    sync::<Admin>();
    let cluster = mock();
    let a = admin(&cluster);
    let parts = [tp("t", 0)];
    let groups = ["g".to_string()];
    send(&a.list_offsets(&parts, OffsetSpec::Latest, T));
    send(&a.list_group_offsets(&groups, &parts, OffsetRequests::Partitions, 1, T));
    send(&a.list_groups(T));
    send(&a.metadata(T));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_exact_values_order_and_duplicates() {
    let cluster = mock();
    cluster.create_topic("t3", 3, 1).unwrap();
    produce(&cluster, "t3", &[(0, 5), (1, 7), (2, 11)]);
    let a = admin(&cluster);
    let parts = [tp("t3", 0), tp("t3", 1), tp("t3", 2)];
    let latest = a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
    assert_eq!(oks(&latest), [5, 7, 11]);
    let earliest = a
        .list_offsets(&parts, OffsetSpec::Earliest, T)
        .await
        .unwrap();
    assert_eq!(oks(&earliest), [0, 0, 0]);
    // Input order is kept; a duplicate is answered too (librdkafka alone would reject it).
    let shuffled = [tp("t3", 2), tp("t3", 0), tp("t3", 2), tp("t3", 1)];
    let r = a
        .list_offsets(&shuffled, OffsetSpec::Latest, T)
        .await
        .unwrap();
    assert_eq!(oks(&r), [11, 5, 11, 7]);
    // Empty input: no call.
    assert!(a
        .list_offsets(&[], OffsetSpec::Latest, T)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_2500_partitions_across_chunks() {
    let cluster = mock();
    cluster.create_topic("big", 2000, 1).unwrap();
    cluster.create_topic("small", 500, 1).unwrap();
    produce(&cluster, "big", &[(0, 3), (999, 4), (1000, 5), (1999, 6)]);
    produce(&cluster, "small", &[(0, 1), (499, 2)]);
    let a = admin(&cluster);
    // Interleave the topics and reverse one, so chunks mix topics and orders.
    let mut parts = Vec::new();
    for i in 0..2000 {
        parts.push(tp("big", 1999 - i));
        if i < 500 {
            parts.push(tp("small", i));
        }
    }
    assert_eq!(parts.len(), 2500);
    let t0 = StdInstant::now();
    let r = a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
    eprintln!(
        "ListOffsets 2500 partitions (10 chunks): {:?}",
        t0.elapsed()
    );
    assert_eq!(r.len(), 2500);
    for (
        TopicPartition {
            topic: t,
            partition: p,
        },
        r,
    ) in parts.iter().zip(&r)
    {
        let want = match (&**t, *p) {
            ("big", 0) => 3,
            ("big", 999) => 4,
            ("big", 1000) => 5,
            ("big", 1999) => 6,
            ("small", 0) => 1,
            ("small", 499) => 2,
            _ => 0,
        };
        assert_eq!(r.as_ref().ok(), Some(&want), "{t}[{p}]");
    }
    let e = a
        .list_offsets(&parts, OffsetSpec::Earliest, T)
        .await
        .unwrap();
    assert!(e.iter().all(|r| r.as_ref().ok() == Some(&0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_unknown_and_invalid_partitions() {
    let cluster = mock();
    cluster.create_topic("t2", 2, 1).unwrap();
    produce(&cluster, "t2", &[(0, 2), (1, 3)]);
    let a = admin(&cluster);
    let parts = [
        tp("t2", 0),
        tp("no-such-topic", 0),
        tp("t2", 7), // beyond the topic's partitions
        tp("t2", 1),
        tp("", 0),
        tp("t2", -1),
        tp("nul\0topic", 0),
    ];
    let r = a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
    eprintln!("{r:#?}");
    assert_eq!(r[0], Ok(2));
    assert_eq!(r[3], Ok(3));
    // Unknown topic: the broker's error; unknown partition of a known topic: local error.
    let e = r[1].as_ref().unwrap_err();
    assert_eq!(
        e.code,
        Some(RDKafkaErrorCode::UnknownTopicOrPartition),
        "{e}"
    );
    let e = r[2].as_ref().unwrap_err();
    assert_eq!(e.code, Some(RDKafkaErrorCode::UnknownPartition), "{e}");
    for i in [4, 5, 6] {
        let e = r[i].as_ref().unwrap_err();
        assert_eq!(e.code, Some(RDKafkaErrorCode::InvalidArgument), "{e}");
    }
    // A list (chunk) in which no partition has a leader: librdkafka fails the whole call
    // with __NOENT; it stays per partition here.
    let r = a
        .list_offsets(&[tp("nope-a", 0), tp("nope-b", 3)], OffsetSpec::Latest, T)
        .await
        .unwrap();
    eprintln!("{r:#?}");
    assert!(r.iter().all(|r| r.is_err()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_offsets_exact() {
    let cluster = mock();
    cluster.create_topic("ga", 3, 1).unwrap();
    cluster.create_topic("gb", 2, 1).unwrap();
    produce(&cluster, "ga", &[(0, 10), (1, 10), (2, 10)]);
    commit(&cluster, "g1", &[("ga", 0, 4), ("ga", 2, 9), ("gb", 1, 0)]);
    commit(&cluster, "g2", &[("ga", 1, 6)]);
    let a = admin(&cluster);
    let parts = [
        tp("ga", 0),
        tp("ga", 1),
        tp("ga", 2),
        tp("gb", 0),
        tp("gb", 1),
    ];
    let groups: Vec<String> = ["g1", "g2", "never-committed", "g1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for max_in_flight in [1, 2, 64] {
        let r = a
            .list_group_offsets(
                &groups,
                &parts,
                OffsetRequests::Partitions,
                max_in_flight,
                T,
            )
            .await;
        assert_eq!(r.len(), 4);
        assert_eq!(r[0], Ok(committed(&[(0, 4), (2, 9), (4, 0)])));
        assert_eq!(r[1], Ok(committed(&[(1, 6)])));
        assert_eq!(r[2], Ok(vec![]));
        assert_eq!(r[3], r[0]);
    }
    // Duplicates, unknown topics and invalid entries in the partition list.
    let parts2 = [
        tp("ga", 2),
        tp("nope", 0),
        tp("ga", 0),
        tp("ga", 2),
        tp("", 1),
    ];
    let r = a
        .list_group_offsets(&groups[..1], &parts2, OffsetRequests::Partitions, 4, T)
        .await;
    assert_eq!(r, [Ok(committed(&[(0, 9), (2, 4), (3, 9)]))]);
    // A partition list spanning three requests per group (500 each), in reverse order, with
    // a duplicate whose original sits in another request.
    cluster.create_topic("gc", 1200, 1).unwrap();
    commit(
        &cluster,
        "g3",
        &[
            ("gc", 0, 1),
            ("gc", 499, 2),
            ("gc", 500, 3),
            ("gc", 1199, 4),
        ],
    );
    let mut parts3: Vec<_> = (0..1200).rev().map(|p| tp("gc", p)).collect();
    parts3.push(tp("gc", 1199));
    let groups3: Vec<String> = vec!["g3".into(), "g1".into(), "g3".into()];
    let r = a
        .list_group_offsets(&groups3, &parts3, OffsetRequests::Partitions, 2, T)
        .await;
    // Input index i holds partition 1199 - i; index 1200 repeats partition 1199.
    let want = committed(&[(0, 4), (699, 3), (700, 2), (1199, 1), (1200, 4)]);
    assert_eq!(r, [Ok(want.clone()), Ok(vec![]), Ok(want)]);
    // Degenerate inputs.
    assert!(a
        .list_group_offsets(&[], &parts, OffsetRequests::Partitions, 4, T)
        .await
        .is_empty());
    assert_eq!(
        a.list_group_offsets(&groups[..2], &[], OffsetRequests::Partitions, 4, T)
            .await,
        [Ok(vec![]), Ok(vec![])]
    );
    let r = a
        .list_group_offsets(
            &["bad\0id".into()],
            &parts,
            OffsetRequests::Partitions,
            0,
            T,
        )
        .await;
    assert_eq!(
        r[0].as_ref().unwrap_err().code,
        Some(RDKafkaErrorCode::InvalidArgument)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_offsets_many_groups() {
    let cluster = mock();
    cluster.create_topic("m", 4, 1).unwrap();
    let a = admin(&cluster);
    let parts: Vec<_> = (0..4).map(|p| tp("m", p)).collect();
    let groups: Vec<String> = (0..500).map(|i| format!("group-{i}")).collect();
    let t0 = StdInstant::now();
    let r = a
        .list_group_offsets(&groups, &parts, OffsetRequests::Partitions, 32, T)
        .await;
    eprintln!(
        "ListConsumerGroupOffsets 500 groups, 32 in flight: {:?}",
        t0.elapsed()
    );
    assert!(
        r.iter().all(|r| r == &Ok(vec![])),
        "{:?}",
        r.iter().find(|r| r.is_err())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_groups_unsupported_by_mock() {
    let cluster = mock();
    let a = admin(&cluster);
    let r = a.list_groups(T).await.unwrap();
    eprintln!("{r:#?}");
    assert!(r.groups.is_empty());
    assert_eq!(r.errors.len(), 3, "one error per broker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_lists_topics() {
    let cluster = mock();
    cluster.create_topic("md", 5, 1).unwrap();
    let a = admin(&cluster);
    let md = a.metadata(T).await.unwrap();
    let t = md.iter().find(|t| t.name == "md").expect("topic md");
    assert_eq!(t.partitions, [0, 1, 2, 3, 4]);
    assert_eq!(t.error, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_down_times_out() {
    let cluster = mock();
    cluster.create_topic("d", 2, 1).unwrap();
    cluster.partition_leader("d", 0, Some(1)).unwrap();
    cluster.partition_leader("d", 1, Some(2)).unwrap();
    let a = admin(&cluster);
    let parts = [tp("d", 0), tp("d", 1)];
    assert_eq!(
        oks(&a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap()),
        [0, 0]
    );
    let timeout = Duration::from_secs(1);
    let roughly = |took: Duration| {
        assert!(
            took >= timeout - Duration::from_millis(50) && took < timeout * 2,
            "{took:?}"
        )
    };

    // One leader down: its partition fails, the other is read.
    cluster.broker_down(1).unwrap();
    let t0 = StdInstant::now();
    let r = a
        .list_offsets(&parts, OffsetSpec::Latest, timeout)
        .await
        .unwrap();
    let took = t0.elapsed();
    eprintln!("ListOffsets, leader of d[0] down: {took:?}: {r:?}");
    assert!(r[0].is_err());
    assert_eq!(r[1], Ok(0));
    // Usually the request times out; a refused connection can fail it sooner.
    assert!(took < timeout * 2, "{took:?}");

    // All down. With leaders still cached, librdkafka reports -1001 without error for every
    // partition, which becomes our outer timeout ("no partition leader answered"); if the
    // cache was dropped meanwhile, librdkafka's leader lookup times out instead.
    cluster.broker_down(-1).unwrap();
    let t0 = StdInstant::now();
    let e = a
        .list_offsets(&parts, OffsetSpec::Latest, timeout)
        .await
        .unwrap_err();
    let took = t0.elapsed();
    eprintln!("ListOffsets, brokers down: {took:?}: {e}");
    // Usually every leader stays silent until the timeout; sometimes librdkafka gives up on
    // the refused connections sooner, and the same answer comes early, without a timeout code;
    // and when the cache was dropped, the leader lookup times out (seen in `.ci/run`).
    let lookup = e
        .message
        .starts_with("ListOffsets: Failed to query partition leaders");
    assert!(
        lookup
            || e.message
                .starts_with("ListOffsets: no partition leader answered"),
        "{e}"
    );
    match e.code {
        Some(RDKafkaErrorCode::OperationTimedOut) => roughly(took),
        None if !lookup => assert!(took < timeout, "{took:?}"),
        other => panic!("unexpected code {other:?}: {e}"),
    }

    // All down, fresh client (no metadata yet): the leader lookup times out.
    let fresh = admin(&cluster);
    let t0 = StdInstant::now();
    let e = fresh
        .list_offsets(&parts, OffsetSpec::Latest, timeout)
        .await
        .unwrap_err();
    let took = t0.elapsed();
    eprintln!("ListOffsets, brokers down, fresh client: {took:?}: {e}");
    assert_eq!(e.code, Some(RDKafkaErrorCode::OperationTimedOut));
    roughly(took);

    // Group offsets: the two requests in flight are abandoned at the timeout but stay in
    // librdkafka; with that backlog the next call sends nothing and fails at once.
    let t0 = StdInstant::now();
    let groups: Vec<String> = (0..5).map(|i| format!("g{i}")).collect();
    let r = a
        .list_group_offsets(&groups, &parts, OffsetRequests::Partitions, 2, timeout)
        .await;
    let took = t0.elapsed();
    eprintln!(
        "ListConsumerGroupOffsets x5, brokers down: {took:?}: {:?}",
        r[0]
    );
    for r in &r {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.code, Some(RDKafkaErrorCode::OperationTimedOut), "{e}");
    }
    roughly(took);
    assert_eq!(a.abandoned.load(Ordering::Acquire), 2);
    let t0 = StdInstant::now();
    let r = a
        .list_group_offsets(&groups, &parts, OffsetRequests::Partitions, 2, timeout)
        .await;
    eprintln!(
        "ListConsumerGroupOffsets, backlog: {:?}: {:?}",
        t0.elapsed(),
        r[0]
    );
    // Refused at once, not after the timeout (bound loose: these machines are noisy).
    assert!(t0.elapsed() < timeout / 2, "{:?}", t0.elapsed());
    assert!(r
        .iter()
        .all(|r| r.as_ref().unwrap_err().message.contains("not sent")));

    let t0 = StdInstant::now();
    let r = a.list_groups(timeout).await;
    let took = t0.elapsed();
    eprintln!("ListConsumerGroups, brokers down: {took:?}: {r:?}");
    assert!(took < timeout * 2, "{took:?}");
    assert!(r.is_err() || !r.unwrap().errors.is_empty());

    let t0 = StdInstant::now();
    let e = a.metadata(timeout).await.unwrap_err();
    let took = t0.elapsed();
    eprintln!("metadata, brokers down: {took:?}: {e}");
    assert!(took < timeout * 2, "{took:?}");

    // Coming back used to abort the process (librdkafka use-after-free) when a timed-out
    // ListConsumerGroupOffsets request found its coordinator; now those requests complete.
    cluster.broker_up(-1).unwrap();
    let t0 = StdInstant::now();
    let r = a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
    eprintln!("ListOffsets after broker_up: {:?}", t0.elapsed());
    assert_eq!(oks(&r), [0, 0]);
    while a.abandoned.load(Ordering::Acquire) > 0 {
        assert!(t0.elapsed() < T, "abandoned group requests never completed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "abandoned group requests completed after {:?}",
        t0.elapsed()
    );
    let r = a
        .list_group_offsets(&groups, &parts, OffsetRequests::Partitions, 2, T)
        .await;
    assert!(r.iter().all(|r| r == &Ok(vec![])), "{r:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The poller drained everything, including the forwarded log and error events.
    assert_eq!(a.queue.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_offsets_coordinator_errors_do_not_crash() {
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr as E};
    let cluster = mock();
    cluster.create_topic("c", 2, 1).unwrap();
    commit(&cluster, "cg", &[("c", 1, 3)]);
    let a = admin(&cluster);
    let parts = [tp("c", 0), tp("c", 1)];
    let groups = vec!["cg".to_string()];
    // With a producer-type client (rdkafka's AdminClient) the first two segfault inside
    // librdkafka 2.12.1; with our consumer-type client they are plain group errors.
    for err in [
        E::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        E::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        E::RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
    ] {
        cluster.request_errors(RDKafkaApiKey::OffsetFetch, &[err]);
        let r = a
            .list_group_offsets(&groups, &parts, OffsetRequests::Partitions, 1, T)
            .await;
        eprintln!("{err:?}: {r:?}");
        assert_eq!(r[0].as_ref().unwrap_err().code, Some(err.into()));
        let r = a
            .list_group_offsets(&groups, &parts, OffsetRequests::Partitions, 1, T)
            .await;
        assert_eq!(r, [Ok(committed(&[(1, 3)]))]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_with_requests_in_flight() {
    // Two scenarios: requests waiting for a broker that is down, and requests sent to
    // brokers that answer only after 5 s.
    for slow in [false, true] {
        let cluster = mock();
        cluster.create_topic("x", 2, 1).unwrap();
        let a = Arc::new(admin(&cluster));
        let parts = [tp("x", 0), tp("x", 1)];
        a.list_offsets(&parts, OffsetSpec::Latest, T).await.unwrap();
        if slow {
            for b in 1..=3 {
                cluster
                    .broker_round_trip_time(b, Duration::from_secs(5))
                    .unwrap();
            }
        } else {
            cluster.broker_down(-1).unwrap();
        }
        // One request awaited in a task that gets aborted, one abandoned by a short
        // caller-side timeout.
        let task = {
            let a = Arc::clone(&a);
            let parts = parts.clone();
            tokio::spawn(async move {
                let groups = vec!["g".to_string()];
                a.list_group_offsets(
                    &groups,
                    &parts,
                    OffsetRequests::Partitions,
                    1,
                    Duration::from_secs(30),
                )
                .await
            })
        };
        let _ = tokio::time::timeout(
            Duration::from_millis(300),
            a.list_offsets(&parts, OffsetSpec::Latest, Duration::from_secs(30)),
        )
        .await;
        task.abort();
        let _ = task.await;
        let t0 = StdInstant::now();
        drop(Arc::into_inner(a).expect("last reference"));
        let took = t0.elapsed();
        eprintln!("drop Admin with requests in flight (slow brokers: {slow}): {took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
}

/// Issue 17, failure 1: librdkafka's debug logging against an unreachable broker queues events
/// faster than the poller drains them; the poller checked its stop flag only on an empty poll,
/// so `Drop for Admin` waited for it forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_under_librdkafka_debug_logging_finishes() {
    // Bound and released: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let props = BTreeMap::from([("debug".to_string(), "all".to_string())]);
    // `Admin::new` asks librdkafka for debug log lines when `tracing` would keep them.
    let debug = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(std::io::sink)
        .finish();
    let a = tracing::subscriber::with_default(debug, || {
        Admin::new(&format!("127.0.0.1:{port}"), &props)
    })
    .expect("admin");
    // A second of librdkafka trying to connect (and logging every step of it).
    let r = a.metadata(Duration::from_secs(1)).await;
    assert!(r.is_err(), "{r:?}");
    let (tx, rx) = std::sync::mpsc::channel();
    // On a thread of its own: before the fix it never returned.
    std::thread::spawn(move || {
        let t0 = StdInstant::now();
        drop(a);
        let _ = tx.send(t0.elapsed());
    });
    let took = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("Admin::drop still running after 10 s");
    eprintln!("drop Admin under librdkafka debug logging: {took:?}");
    // The poller stops within 0.2 s; destroying the client takes a few milliseconds more.
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// Timings at a larger scale: `cargo test -- --ignored --nocapture scale`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn scale() {
    let cluster = mock();
    let t0 = StdInstant::now();
    cluster.create_topic("s", 20_000, 1).unwrap();
    let a = admin(&cluster);
    let parts: Vec<_> = (0..20_000).map(|p| tp("s", p)).collect();
    // Topic creation in the mock is asynchronous: wait until every partition answers.
    loop {
        let r = a.list_offsets(&parts, OffsetSpec::Latest, T).await;
        if r.is_ok_and(|r| r.iter().all(|r| r == &Ok(0))) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(120));
    }
    eprintln!("20k-partition topic ready after {:?}", t0.elapsed());
    for spec in [OffsetSpec::Latest, OffsetSpec::Earliest] {
        let t0 = StdInstant::now();
        let r = a.list_offsets(&parts, spec, T).await.unwrap();
        eprintln!("ListOffsets {spec:?} 20k partitions: {:?}", t0.elapsed());
        assert!(r.iter().all(|r| r == &Ok(0)));
    }
    commit(&cluster, "scale-g", &[("s", 7, 1), ("s", 19_999, 2)]);
    for n in [500, 1000, 2000, 4000, 8000, 16000] {
        let t0 = StdInstant::now();
        let r = a
            .list_group_offsets(
                &["scale-g".to_string()],
                &parts[..n],
                OffsetRequests::Partitions,
                1,
                T,
            )
            .await;
        eprintln!(
            "one group x {n} partitions: {:?} {:?}",
            t0.elapsed(),
            r[0].as_ref().map(|v| v.len())
        );
    }
    for (n, ngroups, max_in_flight) in [(2000, 1000, 64), (20_000, 100, 64)] {
        let mut groups: Vec<String> = (0..ngroups).map(|i| format!("sg-{i}")).collect();
        groups.push("scale-g".into());
        let t0 = StdInstant::now();
        let r = a
            .list_group_offsets(
                &groups,
                &parts[..n],
                OffsetRequests::Partitions,
                max_in_flight,
                T,
            )
            .await;
        eprintln!(
            "ListConsumerGroupOffsets {} groups x {n} partitions, {max_in_flight} in flight: {:?}",
            groups.len(),
            t0.elapsed()
        );
        let want = if n > 19_999 {
            committed(&[(7, 1), (19_999, 2)])
        } else {
            committed(&[(7, 1)])
        };
        assert_eq!(r.last().unwrap(), &Ok(want));
        assert!(r[..ngroups].iter().all(|r| r == &Ok(vec![])));
    }
}

#[test]
fn error_display_and_timeout_ms() {
    let e = AdminError::timed_out("X", Duration::from_secs(2));
    assert_eq!(e.to_string(), "X timed out after 2s (OperationTimedOut)");
    assert_eq!(AdminError::new(None, "m").to_string(), "m");
    assert_eq!(ffi::timeout_ms(Duration::ZERO), 1);
    assert_eq!(ffi::timeout_ms(Duration::from_secs(86_400)), 3_600_000);
}

// ---------------------------------------------------------------------------------------------
// Unit tests of index.rs, parse.rs and the poller's tickets: plain data, no broker, no mock
// ---------------------------------------------------------------------------------------------

mod unit {
    use super::super::index::{Duplicate, NameIndex, PartitionIndex};
    use super::super::parse::{self, Answer, ErrorText, GroupRow, GroupsRows, ListingRow};
    use super::super::parse::{PartitionRow, OFFSET_INVALID};
    use super::super::poller::Ticket;
    use super::*;

    fn row(topic: &str, partition: i32, offset: i64) -> PartitionRow {
        PartitionRow {
            tp: tp(topic, partition),
            error: None,
            offset,
        }
    }

    fn err_row(topic: &str, partition: i32, code: RDKafkaErrorCode) -> PartitionRow {
        PartitionRow {
            tp: tp(topic, partition),
            error: Some(code),
            offset: OFFSET_INVALID,
        }
    }

    fn err(code: Option<RDKafkaErrorCode>, message: &str) -> AdminError {
        AdminError {
            code,
            message: message.into(),
        }
    }

    fn group(partitions: Vec<PartitionRow>) -> Answer<Vec<Option<GroupRow>>> {
        Answer::Rows(Some(vec![Some(GroupRow {
            error: None,
            partitions,
        })]))
    }

    // --- index.rs ---

    #[test]
    fn name_index_sends_each_valid_name_once() {
        let names: Vec<String> = ["a", "b", "", "a", "nul\0", "c", "b"]
            .map(String::from)
            .into();
        let ix = NameIndex::new(&names, "topic");
        assert_eq!(ix.uniq, ["a", "b", "c"]);
        let inv = |m: &str| Err(err(Some(RDKafkaErrorCode::InvalidArgument), m));
        assert_eq!(
            ix.slots,
            [
                Ok(0),
                Ok(1),
                inv("invalid topic name \"\""),
                Ok(0),
                inv("invalid topic name \"nul\\0\""),
                Ok(2),
                Ok(1),
            ]
        );
    }

    #[test]
    fn index_separates_unique_duplicate_and_invalid_inputs() {
        let parts = [
            tp("a", 0),
            tp("a", 1),
            tp("a", 0),
            tp("", 0),
            tp("b", -1),
            tp("nul\0", 2),
            tp("a", 1),
            tp("b", 0),
            tp("a", 0),
        ];
        let ix = PartitionIndex::new(&parts).unwrap();
        assert_eq!(ix.uniq(), [0, 1, 7]);
        assert_eq!(
            ix.dups(),
            [
                Duplicate { index: 2, first: 0 },
                Duplicate { index: 6, first: 1 },
                Duplicate { index: 8, first: 0 },
            ]
        );
        let invalid: Vec<(u32, AdminError)> = ix.invalid().to_vec();
        let inv = |m: &str| err(Some(RDKafkaErrorCode::InvalidArgument), m);
        assert_eq!(
            invalid,
            [
                (3, inv("invalid topic-partition \"\"[0]")),
                (4, inv("invalid topic-partition \"b\"[-1]")),
                (5, inv("invalid topic-partition \"nul\\0\"[2]")),
            ]
        );
        assert_eq!(ix.parts().len(), 9);
    }

    #[test]
    fn index_take_invalid_empties_it() {
        let parts = [tp("", 0), tp("a", 0)];
        let mut ix = PartitionIndex::new(&parts).unwrap();
        assert_eq!(ix.take_invalid().len(), 1);
        assert!(ix.invalid().is_empty());
        assert_eq!(ix.uniq(), [1]);
    }

    #[test]
    fn index_resolves_by_position_and_by_name() {
        let parts = [tp("a", 0), tp("b", 3), tp("a", 0), tp("a", 1), tp("", 1)];
        let mut ix = PartitionIndex::new(&parts).unwrap();
        assert_eq!(ix.uniq(), [0, 1, 3]);
        // At its request position.
        assert_eq!(ix.resolve(0, &tp("a", 0)), Some(0));
        assert_eq!(ix.resolve(1, &tp("b", 3)), Some(1));
        assert_eq!(ix.resolve(2, &tp("a", 1)), Some(3));
        // Elsewhere, or past the end of the request: by name.
        assert_eq!(ix.resolve(0, &tp("a", 1)), Some(3));
        assert_eq!(ix.resolve(2, &tp("a", 0)), Some(0));
        assert_eq!(ix.resolve(99, &tp("b", 3)), Some(1));
        // Not asked for: another partition, another topic, an invalid input.
        assert_eq!(ix.resolve(0, &tp("a", 2)), None);
        assert_eq!(ix.resolve(1, &tp("c", 3)), None);
        assert_eq!(ix.resolve(3, &tp("", 1)), None);
        // A prefix or different case of a topic is another topic.
        assert_eq!(ix.resolve(1, &tp("b3", 3)), None);
        assert_eq!(ix.resolve(0, &tp("A", 0)), None);
    }

    #[test]
    fn index_of_nothing() {
        let ix = PartitionIndex::new(&[]).unwrap();
        assert!(ix.uniq().is_empty() && ix.dups().is_empty() && ix.invalid().is_empty());
    }

    // --- parse.rs: answers ---

    #[test]
    fn answer_maps_wrong_type_failure_and_missing_result() {
        let r: Result<(), _> = parse::answer("X", Answer::WrongType(7));
        assert_eq!(r, Err(err(None, "X: unexpected event type 7")));
        let r: Result<(), _> = parse::answer(
            "X",
            Answer::Failed(ErrorText {
                code: RDKafkaErrorCode::RequestTimedOut,
                text: "took too long".into(),
            }),
        );
        assert_eq!(
            r,
            Err(err(
                Some(RDKafkaErrorCode::RequestTimedOut),
                "X: took too long"
            ))
        );
        let r: Result<(), _> = parse::answer("X", Answer::Rows(None));
        assert_eq!(r, Err(err(None, "X: event without result")));
        assert_eq!(parse::answer("X", Answer::Rows(Some(5))), Ok(5));
    }

    // --- parse.rs: ListOffsets ---

    #[test]
    fn list_offsets_per_partition_outcomes() {
        let parts = [
            tp("t", 0),
            tp("t", 1),
            tp("t", 2),
            tp("t", 3),
            tp("t", 4),
            tp("t", 0),
            tp("", 0),
        ];
        let ix = PartitionIndex::new(&parts).unwrap();
        let mut lo = parse::ListOffsets::new(ix);
        let rows = vec![
            row("t", 0, 5),
            err_row("t", 1, RDKafkaErrorCode::UnknownTopicOrPartition),
            row("t", 2, OFFSET_INVALID),
            row("t", 3, -1),
            // t[4] missing from the answer; one partition not asked for.
            row("x", 9, 100),
        ];
        lo.chunk(0, 5, Answer::Rows(Some(rows))).unwrap();
        let out = lo.finish(Duration::from_millis(5), T).unwrap();
        assert_eq!(
            out,
            [
                Ok(5),
                Err(err(
                    Some(RDKafkaErrorCode::UnknownTopicOrPartition),
                    "ListOffsets t[1]: Broker: Unknown topic or partition"
                )),
                Err(err(
                    None,
                    "ListOffsets t[2]: the partition leader did not answer"
                )),
                Err(err(None, "ListOffsets t[3]: no offset returned (-1)")),
                Err(err(None, "ListOffsets: no result")),
                Ok(5),
                Err(err(
                    Some(RDKafkaErrorCode::InvalidArgument),
                    "invalid topic-partition \"\"[0]"
                )),
            ]
        );
    }

    #[test]
    fn list_offsets_chunks_out_of_order_answers_and_duplicates() {
        // Two chunks: uniq = [0, 1, 3] split as [0, 1] and [3]; input 2 repeats input 0.
        let parts = [tp("a", 0), tp("b", 0), tp("a", 0), tp("a", 1)];
        let mut lo = parse::ListOffsets::new(PartitionIndex::new(&parts).unwrap());
        // Second chunk first, and the first chunk's rows reversed.
        lo.chunk(2, 1, Answer::Rows(Some(vec![row("a", 1, 30)])))
            .unwrap();
        lo.chunk(
            0,
            2,
            Answer::Rows(Some(vec![row("b", 0, 20), row("a", 0, 10)])),
        )
        .unwrap();
        assert_eq!(
            lo.finish(Duration::ZERO, T).unwrap(),
            [Ok(10), Ok(20), Ok(10), Ok(30)]
        );
    }

    #[test]
    fn list_offsets_noent_stays_per_partition_other_errors_fail_the_call() {
        let parts = [tp("gone", 0), tp("gone", 1), tp("t", 0), tp("gone", 0)];
        let mut lo = parse::ListOffsets::new(PartitionIndex::new(&parts).unwrap());
        let noent = ErrorText {
            code: RDKafkaErrorCode::NoEnt,
            text: "no leader".into(),
        };
        lo.chunk(0, 2, Answer::Failed(noent)).unwrap();
        lo.chunk(2, 1, Answer::Rows(Some(vec![row("t", 0, 7)])))
            .unwrap();
        let e = err(Some(RDKafkaErrorCode::NoEnt), "ListOffsets: no leader");
        assert_eq!(
            lo.finish(Duration::ZERO, T).unwrap(),
            [Err(e.clone()), Err(e.clone()), Ok(7), Err(e)]
        );

        let mut lo = parse::ListOffsets::new(PartitionIndex::new(&parts).unwrap());
        let other = ErrorText {
            code: RDKafkaErrorCode::OperationTimedOut,
            text: "Failed to query partition leaders".into(),
        };
        assert_eq!(
            lo.chunk(0, 2, Answer::Failed(other)),
            Err(err(
                Some(RDKafkaErrorCode::OperationTimedOut),
                "ListOffsets: Failed to query partition leaders"
            ))
        );
        assert_eq!(
            lo.chunk(0, 2, Answer::WrongType(1)),
            Err(err(None, "ListOffsets: unexpected event type 1"))
        );
    }

    #[test]
    fn list_offsets_no_leader_answered_is_the_outer_error() {
        let parts = [tp("t", 0), tp("t", 1)];
        let unanswered = || {
            let mut lo = parse::ListOffsets::new(PartitionIndex::new(&parts).unwrap());
            let rows = vec![row("t", 0, OFFSET_INVALID), row("t", 1, OFFSET_INVALID)];
            lo.chunk(0, 2, Answer::Rows(Some(rows))).unwrap();
            lo
        };
        let timeout = Duration::from_secs(1);
        // At (90% of) the timeout: a timeout.
        let e = unanswered()
            .finish(Duration::from_millis(900), timeout)
            .unwrap_err();
        assert_eq!(
            e,
            err(
                Some(RDKafkaErrorCode::OperationTimedOut),
                "ListOffsets: no partition leader answered (after 900ms)"
            )
        );
        // Sooner (a refused connection): no code.
        let e = unanswered()
            .finish(Duration::from_millis(100), timeout)
            .unwrap_err();
        assert_eq!(
            e,
            err(
                None,
                "ListOffsets: no partition leader answered (after 100ms)"
            )
        );
        // One offset read: per-partition errors only.
        let mut lo = parse::ListOffsets::new(PartitionIndex::new(&parts).unwrap());
        let rows = vec![row("t", 0, 0), row("t", 1, OFFSET_INVALID)];
        lo.chunk(0, 2, Answer::Rows(Some(rows))).unwrap();
        let out = lo.finish(timeout, timeout).unwrap();
        assert_eq!(out[0], Ok(0));
        assert_eq!(
            out[1],
            Err(err(
                None,
                "ListOffsets t[1]: the partition leader did not answer"
            ))
        );
        // Per-partition broker errors alone are not "no leader answered".
        let mut lo = parse::ListOffsets::new(PartitionIndex::new(&parts).unwrap());
        let rows = vec![
            err_row("t", 0, RDKafkaErrorCode::NotLeaderForPartition),
            err_row("t", 1, RDKafkaErrorCode::NotLeaderForPartition),
        ];
        lo.chunk(0, 2, Answer::Rows(Some(rows))).unwrap();
        assert!(
            lo.finish(timeout, timeout)
                .unwrap()
                .iter()
                .all(|r| r.as_ref().unwrap_err().code
                    == Some(RDKafkaErrorCode::NotLeaderForPartition))
        );
    }

    // --- parse.rs: ListConsumerGroupOffsets ---

    #[test]
    fn group_offsets_skip_errors_no_commit_and_unknown_partitions() {
        let parts = [tp("a", 0), tp("a", 1), tp("a", 2), tp("b", 0), tp("a", 0)];
        let mut ix = PartitionIndex::new(&parts).unwrap();
        let mut out = Vec::new();
        let rows = vec![
            // Out of request order.
            row("b", 0, 40),
            row("a", 0, 10),
            err_row("a", 1, RDKafkaErrorCode::UnknownTopicOrPartition),
            row("a", 2, OFFSET_INVALID),
            row("zz", 0, 5),
        ];
        parse::group_offsets(group(rows), "g", 0, &mut ix, &mut out).unwrap();
        assert_eq!(out, committed(&[(3, 40), (0, 10)]));
        assert_eq!(
            parse::finish_group(out, ix.dups()),
            committed(&[(0, 10), (3, 40), (4, 10)])
        );
    }

    #[test]
    fn group_offsets_second_chunk_starts_at_its_offset() {
        let parts: Vec<_> = (0..4).map(|p| tp("c", p)).collect();
        let mut ix = PartitionIndex::new(&parts).unwrap();
        let mut out = Vec::new();
        // The request for uniq[2..4].
        let rows = vec![row("c", 2, 1), row("c", 3, 2)];
        parse::group_offsets(group(rows), "g", 2, &mut ix, &mut out).unwrap();
        parse::group_offsets(group(vec![row("c", 0, 9)]), "g", 0, &mut ix, &mut out).unwrap();
        assert_eq!(
            parse::finish_group(out, ix.dups()),
            committed(&[(0, 9), (2, 1), (3, 2)])
        );
    }

    #[test]
    fn group_offsets_group_and_call_errors() {
        let parts = [tp("a", 0)];
        let mut ix = PartitionIndex::new(&parts).unwrap();
        let mut out = Vec::new();
        let mut run = |answer| parse::group_offsets(answer, "g1", 0, &mut ix, &mut out);
        let group_error = Answer::Rows(Some(vec![Some(GroupRow {
            error: Some(ErrorText {
                code: RDKafkaErrorCode::NotCoordinator,
                text: "Broker: Not coordinator".into(),
            }),
            partitions: vec![row("a", 0, 3)],
        })]));
        assert_eq!(
            run(group_error),
            Err(err(
                Some(RDKafkaErrorCode::NotCoordinator),
                "ListConsumerGroupOffsets g1: Broker: Not coordinator"
            ))
        );
        assert_eq!(
            run(Answer::Rows(Some(vec![]))),
            Err(err(None, "ListConsumerGroupOffsets g1: 0 group results"))
        );
        let two = GroupRow {
            error: None,
            partitions: vec![],
        };
        assert_eq!(
            run(Answer::Rows(Some(vec![Some(two.clone()), Some(two)]))),
            Err(err(None, "ListConsumerGroupOffsets g1: 2 group results"))
        );
        assert_eq!(
            run(Answer::Rows(Some(vec![None]))),
            Err(err(None, "ListConsumerGroupOffsets: null group result"))
        );
        assert_eq!(
            run(Answer::Rows(None)),
            Err(err(None, "ListConsumerGroupOffsets: event without result"))
        );
        assert_eq!(
            run(Answer::Failed(ErrorText {
                code: RDKafkaErrorCode::InvalidArgument,
                text: "bad".into(),
            })),
            Err(err(
                Some(RDKafkaErrorCode::InvalidArgument),
                "ListConsumerGroupOffsets: bad"
            ))
        );
        // Nothing was appended by the failures.
        assert!(out.is_empty());
    }

    #[test]
    fn finish_group_sorts_and_copies_duplicates_that_have_a_commit() {
        let dups = [
            Duplicate { index: 5, first: 2 },
            Duplicate { index: 6, first: 0 }, // its original has no commit
            Duplicate { index: 1, first: 4 },
        ];
        let out = parse::finish_group(committed(&[(4, 40), (2, 20), (3, 30)]), &dups);
        assert_eq!(
            out,
            committed(&[(1, 40), (2, 20), (3, 30), (4, 40), (5, 20)])
        );
        assert_eq!(parse::finish_group(vec![], &dups), vec![]);
        assert_eq!(
            parse::finish_group(committed(&[(1, 1), (0, 0)]), &[]),
            committed(&[(0, 0), (1, 1)])
        );
    }

    // --- parse.rs: ListConsumerGroups ---

    #[test]
    fn list_groups_parses_states_and_formats_broker_errors() {
        let listing = |id: &str, state: &str, simple| ListingRow {
            id: id.into(),
            state: state.into(),
            simple,
        };
        let rows = GroupsRows {
            valid: vec![
                listing("a", "Stable", false),
                listing("b", "Dead", false),
                listing("c", "Empty", true),
                listing("d", "CompletingRebalance", false),
                listing("e", "SomethingNew", false),
            ],
            errors: vec![ErrorText {
                code: RDKafkaErrorCode::BrokerTransportFailure,
                text: "Broker 2 down".into(),
            }],
        };
        let list = parse::list_groups(Answer::Rows(Some(rows))).unwrap();
        let got: Vec<(&str, GroupState, bool)> = list
            .groups
            .iter()
            .map(|g| (g.id.as_str(), g.state, g.simple))
            .collect();
        assert_eq!(
            got,
            [
                ("a", GroupState::Stable, false),
                ("b", GroupState::Dead, false),
                ("c", GroupState::Empty, true),
                ("d", GroupState::CompletingRebalance, false),
                ("e", GroupState::Unknown, false),
            ]
        );
        assert_eq!(
            list.errors,
            ["ListConsumerGroups: Broker 2 down (BrokerTransportFailure)"]
        );
        let e = parse::list_groups(Answer::WrongType(3)).unwrap_err();
        assert_eq!(e, err(None, "ListConsumerGroups: unexpected event type 3"));
        let empty = parse::list_groups(Answer::Rows(Some(GroupsRows::default()))).unwrap();
        assert!(empty.groups.is_empty() && empty.errors.is_empty());
    }

    // --- AdminError and the poller's tickets ---

    #[test]
    fn error_from_code_uses_librdkafka_text() {
        let e = AdminError::from_code("ListOffsets t[0]", RDKafkaErrorCode::NotLeaderForPartition);
        assert_eq!(e.code, Some(RDKafkaErrorCode::NotLeaderForPartition));
        assert_eq!(
            e.message,
            "ListOffsets t[0]: Broker: Not leader for partition"
        );
    }

    #[test]
    fn tickets_count_abandoned_requests_until_answered() {
        use std::sync::atomic::AtomicUsize;
        let abandoned = Arc::new(AtomicUsize::new(0));
        let count = || abandoned.load(Ordering::Acquire);
        // Answered, then the caller's side goes: nothing counted.
        let (t, guard) = Ticket::new(&abandoned);
        t.answered();
        drop(guard);
        assert_eq!(count(), 0);
        // The caller gives up first: counted until the answer arrives.
        let (t1, g1) = Ticket::new(&abandoned);
        let (t2, g2) = Ticket::new(&abandoned);
        drop(g1);
        drop(g2);
        assert_eq!(count(), 2);
        t1.answered();
        assert_eq!(count(), 1);
        t2.answered();
        assert_eq!(count(), 0);
        // Never sent: disarmed, nothing counted.
        let (_t, guard) = Ticket::new(&abandoned);
        guard.disarm();
        assert_eq!(count(), 0);
    }
}

#[test]
fn a_groups_first_request_goes_alone_and_the_rest_after_its_answer() {
    let all = |_: usize| true;
    let mut order = RequestOrder::new(3, 3);
    // First requests only, group by group, until one is answered.
    assert_eq!(order.next(all), Some((0, 0)));
    assert_eq!(order.next(all), Some((1, 0)));
    order.answered_first(1);
    // A group under way goes before a new one.
    assert_eq!(order.next(all), Some((1, 1)));
    assert_eq!(order.next(all), Some((1, 2)));
    assert_eq!(order.next(all), Some((2, 0)));
    assert_eq!(order.next(all), None);
    // A group that failed meanwhile sends nothing more.
    order.answered_first(0);
    order.answered_first(2);
    assert_eq!(order.next(|g| g != 0), Some((2, 1)));
    assert_eq!(order.next(|g| g != 0), Some((2, 2)));
    assert_eq!(order.next(all), None);

    // One request per group: nothing waits for an answer.
    let mut single = RequestOrder::new(2, 1);
    assert_eq!(single.next(all), Some((0, 0)));
    single.answered_first(0);
    assert_eq!(single.next(|g| g != 1), None);
}
