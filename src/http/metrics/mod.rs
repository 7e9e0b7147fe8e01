//! `/metrics`: renders snapshots as Prometheus text 0.0.4 or OpenMetrics 1.0.
//!
//! Written by hand into reused chunks (prometheus-client has no 0.0.4 encoder and its `Family`
//! costs ~2.5x the time and 14x the memory at a million series, see rust-stack.md §4). Each family
//! writes its `# HELP`/`# TYPE` once, then one line per series: a pre-escaped label prefix per
//! cluster, names escaped once when interned, numbers through `itoa`/`ryu`. The output is
//! streamed in chunks so a scrape of millions of series never holds the whole body.
//!
//! One file per block of families, each a `write` function (a reader finds a metric's source by
//! its file): [`partitions`], [`groups`], [`lag_seconds`], [`warren`] (warren's own, including
//! the [`Telemetry`] kept in prometheus-client's types).

mod exposition;
mod groups;
mod lag_seconds;
mod members;
mod partitions;
mod rates;
mod retention;
pub mod scrape;
mod warren;

use std::sync::Arc;

use crate::snapshot::ClusterSnapshot;
use crate::telemetry::Telemetry;
use exposition::{LinePrefix, Writer};

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
    /// The format's name in `warren_scrapes_total{format}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::OpenMetrics => "openmetrics",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// OpenMetrics when the `Accept` header lists it with a non-zero q, else text 0.0.4.
    pub fn negotiate(accept: Option<&str>) -> Format {
        if accepts(accept, &["application/openmetrics-text"]) {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// Whether a list header such as `Accept` or `Accept-Encoding` names one of `wanted`
/// (case-insensitively) with a non-zero q.
fn accepts(header: Option<&str>, wanted: &[&str]) -> bool {
    let Some(header) = header else {
        return false;
    };
    header.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        if !wanted.iter().any(|w| name.eq_ignore_ascii_case(w)) {
            return false;
        }
        let q = parts
            .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        q > 0.0
    })
}

/// Static facts about this process for `warren_build_info`.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub version: &'static str,
    pub librdkafka: String,
}

/// Renders every cluster's snapshot and warren's telemetry; output goes to `sink` in chunks
/// (the last one possibly small). `sink` must take the bytes out of the buffer it is given.
pub fn render(
    clusters: &[Arc<ClusterSnapshot>],
    build: &BuildInfo,
    telemetry: &Telemetry,
    format: Format,
    sink: &mut dyn FnMut(&mut Vec<u8>),
) {
    let mut w = Writer::new(format, sink);
    write_snapshots(&mut w, clusters, build);
    w.out
        .extend_from_slice(&render_telemetry(telemetry, format));
    (w.sink)(&mut w.out);
}

/// The part of [`render`] that depends only on the snapshots (and the build): everything but
/// warren's [`Telemetry`], which moves with every request. `/metrics` renders it once per
/// snapshot generation and shares it between scrapes.
pub fn render_snapshots(
    clusters: &[Arc<ClusterSnapshot>],
    build: &BuildInfo,
    format: Format,
    sink: &mut dyn FnMut(&mut Vec<u8>),
) {
    let mut w = Writer::new(format, sink);
    write_snapshots(&mut w, clusters, build);
    (w.sink)(&mut w.out);
}

fn write_snapshots(w: &mut Writer, clusters: &[Arc<ClusterSnapshot>], build: &BuildInfo) {
    let mut prefix = LinePrefix::new();
    partitions::write(w, clusters);
    let tally = groups::write(w, clusters, &mut prefix);
    lag_seconds::write(w, clusters, &mut prefix);
    members::write(w, clusters);
    rates::write(w, clusters);
    retention::write(w, clusters, &tally, &mut prefix);
    warren::write(w, clusters, build);
}

/// A quick estimate of the uncompressed exposition's size from what dominates it at scale: the
/// per-partition series of every group-partition (offset, lag, status, lag in seconds, and the
/// owner of a described group). It decides only whether a slot's first scrape streams (see
/// [`scrape::Scrapes::streams`]): close, not exact (tested within 30% of the render).
pub fn estimated_size(clusters: &[Arc<ClusterSnapshot>]) -> usize {
    /// What a group-partition line adds to the names and static labels in it: a family name,
    /// the label names and quotes, a partition number and a value.
    const LINE: usize = 80;
    let mut bytes = 0;
    for c in clusters.iter().filter(|c| c.granularity.partitions()) {
        for g in &c.groups {
            let lines = 4 + usize::from(g.membership.is_some());
            let names = LINE + c.label_prefix.len() + g.name.escaped.len();
            for run in g.runs.iter() {
                let topic = c.topic(run.topic).map_or(0, |t| t.name.escaped.len());
                bytes += run.len as usize * lines * (names + topic);
            }
        }
    }
    bytes
}

/// The end of [`render`]: warren's [`Telemetry`], then `# EOF` in OpenMetrics.
pub fn render_telemetry(telemetry: &Telemetry, format: Format) -> Vec<u8> {
    let mut out = warren::telemetry(telemetry, format).into_bytes();
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
    out
}

/// Renders into one buffer (tests, small outputs).
pub fn render_to_vec(
    clusters: &[Arc<ClusterSnapshot>],
    build: &BuildInfo,
    telemetry: &Telemetry,
    format: Format,
) -> Vec<u8> {
    let mut all = Vec::new();
    render(
        clusters,
        build,
        telemetry,
        format,
        &mut |chunk: &mut Vec<u8>| all.append(chunk),
    );
    all
}

#[cfg(test)]
mod tests;
