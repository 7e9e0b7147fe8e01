//! Failure 1 of issue 17: with librdkafka debug logging on (`client."debug" = "all"`, log filter
//! `trace`) and an unreachable broker, the admin poller never saw an empty poll, so it never
//! noticed its stop flag: every failed poll left its librdkafka client behind, and SIGTERM
//! logged "shutting down" but the process never exited.
//!
//! No broker needed: one cluster's bootstrap address refuses connections (a closed port), the
//! other's accepts them and never answers (a listener that is never accepted from: the kernel
//! completes the handshakes and holds the requests). Linux only: threads are counted in /proc.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::common::{free_port, rdk_main_threads, wait_for, Warren};

/// `request_timeout` of the test clusters: short, so that failed polls come quickly.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// What a shutdown may take: the longest Kafka request still running, plus a second.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(REQUEST_TIMEOUT.as_secs() + 1);
/// How many times [`SHUTDOWN_BOUND`] the test waits (shared machines are at times 2x slower).
const SLACK: u32 = 5;
/// The test clusters: one refuses connections, one never answers.
const CLUSTERS: [&str; 2] = ["refused", "blackhole"];

/// Two unreachable clusters with librdkafka debug logging on, polled every 100 ms (the
/// scraper's backoff grows to 8 intervals, so a failed poll comes every 1-2 s).
struct Unreachable {
    warren: Warren,
    /// Held open and never accepted from: the "blackhole" cluster's broker.
    _blackhole: TcpListener,
}

impl Unreachable {
    fn start() -> Unreachable {
        let blackhole = TcpListener::bind("127.0.0.1:0").expect("blackhole listener");
        let blackhole_addr = blackhole.local_addr().expect("blackhole address");
        // Bound and released by `free_port`: nothing listens there.
        let refused_addr = format!("127.0.0.1:{}", free_port());
        let mut config = String::from("[log]\nfilter = \"trace\"\n");
        for (name, addr) in CLUSTERS
            .iter()
            .zip([refused_addr, blackhole_addr.to_string()])
        {
            config.push_str(&format!(
                "[[clusters]]\nname = \"{name}\"\nbootstrap_servers = \"{addr}\"\n\
                 poll_interval = \"100ms\"\nrequest_timeout = \"{}s\"\n\
                 client.\"debug\" = \"all\"\n",
                REQUEST_TIMEOUT.as_secs()
            ));
        }
        Unreachable {
            warren: Warren::start(&config),
            _blackhole: blackhole,
        }
    }

    /// Failed polls so far of the cluster that has had the fewest.
    fn fewest_poll_errors(&self) -> f64 {
        let metrics = self.warren.metrics();
        CLUSTERS
            .iter()
            .map(|c| poll_errors(&metrics, c))
            .fold(f64::INFINITY, f64::min)
    }
}

/// `warren_poll_errors_total` of `cluster`, summed over stages.
fn poll_errors(metrics: &BTreeMap<String, f64>, cluster: &str) -> f64 {
    let prefix = format!("warren_poll_errors_total{{cluster=\"{cluster}\",");
    metrics
        .iter()
        .filter(|(series, _)| series.starts_with(&prefix))
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn shutdown_with_librdkafka_debug_logging_finishes_in_time() {
    let mut u = Unreachable::start();
    let pid = u.warren.pid();
    // Mid-poll, when it is hardest: both clusters' clients alive and waiting for their broker.
    let threads = wait_for(
        Duration::from_secs(90),
        "3 failed polls per cluster, then both clusters polling",
        || {
            let threads = rdk_main_threads(pid);
            (threads >= CLUSTERS.len() && u.fewest_poll_errors() >= 3.0).then_some(threads)
        },
    );

    u.warren.terminate();
    let sent = Instant::now();
    let status = u.warren.wait_exit(SHUTDOWN_BOUND * SLACK);
    let took = sent.elapsed();
    eprintln!(
        "shutdown under librdkafka debug logging: exited {status:?} {took:?} after SIGTERM \
         ({threads} rdk:main threads before it; bound {SHUTDOWN_BOUND:?})"
    );
    let log = u.warren.log();
    assert!(log.contains("shutting down"), "no shutdown logged");
    let Some(status) = status else {
        panic!("warren still runs {took:?} after SIGTERM (bound {SHUTDOWN_BOUND:?})");
    };
    assert!(status.success(), "warren exited with {status}");
}

#[test]
fn failed_polls_do_not_leak_librdkafka_clients() {
    let u = Unreachable::start();
    let pid = u.warren.pid();
    let (mut samples, mut most) = (0, 0);
    // Sampled all along, not only at the end: a leak shows as a count that grows with each
    // failed poll.
    let polls = wait_for(
        Duration::from_secs(120),
        "6 failed polls per cluster",
        || {
            let threads = rdk_main_threads(pid);
            most = most.max(threads);
            samples += 1;
            let polls = u.fewest_poll_errors();
            (polls >= 6.0).then_some(polls)
        },
    );
    eprintln!(
        "{polls} or more failed polls per cluster: at most {most} rdk:main threads in \
         {samples} samples, {} now",
        rdk_main_threads(pid)
    );
    // One client per cluster, plus one being destroyed while its cluster reconnects.
    assert!(
        most <= CLUSTERS.len() + 1,
        "{most} rdk:main threads for {} clusters",
        CLUSTERS.len()
    );
}
