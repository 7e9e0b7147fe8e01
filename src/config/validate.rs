//! Validation of a deserialized configuration: ranges, names, labels, regexes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::auth::check_auth;
use super::diagnose::{render_path, Errors};
use super::env::env_selector_form;
use super::kafka::{check_bootstrap_servers, check_client_properties};
use super::{ClusterConfig, Config, ConfigError, Filters, HttpConfig, Secret};
use crate::http::web_config::WebConfig;

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

/// The one validation step of every configuration, loaded ([`super::load_from`]) or built in
/// code ([`Config::validate`]): checks `base` (the configuration without its clusters) and
/// `clusters` (each with its index in the source, for error keys), compiles each cluster's
/// filters and copies its `poll_interval` into `evaluator.poll_interval`. Returns the
/// configuration with these clusters if `errors` is still empty.
pub(super) fn validate(
    base: Option<Config>,
    mut clusters: Vec<(usize, ClusterConfig)>,
    errors: &mut Errors,
) -> Option<Config> {
    if let Some(base) = &base {
        validate_base(base, errors);
    }
    validate_clusters(&mut clusters, errors);
    if let Some(base) = &base {
        validate_retention(base.retention, &clusters, errors);
    }
    let web_config = base.as_ref().and_then(|b| load_web_config(&b.http, errors));
    let admin_token = base
        .as_ref()
        .and_then(|b| load_admin_token(&b.http, errors));
    match base {
        Some(mut config) if errors.is_empty() => {
            config.http.web_config = web_config;
            config.http.admin_token_secret = admin_token;
            config.clusters = clusters.into_iter().map(|(_, c)| c).collect();
            Some(config)
        }
        _ => None,
    }
}

impl Config {
    /// Validates a configuration built in code (as the demo does) the way [`super::load`]
    /// validates a loaded one, and makes it ready to use: every cluster's filters compiled, see
    /// [`ClusterConfig::group_filter`]. Unlike loading, no cluster at all is not an error.
    pub fn validate(mut self) -> Result<Config, Vec<ConfigError>> {
        let mut errors = Errors::default();
        let clusters = std::mem::take(&mut self.clusters)
            .into_iter()
            .enumerate()
            .collect();
        validate(Some(self), clusters, &mut errors).ok_or_else(|| errors.finish(&[]))
    }
}

/// Loads `http.web_config_file` (every file it names is read and checked): an error names the
/// key inside the web-config file.
fn load_web_config(http: &HttpConfig, errors: &mut Errors) -> Option<Arc<WebConfig>> {
    let path = http.web_config_file.as_deref()?;
    match WebConfig::load("web config", path) {
        Ok(web) => Some(Arc::new(web)),
        Err(e) => {
            errors.push(ConfigError::new(
                "http.web_config_file",
                format!("{}: {e}", path.display()),
            ));
            None
        }
    }
}

/// Reads `http.admin_token` (its file, when it is a `${file:PATH}` reference) and checks it.
fn load_admin_token(http: &HttpConfig, errors: &mut Errors) -> Option<Secret> {
    let key = "http.admin_token";
    let secret = Secret::new(http.admin_token.as_deref()?)
        .map_err(|e| errors.push(ConfigError::new(key, e)))
        .ok()?;
    if secret.current().trim().len() < 16 {
        errors.push(ConfigError::new(
            key,
            "must be at least 16 characters (it guards DELETE and log-level changes)",
        ));
        return None;
    }
    Some(secret)
}

fn validate_base(config: &Config, errors: &mut Errors) {
    let points = config.window.points;
    if !(2..=100).contains(&points) {
        errors.push(ConfigError::new(
            "window.points",
            format!("must be between 2 and 100, got {points}"),
        ));
    }

    config
        .http
        .limit_errors()
        .into_iter()
        .for_each(|e| errors.push(e));
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

fn validate_clusters(clusters: &mut [(usize, ClusterConfig)], errors: &mut Errors) {
    // By the name as environment selectors see it: `a` and `A` are the same cluster there.
    let mut first_index: BTreeMap<String, (usize, String)> = BTreeMap::new();
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
        } else if let Some((first, first_name)) = first_index.get(&env_selector_form(&c.name)) {
            let message = if *first_name == c.name {
                format!(
                    "duplicate cluster name {:?}, already used by clusters[{first}]; names must \
                     be unique",
                    c.name
                )
            } else {
                format!(
                    "cluster name {:?} clashes with {first_name:?} (clusters[{first}]): names \
                     must differ in more than case and `-`, `.`, `_`, which environment \
                     selectors (WARREN_CLUSTERS__<NAME>__…) do not tell apart",
                    c.name
                )
            };
            errors.push(ConfigError::new(format!("{key}.name"), message));
        } else {
            first_index.insert(env_selector_form(&c.name), (*i, c.name.clone()));
        }
        validate_cluster(&key, c, errors);
    }
}

fn validate_cluster(key: &str, c: &mut ClusterConfig, errors: &mut Errors) {
    // Not a key of its own: the improved rules' unit of patience, in whole seconds.
    c.evaluator.poll_interval = c.poll_interval.as_secs().clamp(1, u32::MAX as u64) as u32;
    if c.bootstrap_servers.trim().is_empty() {
        errors.push(ConfigError::new(
            format!("{key}.bootstrap_servers"),
            "must not be empty; expected host:port[,host:port…]",
        ));
    }
    check_durations(key, c, errors);
    check_bootstrap_servers(key, c, errors);
    check_auth(key, c, errors);
    check_client_properties(key, c, errors);

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
    c.filters = None;
    if regex_ok {
        // Every pattern compiles alone; the set can still exceed the regex size limit.
        match Filters::compile(c, key) {
            Ok(filters) => c.filters = Some(filters),
            Err(list) => list.into_iter().for_each(|e| errors.push(e)),
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

/// The longest `poll_interval`, `metadata_refresh`, `groups_refresh` and
/// `evaluator.min_distance`: far beyond any use, and far from overflowing the timer arithmetic
/// (backoff multiplies the poll interval) and the store's u32 seconds.
const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The most records a poll may read (`time_lag_max_reads`): one assignment of this many
/// partitions is already a large one.
const MAX_RECORD_READS: usize = 100_000;
/// The longest `time_lag_max_read_time`: a poll (and a shutdown) waits for the reads.
const MAX_RECORD_READ_TIME: Duration = Duration::from_secs(60);
/// The shortest `poll_interval` and `request_timeout`.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// librdkafka's limit for an admin request's timeout (beyond it, its `int` milliseconds of
/// metadata requests overflow at about 25 days).
const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);
/// The longest `retention`: the store keeps times as u32 Unix seconds (`store::Secs`, good
/// until 2106), so ten years leaves room.
const MAX_RETENTION: Duration = Duration::from_secs(315_576_000);

/// Every duration of a cluster that reaches a timer or librdkafka, within bounds that work.
fn check_durations(key: &str, c: &ClusterConfig, errors: &mut Errors) {
    let bounded = [
        ("poll_interval", c.poll_interval, MIN_INTERVAL, MAX_INTERVAL),
        (
            "metadata_refresh",
            c.metadata_refresh,
            Duration::ZERO,
            MAX_INTERVAL,
        ),
        (
            "groups_refresh",
            c.groups_refresh,
            Duration::ZERO,
            MAX_INTERVAL,
        ),
        (
            "request_timeout",
            c.request_timeout,
            MIN_INTERVAL,
            MAX_REQUEST_TIMEOUT,
        ),
        (
            "time_lag_max_read_time",
            c.time_lag_max_read_time,
            Duration::ZERO,
            MAX_RECORD_READ_TIME,
        ),
    ];
    if !(1..=MAX_RECORD_READS).contains(&c.time_lag_max_reads) {
        errors.push(ConfigError::new(
            format!("{key}.time_lag_max_reads"),
            format!(
                "must be between 1 and {MAX_RECORD_READS}, got {}",
                c.time_lag_max_reads
            ),
        ));
    }
    let describe_refresh = c
        .groups
        .describe_refresh
        .map(|d| ("groups.describe_refresh", d, Duration::ZERO, MAX_INTERVAL));
    for (name, value, min, max) in bounded.into_iter().chain(describe_refresh) {
        let lower = if min.is_zero() {
            "greater than 0".to_string()
        } else {
            format!("at least {}", show_duration(min))
        };
        if value < min || value.is_zero() || value > max {
            errors.push(ConfigError::new(
                format!("{key}.{name}"),
                format!(
                    "must be {lower} and at most {}, got {}",
                    show_duration(max),
                    show_duration(value)
                ),
            ));
        }
    }
    let min_distance = c.evaluator.min_distance;
    if min_distance > MAX_INTERVAL {
        errors.push(ConfigError::new(
            format!("{key}.evaluator.min_distance"),
            format!(
                "must be at most {}, got {}",
                show_duration(MAX_INTERVAL),
                show_duration(min_distance)
            ),
        ));
    }
}

/// `retention` must outlive a poll: what was seen at one poll is kept until the next one sees it
/// again, so it must be whole seconds (the store counts in seconds), at least twice the longest
/// cluster `poll_interval`, and at most [`MAX_RETENTION`].
fn validate_retention(
    retention: Duration,
    clusters: &[(usize, ClusterConfig)],
    errors: &mut Errors,
) {
    // Poll intervals out of their own bounds are reported on their own.
    // `rev`: of equal intervals, `max_by_key` keeps the last, so the first cluster is named.
    let longest = clusters
        .iter()
        .rev()
        .filter(|(_, c)| c.poll_interval <= MAX_INTERVAL)
        .max_by_key(|(_, c)| c.poll_interval);
    let min = longest.map_or(Duration::from_secs(1), |(_, c)| {
        (2 * c.poll_interval).max(Duration::from_secs(1))
    });
    let whole = retention.subsec_nanos() == 0;
    if whole && retention >= min && retention <= MAX_RETENTION {
        return;
    }
    let floor = match longest {
        Some((i, c)) => format!(
            "at least twice the longest poll_interval (clusters[{i}]: {}), so at least {}",
            show_duration(c.poll_interval),
            show_duration(min)
        ),
        None => format!("at least {}", show_duration(min)),
    };
    errors.push(ConfigError::new(
        "retention",
        format!(
            "must be whole seconds, {floor}, and at most {} (the store counts time in 32-bit \
             seconds), got {}; what disappeared keeps its series for this long, so it must \
             outlast a poll",
            show_duration(MAX_RETENTION),
            show_duration(retention)
        ),
    ));
}

fn show_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}
