//! Burrow's v3 API against the real test broker: golden JSON (stable fields exactly,
//! timestamps by type, the host replaced), key order, status codes, error bodies.

mod common;

use std::time::Duration;

use common::{wait_for, Broker, Warren};
use serde_json::{json, Value};

/// Replaces what varies between runs: `timestamp`/`observedAt` (asserted to be whole seconds
/// in ms) and `request.host` (asserted non-empty).
fn normalize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                match k.as_str() {
                    "timestamp" | "observedAt" => {
                        let ms = x
                            .as_u64()
                            .unwrap_or_else(|| panic!("{k} is not an integer: {x}"));
                        assert!(ms > 1_600_000_000_000 && ms % 1000 == 0, "{k} = {ms}");
                        *x = json!("<ms>");
                    }
                    "host" => {
                        assert!(x.as_str().is_some_and(|h| !h.is_empty()));
                        *x = json!("<host>");
                    }
                    _ => normalize(x),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

fn get_json(w: &Warren, path: &str) -> (u16, String, Value) {
    let r = w.get(path, &[]);
    assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
    let text = r.text();
    assert!(
        !text.ends_with('\n'),
        "compact, no trailing newline: {path}"
    );
    let mut v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    normalize(&mut v);
    (r.status, text, v)
}

fn request(path: &str) -> Value {
    json!({"url": path, "host": "<host>"})
}

#[test]
fn burrow_api_golden() {
    let broker = Broker::start("burrow");
    broker.create_topic("orders", 3);
    broker.produce("orders", &[10, 20, 30]);
    // Partition 1 gets no commit: Burrow still lists it (offsets [], complete 0).
    broker.commit("app-a", &[("orders", 0, 4), ("orders", 2, 7)]);
    let w = Warren::start(&format!(
        "[window]\npoints = 3\n\n[[clusters]]\nname = \"main\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\nmetadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\n",
        broker.bootstrap()
    ));
    // Single-point windows: STALL at the first evaluation, STOP from the next second on.
    wait_for(
        Duration::from_secs(30),
        "app-a's partitions in STOP",
        || {
            let (_, _, v) = get_json(&w, "/v3/kafka/main/consumer/app-a/status");
            (v["status"]["partitions"][0]["status"] == "STOP").then_some(())
        },
    );

    let admin = w.get("/burrow/admin", &[]);
    assert_eq!((admin.status, admin.text().as_str()), (200, "GOOD"));
    assert_eq!(
        admin.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let ready = w.get("/burrow/admin/ready", &[]);
    assert_eq!((ready.status, ready.text().as_str()), (200, "READY"));

    let cases: Vec<(&str, u16, Value)> = vec![
        (
            "/v3/kafka",
            200,
            json!({"error": false, "message": "cluster list returned", "clusters": ["main"], "request": request("/v3/kafka")}),
        ),
        (
            "/v3/kafka/main",
            200,
            json!({"error": false, "message": "cluster module detail returned",
                   "module": {"class-name": "kafka", "servers": [broker.bootstrap()],
                              "client-profile": {"name": "default", "client-id": "warren", "kafka-version": "", "tls": null, "sasl": null},
                              "topic-refresh": 1, "offset-refresh": 1},
                   "request": request("/v3/kafka/main")}),
        ),
        (
            "/v3/kafka/main/topic",
            200,
            json!({"error": false, "message": "topic list returned", "topics": ["orders"], "request": request("/v3/kafka/main/topic")}),
        ),
        (
            "/v3/kafka/main/topic/orders",
            200,
            json!({"error": false, "message": "topic offsets returned", "offsets": [10, 20, 30], "request": request("/v3/kafka/main/topic/orders")}),
        ),
        (
            "/v3/kafka/main/topic/orders/consumers",
            200,
            json!({"error": false, "message": "consumers of topic returned", "consumers": ["app-a"], "request": request("/v3/kafka/main/topic/orders/consumers")}),
        ),
        (
            "/v3/kafka/main/topic/nope/consumers",
            200,
            json!({"error": false, "message": "consumers of topic returned", "consumers": [], "request": request("/v3/kafka/main/topic/nope/consumers")}),
        ),
        (
            "/v3/kafka/main/consumer",
            200,
            json!({"error": false, "message": "consumer list returned", "consumers": ["app-a"], "request": request("/v3/kafka/main/consumer")}),
        ),
        (
            "/v3/kafka/main/consumer/app-a",
            200,
            json!({"error": false, "message": "consumer detail returned",
                   "topics": {"orders": [
                       {"offsets": [null, null, {"offset": 4, "timestamp": "<ms>", "observedAt": "<ms>", "lag": 6}], "owner": "", "client_id": "", "current-lag": 6},
                       {"offsets": [], "owner": "", "client_id": "", "current-lag": 0},
                       {"offsets": [null, null, {"offset": 7, "timestamp": "<ms>", "observedAt": "<ms>", "lag": 23}], "owner": "", "client_id": "", "current-lag": 23}]},
                   "request": request("/v3/kafka/main/consumer/app-a")}),
        ),
        (
            "/v3/kafka/main/consumer/app-a/status",
            200,
            json!({"error": false, "message": "consumer status returned",
                   "status": {"cluster": "main", "group": "app-a", "status": "ERR", "complete": 0,
                              "partitions": [p(0, "STOP", 4, 6), p(2, "STOP", 7, 23)],
                              "partition_count": 3, "maxlag": p(2, "STOP", 7, 23), "totallag": 29},
                   "request": request("/v3/kafka/main/consumer/app-a/status")}),
        ),
        (
            "/v3/kafka/main/consumer/app-a/lag",
            200,
            json!({"error": false, "message": "consumer status returned",
                   "status": {"cluster": "main", "group": "app-a", "status": "ERR", "complete": 0,
                              "partitions": [p(0, "STOP", 4, 6),
                                             {"topic": "orders", "partition": 1, "owner": "", "client_id": "", "status": "OK", "start": null, "end": null, "current_lag": 0, "complete": 0},
                                             p(2, "STOP", 7, 23)],
                              "partition_count": 3, "maxlag": p(2, "STOP", 7, 23), "totallag": 29},
                   "request": request("/v3/kafka/main/consumer/app-a/lag")}),
        ),
        // Errors: Burrow's envelope and codes.
        (
            "/v3/kafka/nope/topic",
            404,
            json!({"error": true, "message": "cluster not found", "request": request("/v3/kafka/nope/topic")}),
        ),
        (
            "/v3/kafka/main/topic/nope",
            404,
            json!({"error": true, "message": "cluster or topic not found", "request": request("/v3/kafka/main/topic/nope")}),
        ),
        (
            "/v3/kafka/main/consumer/nope",
            404,
            json!({"error": true, "message": "cluster or consumer not found", "request": request("/v3/kafka/main/consumer/nope")}),
        ),
        (
            "/v3/kafka/nope",
            404,
            json!({"error": true, "message": "cluster module not found", "request": request("/v3/kafka/nope")}),
        ),
        // NOTFOUND: 404 with error:false and the status object.
        (
            "/v3/kafka/main/consumer/nope/status",
            404,
            json!({"error": false, "message": "consumer status returned",
                   "status": {"cluster": "main", "group": "nope", "status": "NOTFOUND", "complete": 1, "partitions": [],
                              "partition_count": 0, "maxlag": null, "totallag": 0},
                   "request": request("/v3/kafka/main/consumer/nope/status")}),
        ),
    ];
    for (path, code, want) in cases {
        let (status, _, got) = get_json(&w, path);
        assert_eq!(status, code, "{path}");
        assert_eq!(got, want, "{path}");
    }

    // Key order is Go struct order, and the mixed spellings are Burrow's.
    let (_, raw, _) = get_json(&w, "/v3/kafka/main/consumer/app-a/status");
    assert!(
        raw.starts_with("{\"error\":false,\"message\":\"consumer status returned\",\"status\":{\"cluster\":\"main\",\"group\":\"app-a\",\"status\":\"ERR\",\"complete\":0,\"partitions\":[{\"topic\":\"orders\",\"partition\":0,\"owner\":\"\",\"client_id\":\"\",\"status\":\"STOP\",\"start\":{\"offset\":4,\"timestamp\":"),
        "{raw}"
    );
    assert!(
        raw.contains(",\"partition_count\":3,\"maxlag\":{")
            && raw.contains("},\"totallag\":29},\"request\":{\"url\":"),
        "{raw}"
    );
    let (_, raw, _) = get_json(&w, "/v3/kafka/main/consumer/app-a");
    assert!(
        raw.contains("\"owner\":\"\",\"client_id\":\"\",\"current-lag\":6}"),
        "{raw}"
    );

    // Unknown paths and wrong methods, as Burrow's router answers them.
    let r = w.get("/v3/nothing/here", &[]);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        "{\"error\":true,\"message\":\"invalid request type\",\"result\":{}}\n"
    );
    let r = raw_request(w.port, "POST /v3/kafka HTTP/1.1");
    assert!(r.starts_with("HTTP/1.1 405"), "{r}");
}

/// A status-object partition that has one window point.
fn p(partition: i32, status: &str, offset: i64, lag: u64) -> Value {
    let point = json!({"offset": offset, "timestamp": "<ms>", "observedAt": "<ms>", "lag": lag});
    json!({"topic": "orders", "partition": partition, "owner": "", "client_id": "", "status": status,
           "start": point, "end": point, "current_lag": lag, "complete": 0.33333334})
}

fn raw_request(port: u16, line: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "{line}\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}
