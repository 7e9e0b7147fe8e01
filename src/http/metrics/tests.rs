//! The renderer's exact output.

use super::*;
use crate::snapshot::Health;
use crate::store::{Commit, Store, WatermarkSample};
use crate::telemetry::Stage;

fn build() -> BuildInfo {
    BuildInfo {
        version: "1.2.3",
        librdkafka: "2.12.1".into(),
    }
}

/// Cluster `prod` (label `env=eu`) with 1 metadata and 2 watermark errors.
fn telemetry() -> Telemetry {
    let mut prod = crate::config::ClusterConfig::new("prod", "k1:9092");
    prod.labels.insert("env".into(), "eu".into());
    let t = Telemetry::new(&[prod]);
    t.poll_errors(0, Stage::Metadata, 1);
    t.poll_errors(0, Stage::Watermarks, 2);
    t
}

fn text(format: Format) -> String {
    String::from_utf8(render_to_vec(&[snapshot()], &build(), &telemetry(), format)).unwrap()
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
    };
    let evals = crate::evaluate::evaluate_store(&store, 1, &Default::default());
    Arc::new(base.from_store(&store, &evals, health))
}

#[test]
fn renders_exact_text() {
    let out = text(Format::Text);
    let series: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    let p = "cluster=\"prod\",env=\"eu\"";
    let g = "group=\"app\\\"1\"";
    let want = [
        format!("kafka_partition_latest_offset{{{p},topic=\"orders\",partition=\"0\"}} 100"),
        format!("kafka_partition_latest_offset{{{p},topic=\"orders\",partition=\"1\"}} 50"),
        format!("kafka_partition_earliest_offset{{{p},topic=\"orders\",partition=\"0\"}} 0"),
        format!("kafka_partition_earliest_offset{{{p},topic=\"orders\",partition=\"1\"}} 1"),
        format!("kafka_partition_earliest_offset{{{p},topic=\"orders\",partition=\"2\"}} 2"),
        format!("kafka_consumergroup_group_offset{{{p},{g},topic=\"orders\",partition=\"0\"}} 40"),
        format!("kafka_consumergroup_group_offset{{{p},{g},topic=\"orders\",partition=\"1\"}} 60"),
        format!("kafka_consumergroup_group_offset{{{p},{g},topic=\"orders\",partition=\"2\"}} 5"),
        format!("kafka_consumergroup_group_lag{{{p},{g},topic=\"orders\",partition=\"0\"}} 60"),
        format!("kafka_consumergroup_group_lag{{{p},{g},topic=\"orders\",partition=\"1\"}} 0"),
        format!("kafka_consumergroup_group_topic_sum_lag{{{p},{g},topic=\"orders\"}} 60"),
        format!("kafka_consumergroup_group_topic_max_lag{{{p},{g},topic=\"orders\"}} 60"),
        format!("kafka_consumergroup_group_sum_lag{{{p},{g}}} 60"),
        format!("kafka_consumergroup_group_max_lag{{{p},{g}}} 60"),
        // One point in a 3-point window: STALL under Burrow's rules (vacuous loop), and no
        // full window yet. Partition 2 has no known head: current lag 0, OK.
        format!("kafka_consumergroup_group_status{{{p},{g}}} 3"),
        format!("kafka_consumergroup_group_complete{{{p},{g}}} 0.0"),
        format!(
            "kafka_consumergroup_partition_status{{{p},{g},topic=\"orders\",partition=\"0\"}} 5"
        ),
        format!(
            "kafka_consumergroup_partition_status{{{p},{g},topic=\"orders\",partition=\"1\"}} 1"
        ),
        format!(
            "kafka_consumergroup_partition_status{{{p},{g},topic=\"orders\",partition=\"2\"}} 1"
        ),
        // STALL counts as ERR for the topic, as for the group.
        format!("kafka_consumergroup_group_topic_status{{{p},{g},topic=\"orders\"}} 3"),
        // Never listed: Unknown.
        format!("kafka_consumergroup_group_state{{{p},{g},state=\"Unknown\"}} 1"),
        format!("kafka_consumergroup_group_state{{{p},{g},state=\"PreparingRebalance\"}} 0"),
        format!("kafka_consumergroup_group_state{{{p},{g},state=\"CompletingRebalance\"}} 0"),
        format!("kafka_consumergroup_group_state{{{p},{g},state=\"Stable\"}} 0"),
        format!("kafka_consumergroup_group_state{{{p},{g},state=\"Dead\"}} 0"),
        format!("kafka_consumergroup_group_state{{{p},{g},state=\"Empty\"}} 0"),
        format!("kafka_consumergroup_group_state{{{p},{g},state=\"Assigning\"}} 0"),
        format!("kafka_consumergroup_group_state{{{p},{g},state=\"Reconciling\"}} 0"),
        format!("kafka_consumergroup_group_state{{{p},{g},state=\"NotReady\"}} 0"),
        // One head sample, taken now: caught up is 0 s, anything else unknown (absent).
        format!(
            "kafka_consumergroup_group_lag_seconds{{{p},{g},topic=\"orders\",partition=\"1\"}} 0.0"
        ),
        format!("kafka_consumergroup_group_topic_max_lag_seconds{{{p},{g},topic=\"orders\"}} 0.0"),
        format!("kafka_consumergroup_group_max_lag_seconds{{{p},{g}}} 0.0"),
        format!("warren_lag_seconds_partitions{{{p},{g},method=\"unknown\"}} 2"),
        format!("warren_lag_seconds_partitions{{{p},{g},method=\"caught_up\"}} 1"),
        format!("warren_lag_seconds_partitions{{{p},{g},method=\"interpolated\"}} 0"),
        format!("warren_lag_seconds_partitions{{{p},{g},method=\"lower_bound\"}} 0"),
        format!("warren_lag_seconds_partitions{{{p},{g},method=\"record\"}} 0"),
        format!("warren_lag_seconds_partitions{{{p},{g},method=\"next_record\"}} 0"),
        // Not described, one poll (no movement yet): no member or rate series. Nothing lost;
        // partition 2's head is unknown.
        format!("kafka_consumergroup_group_sum_lost_messages{{{p},{g}}} 0"),
        format!("kafka_consumergroup_group_topic_retention_margin{{{p},{g},topic=\"orders\"}} 40"),
        format!(
            "kafka_consumergroup_group_topic_lag_retention_ratio{{{p},{g},topic=\"orders\"}} 0.6"
        ),
        format!("warren_cluster_up{{{p}}} 1"),
        format!("warren_poll_duration_seconds{{{p}}} 0.25"),
        format!("warren_last_poll_timestamp_seconds{{{p}}} 1700000000.5"),
        "warren_build_info{version=\"1.2.3\",librdkafka=\"2.12.1\"} 1".to_string(),
    ];
    // Then the telemetry (prometheus-client: a family's series in no fixed order).
    let (kafka, telemetry) = series.split_at(want.len());
    assert_eq!(kafka, want);
    let mut errors = vec![
        format!("warren_poll_errors_total{{{p},stage=\"connect\"}} 0"),
        format!("warren_poll_errors_total{{{p},stage=\"group_describe\"}} 0"),
        format!("warren_poll_errors_total{{{p},stage=\"group_list\"}} 0"),
        format!("warren_poll_errors_total{{{p},stage=\"group_offsets\"}} 0"),
        format!("warren_poll_errors_total{{{p},stage=\"metadata\"}} 1"),
        format!("warren_poll_errors_total{{{p},stage=\"record_reads\"}} 0"),
        format!("warren_poll_errors_total{{{p},stage=\"topic_configs\"}} 0"),
        format!("warren_poll_errors_total{{{p},stage=\"watermarks\"}} 2"),
    ];
    errors.sort();
    let mut telemetry = telemetry.to_vec();
    telemetry.sort();
    assert_eq!(telemetry, errors);
    assert!(out.contains("# TYPE warren_poll_errors_total counter\n"));
    assert!(!out.contains("# EOF"));
}

#[test]
fn openmetrics_differences() {
    let out = text(Format::OpenMetrics);
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
    let t = telemetry();
    render(
        &[snapshot()],
        &build(),
        &t,
        Format::Text,
        &mut |c: &mut Vec<u8>| {
            n += 1;
            total.append(c);
        },
    );
    assert_eq!(
        total,
        render_to_vec(&[snapshot()], &build(), &t, Format::Text)
    );
    assert_eq!(n, 1);
}

/// `topic` granularity is `partition`'s output without a line per partition, `group` also
/// without a line per topic; what is left is unchanged (`renders_exact_text` pins it).
#[test]
fn granularity_leaves_out_partition_then_topic_series() {
    use crate::snapshot::Granularity;
    let series = |granularity| {
        let snapshot = Arc::new((*snapshot()).clone().with_granularity(granularity));
        let out = render_to_vec(&[snapshot], &build(), &telemetry(), Format::Text);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("warren_poll_errors_total"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let per_partition = |l: &&String| l.contains(",partition=\"");
    let per_topic = |l: &&String| l.contains(",topic=\"");
    let all = series(Granularity::Partition);
    let topic: Vec<String> = all.iter().filter(|l| !per_partition(l)).cloned().collect();
    let group: Vec<String> = topic.iter().filter(|l| !per_topic(l)).cloned().collect();
    assert_eq!(series(Granularity::Topic), topic);
    assert_eq!(series(Granularity::Group), group);
    assert_eq!((all.len(), topic.len(), group.len()), (45, 31, 25));
    let max = r#"kafka_consumergroup_group_topic_max_lag{cluster="prod",env="eu",group="app\"1",topic="orders"} 60"#;
    assert!(topic.iter().any(|l| l == max));
}

/// The size estimate that decides whether a first scrape streams is close to the render's.
#[test]
fn estimated_size_is_within_30_percent_of_the_render() {
    let mut store = Store::new(3);
    let topics: Vec<(String, u32)> = (0..20).map(|i| (format!("orders.v2.{i}"), 50)).collect();
    let meta: Vec<(&str, u32)> = topics.iter().map(|(n, p)| (n.as_str(), *p)).collect();
    let ids = store.apply_metadata(1, &meta);
    let samples: Vec<WatermarkSample> = ids
        .iter()
        .flat_map(|&t| {
            (0..50).map(move |p| WatermarkSample {
                topic: t,
                partition: p,
                earliest: Some(0),
                latest: Some(1_000_000),
            })
        })
        .collect();
    store.apply_watermarks(1, &samples);
    for g in 0..100 {
        let t = ids[g % ids.len()];
        let mut commits: Vec<Commit> = (0..50).map(|p| Commit::new(t, p, 999_000)).collect();
        store.apply_group_offsets(1, &format!("payments-consumer-{g}"), &mut commits);
    }
    let evals = crate::evaluate::evaluate_store(&store, 1, &Default::default());
    let base = ClusterSnapshot::empty("prod", &[("env".into(), "eu".into())]);
    let c = vec![Arc::new(base.from_store(
        &store,
        &evals,
        Default::default(),
    ))];
    let rendered = render_to_vec(&c, &build(), &telemetry(), Format::Text).len() as f64;
    let estimate = estimated_size(&c) as f64;
    let ratio = estimate / rendered;
    assert!(
        (0.7..=1.3).contains(&ratio),
        "{estimate} for {rendered} bytes"
    );
    let topic = vec![Arc::new(
        (*c[0])
            .clone()
            .with_granularity(crate::snapshot::Granularity::Topic),
    )];
    assert_eq!(
        estimated_size(&topic),
        0,
        "no per-partition series at topic granularity"
    );
}
