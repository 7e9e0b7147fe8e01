//! The Burrow API against its OpenAPI document (`src/http/openapi.json`): schemathesis (a
//! property-based API tester, installed by `.ci/run`) generates requests for every documented
//! operation and checks every reply against the document: no 5xx, documented status codes,
//! content types, headers and JSON schemas, and 405 with `Allow` for undocumented methods. The
//! server is the real binary watching the real test broker, with a topic, produced messages and
//! a committed group, so the documented examples (`main`, `orders`, `app-a`) hit real data.
//!
//! Four runs: every read; the mutations (POST/DELETE) with the admin token, so that they succeed
//! or fail as documented (200, 400, 404); the mutations without it (401); and the mutations on a
//! warren without a token (403).

use std::process::Command;
use std::time::Duration;

use crate::common::{temp_dir, wait_for, Broker, Warren};
use crate::tools;
use serde_json::Value;

/// The document, as the binary serves it at `/v3/openapi.json`.
const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/openapi.json");
const TOKEN: &str = "openapi-test-admin-token-0123456789";
const ORIGIN: &str = "https://dashboard.example";

/// The version `.ci/run` installs (the flags below are its own).
const PINNED: &str = tools::SCHEMATHESIS_VERSION;
/// Test cases per operation and phase; `WARREN_SCHEMATHESIS_EXAMPLES` overrides.
const MAX_EXAMPLES: u32 = 30;
/// A fixed seed keeps CI reproducible; `WARREN_SCHEMATHESIS_SEED` overrides.
const SEED: u64 = 20_240_917;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs schemathesis against `port` with `extra` arguments (filters, headers); panics with its
/// output unless it exits 0.
fn run_schemathesis(what: &str, port: u16, extra: &[&str]) {
    let workdir = temp_dir("schemathesis");
    let bin = tools::path(tools::schemathesis);
    let mut cmd = Command::new(&bin);
    // From an empty directory: no stray schemathesis.toml is picked up, nothing is left behind.
    cmd.current_dir(workdir.path())
        .env("NO_COLOR", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .arg("run")
        .arg(SPEC_PATH)
        .args(["--url", &format!("http://127.0.0.1:{port}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance,unsupported_method,\
             allow_header_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--mode", "all"])
        .args([
            "--max-examples",
            &env_or("WARREN_SCHEMATHESIS_EXAMPLES", MAX_EXAMPLES).to_string(),
        ])
        .args([
            "--seed",
            &env_or("WARREN_SCHEMATHESIS_SEED", SEED).to_string(),
        ])
        // One worker: with two, hypothesis's lambda descriptions parse sources from two
        // threads at once, and CPython 3.11's ast then fails ("AST constructor recursion depth
        // mismatch"), a runtime error in the tool, not a finding.
        .args(["--workers", "1"])
        .args(["--request-timeout", "10"])
        .args(["--generation-database", "none"])
        .arg("--continue-on-failure")
        .arg("--no-color")
        .args(extra);
    println!("==> schemathesis ({what}): {cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    drop(workdir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    match out.status.code() {
        Some(0) => {}
        Some(1) => panic!(
            "schemathesis ({what}) found replies that do not match src/http/openapi.json:\n{text}"
        ),
        _ => panic!(
            "schemathesis ({what}) could not run ({}); these flags are those of schemathesis \
             {PINNED}, which `.ci/run` installs:\n{text}",
            out.status
        ),
    }
}

fn config(broker: &Broker) -> String {
    format!(
        "[window]\npoints = 3\n\n[[clusters]]\nname = \"main\"\nbootstrap_servers = \"{}\"\n\
         poll_interval = \"1s\"\nmetadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\n",
        broker.bootstrap()
    )
}

fn json(w: &Warren, path: &str) -> (u16, Value) {
    let r = w.get(path, &[]);
    let v = serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{path}: {e}"));
    (r.status, v)
}

#[test]
fn burrow_api_matches_openapi_document() {
    if !tools::suite("openapi", &[tools::broker, tools::schemathesis]) {
        return;
    }
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(SPEC_PATH).expect("read openapi.json"))
            .expect("openapi.json is JSON");
    assert_eq!(spec["openapi"], "3.0.3");
    let bin = tools::path(tools::schemathesis);
    let version = Command::new(&bin)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    println!(
        "{} ({PINNED} expected)",
        String::from_utf8_lossy(&version.stdout).trim()
    );

    let broker = Broker::start("openapi");
    broker.create_topic("orders", 3);
    broker.produce("orders", &[10, 20, 30]);
    // Partition 1 has no commit (an `offsets: []` entry and a null-window status partition).
    broker.commit("app-a", &[("orders", 0, 4), ("orders", 2, 7)]);
    let w = Warren::start_with_http(
        &config(&broker),
        &format!("admin_token = \"{TOKEN}\"\naccess_control_allow_origin = \"{ORIGIN}\""),
    );
    wait_for(Duration::from_secs(30), "app-a evaluated", || {
        let (code, v) = json(&w, "/v3/kafka/main/consumer/app-a/status");
        (code == 200 && !v["status"]["partitions"].as_array()?.is_empty()).then_some(())
    });
    // A second commit: two-point windows, fractional `complete`, non-null `maxlag`.
    broker.commit("app-a", &[("orders", 0, 6), ("orders", 2, 9)]);
    wait_for(
        Duration::from_secs(30),
        "app-a's second window point",
        || {
            let (_, v) = json(&w, "/v3/kafka/main/consumer/app-a");
            let points = v["topics"]["orders"][0]["offsets"].as_array()?;
            (points.iter().filter(|p| !p.is_null()).count() == 2).then_some(())
        },
    );

    // The served document is the file.
    let r = w.get("/v3/openapi.json", &[]);
    assert_eq!(r.status, 200, "GET /v3/openapi.json");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let served: Value = serde_json::from_slice(&r.body).expect("served document is JSON");
    assert!(
        served == spec,
        "GET /v3/openapi.json differs from src/http/openapi.json"
    );
    // The CORS header the document describes as optional is there when configured.
    let r = w.get("/v3/kafka", &[]);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));

    // Burrow: the cluster module is the same object under both paths.
    let (_, kafka) = json(&w, "/v3/kafka/main");
    let (_, module) = json(&w, "/v3/config/cluster/main");
    assert_eq!(module["module"], kafka["module"], "/v3/config/cluster/main");
    let (_, consumer) = json(&w, "/v3/config/consumer/main");
    assert_eq!(
        consumer["module"]["client-profile"], kafka["module"]["client-profile"],
        "/v3/config/consumer/main"
    );

    // Reads first, while app-a exists (a DELETE of it would turn its replies into NOTFOUND).
    run_schemathesis("every read", w.port, &["--include-method", "GET"]);
    let bearer = format!("Authorization: Bearer {TOKEN}");
    let mutations = ["--include-method", "POST", "--include-method", "DELETE"];
    run_schemathesis(
        "mutations with the admin token",
        w.port,
        &[&["-H", bearer.as_str()][..], &mutations].concat(),
    );
    run_schemathesis("mutations without the token", w.port, &mutations);
    drop(w);

    let plain = Warren::start(&config(&broker));
    run_schemathesis(
        "mutations with admin disabled",
        plain.port,
        &[&["-H", bearer.as_str()][..], &mutations].concat(),
    );
}
