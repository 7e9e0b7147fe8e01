//! `/metrics`: renders snapshots as Prometheus text 0.0.4 or OpenMetrics 1.0.
//!
//! Written by hand into reused chunks (prometheus-client has no 0.0.4 encoder and its `Family`
//! costs ~2.5x the time and 14x the memory at a million series, see rust-stack.md §4). Each family
//! writes its `# HELP`/`# TYPE` once, then one line per series: a pre-escaped label prefix per
//! cluster, names escaped once when interned, numbers through `itoa`/`ryu`. The output is
//! streamed in chunks so a scrape of millions of series never holds the whole body.

use std::sync::Arc;

use crate::evaluate::LagMethod;
use crate::snapshot::{ClusterSnapshot, GroupSnapshot, Stage};

/// Size at which a chunk is handed to the sink.
pub const CHUNK: usize = 1 << 20;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// OpenMetrics when the `Accept` header lists it with a non-zero q, else text 0.0.4.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let wants_om = accept.split(',').any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("");
            if !media.eq_ignore_ascii_case("application/openmetrics-text") {
                return false;
            }
            let q = parts
                .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            q > 0.0
        });
        if wants_om {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
    Info,
}

/// A metric family: what `# HELP`/`# TYPE` say. `name` is the sample name.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    unit: Option<&'static str>,
}

const fn gauge(name: &'static str, help: &'static str) -> Family {
    Family {
        name,
        help,
        kind: Kind::Gauge,
        unit: None,
    }
}

/// A gauge in seconds (OpenMetrics gets a `# UNIT` line).
const fn seconds(name: &'static str, help: &'static str) -> Family {
    Family {
        name,
        help,
        kind: Kind::Gauge,
        unit: Some("seconds"),
    }
}

const LATEST_OFFSET: Family = gauge(
    "kafka_partition_latest_offset",
    "Latest offset (high watermark) of a partition.",
);
const EARLIEST_OFFSET: Family = gauge(
    "kafka_partition_earliest_offset",
    "Earliest offset (low watermark) of a partition.",
);
const GROUP_OFFSET: Family = gauge(
    "kafka_consumergroup_group_offset",
    "Last committed offset of a consumer group on a partition.",
);
const GROUP_LAG: Family = gauge(
    "kafka_consumergroup_group_lag",
    "Messages a consumer group is behind on a partition: latest offset minus committed offset, never negative.",
);
const GROUP_TOPIC_SUM_LAG: Family = gauge(
    "kafka_consumergroup_group_topic_sum_lag",
    "Sum of a consumer group's lag over the partitions of a topic.",
);
const GROUP_SUM_LAG: Family = gauge(
    "kafka_consumergroup_group_sum_lag",
    "Sum of a consumer group's lag over all its partitions.",
);
const GROUP_MAX_LAG: Family = gauge(
    "kafka_consumergroup_group_max_lag",
    "Largest lag of a consumer group over all its partitions.",
);
const GROUP_STATUS: Family = gauge(
    "kafka_consumergroup_group_status",
    "Burrow status of a consumer group: 0 NOTFOUND, 1 OK, 2 WARN, 3 ERR.",
);
const GROUP_COMPLETE: Family = gauge(
    "kafka_consumergroup_group_complete",
    "Share of a consumer group's partitions whose evaluation window is full (0 to 1).",
);
const PARTITION_STATUS: Family = gauge(
    "kafka_consumergroup_partition_status",
    "Burrow status of a consumer group on a partition: 1 OK, 2 WARN, 4 STOP, 5 STALL, 6 REWIND.",
);
const GROUP_LAG_SECONDS: Family = seconds(
    "kafka_consumergroup_group_lag_seconds",
    "How long ago the next message a consumer group reads on a partition was produced, estimated from the head history (see warren_lag_seconds_partitions).",
);
const GROUP_MAX_LAG_SECONDS: Family = seconds(
    "kafka_consumergroup_group_max_lag_seconds",
    "Largest lag in seconds of a consumer group over its partitions.",
);
const LAG_SECONDS_METHODS: Family = gauge(
    "warren_lag_seconds_partitions",
    "Partitions of a consumer group by how their lag in seconds was obtained: caught_up (0), interpolated, lower_bound (behind the whole history), unknown (no series).",
);
const CLUSTER_UP: Family = gauge(
    "warren_cluster_up",
    "1 when the last poll of the cluster succeeded, else 0.",
);
const POLL_DURATION: Family = seconds(
    "warren_poll_duration_seconds",
    "Duration of the last poll of the cluster.",
);
const POLL_ERRORS: Family = Family {
    name: "warren_poll_errors_total",
    help: "Failed Kafka requests by poll stage.",
    kind: Kind::Counter,
    unit: None,
};
const LAST_POLL: Family = seconds(
    "warren_last_poll_timestamp_seconds",
    "Unix time of the last successful poll of the cluster.",
);
const BUILD_INFO: Family = Family {
    name: "warren_build_info",
    help: "Version of warren and of its librdkafka.",
    kind: Kind::Info,
    unit: None,
};

/// Static facts about this process for `warren_build_info`.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub version: &'static str,
    pub librdkafka: String,
}

/// Writes series into a buffer and hands it to `sink` whenever it holds [`CHUNK`] bytes.
struct Writer<'s> {
    out: Vec<u8>,
    format: Format,
    sink: &'s mut dyn FnMut(&mut Vec<u8>),
}

impl Writer<'_> {
    fn header(&mut self, f: &Family) {
        let base = match (self.format, f.kind) {
            (Format::OpenMetrics, Kind::Counter) => f.name.trim_end_matches("_total"),
            (Format::OpenMetrics, Kind::Info) => f.name.trim_end_matches("_info"),
            _ => f.name,
        };
        let kind = match (self.format, f.kind) {
            (_, Kind::Counter) => "counter",
            (Format::OpenMetrics, Kind::Info) => "info",
            _ => "gauge",
        };
        let o = &mut self.out;
        for part in [
            "# HELP ",
            base,
            " ",
            f.help,
            "\n# TYPE ",
            base,
            " ",
            kind,
            "\n",
        ] {
            o.extend_from_slice(part.as_bytes());
        }
        if let (Format::OpenMetrics, Some(unit)) = (self.format, f.unit) {
            for part in ["# UNIT ", base, " ", unit, "\n"] {
                o.extend_from_slice(part.as_bytes());
            }
        }
    }

    /// Ends a series line with its integer value, flushing a full chunk.
    #[inline]
    fn int(&mut self, v: i64) {
        self.out.extend_from_slice(b"} ");
        self.int_value(v);
    }

    /// Writes an integer value and ends the line (after `"} ` is written).
    #[inline]
    fn int_value(&mut self, v: i64) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        self.end_line();
    }

    /// Ends a series line with a float value (finite by construction).
    fn float(&mut self, v: f64) {
        self.out.extend_from_slice(b"} ");
        if v.is_finite() {
            self.out
                .extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
        } else {
            self.out.extend_from_slice(b"0");
        }
        self.end_line();
    }

    /// Writes a value kept in tenths (lag seconds, as a `Verdict` stores it) and ends the
    /// line (after `"} ` is written): integer formatting only, and the value is exact.
    #[inline]
    fn tenths_value(&mut self, tenths: u32) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(tenths / 10).as_bytes());
        self.out.push(b'.');
        self.out.push(b'0' + (tenths % 10) as u8);
        self.end_line();
    }

    #[inline]
    fn end_line(&mut self) {
        self.out.push(b'\n');
        if self.out.len() >= CHUNK {
            (self.sink)(&mut self.out);
        }
    }

    /// Starts `name{prefix` (the caller adds further labels, then a value).
    #[inline]
    fn start(&mut self, f: &Family, c: &ClusterSnapshot) {
        self.out.extend_from_slice(f.name.as_bytes());
        self.out.push(b'{');
        self.out.extend_from_slice(c.label_prefix.as_bytes());
    }

    #[inline]
    fn label(&mut self, name: &[u8], escaped: &str) {
        self.out.extend_from_slice(name);
        self.out.extend_from_slice(escaped.as_bytes());
        self.out.push(b'"');
    }

    /// Writes `prefix`, the partition number and `"} `: the caller ends the line with
    /// [`Writer::int_value`] or [`Writer::tenths_value`].
    #[inline]
    fn prefixed(&mut self, prefix: &[u8], p: i32) {
        self.out.extend_from_slice(prefix);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(p).as_bytes());
        self.out.extend_from_slice(b"\"} ");
    }

    #[inline]
    fn partition(&mut self, p: i32) {
        self.out.extend_from_slice(b",partition=\"");
        self.out
            .extend_from_slice(itoa::Buffer::new().format(p).as_bytes());
        self.out.push(b'"');
    }
}

/// The start of a group-partition series line, `name{cluster…,group="G",topic="T",partition="`,
/// built once per group and topic: most lines of an exposition are group-partitions, and one
/// copy of a cached prefix is much cheaper than assembling five pieces per line.
struct LinePrefix {
    bytes: Vec<u8>,
    /// The topic id the bytes were built for, within the current group.
    topic: Option<u32>,
}

impl LinePrefix {
    fn new() -> LinePrefix {
        LinePrefix {
            bytes: Vec::with_capacity(256),
            topic: None,
        }
    }

    /// Starts a new group: the next [`LinePrefix::get`] rebuilds.
    fn reset(&mut self) {
        self.topic = None;
    }

    /// The prefix for topic `t` of `g`, or `None` when the snapshot does not know the topic.
    fn get(&mut self, f: &Family, c: &ClusterSnapshot, g: &GroupSnapshot, t: u32) -> Option<&[u8]> {
        if self.topic != Some(t) {
            let topic = c.topic(t)?;
            let b = &mut self.bytes;
            b.clear();
            for part in [
                f.name,
                "{",
                &c.label_prefix,
                ",group=\"",
                &g.name.escaped,
                "\",topic=\"",
                &topic.name.escaped,
                "\",partition=\"",
            ] {
                b.extend_from_slice(part.as_bytes());
            }
            self.topic = Some(t);
        }
        Some(&self.bytes)
    }
}

/// Per group-topic lag sums, in the group's run order: `(topic, sum)` for topics with at least
/// one known lag.
fn topic_sums(c: &ClusterSnapshot, g: &GroupSnapshot, mut f: impl FnMut(u32, i64)) {
    let mut current: Option<(u32, Option<i64>)> = None;
    for (t, p, off) in g.partitions() {
        let l = c.lag(t, p, off).map(|l| l as i64);
        match &mut current {
            Some((topic, sum)) if *topic == t => {
                if let Some(l) = l {
                    *sum = Some(sum.unwrap_or(0) + l);
                }
            }
            _ => {
                if let Some((topic, Some(sum))) = current {
                    f(topic, sum);
                }
                current = Some((t, l));
            }
        }
    }
    if let Some((topic, Some(sum))) = current {
        f(topic, sum);
    }
}

/// Renders every cluster's snapshot; output goes to `sink` in chunks (the last one possibly
/// small). `sink` must take the bytes out of the buffer it is given.
pub fn render(
    clusters: &[Arc<ClusterSnapshot>],
    build: &BuildInfo,
    format: Format,
    sink: &mut dyn FnMut(&mut Vec<u8>),
) {
    let mut w = Writer {
        out: Vec::with_capacity(CHUNK + 4096),
        format,
        sink,
    };

    for (fam, earliest) in [(&LATEST_OFFSET, false), (&EARLIEST_OFFSET, true)] {
        w.header(fam);
        for c in clusters {
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

    let mut prefix = LinePrefix::new();
    for (fam, is_lag) in [(&GROUP_OFFSET, false), (&GROUP_LAG, true)] {
        w.header(fam);
        for c in clusters {
            for g in &c.groups {
                prefix.reset();
                for (t, p, off) in g.partitions() {
                    let v = if is_lag {
                        match c.lag(t, p, off) {
                            Some(l) => l as i64,
                            None => continue,
                        }
                    } else {
                        off
                    };
                    let Some(line) = prefix.get(fam, c, g, t) else {
                        continue;
                    };
                    w.prefixed(line, p);
                    w.int_value(v);
                }
            }
        }
    }

    w.header(&GROUP_TOPIC_SUM_LAG);
    for c in clusters {
        for g in &c.groups {
            topic_sums(c, g, |t, sum| {
                let Some(topic) = c.topic(t) else { return };
                w.start(&GROUP_TOPIC_SUM_LAG, c);
                w.label(b",group=\"", &g.name.escaped);
                w.label(b",topic=\"", &topic.name.escaped);
                w.int(sum);
            });
        }
    }

    for (fam, is_max) in [(&GROUP_SUM_LAG, false), (&GROUP_MAX_LAG, true)] {
        w.header(fam);
        for c in clusters {
            for g in &c.groups {
                let lags = g.partitions().filter_map(|(t, p, o)| c.lag(t, p, o));
                let v = if is_max {
                    lags.max()
                } else {
                    lags.reduce(|a, b| a.saturating_add(b))
                };
                if let Some(v) = v {
                    w.start(fam, c);
                    w.label(b",group=\"", &g.name.escaped);
                    w.int(v.min(i64::MAX as u64) as i64);
                }
            }
        }
    }

    for (fam, complete) in [(&GROUP_STATUS, false), (&GROUP_COMPLETE, true)] {
        w.header(fam);
        for c in clusters {
            for g in &c.groups {
                w.start(fam, c);
                w.label(b",group=\"", &g.name.escaped);
                if complete {
                    w.float(g.eval.complete as f64);
                } else {
                    w.int(g.eval.status as i64);
                }
            }
        }
    }

    w.header(&PARTITION_STATUS);
    for c in clusters {
        for g in &c.groups {
            prefix.reset();
            for (t, p, verdict) in g.verdicts() {
                let Some(line) = prefix.get(&PARTITION_STATUS, c, g, t) else {
                    continue;
                };
                w.prefixed(line, p);
                w.int_value(verdict.status().code() as i64);
            }
        }
    }

    w.header(&GROUP_LAG_SECONDS);
    for c in clusters {
        for g in &c.groups {
            prefix.reset();
            for (t, p, verdict) in g.verdicts() {
                let Some(tenths) = verdict.lag_tenths() else {
                    continue;
                };
                let Some(line) = prefix.get(&GROUP_LAG_SECONDS, c, g, t) else {
                    continue;
                };
                w.prefixed(line, p);
                w.tenths_value(tenths);
            }
        }
    }
    w.header(&GROUP_MAX_LAG_SECONDS);
    for c in clusters {
        for g in &c.groups {
            if let Some(s) = g.max_lag_seconds {
                w.start(&GROUP_MAX_LAG_SECONDS, c);
                w.label(b",group=\"", &g.name.escaped);
                w.float(s);
            }
        }
    }
    w.header(&LAG_SECONDS_METHODS);
    for c in clusters {
        for g in &c.groups {
            for (method, n) in LagMethod::ALL.iter().zip(g.lag_methods) {
                if n > 0 {
                    w.start(&LAG_SECONDS_METHODS, c);
                    w.label(b",group=\"", &g.name.escaped);
                    w.label(b",method=\"", method.as_str());
                    w.int(n as i64);
                }
            }
        }
    }

    w.header(&CLUSTER_UP);
    for c in clusters {
        w.start(&CLUSTER_UP, c);
        w.int(c.health.up as i64);
    }
    w.header(&POLL_DURATION);
    for c in clusters {
        if let Some(d) = c.health.poll_duration {
            w.start(&POLL_DURATION, c);
            w.float(d);
        }
    }
    w.header(&POLL_ERRORS);
    for c in clusters {
        for (stage, n) in Stage::ALL.iter().zip(c.health.errors) {
            w.start(&POLL_ERRORS, c);
            w.label(b",stage=\"", stage.as_str());
            w.int(n as i64);
        }
    }
    w.header(&LAST_POLL);
    for c in clusters {
        if let Some(t) = c.health.last_success {
            w.start(&LAST_POLL, c);
            w.float(t);
        }
    }
    w.header(&BUILD_INFO);
    w.out.extend_from_slice(b"warren_build_info{version=\"");
    w.out.extend_from_slice(build.version.as_bytes());
    w.out.extend_from_slice(b"\",librdkafka=\"");
    let rdk = crate::store::escape_label_value(&build.librdkafka);
    w.out
        .extend_from_slice(rdk.as_deref().unwrap_or(&build.librdkafka).as_bytes());
    w.out.extend_from_slice(b"\"} 1\n");

    if format == Format::OpenMetrics {
        w.out.extend_from_slice(b"# EOF\n");
    }
    (w.sink)(&mut w.out);
}

/// Renders into one buffer (tests, small outputs).
pub fn render_to_vec(
    clusters: &[Arc<ClusterSnapshot>],
    build: &BuildInfo,
    format: Format,
) -> Vec<u8> {
    let mut all = Vec::new();
    render(clusters, build, format, &mut |chunk: &mut Vec<u8>| {
        all.append(chunk)
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Health;
    use crate::store::{Commit, Store, WatermarkSample};

    fn build() -> BuildInfo {
        BuildInfo {
            version: "1.2.3",
            librdkafka: "2.12.1".into(),
        }
    }

    fn snapshot() -> Arc<ClusterSnapshot> {
        let mut store = Store::new(3);
        let ids = store.apply_metadata(1, &[("orders", 3)]);
        let t = ids[0];
        let samples: Vec<WatermarkSample> = [(0, 100), (1, 50), (2, -1)]
            .iter()
            .map(|&(p, l)| WatermarkSample {
                topic: t,
                partition: p,
                earliest: Some(p as i64),
                latest: (l >= 0).then_some(l),
            })
            .collect();
        store.apply_watermarks(1, &samples);
        store.apply_group_offsets(
            1,
            "app\"1",
            &mut [
                Commit::new(t, 0, 40),
                Commit::new(t, 1, 60),
                Commit::new(t, 2, 5),
            ],
        );
        let base = ClusterSnapshot::empty("prod", &[("env".into(), "eu".into())]);
        let health = Health {
            up: true,
            polled: true,
            last_success: Some(1700000000.5),
            poll_duration: Some(0.25),
            errors: [0, 1, 0, 0, 2],
        };
        let evals = crate::evaluate::evaluate_store(&store, 1, &Default::default());
        Arc::new(base.from_store(&store, &evals, health))
    }

    #[test]
    fn renders_exact_text() {
        let out = String::from_utf8(render_to_vec(&[snapshot()], &build(), Format::Text)).unwrap();
        let series: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        let p = "cluster=\"prod\",env=\"eu\"";
        let g = "group=\"app\\\"1\"";
        let want = [
            format!("kafka_partition_latest_offset{{{p},topic=\"orders\",partition=\"0\"}} 100"),
            format!("kafka_partition_latest_offset{{{p},topic=\"orders\",partition=\"1\"}} 50"),
            format!("kafka_partition_earliest_offset{{{p},topic=\"orders\",partition=\"0\"}} 0"),
            format!("kafka_partition_earliest_offset{{{p},topic=\"orders\",partition=\"1\"}} 1"),
            format!("kafka_partition_earliest_offset{{{p},topic=\"orders\",partition=\"2\"}} 2"),
            format!(
                "kafka_consumergroup_group_offset{{{p},{g},topic=\"orders\",partition=\"0\"}} 40"
            ),
            format!(
                "kafka_consumergroup_group_offset{{{p},{g},topic=\"orders\",partition=\"1\"}} 60"
            ),
            format!(
                "kafka_consumergroup_group_offset{{{p},{g},topic=\"orders\",partition=\"2\"}} 5"
            ),
            format!("kafka_consumergroup_group_lag{{{p},{g},topic=\"orders\",partition=\"0\"}} 60"),
            format!("kafka_consumergroup_group_lag{{{p},{g},topic=\"orders\",partition=\"1\"}} 0"),
            format!("kafka_consumergroup_group_topic_sum_lag{{{p},{g},topic=\"orders\"}} 60"),
            format!("kafka_consumergroup_group_sum_lag{{{p},{g}}} 60"),
            format!("kafka_consumergroup_group_max_lag{{{p},{g}}} 60"),
            // One point in a 3-point window: STALL under Burrow's rules (vacuous loop), and no
            // full window yet. Partition 2 has no known head: current lag 0, OK.
            format!("kafka_consumergroup_group_status{{{p},{g}}} 3"),
            format!("kafka_consumergroup_group_complete{{{p},{g}}} 0.0"),
            format!("kafka_consumergroup_partition_status{{{p},{g},topic=\"orders\",partition=\"0\"}} 5"),
            format!("kafka_consumergroup_partition_status{{{p},{g},topic=\"orders\",partition=\"1\"}} 1"),
            format!("kafka_consumergroup_partition_status{{{p},{g},topic=\"orders\",partition=\"2\"}} 1"),
            // One head sample, taken now: caught up is 0 s, anything else unknown (absent).
            format!("kafka_consumergroup_group_lag_seconds{{{p},{g},topic=\"orders\",partition=\"1\"}} 0.0"),
            format!("kafka_consumergroup_group_max_lag_seconds{{{p},{g}}} 0.0"),
            format!("warren_lag_seconds_partitions{{{p},{g},method=\"unknown\"}} 2"),
            format!("warren_lag_seconds_partitions{{{p},{g},method=\"caught_up\"}} 1"),
            format!("warren_cluster_up{{{p}}} 1"),
            format!("warren_poll_duration_seconds{{{p}}} 0.25"),
            format!("warren_poll_errors_total{{{p},stage=\"connect\"}} 0"),
            format!("warren_poll_errors_total{{{p},stage=\"metadata\"}} 1"),
            format!("warren_poll_errors_total{{{p},stage=\"group_list\"}} 0"),
            format!("warren_poll_errors_total{{{p},stage=\"group_offsets\"}} 0"),
            format!("warren_poll_errors_total{{{p},stage=\"watermarks\"}} 2"),
            format!("warren_last_poll_timestamp_seconds{{{p}}} 1700000000.5"),
            "warren_build_info{version=\"1.2.3\",librdkafka=\"2.12.1\"} 1".to_string(),
        ];
        assert_eq!(series, want);
        assert!(out.contains("# TYPE warren_poll_errors_total counter\n"));
        assert!(!out.contains("# EOF"));
    }

    #[test]
    fn openmetrics_differences() {
        let out =
            String::from_utf8(render_to_vec(&[snapshot()], &build(), Format::OpenMetrics)).unwrap();
        assert!(out.ends_with("# EOF\n"));
        assert!(out.contains("# TYPE warren_poll_errors counter\n"));
        assert!(out.contains("# TYPE warren_build info\n"));
        assert!(out.contains("# UNIT warren_poll_duration_seconds seconds\n"));
        assert_eq!(out.matches("# EOF").count(), 1);
    }

    #[test]
    fn negotiation() {
        use Format::*;
        assert_eq!(Format::negotiate(None), Text);
        assert_eq!(Format::negotiate(Some("text/plain")), Text);
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=0.4"
            )),
            OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; q=0")),
            Text
        );
        assert_eq!(Format::negotiate(Some("*/*")), Text);
    }

    #[test]
    fn chunks_reassemble() {
        let mut n = 0;
        let mut total = Vec::new();
        render(&[snapshot()], &build(), Format::Text, &mut |c: &mut Vec<
            u8,
        >| {
            n += 1;
            total.append(c);
        });
        assert_eq!(total, render_to_vec(&[snapshot()], &build(), Format::Text));
        assert_eq!(n, 1);
    }
}
