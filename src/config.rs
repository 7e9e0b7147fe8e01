//! Configuration: a TOML file merged with `WARREN_` environment overrides, then validated into a
//! [`Config`] whose every field is ready to use (durations parsed, regexes known to compile).
//!
//! Errors name the offending key; `main` exits with status 2 on any of them.
//!
//! # Sources and precedence
//!
//! Built-in defaults < the TOML file (optional; a file that was named but does not exist is an
//! error with key `config`) < `WARREN_*` environment variables. Start with [`load`] (process
//! environment) or [`load_from`] (explicit environment, for tests).
//!
//! # Environment overrides
//!
//! The prefix `WARREN_` is stripped, the rest is split on `__` (double underscore) into a key path
//! and lowercased; a single `_` stays part of the key:
//!
//! | variable | key |
//! | --- | --- |
//! | `WARREN_HTTP__LISTEN=0.0.0.0:9000` | `http.listen` |
//! | `WARREN_LOG__FILTER=warren=debug,rdkafka=warn` | `log.filter` |
//! | `WARREN_WINDOW__POINTS=20` | `window.points` |
//! | `WARREN_RETENTION=30m` | `retention` |
//! | `WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS=k1:9092,k2:9092` | `clusters[0].bootstrap_servers` |
//! | `WARREN_CLUSTERS__PROD_EU__POLL_INTERVAL=5s` | `poll_interval` of the cluster named `prod-eu` |
//! | `WARREN_CLUSTERS__PROD__LABELS__ENV=prod` | `clusters[i].labels.env` |
//! | `WARREN_CLUSTERS__PROD__CLIENT__SASL_PASSWORD=…` | `clusters[i].client."sasl.password"` |
//! | `WARREN_CLUSTERS__PROD__GROUPS__STATIC=billing,audit` | `clusters[i].groups.static` |
//!
//! * `WARREN_CONFIG` is not a key: it is the CLI's variable naming the file, and is ignored here.
//! * Values are strings; numbers (`window.points`) and durations (`"5s"`, `"1m 30s"`) are parsed
//!   from them. Leading and trailing whitespace is trimmed, except in `client` values, which are
//!   passed to librdkafka verbatim.
//! * Clusters are a list (`[[clusters]]` in TOML); the environment overrides keys inside an
//!   entry: `WARREN_CLUSTERS__<sel>__<key>[__<key>…]`. An index past the file's last cluster adds
//!   a cluster (the next free indexes only), so a container needs no file. `<sel>` is
//!   a 0-based index, or else a cluster name compared case-insensitively with `-` and `.` in the
//!   name matched by `_` (`PROD_EU_1` selects `prod-eu.1`). Names are those of the file, before
//!   any override. A selector matching no cluster, or more than one, is an error naming the
//!   variable.
//! * Under `client` (librdkafka properties, spelled with dots and never underscores) each `_`
//!   becomes `.`: `…__CLIENT__SASL_PASSWORD` sets `sasl.password`; this is how a Kubernetes Secret
//!   injects credentials. Under `labels` the label name is the lowercased rest of the variable.
//! * List keys (`groups.allow`, `groups.deny`, `groups.static`, `topics.allow`, `topics.deny`)
//!   replace the whole list. The value is comma-separated (`a,b` → `["a", "b"]`, items trimmed,
//!   empty items dropped, so an empty value clears the list). When a pattern itself contains a
//!   comma (`x{1,3}`), write a TOML array instead: `["x{1,3}", "y"]` (a value starting with `[`).
//! * Any other `WARREN_*` variable is an unknown key and therefore an error.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use figment::error::{Actual, Kind};
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Num, Value};
use figment::Figment;
use regex::RegexSet;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use crate::evaluate::{EvaluatorConfig, RuleSet};

/// The whole, validated configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub log: LogConfig,
    pub window: WindowConfig,
    /// How long a group, topic or partition that disappeared keeps its series.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    pub clusters: Vec<ClusterConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Enables the Burrow API's mutations (`DELETE` a group, `POST` the log level) for
    /// requests carrying `Authorization: Bearer <token>`. Unset: mutations are refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    /// `Access-Control-Allow-Origin` value added to replies (Burrow's option); unset: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_control_allow_origin: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing `EnvFilter` directive, e.g. `info` or `warren=debug,rdkafka=warn`.
    pub filter: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowConfig {
    /// Points kept per group-partition window (Burrow's `intervals`).
    pub points: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    pub name: String,
    pub bootstrap_servers: String,
    /// librdkafka properties passed through unchanged (TLS, SASL, ...).
    #[serde(default)]
    pub client: BTreeMap<String, String>,
    #[serde(default = "default_poll_interval", with = "humantime_serde")]
    pub poll_interval: Duration,
    #[serde(default = "default_metadata_refresh", with = "humantime_serde")]
    pub metadata_refresh: Duration,
    /// How often the group list (ListConsumerGroups) is refreshed.
    #[serde(default = "default_metadata_refresh", with = "humantime_serde")]
    pub groups_refresh: Duration,
    /// Timeout of every single Kafka request.
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    #[serde(default)]
    pub groups: GroupsConfig,
    #[serde(default)]
    pub topics: FilterConfig,
    /// Static labels added to every series of this cluster.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// How group-partitions are judged (Burrow's evaluator knobs).
    #[serde(default)]
    pub evaluator: EvaluatorConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupsConfig {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    /// Group ids watched even when ListConsumerGroups is not allowed or not supported.
    #[serde(rename = "static")]
    pub static_groups: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

fn default_poll_interval() -> Duration {
    Duration::from_secs(10)
}
fn default_metadata_refresh() -> Duration {
    Duration::from_secs(60)
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: ([0, 0, 0, 0], 9753).into(),
            admin_token: None,
            access_control_allow_origin: None,
        }
    }
}
impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
        }
    }
}
impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig { points: 10 }
    }
}
impl Default for Config {
    fn default() -> Self {
        Config {
            http: HttpConfig::default(),
            log: LogConfig::default(),
            window: WindowConfig::default(),
            retention: Duration::from_secs(600),
            clusters: Vec::new(),
        }
    }
}

/// Allow/deny regex lists compiled once. A name is watched when it matches an allow pattern
/// (or the allow list is empty) and no deny pattern. Patterns are anchored (`^(?:…)$`).
#[derive(Debug, Clone)]
pub struct NameFilter {
    allow: Option<RegexSet>,
    deny: Option<RegexSet>,
}

impl NameFilter {
    /// Compiles the lists; `key` (e.g. `clusters[0].groups`) is used in error messages.
    pub fn new(allow: &[String], deny: &[String], key: &str) -> Result<Self, ConfigError> {
        let compile = |list: &[String], which: &str| -> Result<Option<RegexSet>, ConfigError> {
            if list.is_empty() {
                return Ok(None);
            }
            for (i, p) in list.iter().enumerate() {
                if let Err(e) = regex::Regex::new(p) {
                    return Err(ConfigError::new(
                        format!("{key}.{which}[{i}]"),
                        format!("invalid regex {p:?}: {e}"),
                    ));
                }
            }
            let anchored: Vec<String> = list.iter().map(|p| format!("^(?:{p})$")).collect();
            RegexSet::new(&anchored)
                .map(Some)
                .map_err(|e| ConfigError::new(format!("{key}.{which}"), e.to_string()))
        };
        Ok(NameFilter {
            allow: compile(allow, "allow")?,
            deny: compile(deny, "deny")?,
        })
    }

    /// Accepts everything.
    pub fn all() -> Self {
        NameFilter {
            allow: None,
            deny: None,
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        self.allow.as_ref().is_none_or(|a| a.is_match(name))
            && !self.deny.as_ref().is_some_and(|d| d.is_match(name))
    }
}

/// A configuration error: the key it concerns (dotted path, e.g. `clusters[1].poll_interval`)
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "config key `{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl NameFilter {
    /// Accepts nothing (used only if a filter that passed validation somehow fails to compile).
    pub fn none() -> Self {
        NameFilter {
            allow: Some(RegexSet::empty()),
            deny: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// The environment variable prefix of overrides.
const ENV_PREFIX: &str = "WARREN_";

/// Keys (relative to a cluster) whose value is a list of strings; see the module docs for how
/// they are written in the environment.
const LIST_KEYS: &[&[&str]] = &[
    &["groups", "allow"],
    &["groups", "deny"],
    &["groups", "static"],
    &["topics", "allow"],
    &["topics", "deny"],
];

/// Label names warren sets itself.
const RESERVED_LABELS: &[&str] = &[
    "cluster",
    "group",
    "topic",
    "partition",
    "stage",
    "version",
    "le",
    "quantile",
];

/// Loads the configuration from `file` (if any) and the process environment (`WARREN_*`).
///
/// `file` is the `--config` path (the CLI also reads it from `WARREN_CONFIG`); `None` means
/// defaults plus environment only. Returns every error found, each naming its key.
pub fn load(file: Option<&Path>) -> Result<Config, Vec<ConfigError>> {
    load_from(file, &process_env())
}

/// The process's `WARREN_*` variables.
fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            strip_prefix_ci(&k, ENV_PREFIX)?;
            Some((k, v.to_string_lossy().into_owned()))
        })
        .collect()
}

/// `http.listen` as `file` and the process environment give it, ignoring every other key and
/// error (the default where the file, the variable or the value is unusable). For `warren
/// healthcheck`, which must find a running server even where the rest does not load here.
pub fn listen_address(file: Option<&Path>) -> SocketAddr {
    listen_address_from(file, &process_env())
}

fn listen_address_from(file: Option<&Path>, env: &[(String, String)]) -> SocketAddr {
    let mut errors = Errors::default();
    let mut root = file.and_then(|p| read_file(p).ok()).unwrap_or_default();
    apply_env(&mut root, env, &mut errors);
    root.get("http")
        .and_then(|http| extract::<HttpConfig>(http.as_dict()?.clone()).ok())
        .map_or_else(|| HttpConfig::default().listen, |http| http.listen)
}

/// As [`load`], with the environment given explicitly as `(name, value)` pairs (variables not
/// starting with `WARREN_` are ignored). Order: defaults < TOML file < environment.
pub fn load_from(
    file: Option<&Path>,
    env: &[(String, String)],
) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Errors::default();
    let mut root = match file {
        Some(path) => read_file(path).map_err(|e| vec![e])?,
        None => Dict::new(),
    };
    let origins = apply_env(&mut root, env, &mut errors);

    let raw_clusters = root.remove("clusters");
    let base = extract_collect::<Config>(&root, "", &mut errors);
    let mut clusters = Vec::new();
    // Whether the file or environment gave any cluster (even an unusable one).
    let mut clusters_given = false;
    match raw_clusters {
        None => {}
        Some(Value::Array(_, items)) => {
            clusters_given = !items.is_empty();
            for (i, item) in items.into_iter().enumerate() {
                let key = format!("clusters[{i}]");
                match item {
                    Value::Dict(_, mut dict) => {
                        stringify_scalars(&mut dict, "client");
                        stringify_scalars(&mut dict, "labels");
                        if let Some(c) = extract_collect::<ClusterConfig>(&dict, &key, &mut errors)
                        {
                            clusters.push((i, c));
                        }
                    }
                    other => errors.push(ConfigError::new(
                        key,
                        format!(
                            "expected a table (a [[clusters]] section), found {}",
                            other.to_actual()
                        ),
                    )),
                }
            }
        }
        Some(other) => {
            clusters_given = true;
            errors.push(ConfigError::new(
                "clusters",
                format!(
                    "expected a list of tables ([[clusters]] sections), found {}",
                    other.to_actual()
                ),
            ));
        }
    }

    if let Some(base) = &base {
        validate_base(base, &mut errors);
    }
    if !clusters_given {
        errors.push(ConfigError::new(
            "clusters",
            "at least one cluster is required; add a [[clusters]] section with `name` and \
             `bootstrap_servers`, or set WARREN_CLUSTERS__0__NAME and \
             WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS",
        ));
    }
    validate_clusters(&clusters, &mut errors);

    match base {
        Some(mut config) if errors.is_empty() => {
            config.clusters = clusters
                .into_iter()
                .map(|(_, mut c)| {
                    c.evaluator.poll_interval =
                        c.poll_interval.as_secs().clamp(1, u32::MAX as u64) as u32;
                    c
                })
                .collect();
            Ok(config)
        }
        _ => Err(errors.finish(&origins)),
    }
}

/// Errors collected so far, without duplicates.
#[derive(Default)]
struct Errors {
    list: Vec<ConfigError>,
    /// Keys that already have a parse error: validation does not report them again (they may
    /// hold a placeholder).
    parsed_bad: std::collections::BTreeSet<String>,
}

impl Errors {
    fn push(&mut self, e: ConfigError) {
        if !self.list.contains(&e) && !self.parsed_bad.contains(&e.key) {
            self.list.push(e);
        }
    }

    fn push_parse(&mut self, e: ConfigError) {
        self.parsed_bad.insert(e.key.clone());
        if !self.list.contains(&e) {
            self.list.push(e);
        }
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds "(from environment variable X)" to errors about keys an environment variable set.
    fn finish(self, origins: &[(String, String)]) -> Vec<ConfigError> {
        self.list
            .into_iter()
            .map(|mut e| {
                let from_env = origins.iter().rev().find(|(key, _)| {
                    e.key == *key
                        || e.key
                            .strip_prefix(key.as_str())
                            .is_some_and(|rest| rest.starts_with(['.', '[']))
                });
                if let Some((_, var)) = from_env {
                    if !e.message.contains(var.as_str()) {
                        e.message
                            .push_str(&format!(" (from environment variable {var})"));
                    }
                }
                e
            })
            .collect()
    }
}

/// Reads and parses the TOML file into a dictionary.
fn read_file(path: &Path) -> Result<Dict, ConfigError> {
    let shown = path.display();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::new(
                "config",
                format!("file {shown} does not exist; expected the path of a TOML file"),
            ))
        }
        Err(e) => {
            return Err(ConfigError::new(
                "config",
                format!("cannot read {shown}: {e}"),
            ))
        }
    };
    Toml::from_str::<Dict>(&text).map_err(|e| {
        let mut message = format!("{shown} is not valid TOML: {}", e.message().trim());
        if let Some(span) = e.span() {
            let before = text.get(..span.start).unwrap_or(&text);
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before[line_start..].chars().count() + 1;
            message = format!(
                "{shown} is not valid TOML (line {line}, column {column}): {}",
                e.message().trim()
            );
        }
        ConfigError::new("config", message)
    })
}

/// `s` without `prefix`, compared ASCII case-insensitively.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A cluster name as an environment selector sees it: lowercase, `-` and `.` as `_`.
fn env_selector_form(name: &str) -> String {
    name.to_ascii_lowercase().replace(['-', '.'], "_")
}

/// Applies the `WARREN_*` variables of `env` to `root`. Returns `(key, variable)` for every key
/// set, to attribute later errors to their variable.
fn apply_env(
    root: &mut Dict,
    env: &[(String, String)],
    errors: &mut Errors,
) -> Vec<(String, String)> {
    let mut vars: Vec<(&str, &str, &str)> = env
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), strip_prefix_ci(k, ENV_PREFIX)?, v.as_str())))
        .filter(|(_, rest, _)| !rest.eq_ignore_ascii_case("config"))
        .collect();
    vars.sort();

    // Selectors match the names given in the file, before any override.
    let mut names: Vec<Option<String>> = match root.get("clusters") {
        Some(Value::Array(_, items)) => items
            .iter()
            .map(|c| c.as_dict()?.get("name")?.as_str().map(env_selector_form))
            .collect(),
        _ => Vec::new(),
    };
    let mut origins = add_env_clusters(root, &vars, &mut names);
    for (var, rest, raw) in vars {
        let segs: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if segs.iter().any(String::is_empty) {
            errors.push(ConfigError::new(
                segs.join("."),
                format!(
                    "environment variable {var}: empty key segment; expected \
                     WARREN_<KEY>[__<KEY>…] with non-empty keys separated by `__`"
                ),
            ));
            continue;
        }
        if segs[0] != "clusters" {
            let key = render_path("", &segs);
            match set_path(root, &segs, Value::from(raw.trim().to_string())) {
                Ok(()) => origins.push((key, var.to_string())),
                Err(msg) => errors.push(ConfigError::new(
                    key,
                    format!("environment variable {var}: {msg}"),
                )),
            }
            continue;
        }

        // WARREN_CLUSTERS__<sel>__<key…>
        if segs.len() < 3 {
            errors.push(ConfigError::new(
                "clusters",
                format!(
                    "environment variable {var} does not name a key inside a cluster; expected \
                     WARREN_CLUSTERS__<index or name>__<KEY>, e.g. \
                     WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS"
                ),
            ));
            continue;
        }
        let sel = &segs[1];
        let index = match select_cluster(sel, &names) {
            Ok(i) => i,
            Err(msg) => {
                errors.push(ConfigError::new(
                    "clusters",
                    format!("environment variable {var} {msg}"),
                ));
                continue;
            }
        };
        let base = format!("clusters[{index}]");
        let sub = &segs[2..];
        let (path, value): (Vec<String>, Value) = match sub[0].as_str() {
            "client" if sub.len() > 1 => {
                let property = sub[1..].join(".").replace('_', ".");
                (
                    vec!["client".into(), property],
                    Value::from(raw.to_string()),
                )
            }
            "labels" if sub.len() > 1 => {
                let label = sub[1..].join("__");
                (
                    vec!["labels".into(), label],
                    Value::from(raw.trim().to_string()),
                )
            }
            _ if LIST_KEYS.iter().any(|k| *k == sub) => match parse_env_list(raw) {
                Ok(items) => (sub.to_vec(), Value::from(items)),
                Err(msg) => {
                    errors.push(ConfigError::new(
                        render_path(&base, sub),
                        format!("environment variable {var}: {msg}"),
                    ));
                    continue;
                }
            },
            _ => (sub.to_vec(), Value::from(raw.trim().to_string())),
        };
        let key = render_path(&base, &path);
        let cluster = match root.get_mut("clusters") {
            Some(Value::Array(_, items)) => items.get_mut(index),
            _ => None,
        };
        let result = match cluster {
            Some(Value::Dict(_, dict)) => set_path(dict, &path, value),
            _ => Err(format!("`{base}` is not a table")),
        };
        match result {
            Ok(()) => origins.push((key, var.to_string())),
            Err(msg) => errors.push(ConfigError::new(
                key,
                format!("environment variable {var}: {msg}"),
            )),
        }
    }
    origins
}

/// Appends the clusters that `WARREN_CLUSTERS__<index>__…` variables define past the file's last
/// one, so a container can be configured from the environment alone. New entries take the next
/// free indexes (a gap, clusters[1] without clusters[0], adds nothing and is reported by the
/// selector); they have no file name, so only their index selects them. Returns `(key,
/// variable)` for each added entry, so that its errors (a missing `name`) name the variable.
fn add_env_clusters(
    root: &mut Dict,
    vars: &[(&str, &str, &str)],
    names: &mut Vec<Option<String>>,
) -> Vec<(String, String)> {
    let existing = names.len();
    let mut added = std::collections::BTreeMap::new();
    for (var, rest, _) in vars {
        // Only a variable that names a key inside the cluster adds one; a malformed one is
        // reported as such by `apply_env`.
        let segs: Vec<&str> = rest.split("__").collect();
        if segs.len() < 3 || segs.iter().any(|s| s.is_empty()) {
            continue;
        }
        if !segs[0].eq_ignore_ascii_case("clusters") || !segs[1].bytes().all(|b| b.is_ascii_digit())
        {
            continue;
        }
        if let Ok(i) = segs[1].parse::<usize>() {
            if i >= existing {
                added.entry(i).or_insert(*var);
            }
        }
    }
    // Only the run of next free indexes is added; a variable past a gap then selects no
    // cluster and says which index would be next.
    let run = added
        .keys()
        .zip(existing..)
        .take_while(|(&i, want)| i == *want)
        .count();
    let added: Vec<(usize, &str)> = added.into_iter().take(run).collect();
    if added.is_empty() {
        return Vec::new();
    }
    let items = match root
        .entry("clusters".to_string())
        .or_insert_with(|| Value::from(Vec::<Value>::new()))
    {
        Value::Array(_, items) => items,
        _ => return Vec::new(), // reported when the clusters are read
    };
    let mut origins = Vec::new();
    for (i, var) in added {
        items.push(Value::from(Dict::new()));
        names.push(None);
        origins.push((format!("clusters[{i}]"), var.to_string()));
    }
    origins
}

/// Resolves a `WARREN_CLUSTERS__<sel>__…` selector to an index; the error completes
/// "environment variable X …".
fn select_cluster(sel: &str, names: &[Option<String>]) -> Result<usize, String> {
    let known = || {
        if names.is_empty() {
            "the configuration has no [[clusters]] section to override".to_string()
        } else {
            let list: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, n)| match n {
                    Some(n) => format!("{i} ({})", n.to_ascii_uppercase()),
                    None => i.to_string(),
                })
                .collect();
            format!("expected one of: {}", list.join(", "))
        }
    };
    if !sel.is_empty() && sel.bytes().all(|b| b.is_ascii_digit()) {
        return match sel.parse::<usize>() {
            Ok(i) if i < names.len() => Ok(i),
            _ => Err(format!(
                "selects no cluster: there is no cluster at index {sel}; {}; a cluster defined \
                 only by the environment takes the next free index, {}",
                known(),
                names.len()
            )),
        };
    }
    let wanted = env_selector_form(sel);
    let matches: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.as_deref() == Some(wanted.as_str()))
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [i] => Ok(*i),
        [] => Err(format!(
            "selects no cluster: no cluster is named {} (names compare case-insensitively, \
             `-` and `.` as `_`); {}",
            sel.to_ascii_uppercase(),
            known()
        )),
        _ => Err(format!(
            "is ambiguous: clusters {matches:?} all match {}; select by index instead",
            sel.to_ascii_uppercase()
        )),
    }
}

/// Parses a list value from the environment: a TOML array if it starts with `[`, otherwise
/// comma-separated items (trimmed, empty ones dropped).
fn parse_env_list(raw: &str) -> Result<Vec<String>, String> {
    let raw = raw.trim();
    if raw.starts_with('[') {
        let parsed = Toml::from_str::<Dict>(&format!("v = {raw}"))
            .map_err(|e| format!("invalid TOML array {raw:?}: {}", e.message().trim()))?;
        let items = parsed
            .get("v")
            .and_then(Value::as_array)
            .unwrap_or_default();
        items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("list items must be strings, found {}", v.to_actual()))
            })
            .collect()
    } else {
        Ok(raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect())
    }
}

/// Sets `value` at `path` in `dict`, creating intermediate tables.
fn set_path(dict: &mut Dict, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty key".into());
    };
    let mut current = dict;
    for (depth, part) in parents.iter().enumerate() {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| Value::from(Dict::new()));
        match entry {
            Value::Dict(_, d) => current = d,
            other => {
                return Err(format!(
                    "`{}` is {}, not a table",
                    render_path("", &path[..=depth]),
                    other.to_actual()
                ))
            }
        }
    }
    current.insert(last.clone(), value);
    Ok(())
}

/// librdkafka properties and label values are strings; accept `enabled = true` or `port = 1`
/// written unquoted in TOML by turning scalars into their string form.
fn stringify_scalars(cluster: &mut Dict, map_key: &str) {
    let Some(Value::Dict(_, map)) = cluster.get_mut(map_key) else {
        return;
    };
    for value in map.values_mut() {
        let text = match value {
            Value::Bool(_, b) => b.to_string(),
            Value::Char(_, c) => c.to_string(),
            Value::Num(_, n) => num_to_string(*n),
            _ => continue,
        };
        *value = Value::from(text);
    }
}

fn num_to_string(n: Num) -> String {
    if let Some(u) = n.to_u128() {
        u.to_string()
    } else if let Some(i) = n.to_i128() {
        i.to_string()
    } else {
        n.to_f64().map_or_else(String::new, |f| f.to_string())
    }
}

/// Renders a key path: `clusters[0].client."sasl.password"`. Numeric parts are list indexes,
/// except inside the `labels` and `client` maps, whose keys are quoted when not bare.
fn render_path(base: &str, path: &[String]) -> String {
    let mut key = base.to_string();
    let mut parent: Option<&str> = None;
    for part in path {
        let in_map = matches!(parent, Some("labels" | "client"));
        if !in_map && !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            key.push_str(&format!("[{part}]"));
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            let bare = !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if bare {
                key.push_str(part);
            } else {
                key.push_str(&format!("{part:?}"));
            }
        }
        parent = Some(part);
    }
    key
}

/// The value at a figment error path inside `dict`.
fn lookup<'a>(dict: &'a Dict, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut value = dict.get(first)?;
    for part in rest {
        value = match value {
            Value::Dict(_, d) => d.get(part)?,
            Value::Array(_, a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Deserializes `T` from `dict` (numbers and booleans may be given as strings, as environment
/// variables are). All of serde's errors, flattened (serde stops at the first one, but figment
/// may chain several).
fn extract<T: DeserializeOwned>(dict: Dict) -> Result<T, Vec<figment::Error>> {
    Figment::from(Serialized::defaults(dict))
        .extract_lossy()
        .map_err(|e: figment::Error| e.into_iter().collect())
}

/// Deserializes `T` from `dict`, reporting as many errors as possible: serde stops at the first
/// error, so on failure every key is also tried alone (recursively into tables), the keys with
/// errors are dropped (their defaults apply) and missing required keys are filled with `""`, and
/// the rest is deserialized again. That partial value is returned so that it can still be
/// validated (the errors already pushed make the load fail anyway); `None` if even that failed.
fn extract_collect<T: DeserializeOwned>(dict: &Dict, base: &str, errors: &mut Errors) -> Option<T> {
    let whole = match extract::<T>(dict.clone()) {
        Ok(value) => return Some(value),
        Err(e) => e,
    };
    let mut pruned = dict.clone();
    let mut found_any = false;
    for (key, value) in dict {
        if probe::<T>(dict, std::slice::from_ref(key), value, base, errors) {
            found_any = true;
            pruned.remove(key);
        }
    }
    if !found_any {
        let unexplained: Vec<figment::Error> = whole
            .into_iter()
            .filter(|e| !is_missing_at_root(e))
            .collect();
        if !unexplained.is_empty() {
            for e in &unexplained {
                errors.push_parse(convert_error(e, base, dict));
            }
            return None;
        }
    }
    // Missing required keys: report them, then fill in placeholders and try again.
    for _ in 0..16 {
        let e = match extract::<T>(pruned.clone()) {
            Ok(value) => return Some(value),
            Err(e) => e,
        };
        let (missing, other): (Vec<_>, Vec<_>) = e.into_iter().partition(is_missing_at_root);
        if missing.is_empty() {
            for e in &other {
                errors.push_parse(convert_error(e, base, dict));
            }
            return None;
        }
        for e in &missing {
            errors.push_parse(convert_error(e, base, dict));
            if let Kind::MissingField(field) = &e.kind {
                pruned.insert(field.to_string(), Value::from(String::new()));
            }
        }
    }
    None
}

fn is_missing_at_root(e: &figment::Error) -> bool {
    matches!(e.kind, Kind::MissingField(_)) && e.path.is_empty()
}

/// Tries `T` with only `value` at `path`; on error, recurses into tables to find every
/// offending key. Pushes the errors found (missing keys aside) and returns whether there were any.
fn probe<T: DeserializeOwned>(
    root: &Dict,
    path: &[String],
    value: &Value,
    base: &str,
    errors: &mut Errors,
) -> bool {
    let mut single = Dict::new();
    if set_path(&mut single, path, value.clone()).is_err() {
        return false;
    }
    let Err(e) = extract::<T>(single) else {
        return false;
    };
    let found: Vec<figment::Error> = e
        .into_iter()
        .filter(|e| !matches!(e.kind, Kind::MissingField(_)))
        .collect();
    if found.is_empty() {
        return false;
    }
    if let Value::Dict(_, sub) = value {
        let deeper = found
            .iter()
            .any(|e| e.path.len() > path.len() && e.path.starts_with(path));
        if deeper && sub.len() > 1 {
            let mut any = false;
            for (key, inner) in sub {
                let mut inner_path = path.to_vec();
                inner_path.push(key.clone());
                any |= probe::<T>(root, &inner_path, inner, base, errors);
            }
            if any {
                return true;
            }
        }
    }
    for e in &found {
        errors.push_parse(convert_error(e, base, root));
    }
    true
}

/// Maps a figment/serde error to a [`ConfigError`] with a dotted key and a plain message.
fn convert_error(e: &figment::Error, base: &str, dict: &Dict) -> ConfigError {
    let mut path = e.path.clone();
    if let Kind::MissingField(field) = &e.kind {
        if path.last().map(String::as_str) != Some(field.as_ref()) {
            path.push(field.to_string());
        }
    }
    let key = render_path(base, &path);
    let leaf = path.last().map(String::as_str).unwrap_or("");
    // Never echo a value that may hold a credential.
    let secret = leaf == "client"
        || (path.len() >= 2 && path[path.len() - 2] == "client" && is_secret_key(leaf));
    let message = match &e.kind {
        Kind::UnknownField(_, []) => "unknown key".to_string(),
        Kind::UnknownField(_, expected) => {
            let list: Vec<String> = expected.iter().map(|f| format!("`{f}`")).collect();
            format!("unknown key; expected one of {}", list.join(", "))
        }
        Kind::MissingField(_) => "required key is missing".to_string(),
        Kind::InvalidValue(Actual::Str(s), expected) if expected == "a duration" => {
            let why = humantime::parse_duration(s)
                .err()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            format!("invalid duration {s:?}{why}; {}", DURATION_HINT)
        }
        Kind::InvalidType(found, expected) if expected == "a duration" => {
            format!("invalid duration: found {found}; {}", DURATION_HINT)
        }
        Kind::InvalidType(_, expected) if secret => {
            format!("invalid type; expected {}", expected_text(expected))
        }
        Kind::InvalidType(found, expected) => {
            format!(
                "invalid type: found {found}, expected {}",
                expected_text(expected)
            )
        }
        Kind::InvalidValue(found, expected) => {
            format!(
                "invalid value: found {found}, expected {}",
                expected_text(expected)
            )
        }
        Kind::Message(msg) => {
            let mut message = msg.clone();
            if let Some(Value::String(_, s)) = lookup(dict, &e.path) {
                if !secret {
                    message.push_str(&format!(": {s:?}"));
                }
            }
            if leaf == "listen" {
                message.push_str("; expected an ip:port socket address such as \"0.0.0.0:9753\"");
            }
            message
        }
        other => other.to_string(),
    };
    ConfigError::new(key, message)
}

const DURATION_HINT: &str = "expected a duration such as \"500ms\", \"10s\", \"1m\" or \"1h 30m\"";

/// Serde's "expected" text in configuration words.
fn expected_text(expected: &str) -> String {
    match expected {
        "usize" | "u64" | "u32" | "u16" | "u8" => "a non-negative integer".into(),
        "a sequence" => "a list".into(),
        "a map" => "a table".into(),
        e if e.starts_with("struct ") => "a table".into(),
        e => e.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

fn validate_base(config: &Config, errors: &mut Errors) {
    let points = config.window.points;
    if !(2..=100).contains(&points) {
        errors.push(ConfigError::new(
            "window.points",
            format!("must be between 2 and 100, got {points}"),
        ));
    }
    if config
        .http
        .admin_token
        .as_deref()
        .is_some_and(|t| t.trim().len() < 16)
    {
        errors.push(ConfigError::new(
            "http.admin_token",
            "must be at least 16 characters (it guards DELETE and log-level changes)",
        ));
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.log.filter) {
        errors.push(ConfigError::new(
            "log.filter",
            format!(
                "invalid filter {:?} ({e}); expected tracing directives such as \"info\" or \
                 \"warren=debug,rdkafka=warn\"",
                config.log.filter
            ),
        ));
    }
}

fn validate_clusters(clusters: &[(usize, ClusterConfig)], errors: &mut Errors) {
    let mut first_index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, c) in clusters {
        let key = format!("clusters[{i}]");
        if c.name.is_empty() {
            errors.push(ConfigError::new(
                format!("{key}.name"),
                "must not be empty; expected a name such as \"prod\"",
            ));
        } else if !is_valid_cluster_name(&c.name) {
            errors.push(ConfigError::new(
                format!("{key}.name"),
                format!(
                    "invalid cluster name {:?}: it appears in URL paths, so expected letters, \
                     digits, `.`, `_` and `-`, starting with a letter or digit",
                    c.name
                ),
            ));
        } else if let Some(first) = first_index.get(c.name.as_str()) {
            errors.push(ConfigError::new(
                format!("{key}.name"),
                format!(
                    "duplicate cluster name {:?}, already used by clusters[{first}]; names must \
                     be unique",
                    c.name
                ),
            ));
        } else {
            first_index.insert(&c.name, *i);
        }
        validate_cluster(&key, c, errors);
    }
}

fn validate_cluster(key: &str, c: &ClusterConfig, errors: &mut Errors) {
    if c.bootstrap_servers.trim().is_empty() {
        errors.push(ConfigError::new(
            format!("{key}.bootstrap_servers"),
            "must not be empty; expected host:port[,host:port…]",
        ));
    }
    let min_poll = Duration::from_millis(100);
    if c.poll_interval < min_poll {
        errors.push(ConfigError::new(
            format!("{key}.poll_interval"),
            format!(
                "must be at least 100ms, got {}",
                show_duration(c.poll_interval)
            ),
        ));
    }
    for (name, value) in [
        ("metadata_refresh", c.metadata_refresh),
        ("groups_refresh", c.groups_refresh),
        ("request_timeout", c.request_timeout),
    ] {
        if value.is_zero() {
            errors.push(ConfigError::new(
                format!("{key}.{name}"),
                "must be greater than 0; expected a duration such as \"1m\"",
            ));
        }
    }

    let m = c.evaluator.minimum_complete;
    if !(0.0..=1.0).contains(&m) {
        errors.push(ConfigError::new(
            format!("{key}.evaluator.minimum_complete"),
            format!("must be between 0 and 1, got {m}"),
        ));
    }

    let groups_key = format!("{key}.groups");
    let topics_key = format!("{key}.topics");
    let regex_ok = check_patterns(&groups_key, "allow", &c.groups.allow, errors)
        & check_patterns(&groups_key, "deny", &c.groups.deny, errors)
        & check_patterns(&topics_key, "allow", &c.topics.allow, errors)
        & check_patterns(&topics_key, "deny", &c.topics.deny, errors);
    if regex_ok {
        // Every pattern compiles alone; the set can still exceed the regex size limit.
        for (list_key, allow, deny) in [
            (&groups_key, &c.groups.allow, &c.groups.deny),
            (&topics_key, &c.topics.allow, &c.topics.deny),
        ] {
            if let Err(e) = NameFilter::new(allow, deny, list_key) {
                errors.push(e);
            }
        }
    }
    for (j, g) in c.groups.static_groups.iter().enumerate() {
        if g.trim().is_empty() {
            errors.push(ConfigError::new(
                format!("{key}.groups.static[{j}]"),
                "must not be empty; expected a consumer group id",
            ));
        }
    }

    for name in c.labels.keys() {
        let label_key = render_path(key, &["labels".to_string(), name.clone()]);
        let problem = if !is_valid_label_name(name) {
            Some(format!(
                "invalid label name {name:?}; expected [a-zA-Z_][a-zA-Z0-9_]* (Prometheus label \
                 syntax)"
            ))
        } else if name.starts_with("__") {
            Some(format!(
                "invalid label name {name:?}: names starting with `__` are reserved by Prometheus"
            ))
        } else if RESERVED_LABELS.contains(&name.as_str()) {
            Some(format!(
                "label name {name:?} is reserved (warren sets it); reserved: {}",
                RESERVED_LABELS.join(", ")
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            errors.push(ConfigError::new(label_key, message));
        }
    }

    for property in c.client.keys() {
        let normalized = property.trim().to_ascii_lowercase();
        let message = match normalized.as_str() {
            "bootstrap.servers" | "metadata.broker.list" => {
                format!("not allowed in `client`; use `{key}.bootstrap_servers`")
            }
            _ => continue,
        };
        errors.push(ConfigError::new(
            render_path(key, &["client".to_string(), property.clone()]),
            message,
        ));
    }
}

/// Checks that every pattern of `list` compiles, pushing one error per bad pattern (key
/// `…allow[i]`, as [`NameFilter::new`] names them). Returns whether all compiled.
fn check_patterns(key: &str, which: &str, list: &[String], errors: &mut Errors) -> bool {
    let mut ok = true;
    for (i, pattern) in list.iter().enumerate() {
        if let Err(e) = regex::Regex::new(pattern) {
            ok = false;
            let reason = match &e {
                // The syntax error's last line is the reason; the lines before draw the pattern.
                regex::Error::Syntax(text) => text
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .to_string(),
                other => other.to_string(),
            };
            errors.push(ConfigError::new(
                format!("{key}.{which}[{i}]"),
                format!("invalid regex {pattern:?}: {reason}"),
            ));
        }
    }
    ok
}

fn is_valid_cluster_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn show_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

// ---------------------------------------------------------------------------------------------
// Use
// ---------------------------------------------------------------------------------------------

impl ClusterConfig {
    /// The group allow/deny filter. Validation has compiled it already, so this cannot fail in
    /// practice; if it did, the filter would match nothing rather than panic. Compiles on every
    /// call: keep the result.
    pub fn group_filter(&self) -> NameFilter {
        NameFilter::new(&self.groups.allow, &self.groups.deny, "groups")
            .unwrap_or_else(|_| NameFilter::none())
    }

    /// The topic allow/deny filter; see [`ClusterConfig::group_filter`].
    pub fn topic_filter(&self) -> NameFilter {
        NameFilter::new(&self.topics.allow, &self.topics.deny, "topics")
            .unwrap_or_else(|_| NameFilter::none())
    }
}

/// Whether a librdkafka property holds a secret: its name contains `password`, `secret`,
/// `jaas` or `token`, or ends in `.pem` or `key`.
pub fn is_secret_key(property: &str) -> bool {
    let p = property.to_ascii_lowercase();
    ["password", "secret", "jaas", "token"]
        .iter()
        .any(|s| p.contains(s))
        || p.ends_with(".pem")
        || p.ends_with("key")
}

/// `bootstrap_servers` with any `user:pass@` userinfo replaced by `***@`.
fn mask_userinfo(servers: &str) -> String {
    servers
        .split(',')
        .map(|entry| {
            let (scheme, rest) = match entry.find("://") {
                Some(i) => entry.split_at(i + 3),
                None => ("", entry),
            };
            match rest.rfind('@') {
                Some(at) => format!("{scheme}***{}", &rest[at..]),
                None => entry.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl Config {
    /// The effective configuration as TOML (what `warren check-config` prints): durations in
    /// human form (`"10s"`, `"1m"`), secrets masked as `"***"` (secret `client` properties, see
    /// [`is_secret_key`], and userinfo in `bootstrap_servers`). Feeding it back to [`load_from`]
    /// gives the same configuration, secrets aside.
    pub fn masked_toml(&self) -> String {
        let mut masked = self.clone();
        if masked.http.admin_token.is_some() {
            masked.http.admin_token = Some("***".to_string());
        }
        for cluster in &mut masked.clusters {
            for (property, value) in cluster.client.iter_mut() {
                if is_secret_key(property) {
                    *value = "***".to_string();
                }
            }
            cluster.bootstrap_servers = mask_userinfo(&cluster.bootstrap_servers);
        }
        toml::to_string(&masked)
            .unwrap_or_else(|e| format!("# the configuration cannot be shown as TOML: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const MINIMAL: &str = r#"
[[clusters]]
name = "prod"
bootstrap_servers = "k1:9092"
"#;

    /// A TOML file in a fresh temporary location (removed on drop).
    struct TempToml(PathBuf);

    impl TempToml {
        fn new(text: &str) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!(
                "warren-config-unit-{}-{n}.toml",
                std::process::id()
            ));
            std::fs::write(&path, text).expect("write temp config");
            TempToml(path)
        }
    }

    impl Drop for TempToml {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load_toml(text: &str, vars: &[(&str, &str)]) -> Result<Config, Vec<ConfigError>> {
        let file = TempToml::new(text);
        load_from(Some(&file.0), &env(vars))
    }

    fn ok(text: &str, vars: &[(&str, &str)]) -> Config {
        match load_toml(text, vars) {
            Ok(c) => c,
            Err(errors) => panic!("unexpected errors: {errors:#?}"),
        }
    }

    fn errs(text: &str, vars: &[(&str, &str)]) -> Vec<ConfigError> {
        match load_toml(text, vars) {
            Ok(c) => panic!("expected errors, got {c:#?}"),
            Err(errors) => errors,
        }
    }

    /// The error with key `key`; panics listing all errors if there is none.
    fn error_for<'a>(errors: &'a [ConfigError], key: &str) -> &'a ConfigError {
        errors
            .iter()
            .find(|e| e.key == key)
            .unwrap_or_else(|| panic!("no error for key `{key}` in {errors:#?}"))
    }

    fn cluster_with(extra: &str) -> String {
        format!("[[clusters]]\nname = \"prod\"\nbootstrap_servers = \"k1:9092\"\n{extra}\n")
    }

    #[test]
    fn admin_token_is_checked_and_masked() {
        let c = ok(
            &format!("[http]\nadmin_token = \"0123456789abcdef-secret\"\naccess_control_allow_origin = \"*\"\n{MINIMAL}"),
            &[],
        );
        assert_eq!(c.http.access_control_allow_origin.as_deref(), Some("*"));
        let printed = c.masked_toml();
        assert!(
            printed.contains("admin_token = \"***\"") && !printed.contains("secret"),
            "{printed}"
        );
        let errors = errs(&format!("[http]\nadmin_token = \"short\"\n{MINIMAL}"), &[]);
        error_for(&errors, "http.admin_token");
        assert!(
            !format!("{errors:?}").contains("short"),
            "the token is not echoed"
        );
    }

    #[test]
    fn evaluator_knobs() {
        let c = ok(MINIMAL, &[]);
        assert_eq!(c.clusters[0].evaluator, EvaluatorConfig::default());
        assert_eq!(c.clusters[0].evaluator.rules, RuleSet::Burrow);
        let c = ok(
            &cluster_with("evaluator = { rules = \"improved\", allowed_lag = 5, minimum_complete = 0.5, min_distance = \"30s\" }"),
            &[("WARREN_CLUSTERS__PROD__EVALUATOR__ALLOWED_LAG", "7")],
        );
        let e = &c.clusters[0].evaluator;
        assert_eq!(
            (e.rules, e.allowed_lag, e.minimum_complete, e.min_distance),
            (RuleSet::Improved, 7, 0.5, Duration::from_secs(30))
        );
        let errors = errs(&cluster_with("evaluator = { rules = \"strict\" }"), &[]);
        error_for(&errors, "clusters[0].evaluator.rules");
        let errors = errs(&cluster_with("evaluator = { minimum_complete = 1.5 }"), &[]);
        error_for(&errors, "clusters[0].evaluator.minimum_complete");
        let errors = errs(&cluster_with("evaluator = { allowed_lags = 1 }"), &[]);
        error_for(&errors, "clusters[0].evaluator.allowed_lags");
        let printed = c.masked_toml();
        assert!(printed.contains("rules = \"improved\""), "{printed}");
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let c = ok(MINIMAL, &[]);
        assert_eq!(c.http.listen, "0.0.0.0:9753".parse::<SocketAddr>().unwrap());
        assert_eq!(c.log.filter, "info");
        assert_eq!(c.window.points, 10);
        assert_eq!(c.retention, Duration::from_secs(600));
        let p = &c.clusters[0];
        assert_eq!(p.name, "prod");
        assert_eq!(p.poll_interval, Duration::from_secs(10));
        assert_eq!(p.metadata_refresh, Duration::from_secs(60));
        assert_eq!(p.groups_refresh, Duration::from_secs(60));
        assert_eq!(p.request_timeout, Duration::from_secs(10));
        assert!(p.client.is_empty() && p.labels.is_empty());
    }

    #[test]
    fn file_values_are_read() {
        let c = ok(
            r#"
retention = "0s"
[http]
listen = "127.0.0.1:9000"
[log]
filter = "warren=debug,rdkafka=warn"
[window]
points = 30
[[clusters]]
name = "prod-eu.1"
bootstrap_servers = "k1:9092,k2:9092"
poll_interval = "1m 30s"
groups_refresh = "5m"
client = { "security.protocol" = "SSL", "enable.ssl.certificate.verification" = false, "fetch.wait.max.ms" = 100 }
labels = { env = "prod", tier = 1 }
groups = { allow = ["billing-.*"], deny = ["billing-test"], static = ["audit"] }
topics = { deny = ["__.*"] }
"#,
            &[],
        );
        assert_eq!(c.retention, Duration::ZERO);
        assert_eq!(c.http.listen.port(), 9000);
        assert_eq!(c.window.points, 30);
        let p = &c.clusters[0];
        assert_eq!(p.poll_interval, Duration::from_secs(90));
        assert_eq!(p.groups_refresh, Duration::from_secs(300));
        // Unquoted scalars in `client` and `labels` become strings.
        assert_eq!(p.client["enable.ssl.certificate.verification"], "false");
        assert_eq!(p.client["fetch.wait.max.ms"], "100");
        assert_eq!(p.labels["tier"], "1");
        assert_eq!(p.groups.static_groups, ["audit"]);
    }

    #[test]
    fn no_file_and_no_env_means_no_clusters() {
        let errors = load_from(None, &[]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].key, "clusters");
        assert!(errors[0].message.contains("at least one cluster"));
    }

    #[test]
    fn listen_address_needs_only_http_listen() {
        let default: SocketAddr = "0.0.0.0:9753".parse().unwrap();
        // A file without clusters (the container image's) still gives its address.
        let file = TempToml::new("[http]\nlisten = \"127.0.0.1:9100\"\n");
        assert_eq!(
            listen_address_from(Some(&file.0), &[]),
            "127.0.0.1:9100".parse::<SocketAddr>().unwrap()
        );
        // The environment wins; other bad keys do not matter.
        let vars = env(&[
            ("WARREN_HTTP__LISTEN", "127.0.0.1:9200"),
            ("WARREN_WINDOW__POINTS", "many"),
        ]);
        assert_eq!(
            listen_address_from(Some(&file.0), &vars),
            "127.0.0.1:9200".parse::<SocketAddr>().unwrap()
        );
        // Unusable: the default.
        let missing = std::env::temp_dir().join("warren-config-unit-no-such-file.toml");
        assert_eq!(listen_address_from(Some(&missing), &[]), default);
        let bad = env(&[("WARREN_HTTP__LISTEN", "nowhere")]);
        assert_eq!(listen_address_from(None, &bad), default);
    }

    #[test]
    fn environment_alone_defines_clusters() {
        let vars = env(&[
            ("WARREN_CLUSTERS__0__NAME", "local"),
            ("WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS", "kafka:9092"),
            ("WARREN_CLUSTERS__0__CLIENT__SASL_PASSWORD", "pw"),
            ("WARREN_CLUSTERS__1__NAME", "dr"),
            ("WARREN_CLUSTERS__1__BOOTSTRAP_SERVERS", "dr-kafka:9092"),
            ("WARREN_CLUSTERS__1__GROUPS__STATIC", "billing,audit"),
        ]);
        let c = load_from(None, &vars).unwrap_or_else(|e| panic!("{e:#?}"));
        assert_eq!(c.clusters.len(), 2);
        assert_eq!(c.clusters[0].name, "local");
        assert_eq!(c.clusters[0].bootstrap_servers, "kafka:9092");
        assert_eq!(c.clusters[0].client["sasl.password"], "pw");
        assert_eq!(c.clusters[1].name, "dr");
        assert_eq!(c.clusters[1].groups.static_groups, ["billing", "audit"]);
        assert_eq!(c.clusters[1].poll_interval, Duration::from_secs(10));
    }

    #[test]
    fn environment_appends_after_the_file_clusters() {
        let c = ok(
            MINIMAL,
            &[
                ("WARREN_CLUSTERS__1__NAME", "extra"),
                ("WARREN_CLUSTERS__1__BOOTSTRAP_SERVERS", "e:9092"),
                ("WARREN_CLUSTERS__PROD__POLL_INTERVAL", "3s"),
            ],
        );
        let names: Vec<&str> = c.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["prod", "extra"]);
        assert_eq!(c.clusters[0].poll_interval, Duration::from_secs(3));
    }

    #[test]
    fn environment_clusters_need_the_next_free_index_and_their_keys() {
        let errors = load_from(None, &env(&[("WARREN_CLUSTERS__1__NAME", "x")])).unwrap_err();
        let e = error_for(&errors, "clusters");
        assert!(e.message.contains("WARREN_CLUSTERS__1__NAME"), "{e}");
        assert!(e.message.contains("next free index, 0"), "{e}");

        let errors = load_from(None, &env(&[("WARREN_CLUSTERS__0__NAME", "x")])).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].key, "clusters[0].bootstrap_servers");

        // Index 1 follows the file's cluster 0 and is added; index 3 skips 2.
        let errors = errs(
            MINIMAL,
            &[
                ("WARREN_CLUSTERS__1__NAME", "one"),
                ("WARREN_CLUSTERS__1__BOOTSTRAP_SERVERS", "k:1"),
                ("WARREN_CLUSTERS__3__NAME", "three"),
            ],
        );
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].key, "clusters");
        let m = &errors[0].message;
        assert!(m.contains("WARREN_CLUSTERS__3__NAME"), "{m}");
        assert!(m.contains("no cluster at index 3"), "{m}");
        assert!(m.contains("next free index, 2"), "{m}");

        // A variable without a key inside the cluster adds nothing (no "missing name").
        let s = load_from(None, &env(&[("WARREN_CLUSTERS__0", "x")])).unwrap_err();
        assert_eq!(s.len(), 2, "{s:#?}");
        assert!(
            s[0].message
                .contains("does not name a key inside a cluster"),
            "{s:#?}"
        );
        assert!(
            s[1].message.contains("at least one cluster is required"),
            "{s:#?}"
        );
    }

    #[test]
    fn missing_file_is_a_config_error() {
        let path = std::env::temp_dir().join("warren-config-unit-does-not-exist.toml");
        let errors = load_from(Some(&path), &[]).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "config");
        assert!(errors[0].message.contains("does not exist"), "{errors:?}");
    }

    #[test]
    fn invalid_toml_names_line_and_column() {
        let errors = errs("[http]\nlisten = \n", &[]);
        assert_eq!(errors[0].key, "config");
        assert!(errors[0].message.contains("line 2"), "{errors:?}");
    }

    #[test]
    fn env_overrides_win_over_the_file() {
        let text = format!(
            "{MINIMAL}\n[[clusters]]\nname = \"Dev-EU.1\"\nbootstrap_servers = \"d:9092\"\n\
             [http]\nlisten = \"0.0.0.0:1\"\n"
        );
        let c = ok(
            &text,
            &[
                ("WARREN_HTTP__LISTEN", "127.0.0.1:1234"),
                ("WARREN_LOG__FILTER", " warren=debug,rdkafka=warn "),
                ("WARREN_WINDOW__POINTS", "20"),
                ("WARREN_RETENTION", "30m"),
                ("WARREN_CLUSTERS__0__POLL_INTERVAL", "3s"),
                ("WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS", "e1:9092,e2:9092"),
                ("WARREN_CLUSTERS__DEV_EU_1__METADATA_REFRESH", "2m"),
                ("WARREN_CLUSTERS__dev_eu_1__REQUEST_TIMEOUT", "1s"),
                ("WARREN_CONFIG", "/ignored.toml"),
                ("HOME", "/root"),
            ],
        );
        assert_eq!(
            c.http.listen,
            "127.0.0.1:1234".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(c.log.filter, "warren=debug,rdkafka=warn");
        assert_eq!(c.window.points, 20);
        assert_eq!(c.retention, Duration::from_secs(1800));
        assert_eq!(c.clusters[0].poll_interval, Duration::from_secs(3));
        assert_eq!(c.clusters[0].bootstrap_servers, "e1:9092,e2:9092");
        assert_eq!(c.clusters[1].metadata_refresh, Duration::from_secs(120));
        assert_eq!(c.clusters[1].request_timeout, Duration::from_secs(1));
        assert_eq!(c.clusters[1].name, "Dev-EU.1");
    }

    #[test]
    fn env_client_keys_use_dots_and_are_verbatim() {
        let c = ok(
            MINIMAL,
            &[
                ("WARREN_CLUSTERS__PROD__CLIENT__SASL_PASSWORD", " s3cret "),
                (
                    "WARREN_CLUSTERS__PROD__CLIENT__SECURITY_PROTOCOL",
                    "SASL_SSL",
                ),
            ],
        );
        let client = &c.clusters[0].client;
        assert_eq!(client["sasl.password"], " s3cret ");
        assert_eq!(client["security.protocol"], "SASL_SSL");
        let shown = c.masked_toml();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("\"sasl.password\" = \"***\""), "{shown}");
        assert!(
            shown.contains("\"security.protocol\" = \"SASL_SSL\""),
            "{shown}"
        );
    }

    #[test]
    fn env_labels_and_lists() {
        let c = ok(
            &cluster_with("groups = { allow = [\"old\"] }"),
            &[
                ("WARREN_CLUSTERS__PROD__LABELS__ENV", "prod"),
                ("WARREN_CLUSTERS__PROD__LABELS__DC", "1"),
                ("WARREN_CLUSTERS__PROD__GROUPS__STATIC", " a, b ,,c "),
                ("WARREN_CLUSTERS__PROD__GROUPS__ALLOW", ""),
                ("WARREN_CLUSTERS__PROD__TOPICS__ALLOW", r#"["x{1,3}", "y"]"#),
                ("WARREN_CLUSTERS__PROD__TOPICS__DENY", "__.*"),
            ],
        );
        let p = &c.clusters[0];
        assert_eq!(p.labels["env"], "prod");
        assert_eq!(p.labels["dc"], "1");
        assert_eq!(p.groups.static_groups, ["a", "b", "c"]);
        assert!(p.groups.allow.is_empty());
        assert_eq!(p.topics.allow, ["x{1,3}", "y"]);
        assert_eq!(p.topics.deny, ["__.*"]);
    }

    #[test]
    fn env_list_bad_toml_array() {
        let errors = errs(
            MINIMAL,
            &[("WARREN_CLUSTERS__0__GROUPS__DENY", "[\"a\", 1]")],
        );
        let e = error_for(&errors, "clusters[0].groups.deny");
        assert!(
            e.message.contains("WARREN_CLUSTERS__0__GROUPS__DENY"),
            "{e}"
        );
    }

    #[test]
    fn env_selector_matching_no_cluster_names_the_variable() {
        for var in [
            "WARREN_CLUSTERS__STAGING__POLL_INTERVAL",
            "WARREN_CLUSTERS__2__POLL_INTERVAL",
        ] {
            let errors = errs(MINIMAL, &[(var, "5s")]);
            let e = error_for(&errors, "clusters");
            assert!(e.message.contains(var), "{e}");
            assert!(e.message.contains("0 (PROD)"), "{e}");
        }
        // The next free index adds a cluster, which then lacks its name.
        let var = "WARREN_CLUSTERS__1__POLL_INTERVAL";
        let errors = errs(MINIMAL, &[(var, "5s")]);
        let e = error_for(&errors, "clusters[1].name");
        assert!(e.message.contains(var), "{e}");
        // Without a key after the selector.
        let errors = errs(MINIMAL, &[("WARREN_CLUSTERS__PROD", "x")]);
        assert!(error_for(&errors, "clusters")
            .message
            .contains("WARREN_CLUSTERS__PROD"));
    }

    #[test]
    fn env_selector_ambiguous() {
        let text = "[[clusters]]\nname = \"a-b\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"a.b\"\nbootstrap_servers = \"k:1\"\n";
        let errors = errs(text, &[("WARREN_CLUSTERS__A_B__POLL_INTERVAL", "5s")]);
        assert!(error_for(&errors, "clusters").message.contains("ambiguous"));
    }

    #[test]
    fn env_values_must_still_parse() {
        let errors = errs(
            MINIMAL,
            &[
                ("WARREN_WINDOW__POINTS", "many"),
                ("WARREN_CLUSTERS__0__POLL_INTERVAL", "soon"),
                ("WARREN_HTTP__LISTEN", "nowhere"),
            ],
        );
        let e = error_for(&errors, "window.points");
        assert!(e.message.contains("\"many\""), "{e}");
        assert!(e.message.contains("WARREN_WINDOW__POINTS"), "{e}");
        let e = error_for(&errors, "clusters[0].poll_interval");
        assert!(e.message.contains("invalid duration \"soon\""), "{e}");
        assert!(
            e.message.contains("WARREN_CLUSTERS__0__POLL_INTERVAL"),
            "{e}"
        );
        let e = error_for(&errors, "http.listen");
        assert!(e.message.contains("\"nowhere\""), "{e}");
        assert_eq!(errors.len(), 3, "{errors:#?}");
    }

    #[test]
    fn stray_env_keys_are_unknown() {
        let errors = errs(MINIMAL, &[("WARREN_FOO", "1"), ("WARREN_HTTP__LISTN", "x")]);
        let e = error_for(&errors, "foo");
        assert!(
            e.message.starts_with("unknown key; expected one of `http`"),
            "{e}"
        );
        assert!(e.message.contains("WARREN_FOO"), "{e}");
        error_for(&errors, "http.listn");
        let errors = errs(MINIMAL, &[("WARREN_HTTP____LISTEN", "x")]);
        assert!(
            errors[0].message.contains("empty key segment"),
            "{errors:?}"
        );
    }

    #[test]
    fn unknown_keys_at_every_level() {
        let text = format!(
            "bogus = 1\n[http]\nlistn = \"x\"\n{}",
            cluster_with("pol_interval = \"5s\"\ngroups = { alow = [] }")
        );
        let errors = errs(&text, &[]);
        assert!(error_for(&errors, "bogus").message.contains("`clusters`"));
        assert!(error_for(&errors, "http.listn")
            .message
            .contains("`listen`"));
        let e = error_for(&errors, "clusters[0].pol_interval");
        assert!(e.message.starts_with("unknown key; expected one of"), "{e}");
        assert!(e.message.contains("`poll_interval`"), "{e}");
        error_for(&errors, "clusters[0].groups.alow");
        assert_eq!(errors.len(), 4, "{errors:#?}");
    }

    #[test]
    fn bad_values_are_all_reported() {
        let text = format!(
            "retention = \"soon\"\n[http]\nlisten = \"nowhere\"\n[window]\npoints = 1\n\
             [log]\nfilter = \"warren=loud\"\n{}",
            cluster_with(
                "poll_interval = \"50ms\"\nmetadata_refresh = \"0s\"\ngroups_refresh = 5\n\
                 request_timeout = \"0s\""
            )
        );
        let errors = errs(&text, &[]);
        assert!(error_for(&errors, "retention")
            .message
            .starts_with("invalid duration \"soon\""));
        assert!(error_for(&errors, "http.listen")
            .message
            .contains("ip:port"));
        assert!(error_for(&errors, "window.points")
            .message
            .contains("between 2 and 100, got 1"));
        assert!(error_for(&errors, "log.filter")
            .message
            .contains("warren=loud"));
        assert!(error_for(&errors, "clusters[0].poll_interval")
            .message
            .contains("at least 100ms, got 50ms"));
        assert!(error_for(&errors, "clusters[0].metadata_refresh")
            .message
            .contains("greater than 0"));
        assert!(error_for(&errors, "clusters[0].groups_refresh")
            .message
            .contains("invalid duration"));
        error_for(&errors, "clusters[0].request_timeout");
        assert_eq!(errors.len(), 8, "{errors:#?}");
    }

    #[test]
    fn points_bounds() {
        for (points, good) in [(1, false), (2, true), (100, true), (101, false)] {
            let text = format!("[window]\npoints = {points}\n{MINIMAL}");
            assert_eq!(load_toml(&text, &[]).is_ok(), good, "points = {points}");
        }
        let errors = errs(MINIMAL, &[("WARREN_WINDOW__POINTS", "-1")]);
        error_for(&errors, "window.points");
    }

    #[test]
    fn cluster_names() {
        let text = "[[clusters]]\nname = \"prod\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"dev\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"prod\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"-x\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"a/b\"\nbootstrap_servers = \"k:1\"\n\
                    [[clusters]]\nname = \"\"\nbootstrap_servers = \"\"\n\
                    [[clusters]]\nbootstrap_servers = \"k:1\"\n";
        let errors = errs(text, &[]);
        let e = error_for(&errors, "clusters[2].name");
        assert!(e.message.contains("duplicate cluster name \"prod\""), "{e}");
        assert!(e.message.contains("clusters[0]"), "{e}");
        error_for(&errors, "clusters[3].name");
        error_for(&errors, "clusters[4].name");
        assert!(error_for(&errors, "clusters[5].name")
            .message
            .contains("empty"));
        error_for(&errors, "clusters[5].bootstrap_servers");
        let missing: Vec<_> = errors
            .iter()
            .filter(|e| e.key == "clusters[6].name")
            .collect();
        assert_eq!(missing.len(), 1, "{errors:#?}");
        assert_eq!(missing[0].message, "required key is missing");
        assert_eq!(errors.len(), 6, "{errors:#?}");
        ok(
            "[[clusters]]\nname = \"Prod-EU.1_a\"\nbootstrap_servers = \"k:1\"\n",
            &[],
        );
    }

    #[test]
    fn clusters_must_be_tables() {
        let errors = errs("clusters = 1\n", &[]);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert_eq!(errors[0].key, "clusters");
        let errors = errs("clusters = [1]\n", &[]);
        assert_eq!(errors[0].key, "clusters[0]");
    }

    #[test]
    fn bad_regexes_in_every_list() {
        let text = cluster_with(
            "groups = { allow = [\"ok\", \"(\"], deny = [\"*\"] }\n\
             topics = { allow = [\"[z\"], deny = [\"x\", \"y\", \"a{2,1}\"] }",
        );
        let errors = errs(&text, &[]);
        let e = error_for(&errors, "clusters[0].groups.allow[1]");
        assert_eq!(e.message, "invalid regex \"(\": unclosed group");
        error_for(&errors, "clusters[0].groups.deny[0]");
        error_for(&errors, "clusters[0].topics.allow[0]");
        error_for(&errors, "clusters[0].topics.deny[2]");
        assert_eq!(errors.len(), 4, "{errors:#?}");
    }

    #[test]
    fn static_groups_not_empty() {
        let errors = errs(&cluster_with("groups = { static = [\"a\", \" \"] }"), &[]);
        error_for(&errors, "clusters[0].groups.static[1]");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn label_rules() {
        let text = cluster_with(
            "labels = { ok_1 = \"\", _x = \"y\", \"1bad\" = \"x\", \"a-b\" = \"x\", \
             __meta = \"x\", cluster = \"x\", le = \"x\" }",
        );
        let errors = errs(&text, &[]);
        error_for(&errors, "clusters[0].labels.1bad");
        error_for(&errors, "clusters[0].labels.a-b");
        assert!(error_for(&errors, "clusters[0].labels.__meta")
            .message
            .contains("`__`"));
        assert!(error_for(&errors, "clusters[0].labels.cluster")
            .message
            .contains("reserved"));
        error_for(&errors, "clusters[0].labels.le");
        assert_eq!(errors.len(), 5, "{errors:#?}");
        let errors = errs(MINIMAL, &[("WARREN_CLUSTERS__PROD__LABELS__TOPIC", "x")]);
        let e = error_for(&errors, "clusters[0].labels.topic");
        assert!(
            e.message.contains("WARREN_CLUSTERS__PROD__LABELS__TOPIC"),
            "{e}"
        );
    }

    #[test]
    fn client_must_not_set_managed_properties() {
        let text = cluster_with("client = { \"bootstrap.servers\" = \"x\", \"group.id\" = \"g\" }");
        let errors = errs(&text, &[]);
        let e = error_for(&errors, "clusters[0].client.\"bootstrap.servers\"");
        assert!(e.message.contains("clusters[0].bootstrap_servers"), "{e}");
        // group.id names the admin client's own (never joined) group: allowed, for ACLs.
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn secret_client_values_never_appear_in_errors() {
        let text = cluster_with("client = { \"sasl.password\" = [\"hunter2\"] }");
        let errors = errs(&text, &[]);
        let e = error_for(&errors, "clusters[0].client.\"sasl.password\"");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let errors = errs(
            MINIMAL,
            &[("WARREN_CLUSTERS__0__CLIENT", "sasl.password=hunter2")],
        );
        let e = error_for(&errors, "clusters[0].client");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn masked_toml_masks_and_round_trips() {
        let text = r#"
retention = "1h 30m"
[[clusters]]
name = "prod"
bootstrap_servers = "SASL_SSL://alice:pw@k1:9092,bob@k2:9092,k3:9092"
client = { "sasl.password" = "p1", "sasl.jaas.config" = "j", "ssl.key.pem" = "k", "sasl.oauthbearer.client.secret" = "s", "ssl.key.location" = "/k", "security.protocol" = "SSL" }
labels = { env = "prod" }
"#;
        let c = ok(text, &[]);
        let shown = c.masked_toml();
        for secret in ["p1", "\"j\"", "\"k\"", "\"s\"", "alice", "pw@", "bob"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("SASL_SSL://***@k1:9092,***@k2:9092,k3:9092"),
            "{shown}"
        );
        assert!(shown.contains("\"ssl.key.location\" = \"/k\""), "{shown}");
        assert!(shown.contains("retention = \"1h 30m\""), "{shown}");
        assert!(shown.contains("poll_interval = \"10s\""), "{shown}");
        assert!(shown.contains("metadata_refresh = \"1m\""), "{shown}");

        // The printed configuration loads back to the same values (secrets aside).
        let again = ok(&shown, &[]);
        assert_eq!(again.retention, c.retention);
        assert_eq!(again.clusters[0].labels, c.clusters[0].labels);
        assert_eq!(again.clusters[0].poll_interval, c.clusters[0].poll_interval);
        assert_eq!(again.http.listen, c.http.listen);
    }

    #[test]
    fn secret_keys() {
        for k in [
            "sasl.password",
            "ssl.key.password",
            "sasl.jaas.config",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.token.endpoint.url",
            "ssl.key.pem",
            "ssl.certificate.pem",
            "ssl_key",
            "SASL.PASSWORD",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["sasl.username", "ssl.key.location", "security.protocol"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn filters() {
        let c = ok(
            &cluster_with(
                "groups = { allow = [\"billing-.*\", \"audit\"], deny = [\"billing-test\"] }\n\
                 topics = { deny = [\"__.*\"] }",
            ),
            &[],
        );
        let g = c.clusters[0].group_filter();
        assert!(g.matches("billing-eu"));
        assert!(g.matches("audit"));
        assert!(!g.matches("audit-2"), "patterns are anchored");
        assert!(!g.matches("billing-test"));
        assert!(!g.matches("other"));
        let t = c.clusters[0].topic_filter();
        assert!(t.matches("orders"));
        assert!(!t.matches("__consumer_offsets"));
        assert!(!NameFilter::none().matches("anything"));
        assert!(NameFilter::all().matches("anything"));

        // A filter that cannot compile (impossible after validation) matches nothing, no panic.
        let mut broken = c.clusters[0].clone();
        broken.groups.allow = vec!["(".into()];
        assert!(!broken.group_filter().matches("billing-eu"));
    }

    #[test]
    fn display_names_the_key() {
        let e = ConfigError::new(
            "clusters[1].poll_interval",
            "must be at least 100ms, got 5ms",
        );
        assert_eq!(
            e.to_string(),
            "config key `clusters[1].poll_interval`: must be at least 100ms, got 5ms"
        );
    }

    #[test]
    fn render_paths() {
        let p = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(render_path("", &p(&["http", "listen"])), "http.listen");
        assert_eq!(
            render_path("clusters[1]", &p(&["groups", "allow", "2"])),
            "clusters[1].groups.allow[2]"
        );
        assert_eq!(
            render_path("clusters[0]", &p(&["client", "sasl.password"])),
            "clusters[0].client.\"sasl.password\""
        );
        assert_eq!(
            render_path("clusters[0]", &p(&["labels", "7"])),
            "clusters[0].labels.7"
        );
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type returns figment::Error
    fn load_reads_the_process_environment() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("w.toml", MINIMAL)?;
            jail.set_env("WARREN_CLUSTERS__PROD__POLL_INTERVAL", "2s");
            jail.set_env("WARREN_CONFIG", "w.toml");
            let c = load(Some(Path::new("w.toml"))).map_err(|e| format!("{e:?}"))?;
            assert_eq!(c.clusters[0].poll_interval, Duration::from_secs(2));
            jail.set_env("WARREN_NOPE", "1");
            let errors = load(Some(Path::new("w.toml"))).unwrap_err();
            assert_eq!(errors[0].key, "nope");
            Ok(())
        });
    }
}
