//! Burrow's configuration endpoints, `/v3/config…`: Burrow's shapes filled with warren's values,
//! never a secret.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

use super::clusters::{client_profile, servers, ClusterModule, Module};
use super::reply::{Reply, RequestInfo};
use crate::http::AppState;

#[derive(Serialize)]
struct MainConfig {
    general: Value,
    logging: Value,
    zookeeper: Value,
    httpserver: Value,
}

pub async fn main(State(state): State<Arc<AppState>>, request: RequestInfo) -> Response {
    let http = &state.config.http;
    let body = MainConfig {
        general: json!({
            "pidfile": "",
            "stdout-logfile": "",
            "access-control-allow-origin": http.access_control_allow_origin.clone().unwrap_or_default(),
        }),
        logging: json!({
            "filename": "", "max-size": 0, "max-backups": 0, "max-age": 0,
            "use-local-time": false, "use-compression": false, "level": crate::logging::level(),
        }),
        zookeeper: json!({"servers": [], "timeout": 0, "root-path": ""}),
        httpserver: json!({"default": {"address": state.listen.to_string(), "tls": "", "timeout": 0}}),
    };
    Reply::ok(request, "main config returned", body)
        .request_first()
        .into_response()
}

/// `groups.allow` as Burrow's single `group-allowlist` regex. Both match a pattern anywhere in
/// the name, so one pattern is shown as it is and several as `(?:a)|(?:b)`: the groups keep an
/// inline flag (`(?i)`) of one pattern from reaching the next.
fn allowlist(patterns: &[String]) -> String {
    match patterns {
        [one] => one.clone(),
        many => many
            .iter()
            .map(|p| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|"),
    }
}

/// Burrow's module kinds.
const KINDS: [&str; 5] = ["storage", "evaluator", "cluster", "consumer", "notifier"];

/// Module names per kind: one storage and one evaluator (`default`), a cluster and a consumer
/// module per configured cluster, no notifiers.
fn module_names(state: &AppState, kind: &str) -> Vec<String> {
    match kind {
        "storage" | "evaluator" => vec!["default".to_string()],
        "cluster" | "consumer" => state
            .config
            .clusters
            .iter()
            .map(|c| c.name.clone())
            .collect(),
        _ => Vec::new(),
    }
}

#[derive(Serialize)]
struct ModuleList<'a> {
    coordinator: &'a str,
    modules: Vec<String>,
}

pub async fn modules(
    State(state): State<Arc<AppState>>,
    Path(kind): Path<String>,
    request: RequestInfo,
) -> Response {
    // Burrow routes only its five kinds: any other is no route at all.
    let Some(kind) = KINDS.iter().find(|k| **k == kind) else {
        return super::not_found();
    };
    let list = ModuleList {
        coordinator: kind,
        modules: module_names(&state, kind),
    };
    Reply::ok(request, "module list returned", list)
        .request_first()
        .into_response()
}

pub async fn module(
    State(state): State<Arc<AppState>>,
    Path((kind, name)): Path<(String, String)>,
    request: RequestInfo,
) -> Response {
    let Some(kind) = KINDS.iter().find(|k| **k == kind) else {
        return super::not_found();
    };
    let missing = format!("{kind} module not found");
    if !module_names(&state, kind).contains(&name) {
        return Reply::not_found(request, &missing).into_response();
    }
    let config = &state.config;
    let cluster = config.clusters.iter().find(|c| c.name == name);
    let module = match (*kind, cluster) {
        ("storage", _) => json!({
            "class-name": "inmemory",
            "intervals": config.window.points,
            "min-distance": config.clusters.first().map_or(0, |c| c.evaluator.min_distance.as_secs()),
            "group-allowlist": "",
            "expire-group": config.retention.as_secs(),
        }),
        ("evaluator", _) => json!({"class-name": "caching", "expire-cache": 0}),
        ("cluster", Some(c)) => match serde_json::to_value(ClusterModule::new(c)) {
            Ok(v) => v,
            Err(_) => return Reply::not_found(request, &missing).into_response(),
        },
        ("consumer", Some(c)) => json!({
            "class-name": "kafka",
            "cluster": c.name,
            "servers": servers(&c.bootstrap_servers),
            "group-allowlist": allowlist(&c.groups.allow),
            "zookeeper-path": "",
            "zookeeper-timeout": 0,
            "client-profile": client_profile(),
            "offsets-topic": "",
            "start-latest": false,
        }),
        _ => return Reply::not_found(request, &missing).into_response(),
    };
    let message = format!("{kind} module detail returned");
    Reply::ok(request, &message, Module { module }).into_response()
}

#[cfg(test)]
mod tests {
    use super::allowlist;

    #[test]
    fn allowlist_matches_what_the_filter_matches() {
        let list = |l: &[&str]| l.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        assert_eq!(allowlist(&[]), "");
        assert_eq!(allowlist(&list(&["^orders$"])), "^orders$");
        let joined = allowlist(&list(&["^orders$", "(?i)pay", "dlq"]));
        assert_eq!(joined, "(?:^orders$)|(?:(?i)pay)|(?:dlq)");
        let re = regex::Regex::new(&joined).unwrap();
        for (name, watched) in [
            ("orders", true),
            ("my-orders", false),
            ("PAYMENTS", true),
            ("x-dlq", true),
            ("DLQ", false),
        ] {
            assert_eq!(re.is_match(name), watched, "{name}");
        }
    }
}
