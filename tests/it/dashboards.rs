//! The Grafana dashboards (`grafana/*.json`) and the alert rules (`deploy/prometheus/alerts.yaml`)
//! against a real Prometheus scraping the real warren, which watches real consumers on the test
//! broker (the workload of `tests/evaluate.rs`: one group OK, one WARN, one ERR) and two groups
//! that only committed to a topic cut by DeleteRecords (one lost messages, one is near the log
//! start).
//!
//! No Grafana server is installable here, so the dashboards are proven by their PromQL: every
//! panel target (rows included), for every group, and every template variable query is run
//! through Prometheus's HTTP API, with Grafana's variables substituted, and must succeed with a
//! non-empty result, except the few listed in `EMPTY` with their reason, which must be empty.
//! Every alert expression must evaluate; those of the group-insight alerts give exactly the
//! groups expected here. `KafkaConsumerGroupDataLoss` must be silent before the DeleteRecords
//! and fire after it with the exact count, and `KafkaConsumerGroupError` must really fire (its
//! `for:` is read from the file, 2 minutes, so this test takes about 2.5 minutes). The JSON model
//! itself is checked too: schema version, uids, the `datasource` variable used by every panel,
//! unique panel ids, status and flag value mappings with colours, a colour for every group
//! state, and the provisioning file's path.
//!
//! Needs the test broker and `prometheus` on PATH (Debian package `prometheus`, installed by
//! `.ci/run`); without them the suite `dashboards` is skipped (see `tools::suite`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::workload::{Workload, TOPIC};
use crate::common::{
    address_in_use, http_get, start_on_free_port, temp_dir, wait_for, Broker, Started, Warren,
};
use crate::tools::{self, read, repo_path};
use serde_json::Value;
use tempfile::TempDir;
const ALERTS: &str = "deploy/prometheus/alerts.yaml";
const DASHBOARDS: &[(&str, &str)] = &[
    ("grafana/overview.json", "warren-overview"),
    ("grafana/consumer-group.json", "warren-consumer-group"),
];
const PROVISIONING: &str = "grafana/provisioning/dashboards.yaml";
const PROVISIONED_PATH: &str = "/var/lib/grafana/dashboards/warren";

const CLUSTER: &str = "dash";
/// The workload's groups and the group status each reaches (1 OK, 2 WARN, 3 ERR).
const GROUPS: &[(&str, f64)] = &[("keeps-up", 1.0), ("too-slow", 2.0), ("stops", 3.0)];
/// The alert that must fire (on the group `stops`).
const FIRING: &str = "KafkaConsumerGroupError";

/// A one-partition topic of `LOSSY_MESSAGES` messages, its records before `LOG_START` deleted
/// once warren has seen the groups of `LOSS_GROUPS` without loss.
const LOSSY: &str = "lossy";
const LOSSY_MESSAGES: usize = 100;
const LOG_START: i64 = 50;
/// Groups that only committed to `LOSSY` (group, committed offset). After the DeleteRecords,
/// `loses` has lost 50 − 10 = 40 messages; `near-loss` has 100 − 52 = 48 of the 50 retained
/// messages still to read (ratio 0.96, margin 2).
const LOSS_GROUPS: &[(&str, i64)] = &[("loses", 10), ("near-loss", 52)];
/// The alert that must fire on `loses` once its messages are deleted.
const LOSS_ALERT: &str = "KafkaConsumerGroupDataLoss";

/// Every group the dashboards are run for, with its topic.
fn panel_groups() -> Vec<(&'static str, &'static str)> {
    GROUPS
        .iter()
        .map(|(g, _)| (*g, TOPIC))
        .chain(LOSS_GROUPS.iter().map(|(g, _)| (*g, LOSSY)))
        .collect()
}

/// Panel queries that are empty here (the metric a query reads, the groups, why); they are
/// checked to be empty, so that a change in what warren or the test broker reports shows.
const EMPTY: &[(&str, &[&str], &str)] = &[
    (
        "kafka_consumergroup_partition_owner_info",
        &["keeps-up", "too-slow", "stops", "loses", "near-loss"],
        "the test broker describes members without their assignment: no owners",
    ),
    (
        "kafka_consumergroup_group_topic_unassigned_partitions",
        &["keeps-up", "too-slow", "stops", "loses", "near-loss"],
        "assignments not reported: no series",
    ),
    (
        "kafka_consumergroup_group_catchup_seconds",
        &["too-slow", "stops", "loses", "near-loss"],
        "falling behind (too-slow, stops) or a lag standing still (no consumer): no estimate",
    ),
    (
        "kafka_consumergroup_group_topic_catchup_seconds",
        &["too-slow", "stops", "loses", "near-loss"],
        "as for the group",
    ),
    (
        "kafka_consumergroup_group_lost_messages",
        &["keeps-up", "too-slow", "stops", "near-loss"],
        "nothing lost",
    ),
];

/// Whether a panel query for `group` is expected empty (see `EMPTY`).
fn expected_empty(expr: &str, group: &str) -> bool {
    EMPTY
        .iter()
        .any(|(metric, groups, _)| expr.contains(&format!("{metric}{{")) && groups.contains(&group))
}

/// One series of an alert expression's result: group, topic (or ""), value.
type AlertSeries = (&'static str, &'static str, f64);

/// What the group-insight alerts' expressions give here after the DeleteRecords:
/// (alert, [(group, topic or "" for a group-level alert, value)]). Others are only evaluated.
/// Rebalancing: every group is Stable or Empty; unassigned partitions: not reported by the test
/// broker; not catching up: the two groups whose lag grows (falling behind, value 1).
const EXPECTED_ALERTS: &[(&str, &[AlertSeries])] = &[
    (LOSS_ALERT, &[("loses", LOSSY, 40.0)]),
    (
        "KafkaConsumerGroupLossImminent",
        &[("near-loss", LOSSY, 48.0 / 50.0)],
    ),
    ("KafkaConsumerGroupRebalancing", &[]),
    ("KafkaConsumerGroupUnassignedPartitions", &[]),
    (
        "KafkaConsumerGroupNotCatchingUp",
        &[("stops", "", 1.0), ("too-slow", "", 1.0)],
    ),
];

// ---------------------------------------------------------------------------------------------
// A real Prometheus, killed on drop.

pub(crate) struct Prometheus {
    port: u16,
    child: Child,
    dir: TempDir,
}

impl Prometheus {
    /// Scrapes warren on `warren_port` every second and evaluates `rule_files` every second.
    fn start(warren_port: u16, rule_files: &[PathBuf]) -> Prometheus {
        let rules: String = rule_files
            .iter()
            .map(|p| format!("  - {}\n", p.display()))
            .collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n{rules}\
             scrape_configs:\n  - job_name: warren\n    static_configs:\n      - targets: ['127.0.0.1:{warren_port}']\n"
        );
        Prometheus::start_with(&config)
    }

    /// Prometheus with `config` (prometheus.yml). Prometheus cannot report a port it chose, so
    /// it gets a free one, and is started again on another one if that port was taken in the
    /// meantime.
    pub(crate) fn start_with(config: &str) -> Prometheus {
        start_on_free_port("prometheus", |port| Prometheus::start_on(port, config))
    }

    fn start_on(port: u16, config: &str) -> Started<Prometheus> {
        let dir = temp_dir("prometheus");
        std::fs::create_dir_all(dir.path().join("data")).expect("prometheus data dir");
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("prometheus.yml");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("prometheus log");
        let child = Command::new(tools::path(tools::prometheus))
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let mut p = Prometheus { port, child, dir };
        let up = wait_for(Duration::from_secs(60), "Prometheus /-/ready", || {
            if let Ok(Some(status)) = p.child.try_wait() {
                let log = p.log();
                if address_in_use(&log) {
                    return Some(false);
                }
                panic!("prometheus exited with {status}:\n{log}");
            }
            let r = http_get(p.port, "/-/ready", &[]).ok()?;
            (r.status == 200).then_some(true)
        });
        if up {
            Started::Up(p)
        } else {
            Started::PortTaken
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// GET `path`, parsed as JSON (Prometheus answers errors as JSON too).
    pub(crate) fn get_json(&self, path: &str) -> Value {
        let r = http_get(self.port, path, &[])
            .unwrap_or_else(|e| panic!("GET {path}: {e}\nprometheus log:\n{}", self.log()));
        serde_json::from_slice(&r.body).unwrap_or_else(|e| {
            panic!(
                "GET {path}: status {}, not JSON ({e}): {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )
        })
    }

    /// An instant query: the whole reply (`status`, `data.result` or `error`).
    fn query(&self, expr: &str) -> Value {
        self.get_json(&format!("/api/v1/query?query={}", encode(expr)))
    }

    /// `data.result` of a successful instant query; panics naming `what` on an error.
    fn result(&self, expr: &str, what: &str) -> Vec<Value> {
        let v = self.query(expr);
        assert_eq!(
            v["status"], "success",
            "{what}: query failed: {expr}\nreply: {v}"
        );
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Values of label `name` on the series matching `selector` (what Grafana's
    /// `label_values(selector, name)` asks).
    fn label_values(&self, name: &str, selector: Option<&str>) -> Vec<String> {
        let mut path = format!("/api/v1/label/{}/values", encode(name));
        if let Some(s) = selector {
            path.push_str(&format!("?{}={}", encode("match[]"), encode(s)));
        }
        let v = self.get_json(&path);
        assert_eq!(v["status"], "success", "GET {path}: {v}");
        v["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("prometheus log (tail):\n{}", tail(&self.log(), 40));
        }
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The dashboards' JSON model.

/// One panel target: dashboard file, panel title, refId, PromQL as written.
struct Target {
    file: &'static str,
    panel: String,
    ref_id: String,
    expr: String,
}

/// All panels, rows' children included (collapsed rows keep theirs in `panels`).
fn all_panels(panels: &Value, out: &mut Vec<Value>) {
    for p in panels.as_array().into_iter().flatten() {
        out.push(p.clone());
        all_panels(&p["panels"], out);
    }
}

/// Every (code, text, colour) the panel's field config maps: value mappings (defaults and
/// overrides) and per-series display-name overrides (for `count_values` series named by code).
fn mapped_codes(panel: &Value) -> BTreeMap<String, (String, String)> {
    fn mappings(v: &Value, out: &mut BTreeMap<String, (String, String)>) {
        for m in v.as_array().into_iter().flatten() {
            for (code, o) in m["options"].as_object().into_iter().flatten() {
                let text = o["text"].as_str().unwrap_or_default().to_string();
                let color = o["color"].as_str().unwrap_or_default().to_string();
                out.insert(code.clone(), (text, color));
            }
        }
    }
    let mut out = BTreeMap::new();
    let fc = &panel["fieldConfig"];
    mappings(&fc["defaults"]["mappings"], &mut out);
    for o in fc["overrides"].as_array().into_iter().flatten() {
        let mut name = None;
        let mut color = None;
        for p in o["properties"].as_array().into_iter().flatten() {
            match p["id"].as_str() {
                Some("mappings") => mappings(&p["value"], &mut out),
                Some("displayName") => name = p["value"].as_str().map(str::to_string),
                Some("color") => color = p["value"]["fixedColor"].as_str().map(str::to_string),
                _ => {}
            }
        }
        if let (Some(n), Some(c), Some(code)) = (name, color, o["matcher"]["options"].as_str()) {
            out.insert(code.to_string(), (n, c));
        }
    }
    out
}

const GROUP_STATUS: &[(&str, &str)] =
    &[("0", "NOTFOUND"), ("1", "OK"), ("2", "WARN"), ("3", "ERR")];
const PARTITION_STATUS: &[(&str, &str)] = &[
    ("2", "WARN"),
    ("4", "STOP"),
    ("5", "STALL"),
    ("6", "REWIND"),
];
const FALLING_BEHIND: &[(&str, &str)] = &[("0", "no"), ("1", "FALLING BEHIND")];
/// Every value of `kafka_consumergroup_group_state`'s `state` label.
const GROUP_STATES: &[&str] = &[
    "Unknown",
    "PreparingRebalance",
    "CompletingRebalance",
    "Stable",
    "Dead",
    "Empty",
    "Assigning",
    "Reconciling",
    "NotReady",
];

/// Series name → fixed colour, from the panel's by-name overrides (panels whose series are
/// named by a label, such as the group state).
fn name_colours(panel: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for o in panel["fieldConfig"]["overrides"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(name) = o["matcher"]["options"].as_str() else {
            continue;
        };
        for p in o["properties"].as_array().into_iter().flatten() {
            if let (Some("color"), Some(c)) = (p["id"].as_str(), p["value"]["fixedColor"].as_str())
            {
                out.insert(name.to_string(), c.to_string());
            }
        }
    }
    out
}

/// Checks the JSON model of one dashboard and returns its targets and template variables.
fn check_dashboard(file: &'static str, uid: &str) -> (Vec<Target>, Vec<Value>) {
    let d: Value =
        serde_json::from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: not JSON: {e}"));
    assert_eq!(d["uid"], uid, "{file}: uid");
    assert_eq!(d["schemaVersion"], 39, "{file}: schemaVersion");
    assert!(
        d["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{file}: title"
    );
    assert!(
        d["id"].is_null(),
        "{file}: id must be null for provisioning/import"
    );

    let vars: Vec<Value> = d["templating"]["list"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{file}: templating.list"));
    let ds = vars
        .iter()
        .find(|v| v["name"] == "datasource")
        .unwrap_or_else(|| panic!("{file}: no `datasource` variable"));
    assert_eq!(ds["type"], "datasource", "{file}: datasource variable type");
    assert_eq!(
        ds["query"], "prometheus",
        "{file}: datasource variable query"
    );
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("{file}: no `{name}` variable"))
    };
    let cluster = var("cluster");
    assert_eq!(cluster["multi"], true, "{file}: cluster is multi");
    assert_eq!(cluster["includeAll"], true, "{file}: cluster includes All");

    let mut panels = Vec::new();
    all_panels(&d["panels"], &mut panels);
    let mut ids = BTreeSet::new();
    let mut targets = Vec::new();
    for p in &panels {
        let title = p["title"].as_str().unwrap_or_default().to_string();
        assert!(
            ids.insert(
                p["id"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{file}: {title}: id"))
            ),
            "{file}: duplicate panel id {} ({title})",
            p["id"]
        );
        for k in ["h", "w", "x", "y"] {
            assert!(p["gridPos"][k].is_u64(), "{file}: {title}: gridPos.{k}");
        }
        if p["type"] == "row" {
            continue;
        }
        assert!(!title.is_empty(), "{file}: panel {} without title", p["id"]);
        assert_eq!(
            p["datasource"]["uid"], "${datasource}",
            "{file}: {title}: panel datasource must be the `datasource` variable"
        );
        let ts = p["targets"].as_array().cloned().unwrap_or_default();
        assert!(!ts.is_empty(), "{file}: {title}: no targets");
        let mut exprs = String::new();
        for t in ts {
            assert_eq!(
                t["datasource"]["uid"], "${datasource}",
                "{file}: {title}: target datasource"
            );
            let expr = t["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: {title}: target without expr"))
                .to_string();
            exprs.push_str(&expr);
            targets.push(Target {
                file,
                panel: title.clone(),
                ref_id: t["refId"].as_str().unwrap_or_default().to_string(),
                expr,
            });
        }
        // Status panels name their codes, with a colour each.
        let codes = mapped_codes(p);
        let mut want: Vec<(&str, &str)> = Vec::new();
        if exprs.contains("kafka_consumergroup_group_status") {
            want.extend(GROUP_STATUS);
        }
        if exprs.contains("kafka_consumergroup_partition_status") {
            want.extend(PARTITION_STATUS);
        }
        if exprs.contains("kafka_consumergroup_group_falling_behind")
            || exprs.contains("kafka_consumergroup_group_topic_falling_behind")
        {
            want.extend(FALLING_BEHIND);
        }
        if exprs.contains("kafka_consumergroup_group_state") {
            let colours = name_colours(p);
            for state in GROUP_STATES {
                assert!(
                    colours.get(*state).is_some_and(|c| !c.is_empty()),
                    "{file}: {title}: group state {state} needs a colour, got {colours:?}"
                );
            }
        }
        for (code, text) in want {
            let got = codes.get(code);
            assert!(
                got.is_some_and(|(t, c)| t == text && !c.is_empty()),
                "{file}: {title}: status {code} must be shown as {text} with a colour, got {got:?}"
            );
        }
    }
    (targets, vars)
}

/// Grafana's variables replaced as Grafana would for one selection: the test cluster (as a
/// multi-value regex), `group`, `topic` (likewise), fixed intervals.
fn substitute(expr: &str, group: &str, topic: &str) -> String {
    let cluster = format!("({CLUSTER})");
    let topic = format!("({topic})");
    let mut s = expr.to_string();
    for (var, value) in [
        ("__rate_interval", "1m"),
        ("__interval_ms", "15000"),
        ("__interval", "15s"),
        ("__range_s", "300"),
        ("__range", "5m"),
        ("cluster", cluster.as_str()),
        ("group", group),
        ("topic", topic.as_str()),
    ] {
        s = s.replace(&format!("${{{var}}}"), value);
        s = s.replace(&format!("${var}"), value);
    }
    assert!(
        !s.contains('$'),
        "unknown template variable left in `{s}` (from `{expr}`)"
    );
    s
}

/// `label_values(selector, label)` or `label_values(label)` → (label, selector).
fn parse_label_values(query: &str) -> (String, Option<String>) {
    let inner = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("variable query is not label_values(...): {query}"));
    // The label is after the last comma outside braces and quotes.
    let (mut depth, mut quoted, mut split) = (0i32, false, None);
    for (i, c) in inner.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '{' | '(' if !quoted => depth += 1,
            '}' | ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => split = Some(i),
            _ => {}
        }
    }
    match split {
        Some(i) => (
            inner[i + 1..].trim().to_string(),
            Some(inner[..i].trim().to_string()),
        ),
        None => (inner.trim().to_string(), None),
    }
}

// ---------------------------------------------------------------------------------------------
// Alert rules: a minimal line-based reading of alerts.yaml (plain and block-scalar `expr:`).

struct Rule {
    name: String,
    expr: String,
    for_: Option<String>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn rules(yaml: &str) -> Vec<Rule> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out: Vec<Rule> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim_start();
        i += 1;
        if t.starts_with('#') {
            continue;
        }
        let t = t.strip_prefix("- ").unwrap_or(t);
        if let Some(name) = t
            .strip_prefix("alert:")
            .or_else(|| t.strip_prefix("record:"))
        {
            out.push(Rule {
                name: unquote(name.trim()),
                expr: String::new(),
                for_: None,
            });
        } else if let Some(rest) = t.strip_prefix("expr:") {
            let rule = out.last_mut().expect("expr: before any alert:/record:");
            let rest = rest.trim();
            if rest.starts_with('|') || rest.starts_with('>') {
                let own = indent(line);
                let mut block = Vec::new();
                while i < lines.len() && (lines[i].trim().is_empty() || indent(lines[i]) > own) {
                    block.push(lines[i]);
                    i += 1;
                }
                let cut = block
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| indent(l))
                    .min()
                    .unwrap_or(0);
                rule.expr = block
                    .iter()
                    .map(|l| l.get(cut..).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .trim()
                    .to_string();
            } else {
                rule.expr = unquote(rest);
            }
        } else if let Some(rest) = t.strip_prefix("for:") {
            if let Some(rule) = out.last_mut() {
                rule.for_ = Some(unquote(rest.trim()));
            }
        }
    }
    out
}

fn unquote(s: &str) -> String {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1]
            .replace("\\\"", "\"")
            .replace("\\\\", "\\")
    } else if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        s[1..s.len() - 1].replace("''", "'")
    } else {
        s.to_string()
    }
}

/// `2m`, `90s`, `1h30m` → Duration (Prometheus duration syntax, the units used here).
fn prom_duration(s: &str) -> Duration {
    let (mut total, mut n) = (0u64, String::new());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            n.push(c);
            continue;
        }
        let v: u64 = n.parse().unwrap_or_else(|_| panic!("bad duration {s}"));
        n.clear();
        total += match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0
            }
            's' => v,
            'm' => v * 60,
            'h' => v * 3600,
            'd' => v * 86400,
            _ => panic!("bad duration {s}"),
        };
    }
    assert!(n.is_empty(), "bad duration {s}");
    Duration::from_secs(total)
}

// ---------------------------------------------------------------------------------------------

#[test]
fn dashboards_and_alerts_work_against_real_prometheus() {
    if !tools::suite("dashboards", &[tools::broker, tools::prometheus]) {
        return;
    }
    let started = Instant::now();

    // The files first: a broken model fails in milliseconds, before anything is started.
    let mut targets = Vec::new();
    let mut variables = Vec::new();
    for &(file, uid) in DASHBOARDS {
        let (t, v) = check_dashboard(file, uid);
        targets.extend(t);
        variables.extend(v.into_iter().map(|v| (file, v)));
    }
    let provisioning = read(PROVISIONING);
    assert!(
        provisioning.contains("type: file")
            && provisioning.contains(&format!("path: {PROVISIONED_PATH}")),
        "{PROVISIONING}: a file provider reading {PROVISIONED_PATH}"
    );
    let alert_rules = rules(&read(ALERTS));
    assert!(
        alert_rules.iter().all(|r| !r.expr.is_empty()),
        "{ALERTS}: a rule without expr"
    );
    let firing = alert_rules
        .iter()
        .find(|r| r.name == FIRING)
        .unwrap_or_else(|| panic!("{ALERTS}: no alert {FIRING}"));
    let firing_for = prom_duration(firing.for_.as_deref().unwrap_or("0s"));

    // Kafka, the workload, the loss groups' commits, warren, Prometheus.
    let broker = Broker::start("dashboards");
    let workload = Workload::start(&broker);
    broker.create_topic(LOSSY, 1);
    broker.produce(LOSSY, &[LOSSY_MESSAGES]);
    for &(group, offset) in LOSS_GROUPS {
        broker.commit(group, &[(LOSSY, 0, offset)]);
    }
    let warren = Warren::start(&format!(
        "[[clusters]]\nname = \"{CLUSTER}\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\nmetadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\nrequest_timeout = \"2s\"\nevaluator = {{ allowed_lag = 5 }}\n",
        broker.bootstrap()
    ));
    let prom = Prometheus::start(warren.port, &[repo_path(ALERTS)]);

    // Prometheus holds warren's series with the three group statuses.
    let status_query = format!("kafka_consumergroup_group_status{{cluster=\"{CLUSTER}\"}}");
    wait_for(
        Duration::from_secs(90),
        "OK, WARN and ERR groups in Prometheus",
        || {
            let got = by_group(&prom.result(&status_query, "group statuses"));
            GROUPS
                .iter()
                .all(|(g, want)| got.get(*g) == Some(want))
                .then_some(())
        },
    );
    let err_seen = Instant::now();
    let ready_after = started.elapsed();

    // Before the DeleteRecords: nothing lost, `loses` reads 90 of the 100 retained messages,
    // and the loss alert is silent.
    let lost_query =
        format!("kafka_consumergroup_group_sum_lost_messages{{cluster=\"{CLUSTER}\"}}");
    let ratio_query = format!(
        "kafka_consumergroup_group_topic_lag_retention_ratio{{cluster=\"{CLUSTER}\",topic=\"{LOSSY}\"}}"
    );
    wait_for(
        Duration::from_secs(30),
        "the loss groups without loss",
        || {
            let lost = by_group(&prom.result(&lost_query, "lost before"));
            let ratio = by_group(&prom.result(&ratio_query, "ratio before"));
            let want_ratio = |g: &str, offset: i64| {
                ratio.get(g)
                    == Some(&((LOSSY_MESSAGES as i64 - offset) as f64 / LOSSY_MESSAGES as f64))
            };
            LOSS_GROUPS
                .iter()
                .all(|&(g, offset)| lost.get(g) == Some(&0.0) && want_ratio(g, offset))
                .then_some(())
        },
    );
    assert_eq!(alerts_named(&prom, LOSS_ALERT), Vec::<Value>::new());
    broker.delete_records(LOSSY, 0, LOG_START);
    let deleted = Instant::now();

    // Every panel target, for every group where the dashboard selects a group. An error fails
    // at once; an empty result is retried (rate() needs two samples), except where `EMPTY` says
    // it stays empty.
    let mut pending: Vec<(String, String)> = Vec::new(); // (where, PromQL)
    let mut empty: Vec<(String, String)> = Vec::new();
    for t in &targets {
        let groups: Vec<(&str, &str)> = if t.expr.contains("$group") || t.expr.contains("${group}")
        {
            panel_groups()
        } else {
            vec![(".*", TOPIC)]
        };
        for (g, topic) in groups {
            let q = substitute(&t.expr, g, topic);
            let mut at = format!("{} / {} / {}", t.file, t.panel, t.ref_id);
            if g != ".*" {
                at.push_str(&format!(" (group {g})"));
            }
            let list = if expected_empty(&t.expr, g) {
                &mut empty
            } else {
                &mut pending
            };
            if !list.iter().any(|(_, p)| *p == q) {
                list.push((at, q));
            }
        }
    }
    let panel_queries = pending.len() + empty.len();
    let deadline = Instant::now() + Duration::from_secs(60);
    wait_for(Duration::from_secs(90), "panel queries", || {
        pending.retain(|(at, q)| prom.result(q, at).is_empty());
        if Instant::now() > deadline && !pending.is_empty() {
            let list: Vec<String> = pending.iter().map(|(a, q)| format!("{a}: {q}")).collect();
            panic!("panel queries still empty after 60 s:\n{}", list.join("\n"));
        }
        pending.is_empty().then_some(())
    });
    for (at, q) in &empty {
        let got = prom.result(q, at);
        assert!(
            got.is_empty(),
            "{at}: `{q}` is listed in EMPTY but gave {got:?}: update EMPTY"
        );
    }

    // Every template variable's query, as Grafana's label_values() asks it.
    let mut variable_queries = 0;
    for (file, v) in &variables {
        if v["type"] != "query" {
            continue;
        }
        let name = v["name"].as_str().unwrap_or_default();
        let query = v["query"]["query"]
            .as_str()
            .or_else(|| v["query"].as_str())
            .unwrap_or_else(|| panic!("{file}: variable {name}: no query"));
        for (g, _) in GROUPS {
            let (label, selector) = parse_label_values(&substitute(query, g, TOPIC));
            let values = prom.label_values(&label, selector.as_deref());
            variable_queries += 1;
            let want = match name {
                "cluster" => CLUSTER,
                "group" => "stops",
                "topic" => TOPIC,
                _ => "",
            };
            assert!(
                !values.is_empty() && (want.is_empty() || values.iter().any(|x| x == want)),
                "{file}: variable {name}: `{query}` (group {g}) gave {values:?}, want {want:?}"
            );
            if !query.contains("$group") {
                break;
            }
        }
    }

    // Every alert expression evaluates (empty results are fine); the group-insight ones give
    // exactly the groups this workload puts in their condition.
    for r in &alert_rules {
        prom.result(&r.expr, &format!("{ALERTS}: {}", r.name));
    }
    check_alert_results(&prom, &alert_rules, "after the DeleteRecords");

    // The loss alert fires (no `for:`) with the exact count.
    let lost = wait_for(
        Duration::from_secs(30),
        &format!("{LOSS_ALERT} firing"),
        || {
            alerts_named(&prom, LOSS_ALERT)
                .into_iter()
                .find(|a| a["state"] == "firing")
        },
    );
    let loss_fired_after = deleted.elapsed();
    assert_eq!(lost["labels"]["group"], "loses", "{lost}");
    assert_eq!(lost["labels"]["topic"], LOSSY, "{lost}");
    assert_eq!(lost["labels"]["cluster"], CLUSTER, "{lost}");
    assert_eq!(lost["labels"]["severity"], "critical", "{lost}");
    assert_eq!(
        lost["value"].as_str().and_then(|v| v.parse::<f64>().ok()),
        Some(40.0),
        "{lost}"
    );
    assert_eq!(
        lost["annotations"]["summary"],
        format!("Consumer group loses lost 40 messages of {LOSSY} (cluster {CLUSTER})"),
        "{lost}"
    );
    assert_eq!(
        alerts_named(&prom, LOSS_ALERT).len(),
        1,
        "only `loses` lost"
    );

    // KafkaConsumerGroupError fires for the stopped group once its `for:` has passed.
    let limit = firing_for + Duration::from_secs(60);
    let alert = wait_for(
        limit.saturating_sub(err_seen.elapsed()),
        &format!("{FIRING} firing"),
        || {
            // The loss groups, lagging without a consumer, are ERR too.
            alerts_named(&prom, FIRING)
                .into_iter()
                .find(|a| a["state"] == "firing" && a["labels"]["group"] == "stops")
        },
    );
    let fired_after = err_seen.elapsed();
    assert_eq!(alert["labels"]["group"], "stops", "{alert}");
    assert_eq!(alert["labels"]["cluster"], CLUSTER, "{alert}");
    assert_eq!(alert["labels"]["severity"], "critical", "{alert}");
    assert!(
        fired_after + Duration::from_secs(5) >= firing_for,
        "{FIRING} fired after {fired_after:?}, before its for: {firing_for:?}"
    );

    // Again two minutes on: the stopped group's lag is now over 90% of its topic's whole log,
    // which was never trimmed, so no loss is imminent there.
    check_alert_results(&prom, &alert_rules, "at the end");

    drop(workload);
    println!(
        "dashboards: {} panel targets in {} dashboards checked as {panel_queries} queries ({} \
         expected empty), {variable_queries} variable queries, {} alert expressions ({} checked \
         for their exact groups); statuses in Prometheus after {ready_after:?}, {LOSS_ALERT} \
         seen firing {loss_fired_after:?} after the DeleteRecords, {FIRING} firing {fired_after:?} \
         after ERR (for: {firing_for:?}); total {:?}",
        targets.len(),
        DASHBOARDS.len(),
        empty.len(),
        alert_rules.len(),
        EXPECTED_ALERTS.len(),
        started.elapsed()
    );
}

/// Each alert of `EXPECTED_ALERTS` gives exactly its expected series (waited for, up to 45 s).
fn check_alert_results(prom: &Prometheus, alert_rules: &[Rule], when: &str) {
    for &(name, want) in EXPECTED_ALERTS {
        let rule = alert_rules
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{ALERTS}: no alert {name}"));
        let mut want: Vec<(String, String, f64)> = want
            .iter()
            .map(|&(g, t, v)| (g.to_string(), t.to_string(), v))
            .collect();
        want.sort_by(|a, b| a.partial_cmp(b).unwrap());
        // Gives up (with what it got) after 45 s; wait_for's own limit is only a backstop.
        let until = Instant::now() + Duration::from_secs(45);
        let mut last = Vec::new();
        let matched = wait_for(
            Duration::from_secs(60),
            &format!("{name}'s expression"),
            || {
                last = alert_result(&prom.result(&rule.expr, name));
                if last == want {
                    return Some(true);
                }
                (Instant::now() > until).then_some(false)
            },
        );
        assert!(
            matched,
            "{name} ({when}): `{}` gave {last:?}, want {want:?}",
            rule.expr
        );
    }
}

/// Series value by `group` label.
fn by_group(result: &[Value]) -> BTreeMap<String, f64> {
    result
        .iter()
        .filter_map(|s| {
            let g = s["metric"]["group"].as_str()?.to_string();
            let v = s["value"][1].as_str()?.parse().ok()?;
            Some((g, v))
        })
        .collect()
}

/// (group, topic or "", value) of each series of an alert expression's result, sorted.
fn alert_result(result: &[Value]) -> Vec<(String, String, f64)> {
    let mut out: Vec<(String, String, f64)> = result
        .iter()
        .map(|s| {
            let label = |k: &str| s["metric"][k].as_str().unwrap_or_default().to_string();
            let v = s["value"][1].as_str().and_then(|v| v.parse().ok());
            (label("group"), label("topic"), v.unwrap_or(f64::NAN))
        })
        .collect();
    out.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    out
}

/// The alerts (pending or firing) named `name` that Prometheus holds now.
fn alerts_named(prom: &Prometheus, name: &str) -> Vec<Value> {
    let v = prom.get_json("/api/v1/alerts");
    v["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["labels"]["alertname"] == name)
        .cloned()
        .collect()
}

#[test]
fn alert_rules_are_read_with_block_scalars_and_without_comments() {
    let all = rules(&read(ALERTS));
    let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
    assert!(names.contains(&FIRING), "{names:?}");
    // The header's commented recording-rule example is not a rule.
    assert!(all.iter().all(|r| !r.expr.contains("vector(3600)")));
    let block = rules("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: |\n          (\n            x > 1\n          )\n\n          or y\n        for: 5m\n      - alert: 'B'\n        expr: \"up{job=\\\"w\\\"} == 0\"\n");
    assert_eq!(block.len(), 2);
    assert_eq!(block[0].expr, "(\n  x > 1\n)\n\nor y");
    assert_eq!(block[0].for_.as_deref(), Some("5m"));
    assert_eq!(block[1].name, "B");
    assert_eq!(block[1].expr, "up{job=\"w\"} == 0");
    assert_eq!(prom_duration("1h30m"), Duration::from_secs(5400));
    assert_eq!(
        parse_label_values("label_values(m{a=~\"x,y\"}, topic)"),
        ("topic".to_string(), Some("m{a=~\"x,y\"}".to_string()))
    );
    assert_eq!(
        substitute(
            "rate(m{cluster=~\"$cluster\",group=~\"${group}\",topic=~\"$topic\"}[$__rate_interval])",
            "g",
            "t"
        ),
        format!("rate(m{{cluster=~\"({CLUSTER})\",group=~\"g\",topic=~\"(t)\"}}[1m])")
    );
}
