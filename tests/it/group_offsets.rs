//! Committed offsets read both ways against the real test broker: each group asked for all its
//! commits (`OffsetRequests::Group`, OffsetFetch without partitions, what warren does on Linux
//! glibc builds) and for listed partitions (`OffsetRequests::Partitions`, elsewhere and with
//! `offset_requests = "partitions"`). Both give the same exact answers, commits outside
//! the caller's partitions left out, and librdkafka's parse of the answers is served by
//! warren's index (`src/kafka/admin/ffi/partition_find.rs`) from each answer's 33rd partition
//! on.

use std::collections::BTreeMap;
use std::time::Duration;

use warren::config::OffsetRequests;
use warren::kafka::admin::{Admin, Committed};
use warren::model::TopicPartition;

use crate::common::Broker;
use crate::tools;

const T: Duration = Duration::from_secs(10);
/// The partitions of `wide`: more than the 32 an answer has before the index is used.
const WIDE: i32 = 200;

fn can_run() -> bool {
    tools::suite("group_offsets", &[tools::broker])
}

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn whole_groups_and_listed_partitions_give_the_same_exact_commits() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("group-offsets");
    broker.create_topic("narrow", 3);
    broker.create_topic("wide", WIDE);
    broker.create_topic("hidden", 2);
    broker.produce("narrow", &[5, 5, 5]);
    broker.produce("wide", &[3; WIDE as usize]);
    broker.produce("hidden", &[1, 1]);
    // "big" commits on every partition of `wide` (p % 4), two of `narrow` and both of `hidden`,
    // which the caller does not ask about; "small" on one; "idle" on none.
    let mut big: Vec<(&str, i32, i64)> = (0..WIDE).map(|p| ("wide", p, i64::from(p % 4))).collect();
    big.extend([
        ("narrow", 1, 4),
        ("narrow", 2, 5),
        ("hidden", 0, 1),
        ("hidden", 1, 1),
    ]);
    broker.commit("big", &big);
    broker.commit("small", &[("narrow", 0, 2)]);

    // The caller's partitions: `narrow` (indexes 0-2), then `wide` (3-202).
    let parts: Vec<TopicPartition> = (0..3)
        .map(|p| TopicPartition::new("narrow", p))
        .chain((0..WIDE).map(|p| TopicPartition::new("wide", p)))
        .collect();
    let groups: Vec<String> = ["big", "small", "idle"].map(String::from).to_vec();
    let committed = |index: u32, offset: i64| Committed { index, offset };
    let mut want_big = vec![committed(1, 4), committed(2, 5)];
    want_big.extend((0..WIDE as u32).map(|p| committed(3 + p, i64::from(p % 4))));
    let want = vec![Ok(want_big), Ok(vec![committed(0, 2)]), Ok(Vec::new())];

    let admin = Admin::new(&broker.bootstrap(), &BTreeMap::new()).expect("admin");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let before = warren::kafka::admin::indexed_answers();
    let whole =
        runtime.block_on(admin.list_group_offsets(&groups, &parts, OffsetRequests::Group, 4, T));
    let after_whole = warren::kafka::admin::indexed_answers();
    let listed = runtime.block_on(admin.list_group_offsets(
        &groups,
        &parts,
        OffsetRequests::Partitions,
        4,
        T,
    ));
    let after_listed = warren::kafka::admin::indexed_answers();
    assert_eq!(whole, want);
    assert_eq!(listed, want);
    // Whole groups: "big" is answered with its 204 commits, the others with 1 and 0, so the
    // index answered the searches for big's partitions 33 to 204.
    assert_eq!(after_whole - before, 204 - 32);
    // Listed: every group is answered with all 203 partitions asked (-1 where it has no
    // commit), in one request each.
    assert_eq!(after_listed - after_whole, 3 * (203 - 32));
}
