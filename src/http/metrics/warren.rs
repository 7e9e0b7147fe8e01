//! warren's own families: per cluster whether the last poll worked, how long it took and when
//! the last good one was; the build ([`write`], part of the snapshots' exposition); then the
//! [`Telemetry`] kept in prometheus-client's types, converted to text 0.0.4 when that is the
//! format ([`telemetry`], rendered afresh for every scrape).

use std::sync::Arc;

use super::exposition::{gauge, info, seconds, Family, Writer};
use super::{BuildInfo, Format};
use crate::snapshot::ClusterSnapshot;
use crate::store::escape_label_value;
use crate::telemetry::Telemetry;

const CLUSTER_UP: Family = gauge(
    "warren_cluster_up",
    "1 when the last poll of the cluster succeeded, else 0.",
);
const POLL_DURATION: Family = seconds(
    "warren_poll_duration_seconds",
    "Duration of the last poll of the cluster.",
);
const LAST_POLL: Family = seconds(
    "warren_last_poll_timestamp_seconds",
    "Unix time of the last successful poll of the cluster.",
);
const BUILD_INFO: Family = info(
    "warren_build_info",
    "Version of warren and of its librdkafka.",
);

pub(super) fn write(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>], build: &BuildInfo) {
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
    let rdk = escape_label_value(&build.librdkafka);
    w.out
        .extend_from_slice(rdk.as_deref().unwrap_or(&build.librdkafka).as_bytes());
    w.out.extend_from_slice(b"\"} 1\n");
}

/// The [`Telemetry`] families, last in the exposition (without `# EOF`).
pub(super) fn telemetry(telemetry: &Telemetry, format: Format) -> String {
    let om = telemetry.openmetrics();
    match format {
        Format::OpenMetrics => om,
        Format::Text => text_004(&om),
    }
}

/// OpenMetrics text (without `# EOF`) as Prometheus text 0.0.4: a counter family is named by
/// its sample name (`x_total`) in `# HELP` and `# TYPE`, and there is no `# UNIT`. Histograms
/// and gauges read the same in both.
fn text_004(om: &str) -> String {
    let counters: Vec<&str> = om
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(om.len() + 64);
    for line in om.lines() {
        if line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|tag| Some((tag, line.strip_prefix(tag)?)));
        match meta {
            Some((tag, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(tag);
                out.push_str(name);
                if counters.contains(&name) {
                    out.push_str("_total");
                }
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::text_004;

    #[test]
    fn openmetrics_counters_read_as_text_004() {
        let om = "# HELP a_errors Errors.\n# TYPE a_errors counter\na_errors_total{x=\"1\"} 2\n\
                  # HELP b_seconds Time.\n# TYPE b_seconds histogram\n# UNIT b_seconds seconds\n\
                  b_seconds_count 1\n";
        assert_eq!(
            text_004(om),
            "# HELP a_errors_total Errors.\n# TYPE a_errors_total counter\na_errors_total{x=\"1\"} 2\n\
             # HELP b_seconds Time.\n# TYPE b_seconds histogram\nb_seconds_count 1\n"
        );
    }
}
