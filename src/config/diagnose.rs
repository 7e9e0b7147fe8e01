//! Turning figment/serde errors into [`ConfigError`]s that name the offending key, collecting
//! as many as possible in one load.

use figment::error::{Actual, Kind};
use figment::providers::Serialized;
use figment::value::{Dict, Value};
use figment::Figment;
use serde::de::DeserializeOwned;

use super::env::set_path;
use super::{is_secret_key, ConfigError};

/// Errors collected so far, without duplicates.
#[derive(Default)]
pub(super) struct Errors {
    list: Vec<ConfigError>,
    /// Keys that already have a parse error: validation does not report them again (they may
    /// hold a placeholder).
    parsed_bad: std::collections::BTreeSet<String>,
}

impl Errors {
    pub(super) fn push(&mut self, e: ConfigError) {
        if !self.list.contains(&e) && !self.parsed_bad.contains(&e.key) {
            self.list.push(e);
        }
    }

    pub(super) fn push_parse(&mut self, e: ConfigError) {
        self.parsed_bad.insert(e.key.clone());
        if !self.list.contains(&e) {
            self.list.push(e);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds "(from environment variable X)" to errors about keys an environment variable set.
    pub(super) fn finish(self, origins: &[(String, String)]) -> Vec<ConfigError> {
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

/// Renders a key path: `clusters[0].client."sasl.password"`. Numeric parts are list indexes,
/// except inside the `labels` and `client` maps, whose keys are quoted when not bare.
pub(super) fn render_path(base: &str, path: &[String]) -> String {
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
pub(super) fn extract<T: DeserializeOwned>(dict: Dict) -> Result<T, Vec<figment::Error>> {
    Figment::from(Serialized::defaults(dict))
        .extract_lossy()
        .map_err(|e: figment::Error| e.into_iter().collect())
}

/// Deserializes `T` from `dict`, reporting as many errors as possible: serde stops at the first
/// error, so on failure every key is also tried alone (recursively into tables), the keys with
/// errors are dropped (their defaults apply) and missing required keys are filled with `""`, and
/// the rest is deserialized again. That partial value is returned so that it can still be
/// validated (the errors already pushed make the load fail anyway); `None` if even that failed.
pub(super) fn extract_collect<T: DeserializeOwned>(
    dict: &Dict,
    base: &str,
    errors: &mut Errors,
) -> Option<T> {
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

/// The key whose value sits at `span` of `text`, a TOML document the parser rejected there
/// (`points = 99999999999999999999` does not fit an integer): the value is replaced by `0`, the
/// document parsed again with positions, and the key of the value at that place rendered as
/// [`render_path`] does. `None` when the document still does not parse (a syntax error) or no
/// value is there.
pub(super) fn key_at(text: &str, span: std::ops::Range<usize>) -> Option<String> {
    // The parser's span may mark only the value's first character: take the whole bare token.
    let rest = text.get(span.start..)?;
    let token = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}' | '#'))
        .unwrap_or(rest.len())
        .max(span.len());
    let patched = format!(
        "{}0{}",
        &text[..span.start],
        text.get(span.start + token..)?
    );
    let root: Node = toml::from_str(&patched).ok()?;
    let path = root.path_to(span.start)?;
    Some(render_path("", &path))
}

/// A parsed TOML document that keeps only its structure and where each value is.
enum Node {
    Table(Vec<(String, toml::Spanned<Node>)>),
    Array(Vec<toml::Spanned<Node>>),
    Scalar,
}

impl Node {
    /// The keys (array indexes as numbers) down to the scalar value that contains `at`.
    fn path_to(&self, at: usize) -> Option<Vec<String>> {
        let children: Vec<(String, &toml::Spanned<Node>)> = match self {
            Node::Table(entries) => entries.iter().map(|(k, v)| (k.clone(), v)).collect(),
            Node::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            Node::Scalar => return None,
        };
        // A table's span need not cover its keys (`[window]` then `points = …`): search all.
        children.into_iter().find_map(|(key, child)| {
            let mut path = match child.get_ref() {
                Node::Scalar => child.span().contains(&at).then(Vec::new)?,
                inner => inner.path_to(at)?,
            };
            path.insert(0, key);
            Some(path)
        })
    }
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> serde::de::Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a TOML value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Table(entries))
    }
}
