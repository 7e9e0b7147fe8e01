//! `Admin::describe_topic_configs` (DescribeConfigs, `cleanup.policy`) against the real test
//! broker: exact policies, per-topic errors beside good answers, and the timeout bound.
//!
//! nisshi 0.8.1 reports only the configs set on a topic (Kafka also reports defaults, so a
//! default topic is `delete` there and no entry here), and its memory engine answers an unknown
//! topic with no error and no entries; its sqlite engine answers UNKNOWN_TOPIC_OR_PARTITION as
//! Kafka does, so the per-topic error is checked on a sqlite broker.

use std::collections::BTreeMap;
use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::types::RDKafkaErrorCode;
use tempfile::TempDir;
use warren::kafka::admin::{Admin, AdminError};
use warren::model::TopicConfig;

use crate::common::{
    address_in_use, create_topic_on, start_on_free_port, temp_dir, wait_for, Broker, Started,
};
use crate::tools;

const T: Duration = Duration::from_secs(10);

fn can_run() -> bool {
    tools::suite("topic_configs", &[tools::broker])
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Creates one-partition topics, each with its `cleanup.policy` if one is given.
fn create_topics(bootstrap: &str, topics: &[(&str, Option<&str>)]) {
    for &(name, policy) in topics {
        let configs: Vec<(&str, &str)> =
            policy.map(|p| ("cleanup.policy", p)).into_iter().collect();
        create_topic_on(bootstrap, name, 1, &configs);
    }
}

fn describe(bootstrap: &str, topics: &[&str]) -> Vec<Result<TopicConfig, AdminError>> {
    let admin = Admin::new(bootstrap, &BTreeMap::new()).expect("admin");
    let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
    runtime().block_on(admin.describe_topic_configs(&topics, T))
}

fn config(name: &str, policy: Option<&str>) -> Result<TopicConfig, AdminError> {
    Ok(TopicConfig {
        name: name.into(),
        cleanup_policy: policy.map(str::to_string),
    })
}

fn code(r: &Result<TopicConfig, AdminError>) -> Option<RDKafkaErrorCode> {
    r.as_ref().expect_err("an error").code
}

/// A nisshi broker with the persistent sqlite engine, killed on drop.
struct SqliteBroker {
    port: u16,
    child: Child,
    _dir: TempDir,
}

impl SqliteBroker {
    fn start() -> SqliteBroker {
        start_on_free_port("the sqlite test broker", |port| {
            let dir = temp_dir("broker-sqlite");
            let log_path = dir.path().join("broker.log");
            let log = File::create(&log_path).expect("broker log");
            let url = format!("tcp://127.0.0.1:{port}");
            let mut child = Command::new(tools::path(tools::broker))
                .current_dir(dir.path()) // the database file is relative to it
                .args(["broker", "--cluster-id", "warren-configs"])
                .args(["--listener-url", &url, "--advertised-listener-url", &url])
                .args(["--storage-engine", "sqlite://nisshi.db"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("start nisshi");
            let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
            let up = wait_for(T, "the sqlite test broker to be ready", || {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = read_log();
                    assert!(address_in_use(&log), "nisshi exited with {status}:\n{log}");
                    return Some(false);
                }
                read_log().contains("ready in").then_some(true)
            });
            if !up {
                return Started::PortTaken;
            }
            Started::Up(SqliteBroker {
                port,
                child,
                _dir: dir,
            })
        })
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for SqliteBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn policies_and_per_topic_errors_in_the_order_asked() {
    if !can_run() {
        return;
    }
    let broker = SqliteBroker::start();
    create_topics(
        &broker.bootstrap(),
        &[
            ("compact", Some("compact")),
            ("both", Some("compact,delete")),
            ("delete", Some("delete")),
            ("plain", None),
        ],
    );
    let asked = [
        "compact", "plain", "missing", "both", "", "compact", "delete",
    ];
    let out = describe(&broker.bootstrap(), &asked);
    assert_eq!(out.len(), asked.len());
    assert_eq!(out[0], config("compact", Some("compact")));
    // No entry for a topic created without a policy (Kafka would say `delete`).
    assert_eq!(out[1], config("plain", None));
    assert_eq!(
        code(&out[2]),
        Some(RDKafkaErrorCode::UnknownTopicOrPartition)
    );
    assert_eq!(
        out[2].as_ref().unwrap_err().message,
        "DescribeConfigs \"missing\": This server does not host this topic-partition."
    );
    assert_eq!(out[3], config("both", Some("compact,delete")));
    assert_eq!(code(&out[4]), Some(RDKafkaErrorCode::InvalidArgument));
    assert_eq!(out[5], out[0], "a repeated name gets the same answer");
    assert_eq!(out[6], config("delete", Some("delete")));
    let compacted: Vec<bool> = [0, 1, 3, 6]
        .iter()
        .map(|&i| out[i].as_ref().unwrap().compacted())
        .collect();
    assert_eq!(compacted, [true, false, true, false]);
}

#[test]
fn memory_engine_policies_and_the_timeout_bound() {
    if !can_run() {
        return;
    }
    let mut broker = Broker::start("warren-configs");
    create_topics(
        &broker.bootstrap(),
        &[("mem-compact", Some("compact")), ("mem-plain", None)],
    );
    let out = describe(
        &broker.bootstrap(),
        &["mem-plain", "mem-compact", "mem-missing"],
    );
    assert_eq!(
        out,
        [
            config("mem-plain", None),
            config("mem-compact", Some("compact")),
            // The memory engine's answer for an unknown topic (Kafka: UNKNOWN_TOPIC_OR_PARTITION).
            config("mem-missing", None),
        ]
    );

    // No broker: every topic fails with a timeout, within the caller's bound.
    let admin = Admin::new(&broker.bootstrap(), &BTreeMap::new()).expect("admin");
    broker.stop();
    let timeout = Duration::from_secs(1);
    let started = Instant::now();
    let out = runtime().block_on(
        admin.describe_topic_configs(&["mem-plain".into(), "mem-compact".into()], timeout),
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed < timeout + Duration::from_millis(500),
        "{elapsed:?}"
    );
    assert_eq!(out.len(), 2);
    for r in &out {
        assert_eq!(code(r), Some(RDKafkaErrorCode::OperationTimedOut), "{r:?}");
    }
}
