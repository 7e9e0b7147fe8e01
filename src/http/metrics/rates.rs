//! Movement families: produce rate per partition (from the head history), and per group-topic
//! and group the consume rate, the lag velocity, the time to catch up and the falling-behind
//! flag (from the windows; the method is in [`crate::evaluate::rates`]).

use std::sync::Arc;

use super::exposition::{gauge, seconds, Family, Writer};
use crate::evaluate::{Rates, Trend};
use crate::snapshot::{ClusterSnapshot, GroupSnapshot};

const PRODUCE_RATE: Family = gauge(
    "kafka_partition_produce_rate",
    "Messages produced to a partition per second, over its high-watermark history (window.points polls).",
);
const CONSUME_RATE: [Family; 2] = [
    gauge(
        "kafka_consumergroup_group_consume_rate",
        "Messages a consumer group consumed per second over its partitions' evaluation windows.",
    ),
    gauge(
        "kafka_consumergroup_group_topic_consume_rate",
        "Messages a consumer group consumed per second on a topic over its partitions' evaluation windows.",
    ),
];
const LAG_VELOCITY: [Family; 2] = [
    gauge(
        "kafka_consumergroup_group_lag_velocity",
        "Change of a consumer group's lag per second over its evaluation windows: negative while the backlog shrinks.",
    ),
    gauge(
        "kafka_consumergroup_group_topic_lag_velocity",
        "Change of a consumer group's lag on a topic per second over its evaluation windows: negative while the backlog shrinks.",
    ),
];
const CATCHUP: [Family; 2] = [
    seconds(
        "kafka_consumergroup_group_catchup_seconds",
        "Estimated time until a consumer group has no lag, at its current shrink rate: present only while the backlog shrinks (0 without lag).",
    ),
    seconds(
        "kafka_consumergroup_group_topic_catchup_seconds",
        "Estimated time until a consumer group has no lag on a topic, at its current shrink rate: present only while the backlog shrinks (0 without lag).",
    ),
];
const FALLING_BEHIND: [Family; 2] = [
    gauge(
        "kafka_consumergroup_group_falling_behind",
        "1 when a consumer group's lag grew over its evaluation windows, else 0.",
    ),
    gauge(
        "kafka_consumergroup_group_topic_falling_behind",
        "1 when a consumer group's lag on a topic grew over its evaluation windows, else 0.",
    ),
];

pub(super) fn write(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>]) {
    produce_rates(w, clusters);
    let families: [(&[Family; 2], ValueOf); 4] = [
        (&CONSUME_RATE, |r| Some(Value::Rate(r.consume))),
        (&LAG_VELOCITY, |r| Some(Value::Rate(r.velocity))),
        (&CATCHUP, |r| match r.trend()? {
            Trend::CatchingUp(s) => Some(Value::Rate(s)),
            _ => None,
        }),
        (&FALLING_BEHIND, |r| {
            let behind = r.trend()? == Trend::FallingBehind;
            Some(Value::Count(behind as u64))
        }),
    ];
    for (fams, value) in families {
        w.header(&fams[0]);
        each_group(clusters, |c, g| {
            if let Some(v) = value_of(&g.status.rates(), value) {
                w.group(&fams[0], c, g);
                v.write(w);
            }
        });
        w.header(&fams[1]);
        each_group(clusters, |c, g| {
            if !c.granularity.topics() {
                return;
            }
            for (t, rates) in g.status.topic_rates.iter() {
                let (Some(topic), Some(v)) = (c.topic(*t), value_of(rates, value)) else {
                    continue;
                };
                w.group(&fams[1], c, g);
                w.label(b",topic=\"", &topic.name.escaped);
                v.write(w);
            }
        });
    }
}

/// How a family's value is read from a group's or group-topic's [`Rates`].
type ValueOf = fn(&Rates) -> Option<Value>;

/// A value of these families: a real number (rate, seconds), or a whole number.
enum Value {
    Rate(f64),
    Count(u64),
}

impl Value {
    fn write(self, w: &mut Writer) {
        match self {
            Value::Rate(r) => w.float(r),
            Value::Count(n) => w.uint(n),
        }
    }
}

/// The value for `rates`, when its movement is known at all.
fn value_of(rates: &Rates, value: ValueOf) -> Option<Value> {
    (rates.partitions > 0).then(|| value(rates)).flatten()
}

fn each_group(
    clusters: &[Arc<ClusterSnapshot>],
    mut f: impl FnMut(&ClusterSnapshot, &GroupSnapshot),
) {
    for c in clusters {
        for g in &c.groups {
            f(c, g);
        }
    }
}

fn produce_rates(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>]) {
    w.header(&PRODUCE_RATE);
    for c in clusters.iter().filter(|c| c.granularity.partitions()) {
        for t in c.topics_sorted() {
            for (p, rate) in t.produce_rates.iter().enumerate() {
                let Some(rate) = rate else { continue };
                w.start(&PRODUCE_RATE, c);
                w.label(b",topic=\"", &t.name.escaped);
                w.partition(p as i32);
                w.float(*rate as f64);
            }
        }
    }
}
