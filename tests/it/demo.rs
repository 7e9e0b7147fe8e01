//! `warren demo`, the README's first command, as a user runs it: the real binary, real HTTP.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{http_get, parse_metrics, temp_dir, wait_address_file, wait_for};

#[test]
fn demo_serves_all_four_groups() {
    /// Kills the demo however the test ends.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    // Port 0: the demo reports the port it bound in the address file.
    let dir = temp_dir("demo");
    let address_file = dir.path().join("address");
    let mut demo = Kill(
        Command::new(env!("CARGO_BIN_EXE_warren"))
            .args(["demo", "--listen", "127.0.0.1:0", "--address-file"])
            .arg(&address_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start warren demo"),
    );
    let port = wait_address_file(&mut demo.0, &address_file, "warren demo", String::new).port();
    let groups = [
        "billing-fast",
        "analytics-slow",
        "audit-stopped",
        "replay-rewind",
    ];
    let metrics = wait_for(
        Duration::from_secs(60),
        "the demo groups in /metrics",
        || {
            let body = http_get(port, "/metrics", &[]).ok()?;
            let m = parse_metrics(&String::from_utf8(body.body).ok()?);
            let all = groups.iter().all(|g| {
                m.keys().any(|k| {
                    k.starts_with("kafka_consumergroup_group_lag{")
                        && k.contains(&format!("group=\"{g}\""))
                })
            });
            all.then_some(m)
        },
    );
    assert_eq!(
        metrics.get("warren_cluster_up{cluster=\"demo\",env=\"demo\"}"),
        Some(&1.0)
    );
    assert!(metrics
        .keys()
        .any(|k| k.starts_with("kafka_partition_latest_offset{cluster=\"demo\"")));
}
