//! Checks of the operator files under `deploy/` with the real tools:
//! - `deploy/prometheus/alerts.yaml`: `promtool check rules` clean, `promtool test rules` on
//!   `alerts_test.yaml` green, every metric an alert uses (expression and annotation queries)
//!   exported by warren (names read from an exposition rendered by the library), every alert with severity, summary, description, runbook URL and
//!   unit tests showing it firing and not firing;
//! - `deploy/systemd/warren.service`: `systemd-analyze verify` prints nothing, the hardening
//!   directives are all there, and its command line is one the built binary accepts.
//!
//! The tools come from Debian packages (`.ci/run` installs them): `promtool` from `prometheus`,
//! `systemd-analyze` from `systemd`. Without one, the suites `deploy/promtool` or
//! `deploy/systemd` are skipped (or fail with `WARREN_REQUIRE_TOOLS=1`, see `tools::suite`); the
//! checks that only read files always run.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use regex::Regex;

use crate::common::temp_dir;
use crate::tools::{self, read, repo_path, text};

const ALERTS: &str = "deploy/prometheus/alerts.yaml";
const ALERTS_TEST: &str = "deploy/prometheus/alerts_test.yaml";
const UNIT: &str = "deploy/systemd/warren.service";

/// The checked-in command line; the systemd test swaps the binary path for the built one.
const EXEC_START: &str = "ExecStart=/usr/local/bin/warren run --config /etc/warren/warren.toml";

/// Series the alert rules read that warren does not export: the operator provides them (see the
/// header of alerts.yaml).
const OPERATOR_SERIES: &[&str] = &[
    "warren_lag_seconds_threshold",
    "warren_catchup_seconds_threshold",
];

/// The suite of the promtool checks.
fn promtool_suite() -> bool {
    tools::suite("deploy/promtool", &[tools::promtool])
}

/// The suite of the systemd-analyze checks.
fn systemd_suite() -> bool {
    tools::suite("deploy/systemd", &[tools::systemd_analyze])
}

/// Runs the tool `lookup` finds with `args` (after its suite said it is there).
fn run(lookup: fn() -> tools::Lookup, args: &[&str]) -> Output {
    tools::run(
        Command::new(tools::path(lookup)).args(args),
        ".ci/run installs it",
    )
}

#[test]
fn promtool_check_rules_is_clean() {
    if !promtool_suite() {
        return;
    }
    let path = repo_path(ALERTS);
    let out = run(tools::promtool, &["check", "rules", path.to_str().unwrap()]);
    let all = text(&out);
    assert!(out.status.success(), "promtool check rules failed:\n{all}");
    assert!(all.contains("SUCCESS"), "no SUCCESS:\n{all}");
    assert!(
        !all.to_lowercase().contains("warning"),
        "promtool warns:\n{all}"
    );
}

#[test]
fn promtool_rule_unit_tests_pass() {
    if !promtool_suite() {
        return;
    }
    let path = repo_path(ALERTS_TEST);
    let out = run(tools::promtool, &["test", "rules", path.to_str().unwrap()]);
    let all = text(&out);
    assert!(out.status.success(), "promtool test rules failed:\n{all}");
    assert!(all.contains("SUCCESS"), "no SUCCESS:\n{all}");
    assert!(!all.contains("FAILED"), "{all}");
}

/// One alerting rule of alerts.yaml: its name and its whole text (its PromQL checked non-empty).
struct Rule {
    name: String,
    body: String,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The alerting rules of alerts.yaml, read line by line (the file's own layout: `- alert:`
/// starts a rule, `expr:` is inline or a `|` / `>` block indented deeper than the key).
fn alert_rules(yaml: &str) -> Vec<Rule> {
    let lines: Vec<&str> = yaml.lines().collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].trim_start().starts_with("- alert:"))
        .collect();
    let mut rules = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(lines.len());
        let block = &lines[start..end];
        let name = block[0]
            .trim_start()
            .trim_start_matches("- alert:")
            .trim()
            .to_string();
        let at = block
            .iter()
            .position(|l| l.trim_start().starts_with("expr:"))
            .unwrap_or_else(|| panic!("alert {name} has no expr"));
        let value = block[at].trim_start().trim_start_matches("expr:").trim();
        let expr = if value.starts_with('|') || value.starts_with('>') {
            let key = indent(block[at]);
            block[at + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || indent(l) > key)
                .map(|l| l.trim())
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            value.to_string()
        };
        assert!(!expr.trim().is_empty(), "alert {name} has an empty expr");
        rules.push(Rule {
            name,
            body: block.join("\n"),
        });
    }
    rules
}

/// Metric names warren exports, from the `# TYPE` lines of a rendered exposition (histograms
/// with their `_bucket`, `_sum` and `_count` samples).
fn exported_metrics() -> BTreeSet<String> {
    // Every family's `# TYPE` line is written even without series, so an empty exposition
    // names them all: the hand-written families and warren's telemetry alike.
    let cluster = warren::config::ClusterConfig::new("c", "127.0.0.1:9092");
    let snapshot = warren::snapshot::ClusterSnapshot::empty("c", &[]);
    let telemetry = warren::telemetry::Telemetry::new(&[cluster]);
    let build = warren::app::build_info();
    let text = warren::http::metrics::render_to_vec(
        &[std::sync::Arc::new(snapshot)],
        &build,
        &telemetry,
        warren::http::metrics::Format::Text,
    );
    let mut names = BTreeSet::new();
    for line in String::from_utf8(text).unwrap().lines() {
        let Some((name, kind)) = line.strip_prefix("# TYPE ").and_then(|l| l.split_once(' '))
        else {
            continue;
        };
        names.insert(name.to_string());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
    }
    names
}

#[test]
fn alerts_use_only_metrics_warren_exports() {
    let exported = exported_metrics();
    // The scan itself works: a few names every version of warren has.
    for name in [
        "kafka_consumergroup_group_status",
        "kafka_partition_latest_offset",
        "warren_build_info",
    ] {
        assert!(
            exported.contains(name),
            "{name} not found in /metrics: {exported:?}"
        );
    }
    for name in OPERATOR_SERIES {
        assert!(
            !exported.contains(*name),
            "{name} is meant to be provided by the operator but warren exports it"
        );
    }

    let rules = alert_rules(&read(ALERTS));
    assert!(rules.len() >= 12, "only {} alerts parsed", rules.len());
    let metric = Regex::new(r"\b(?:kafka|warren)_[a-z_]+").unwrap();
    let mut used = BTreeSet::new();
    for rule in &rules {
        // The annotations' `query` templates too, where a renamed metric would silently print
        // their fallback; comments are not read.
        let code: Vec<&str> = rule
            .body
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        for m in metric.find_iter(&code.join("\n")) {
            let name = m.as_str();
            assert!(
                exported.contains(name) || OPERATOR_SERIES.contains(&name),
                "alert {} uses {name}, which /metrics does not export (renamed?); exported: {exported:?}",
                rule.name
            );
            used.insert(name.to_string());
        }
    }
    for name in [
        "kafka_consumergroup_group_status",
        "kafka_consumergroup_partition_status",
        "kafka_consumergroup_group_max_lag_seconds",
        "warren_cluster_up",
        "warren_build_info",
        "warren_lag_seconds_threshold",
        "kafka_consumergroup_group_lost_messages",
        "kafka_consumergroup_group_topic_lag_retention_ratio",
        "kafka_consumergroup_group_topic_retention_margin",
        "kafka_consumergroup_group_state",
        "kafka_consumergroup_group_topic_unassigned_partitions",
        "kafka_consumergroup_group_members",
        "kafka_consumergroup_group_catchup_seconds",
        "kafka_consumergroup_group_falling_behind",
        "warren_catchup_seconds_threshold",
    ] {
        assert!(used.contains(name), "no alert uses {name}; used: {used:?}");
    }
}

#[test]
fn every_alert_is_documented_and_unit_tested() {
    let rules = alert_rules(&read(ALERTS));
    let tests = read(ALERTS_TEST);
    for rule in &rules {
        let name = &rule.name;
        for key in ["severity:", "summary:", "description:"] {
            assert!(rule.body.contains(key), "alert {name} has no {key}");
        }
        let runbook = format!(
            "runbook_url: https://github.com/warren-exporter/warren#runbook-{}",
            name.to_lowercase()
        );
        assert!(
            rule.body.lines().any(|l| l.trim() == runbook),
            "alert {name} lacks `{runbook}`"
        );

        // Among the unit tests of this alert, one expects it firing and one expects silence.
        let lines: Vec<&str> = tests.lines().collect();
        let (mut fires, mut silent) = (false, false);
        for (i, line) in lines.iter().enumerate() {
            if line.trim() != format!("alertname: {name}") {
                continue;
            }
            match lines.get(i + 1).map(|l| l.trim()) {
                Some("exp_alerts: []") => silent = true,
                Some("exp_alerts:") => fires = true,
                other => panic!("alertname: {name} followed by {other:?} in {ALERTS_TEST}"),
            }
        }
        assert!(fires, "no unit test in {ALERTS_TEST} shows {name} firing");
        assert!(
            silent,
            "no unit test in {ALERTS_TEST} shows {name} not firing"
        );
    }
}

/// A path quoted for a systemd command line (`"`, `\`, `%` specifiers and `$` variables
/// escaped).
fn systemd_quote(path: &str) -> String {
    let mut q = String::from("\"");
    for c in path.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '%' => q.push_str("%%"),
            '$' => q.push_str("$$"),
            _ => q.push(c),
        }
    }
    q.push('"');
    q
}

/// `systemd-analyze verify` on `unit_text` saved as `warren.service` in a scratch directory.
fn verify_unit(tag: &str, unit_text: &str) -> Output {
    let dir = temp_dir(&format!("deploy-{tag}"));
    let path = dir.path().join("warren.service");
    std::fs::write(&path, unit_text).expect("write unit");
    run(
        tools::systemd_analyze,
        &["verify", "--man=no", path.to_str().unwrap()],
    )
}

/// The unit with its ExecStart pointing at the binary this build made (verify insists that
/// the command exists and is executable).
fn unit_with_built_binary() -> String {
    let unit = read(UNIT);
    let exec_starts: Vec<&str> = unit
        .lines()
        .filter(|l| l.starts_with("ExecStart="))
        .collect();
    assert_eq!(exec_starts, [EXEC_START], "ExecStart lines of {UNIT}");
    let built = systemd_quote(env!("CARGO_BIN_EXE_warren"));
    unit.replace(
        "ExecStart=/usr/local/bin/warren ",
        &format!("ExecStart={built} "),
    )
}

#[test]
fn systemd_unit_verifies_clean() {
    if !systemd_suite() {
        return;
    }
    let out = verify_unit("clean", &unit_with_built_binary());
    let all = text(&out);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{all}"
    );
    assert_eq!(all, "", "systemd-analyze verify must print nothing");
}

/// The clean result above means something: here verify does report an unknown key and a
/// missing binary.
#[test]
fn systemd_analyze_reports_problems_here() {
    if !systemd_suite() {
        return;
    }
    let unit = unit_with_built_binary().replace("[Service]\n", "[Service]\nWarrenNoSuchKey=1\n");
    let all = text(&verify_unit("bogus-key", &unit));
    assert!(all.contains("WarrenNoSuchKey"), "not reported:\n{all}");

    let all = text(&verify_unit(
        "no-binary",
        &read(UNIT).replace(
            "/usr/local/bin/warren",
            "/nonexistent/warren-deploy-test/warren",
        ),
    ));
    assert!(
        all.contains("/nonexistent/warren-deploy-test/warren"),
        "missing binary not reported:\n{all}"
    );
}

#[test]
fn systemd_unit_is_hardened() {
    let unit = read(UNIT);
    let lines: BTreeSet<&str> = unit.lines().map(str::trim).collect();
    for directive in [
        EXEC_START,
        "EnvironmentFile=-/etc/default/warren",
        "Restart=on-failure",
        "RestartSec=5",
        "After=network-online.target",
        "Wants=network-online.target",
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "RestrictNamespaces=yes",
        "LockPersonality=yes",
        "MemoryDenyWriteExecute=yes",
        "SystemCallArchitectures=native",
        "WantedBy=multi-user.target",
    ] {
        assert!(lines.contains(directive), "{UNIT} lacks `{directive}`");
    }
}

/// The unit's command line is one warren accepts: `run` exists and takes `--config`.
#[test]
fn systemd_command_line_is_accepted() {
    let args: Vec<&str> = EXEC_START.split_whitespace().skip(1).collect();
    assert_eq!(args, ["run", "--config", "/etc/warren/warren.toml"]);
    let out = Command::new(env!("CARGO_BIN_EXE_warren"))
        .args(["run", "--help"])
        .output()
        .expect("run warren");
    let all = text(&out);
    assert!(out.status.success(), "warren run --help:\n{all}");
    assert!(all.contains("--config"), "warren run --help:\n{all}");
}
