//! Configuration: a TOML file merged with `WARREN_` environment overrides, then validated into a
//! [`Config`] whose every field is ready to use (durations parsed, group and topic filters
//! compiled).
//!
//! Errors name the offending key; `main` exits with status 2 on any of them.
//!
//! # Sources and precedence
//!
//! Built-in defaults < the TOML file (optional; a file that was named but does not exist is an
//! error with key `config`) < `WARREN_*` environment variables. The file must be a regular
//! file of at most 1 MiB (a FIFO or a device is refused unread). Start with [`load`] (process
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
//! * `WARREN_CONFIG` is not a key: it is the CLI's variable naming the file, and is ignored here;
//!   so are `WARREN_HEALTHCHECK_*`, the credentials of `warren healthcheck`.
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
//!
//! # Secrets in files
//!
//! A cluster's `client` property or `http.admin_token` written `${file:PATH}` (in the file or
//! the environment) is that file's content, read again when the file changes: see
//! `secret_file.rs`. A client is also made again when a file librdkafka reads itself
//! (`*.location`, `sasl.kerberos.keytab`) changes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::snapshot::Granularity;
use figment::providers::{Format, Toml};
use figment::value::{Dict, Value};
use serde::{Deserialize, Serialize};

mod auth;
mod diagnose;
mod env;
mod filter;
mod kafka;
mod mask;
mod secret_file;
mod validate;

pub use crate::evaluate::{EvaluatorConfig, RuleSet};
use crate::http::web_config::WebConfig;
pub use auth::{AuthConfig, AuthKind};
pub use filter::NameFilter;
pub use kafka::{kafka_properties, DEFAULT_ADMIN_GROUP_ID};
pub use mask::is_secret_key;
pub use secret_file::{file_reference, Secret};

use diagnose::{extract, extract_collect, Errors};
use env::{apply_env, stringify_scalars, strip_prefix_ci, ENV_PREFIX};
use filter::Filters;
use validate::validate;

/// The whole, validated configuration: from [`load`] or [`load_from`], or, when built in code,
/// from [`Config::validate`] (which compiles the clusters' filters).
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
    /// `${file:PATH}`: the content of that file, read again when it changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    /// `admin_token`, resolved by validation (its file read); see
    /// [`HttpConfig::current_admin_token`].
    #[serde(skip)]
    pub admin_token_secret: Option<Secret>,
    /// `Access-Control-Allow-Origin` value added to replies (Burrow's option); unset: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_control_allow_origin: Option<String>,
    /// Time a client has to send a request's head, from the connection's start or the first
    /// byte of a later request on it.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A connection that moves no byte either way for this long is closed (an idle keep-alive
    /// connection, a stalled request body, a client that stopped reading its reply).
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Open connections at most; more are closed as soon as they are accepted. Lowered to fit
    /// the process's descriptor limit.
    pub max_connections: usize,
    /// `/metrics` replies in flight at most; more get 503 with `Retry-After`.
    pub max_concurrent_scrapes: usize,
    /// Largest request body, in bytes; larger ones get 413 before anything else is checked.
    pub max_request_body: usize,
    /// A web-config file in the format of Prometheus's exporters (HTTPS, client certificates,
    /// basic auth, response headers); `--web.config.file` wins over it. Unset: plain HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_config_file: Option<PathBuf>,
    /// `/healthz` and `/readyz` answer without basic auth (for probes that cannot send
    /// credentials, like kubelet's); every other route still needs it.
    pub probes_without_auth: bool,
    /// The web-config file, loaded by validation (the one place it is loaded).
    #[serde(skip)]
    pub web_config: Option<Arc<WebConfig>>,
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
    /// Authentication warren does itself (AWS MSK IAM); see `auth.rs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
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
    /// Which consumer-group series `/metrics` writes: per partition (default), per topic or
    /// per group.
    #[serde(default)]
    pub granularity: Granularity,
    /// How lag in seconds is found: interpolated from the head history, or read from the
    /// timestamp of the record at the committed offset.
    #[serde(default)]
    pub time_lag: TimeLag,
    /// With `time_lag = "record"`: records read at most per poll (the largest lags first;
    /// the others are interpolated until a later poll reads them).
    #[serde(default = "default_time_lag_max_reads")]
    pub time_lag_max_reads: usize,
    /// With `time_lag = "record"`: how long a poll may spend reading records.
    #[serde(default = "default_time_lag_max_read_time", with = "humantime_serde")]
    pub time_lag_max_read_time: Duration,
    /// How groups are asked for their committed offsets; unset, `group` where that is cheap
    /// (`crate::kafka::admin::WHOLE_GROUPS_CHEAP`), `partitions` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_requests: Option<OffsetRequests>,
    /// The `groups` and `topics` filters, compiled by validation (the only place they are
    /// compiled; `None` before it). Read them with [`ClusterConfig::group_filter`] and
    /// [`ClusterConfig::topic_filter`].
    #[serde(skip)]
    filters: Option<Filters>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupsConfig {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    /// Group ids watched even when ListConsumerGroups is not allowed or not supported.
    #[serde(rename = "static")]
    pub static_groups: Vec<String>,
    /// Describe watched groups (DescribeConsumerGroups: state, members, owners). Off for
    /// clusters whose ACLs refuse it.
    pub describe: bool,
    /// How often groups are described; unset: every poll.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub describe_refresh: Option<Duration>,
    /// Owner series carry a `member_id` label (it changes whenever a consumer restarts).
    pub member_ids: bool,
}

impl Default for GroupsConfig {
    fn default() -> Self {
        GroupsConfig {
            allow: Vec::new(),
            deny: Vec::new(),
            static_groups: Vec::new(),
            describe: true,
            describe_refresh: None,
            member_ids: false,
        }
    }
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

fn default_time_lag_max_reads() -> usize {
    1000
}

fn default_time_lag_max_read_time() -> Duration {
    Duration::from_secs(2)
}

/// How a cluster's lag in seconds is found (`clusters[].time_lag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeLag {
    /// From the partition's head history (no extra Kafka request): an estimate.
    #[default]
    Interpolate,
    /// From the timestamp of the record at the committed offset, read with a consumer that
    /// never joins a group; interpolated where no record was read.
    Record,
}

/// How a cluster's groups are asked for their committed offsets (`clusters[].offset_requests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OffsetRequests {
    /// One request per group for all its commits (OffsetFetch without partitions), keeping
    /// those of watched partitions: a group starting on a watched topic is seen at the next
    /// poll.
    Group,
    /// Requests listing partitions: every watched partition at each metadata refresh and for
    /// new groups, otherwise those of the topics a group commits to (a group starting on
    /// another topic is seen at the next metadata refresh). For brokers that answer a request
    /// without partitions with nothing (librdkafka's mock cluster), and groups whose whole
    /// answer would be too large for one response.
    Partitions,
}

impl ClusterConfig {
    /// A cluster with the given name and bootstrap servers and every other key at its default,
    /// not yet validated: put it in a [`Config`] and call [`Config::validate`] before use.
    pub fn new(name: impl Into<String>, bootstrap_servers: impl Into<String>) -> Self {
        ClusterConfig {
            name: name.into(),
            bootstrap_servers: bootstrap_servers.into(),
            client: BTreeMap::new(),
            auth: None,
            poll_interval: default_poll_interval(),
            metadata_refresh: default_metadata_refresh(),
            groups_refresh: default_metadata_refresh(),
            request_timeout: default_request_timeout(),
            groups: GroupsConfig::default(),
            topics: FilterConfig::default(),
            labels: BTreeMap::new(),
            evaluator: EvaluatorConfig::default(),
            granularity: Granularity::default(),
            time_lag: TimeLag::default(),
            time_lag_max_reads: default_time_lag_max_reads(),
            time_lag_max_read_time: default_time_lag_max_read_time(),
            offset_requests: None,
            filters: None,
        }
    }
}

impl HttpConfig {
    /// The admin token in force: from its file as it is now when `http.admin_token` is a
    /// `${file:PATH}` reference (a configuration that was not validated gives the text).
    pub fn current_admin_token(&self) -> Option<Arc<str>> {
        match &self.admin_token_secret {
            Some(secret) => Some(secret.current()),
            None => self.admin_token.as_deref().map(Arc::from),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: ([0, 0, 0, 0], 9753).into(),
            admin_token: None,
            admin_token_secret: None,
            access_control_allow_origin: None,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(90),
            max_connections: 1024,
            max_concurrent_scrapes: 8,
            max_request_body: 64 * 1024,
            web_config_file: None,
            probes_without_auth: false,
            web_config: None,
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

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/// Loads the configuration from `file` (if any) and the process environment (`WARREN_*`).
///
/// `file` is the `--config` path (the CLI also reads it from `WARREN_CONFIG`); `None` means
/// defaults plus environment only. Returns every error found, each naming its key.
pub fn load(file: Option<&Path>) -> Result<Config, Vec<ConfigError>> {
    load_overriding(file, &process_env(), None)
}

/// As [`load`], with `web_config_file` (the `--web.config.file` flag) in place of
/// `http.web_config_file` when given.
pub fn load_with_web_config(
    file: Option<&Path>,
    web_config_file: Option<&Path>,
) -> Result<Config, Vec<ConfigError>> {
    load_overriding(file, &process_env(), web_config_file)
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
    probe_settings(file).listen
}

/// The `[http]` table as `file` and the process environment give it, read as leniently as
/// [`listen_address`] (the defaults where unusable), without loading the web-config file.
pub fn probe_settings(file: Option<&Path>) -> HttpConfig {
    probe_settings_from(file, &process_env())
}

#[cfg(test)]
fn listen_address_from(file: Option<&Path>, env: &[(String, String)]) -> SocketAddr {
    probe_settings_from(file, env).listen
}

fn probe_settings_from(file: Option<&Path>, env: &[(String, String)]) -> HttpConfig {
    let mut errors = Errors::default();
    let mut root = file.and_then(|p| read_file(p).ok()).unwrap_or_default();
    apply_env(&mut root, env, &mut errors);
    root.get("http")
        .and_then(|http| extract::<HttpConfig>(http.as_dict()?.clone()).ok())
        .unwrap_or_default()
}

/// As [`load`], with the environment given explicitly as `(name, value)` pairs (variables not
/// starting with `WARREN_` are ignored). Order: defaults < TOML file < environment.
pub fn load_from(
    file: Option<&Path>,
    env: &[(String, String)],
) -> Result<Config, Vec<ConfigError>> {
    load_overriding(file, env, None)
}

fn load_overriding(
    file: Option<&Path>,
    env: &[(String, String)],
    web_config_file: Option<&Path>,
) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Errors::default();
    let mut root = match file {
        Some(path) => read_file(path).map_err(|e| vec![e])?,
        None => Dict::new(),
    };
    let origins = apply_env(&mut root, env, &mut errors);

    let raw_clusters = root.remove("clusters");
    let mut base = extract_collect::<Config>(&root, "", &mut errors);
    if let (Some(base), Some(path)) = (base.as_mut(), web_config_file) {
        base.http.web_config_file = Some(path.to_path_buf());
    }
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

    let validated = validate(base, clusters, &mut errors);
    if !clusters_given {
        errors.push(ConfigError::new(
            "clusters",
            "at least one cluster is required; add a [[clusters]] section with `name` and \
             `bootstrap_servers`, or set WARREN_CLUSTERS__0__NAME and \
             WARREN_CLUSTERS__0__BOOTSTRAP_SERVERS",
        ));
    }
    match validated {
        Some(config) if errors.is_empty() => Ok(config),
        _ => Err(errors.finish(&origins)),
    }
}

/// The most of a configuration file that is read: far more than any real configuration needs,
/// and a bound on memory when the path names something endless (`/dev/zero`).
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads and parses the TOML file into a dictionary.
fn read_file(path: &Path) -> Result<Dict, ConfigError> {
    let text = read_text(path)?;
    Toml::from_str::<Dict>(&text).map_err(|e| {
        let shown = path.display();
        let Some(span) = e.span() else {
            let message = format!("{shown} is not valid TOML: {}", e.message().trim());
            return ConfigError::new("config", message);
        };
        let before = text.get(..span.start).unwrap_or(&text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let message = format!(
            "{shown} is not valid TOML (line {line}, column {column}): {}",
            e.message().trim()
        );
        // A value the parser rejects (an integer out of range) has a key; a syntax error not.
        let key = diagnose::key_at(&text, span).unwrap_or_else(|| "config".to_string());
        ConfigError::new(key, message)
    })
}

/// The text of the configuration file: a regular file of at most [`MAX_FILE_BYTES`]. Anything
/// else is refused before it is read (a FIFO without a writer would block the open forever, a
/// device could be read until memory runs out).
fn read_text(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;

    let shown = path.display();
    let cannot_read = |e: std::io::Error| {
        let message = if e.kind() == std::io::ErrorKind::NotFound {
            format!("file {shown} does not exist; expected the path of a TOML file")
        } else {
            format!("cannot read {shown}: {e}")
        };
        ConfigError::new("config", message)
    };
    let check = |meta: &std::fs::Metadata| {
        if !meta.is_file() {
            return Err(ConfigError::new(
                "config",
                format!(
                    "{shown} is {}, not a regular file; expected the path of a TOML file",
                    file_kind(meta)
                ),
            ));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(too_large(path, Some(meta.len())));
        }
        Ok(())
    };
    // Checked before opening: opening a FIFO for reading blocks until a writer appears.
    check(&std::fs::metadata(path).map_err(cannot_read)?)?;
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    // Checked again on what was opened, in case the path changed in between.
    check(&file.metadata().map_err(cannot_read)?)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        // It grew after the check.
        return Err(too_large(path, None));
    }
    String::from_utf8(bytes).map_err(|e| {
        ConfigError::new(
            "config",
            format!(
                "{shown} is not UTF-8 text (invalid byte at offset {}); expected a TOML file",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn too_large(path: &Path, size: Option<u64>) -> ConfigError {
    let size = size.map_or_else(|| "larger".to_string(), |n| format!("{n} bytes"));
    ConfigError::new(
        "config",
        format!(
            "{} is {size}; a configuration file may be at most 1 MiB ({MAX_FILE_BYTES} bytes)",
            path.display()
        ),
    )
}

/// What a non-regular file is, for the error naming it.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests;
