//! warren's own instrumentation, kept in prometheus-client's types: how long each poll stage
//! takes (a histogram), failed Kafka requests by stage, scrapes served and their duration, HTTP
//! requests by route and status code. The scrapers and the HTTP side record into one shared
//! [`Telemetry`]; `/metrics` writes it after the Kafka families (see
//! `http::metrics::warren`). The per-partition families stay on the hand-written writer: at a
//! million series prometheus-client's `Family` costs ~2.5× the render time and 14× the memory.

use std::time::Duration;

use prometheus_client::encoding::text::encode_registry;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::config::ClusterConfig;

/// The stages of a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Metadata,
    GroupList,
    /// DescribeConsumerGroups (`groups.describe`).
    GroupDescribe,
    /// DescribeConfigs of the watched topics (`cleanup.policy`), at each metadata refresh.
    TopicConfigs,
    GroupOffsets,
    Watermarks,
    /// Reading the records at committed offsets (`time_lag = "record"`).
    RecordReads,
    /// Evaluating the store and building the snapshot (no Kafka request; never fails).
    Evaluate,
}

impl Stage {
    /// The stages that send Kafka requests, which can fail.
    pub const REQUESTS: [Stage; 8] = [
        Stage::Connect,
        Stage::Metadata,
        Stage::TopicConfigs,
        Stage::GroupList,
        Stage::GroupDescribe,
        Stage::GroupOffsets,
        Stage::Watermarks,
        Stage::RecordReads,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Metadata => "metadata",
            Stage::GroupList => "group_list",
            Stage::GroupDescribe => "group_describe",
            Stage::TopicConfigs => "topic_configs",
            Stage::GroupOffsets => "group_offsets",
            Stage::Watermarks => "watermarks",
            Stage::RecordReads => "record_reads",
            Stage::Evaluate => "evaluate",
        }
    }
}

/// A series' labels, in order: the cluster's (`cluster` and its static labels) then the
/// series' own.
type Labels = Vec<(String, String)>;

/// Buckets from 1 ms to ~65 s, ×4 apart: a poll stage or a scrape on a small cluster takes
/// milliseconds, on a million group-partitions seconds.
#[derive(Debug, Clone, Copy)]
struct Buckets;

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(exponential_buckets(0.001, 4.0, 9))
    }
}

/// The shared instrumentation of one process.
#[derive(Debug)]
pub struct Telemetry {
    registry: Registry,
    /// Per cluster (config order): `cluster` and the static labels.
    clusters: Vec<Labels>,
    poll_stage_seconds: Family<Labels, Histogram, Buckets>,
    poll_errors: Family<Labels, Counter>,
    scrapes: Family<Labels, Counter>,
    scrape_seconds: Family<Labels, Histogram, Buckets>,
    http_requests: Family<Labels, Counter>,
}

fn with(base: &Labels, extra: &[(&str, &str)]) -> Labels {
    let mut labels = base.clone();
    labels.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    labels
}

impl Telemetry {
    /// For `clusters`, in config order (their names and static labels label the poll series).
    pub fn new(clusters: &[ClusterConfig]) -> Telemetry {
        let clusters: Vec<Labels> = clusters
            .iter()
            .map(|c| {
                let mut l = vec![("cluster".to_string(), c.name.clone())];
                l.extend(c.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
                l
            })
            .collect();
        let mut t = Telemetry {
            registry: Registry::default(),
            clusters,
            poll_stage_seconds: Family::new_with_constructor(Buckets),
            poll_errors: Family::default(),
            scrapes: Family::default(),
            scrape_seconds: Family::new_with_constructor(Buckets),
            http_requests: Family::default(),
        };
        // Every cluster's error counters exist from the start, so `rate()` and `increase()`
        // see the first error.
        for base in &t.clusters {
            for stage in Stage::REQUESTS {
                let labels = with(base, &[("stage", stage.as_str())]);
                let _ = t.poll_errors.get_or_create(&labels);
            }
        }
        let r = &mut t.registry;
        r.register(
            "warren_poll_errors",
            "Failed Kafka requests by poll stage",
            t.poll_errors.clone(),
        );
        r.register_with_unit(
            "warren_poll_stage_duration",
            "Duration of each stage of a cluster's polls",
            Unit::Seconds,
            t.poll_stage_seconds.clone(),
        );
        r.register(
            "warren_scrapes",
            "Scrapes of /metrics served, by exposition format",
            t.scrapes.clone(),
        );
        r.register_with_unit(
            "warren_scrape_duration",
            "Time to render and send /metrics, by exposition format",
            Unit::Seconds,
            t.scrape_seconds.clone(),
        );
        r.register(
            "warren_http_requests",
            "HTTP requests served, by route and status code",
            t.http_requests.clone(),
        );
        t
    }

    fn cluster(&self, cluster: usize) -> &Labels {
        static NONE: Labels = Vec::new();
        self.clusters.get(cluster).unwrap_or(&NONE)
    }

    /// `n` failed requests of `stage` in a poll of cluster `cluster` (config order).
    pub fn poll_errors(&self, cluster: usize, stage: Stage, n: u64) {
        let labels = with(self.cluster(cluster), &[("stage", stage.as_str())]);
        self.poll_errors.get_or_create(&labels).inc_by(n);
    }

    /// One stage of a poll of cluster `cluster` took `took`.
    pub fn poll_stage(&self, cluster: usize, stage: Stage, took: Duration) {
        let labels = with(self.cluster(cluster), &[("stage", stage.as_str())]);
        self.poll_stage_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// A scrape in `format` (`text` or `openmetrics`) was served in `took`.
    pub fn scrape(&self, format: &str, took: Duration) {
        let labels = vec![("format".to_string(), format.to_string())];
        self.scrapes.get_or_create(&labels).inc();
        self.scrape_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// An HTTP request to `route` (the route's pattern, not the path) answered `code`.
    pub fn http_request(&self, route: &str, code: u16) {
        let labels = vec![
            ("route".to_string(), route.to_string()),
            ("code".to_string(), code.to_string()),
        ];
        self.http_requests.get_or_create(&labels).inc();
    }

    /// Everything, as OpenMetrics text without `# EOF`.
    pub fn openmetrics(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_encodes() {
        let mut prod = ClusterConfig::new("prod", "k1:9092");
        prod.labels.insert("env".into(), "eu".into());
        let t = Telemetry::new(&[prod, ClusterConfig::new("idle", "k2:9092")]);
        t.poll_errors(0, Stage::Watermarks, 2);
        t.poll_stage(1, Stage::Evaluate, Duration::from_millis(3));
        t.scrape("text", Duration::from_millis(20));
        t.http_request("/metrics", 200);
        t.http_request("/metrics", 200);
        let om = t.openmetrics();
        for line in [
            "# TYPE warren_poll_errors counter",
            "warren_poll_errors_total{cluster=\"prod\",env=\"eu\",stage=\"watermarks\"} 2",
            "warren_poll_errors_total{cluster=\"prod\",env=\"eu\",stage=\"connect\"} 0",
            "warren_poll_errors_total{cluster=\"idle\",stage=\"group_list\"} 0",
            "# UNIT warren_poll_stage_duration_seconds seconds",
            "warren_poll_stage_duration_seconds_bucket{le=\"0.004\",cluster=\"idle\",stage=\"evaluate\"} 1",
            "warren_poll_stage_duration_seconds_bucket{le=\"0.001\",cluster=\"idle\",stage=\"evaluate\"} 0",
            "warren_poll_stage_duration_seconds_count{cluster=\"idle\",stage=\"evaluate\"} 1",
            "warren_scrapes_total{format=\"text\"} 1",
            "warren_scrape_duration_seconds_count{format=\"text\"} 1",
            "warren_http_requests_total{route=\"/metrics\",code=\"200\"} 2",
        ] {
            assert!(om.lines().any(|l| l == line), "missing {line}\n{om}");
        }
        // 16 error series: 8 stages × 2 clusters, all there from the start.
        assert_eq!(om.matches("warren_poll_errors_total{").count(), 16);
    }
}
