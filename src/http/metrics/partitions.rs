//! Partition families: `kafka_partition_latest_offset` and `kafka_partition_earliest_offset`.

use std::sync::Arc;

use super::exposition::{gauge, Family, Writer};
use crate::snapshot::ClusterSnapshot;

const LATEST_OFFSET: Family = gauge(
    "kafka_partition_latest_offset",
    "Latest offset (high watermark) of a partition.",
);
const EARLIEST_OFFSET: Family = gauge(
    "kafka_partition_earliest_offset",
    "Earliest offset (low watermark) of a partition.",
);

pub(super) fn write(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>]) {
    for (fam, earliest) in [(&LATEST_OFFSET, false), (&EARLIEST_OFFSET, true)] {
        w.header(fam);
        for c in clusters.iter().filter(|c| c.granularity.partitions()) {
            for t in c.topics_sorted() {
                for (p, wm) in t.watermarks.iter().enumerate() {
                    let v = if earliest { wm.earliest } else { wm.latest };
                    if v < 0 {
                        continue;
                    }
                    w.start(fam, c);
                    w.label(b",topic=\"", &t.name.escaped);
                    w.partition(p as i32);
                    w.int(v);
                }
            }
        }
    }
}
