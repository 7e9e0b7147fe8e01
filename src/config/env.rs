//! Environment overrides: `WARREN_*` variables applied to the parsed TOML before it is
//! deserialized (see the table in the [module docs](super)).

use figment::providers::{Format, Toml};
use figment::value::{Dict, Num, Value};

use super::diagnose::{render_path, Errors};
use super::ConfigError;

/// The environment variable prefix of overrides.
pub(super) const ENV_PREFIX: &str = "WARREN_";

/// Keys (relative to a cluster) whose value is a list of strings; see the [module docs](super) for how
/// they are written in the environment.
const LIST_KEYS: &[&[&str]] = &[
    &["groups", "allow"],
    &["groups", "deny"],
    &["groups", "static"],
    &["topics", "allow"],
    &["topics", "deny"],
];

/// `s` without `prefix`, compared ASCII case-insensitively.
pub(super) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A cluster name as an environment selector sees it: lowercase, `-` and `.` as `_`.
pub(super) fn env_selector_form(name: &str) -> String {
    name.to_ascii_lowercase().replace(['-', '.'], "_")
}

/// Applies the `WARREN_*` variables of `env` to `root`. Returns `(key, variable)` for every key
/// set, to attribute later errors to their variable.
pub(super) fn apply_env(
    root: &mut Dict,
    env: &[(String, String)],
    errors: &mut Errors,
) -> Vec<(String, String)> {
    let mut vars: Vec<(&str, &str, &str)> = env
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), strip_prefix_ci(k, ENV_PREFIX)?, v.as_str())))
        .filter(|(_, rest, _)| {
            // The CLI's own variables: the file's name and `warren healthcheck`'s credentials.
            !rest.eq_ignore_ascii_case("config") && strip_prefix_ci(rest, "HEALTHCHECK_").is_none()
        })
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
pub(super) fn set_path(dict: &mut Dict, path: &[String], value: Value) -> Result<(), String> {
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
pub(super) fn stringify_scalars(cluster: &mut Dict, map_key: &str) {
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
