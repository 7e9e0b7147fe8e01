//! The evaluator end to end: a steady producer and three real consumer groups on the test
//! broker reach OK, WARN and ERR in `/metrics` within 3 × `window.points` polls.

use std::time::Duration;

use crate::common::workload::{Workload, TOPIC};
use crate::common::{wait_for, Broker, Warren};
use crate::tools;

#[test]
fn three_consumers_reach_ok_warn_and_err() {
    if !tools::suite("evaluate", &[tools::broker]) {
        return;
    }
    let broker = Broker::start("evaluate");
    // A producer at 40/s; groups keeping up, handling 10/s, and stopping after 4 s.
    let workload = Workload::start(&broker);

    let w = Warren::start(&format!(
        "[[clusters]]\nname = \"e\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\nmetadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\nrequest_timeout = \"2s\"\nevaluator = {{ allowed_lag = 5 }}\n",
        broker.bootstrap()
    ));
    let status =
        |g: &str| format!("kafka_consumergroup_group_status{{cluster=\"e\",group=\"{g}\"}}");
    let part = |g: &str| {
        format!("kafka_consumergroup_partition_status{{cluster=\"e\",group=\"{g}\",topic=\"{TOPIC}\",partition=\"0\"}}")
    };
    // 3 x window.points polls at 1 s, plus the time the groups take to join and commit.
    // A generous deadline: a loaded machine is slow, not wrong.
    let m = wait_for(Duration::from_secs(90), "OK, WARN and ERR", || {
        let m = w.metrics();
        let ok = m.get(&status("keeps-up")) == Some(&1.0)
            && m.get(&status("too-slow")) == Some(&2.0)
            && m.get(&status("stops")) == Some(&3.0);
        ok.then_some(m)
    });
    drop(workload);
    assert_eq!(m.get(&part("keeps-up")), Some(&1.0));
    assert_eq!(m.get(&part("too-slow")), Some(&2.0));
    assert_eq!(m.get(&part("stops")), Some(&4.0), "STOP");
}
