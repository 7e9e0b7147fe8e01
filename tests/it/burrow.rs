//! Burrow's v3 API against the real test broker: golden JSON (stable fields exactly,
//! timestamps by type, the host replaced), key order, status codes, error bodies.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{wait_for, Broker, Warren};
use crate::tools;

/// The suite runs when the test broker is there (see `tools::suite`).
fn can_run() -> bool {
    tools::suite("burrow", &[tools::broker])
}

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
    if !can_run() {
        return;
    }
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

const TOKEN: &str = "test-admin-token-0123456789";

#[test]
fn burrow_config_loglevel_delete_auth_and_cors() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("burrow-admin");
    broker.create_topic("t", 1);
    broker.produce("t", &[9]);
    broker.commit("doomed", &[("t", 0, 2)]);
    let w = Warren::start_with_http(
        &format!(
            "retention = \"5m\"\n[[clusters]]\nname = \"c1\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\nmetadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\n",
            broker.bootstrap()
        ),
        &format!("admin_token = \"{TOKEN}\"\naccess_control_allow_origin = \"https://grafana.example\""),
    );
    let listed = || {
        let (_, _, v) = get_json(&w, "/v3/kafka/c1/consumer");
        v["consumers"].as_array().cloned().unwrap_or_default()
    };
    wait_for(Duration::from_secs(30), "the group", || {
        (listed() == [json!("doomed")]).then_some(())
    });

    // CORS on JSON replies.
    let r = w.get("/v3/kafka", &[]);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://grafana.example")
    );

    // Config: Burrow's shapes with warren's values, secrets never echoed.
    let (code, raw, v) = get_json(&w, "/v3/config");
    assert_eq!(code, 200);
    assert!(
        raw.starts_with("{\"error\":false,\"message\":\"main config returned\",\"request\":{"),
        "{raw}"
    );
    assert!(!raw.contains(TOKEN), "the admin token never appears");
    assert_eq!(
        v["general"]["access-control-allow-origin"],
        "https://grafana.example"
    );
    // The address warren is bound to: the harness configures port 0, so the port it got.
    assert_eq!(
        v["httpserver"]["default"]["address"],
        format!("127.0.0.1:{}", w.port)
    );
    let cases: Vec<(&str, u16, Value)> = vec![
        (
            "/v3/config/storage",
            200,
            json!({"error": false, "message": "module list returned", "request": request("/v3/config/storage"), "coordinator": "storage", "modules": ["default"]}),
        ),
        (
            "/v3/config/cluster",
            200,
            json!({"error": false, "message": "module list returned", "request": request("/v3/config/cluster"), "coordinator": "cluster", "modules": ["c1"]}),
        ),
        (
            "/v3/config/notifier",
            200,
            json!({"error": false, "message": "module list returned", "request": request("/v3/config/notifier"), "coordinator": "notifier", "modules": []}),
        ),
        (
            "/v3/config/storage/default",
            200,
            json!({"error": false, "message": "storage module detail returned",
            "module": {"class-name": "inmemory", "intervals": 10, "min-distance": 0, "group-allowlist": "", "expire-group": 300},
            "request": request("/v3/config/storage/default")}),
        ),
        (
            "/v3/config/evaluator/default",
            200,
            json!({"error": false, "message": "evaluator module detail returned",
            "module": {"class-name": "caching", "expire-cache": 0}, "request": request("/v3/config/evaluator/default")}),
        ),
        (
            "/v3/config/consumer/c1",
            200,
            json!({"error": false, "message": "consumer module detail returned",
            "module": {"class-name": "kafka", "cluster": "c1", "servers": [broker.bootstrap()], "group-allowlist": "",
                       "zookeeper-path": "", "zookeeper-timeout": 0,
                       "client-profile": {"name": "default", "client-id": "warren", "kafka-version": "", "tls": null, "sasl": null},
                       "offsets-topic": "", "start-latest": false},
            "request": request("/v3/config/consumer/c1")}),
        ),
        (
            "/v3/config/notifier/x",
            404,
            json!({"error": true, "message": "notifier module not found", "request": request("/v3/config/notifier/x")}),
        ),
        (
            "/v3/config/cluster/nope",
            404,
            json!({"error": true, "message": "cluster module not found", "request": request("/v3/config/cluster/nope")}),
        ),
        (
            "/v3/admin/loglevel",
            200,
            json!({"error": false, "message": "log level returned", "level": "info", "request": request("/v3/admin/loglevel")}),
        ),
    ];
    for (path, code, want) in cases {
        let (status, _, got) = get_json(&w, path);
        assert_eq!((status, got), (code, want), "{path}");
    }

    // Mutations need the bearer token.
    let auth = format!("Bearer {TOKEN}");
    let post = |headers: &[(&str, &str)], body: &str| {
        w.request("POST", "/v3/admin/loglevel", headers, body)
    };
    assert_eq!(post(&[], "{\"level\":\"debug\"}").status, 401);
    assert_eq!(
        post(
            &[("Authorization", "Bearer wrong-token-0123456789")],
            "{\"level\":\"debug\"}"
        )
        .status,
        401
    );
    assert_eq!(post(&[("Authorization", &auth)], "not json").status, 400);
    let r = post(&[("Authorization", &auth)], "{\"level\":\"chatty\"}");
    assert_eq!(
        (
            r.status,
            r.text().contains("\"message\":\"unknown log level\"")
        ),
        (404, true)
    );
    let r = post(&[("Authorization", &auth)], "{\"level\":\"DEBUG\"}");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .text()
        .starts_with("{\"error\":false,\"message\":\"set log level\",\"request\":{"));
    assert_eq!(get_json(&w, "/v3/admin/loglevel").2["level"], "debug");

    let delete = |headers: &[(&str, &str)], path: &str| w.request("DELETE", path, headers, "");
    assert_eq!(delete(&[], "/v3/kafka/c1/consumer/doomed").status, 401);
    assert_eq!(
        delete(
            &[("Authorization", &auth)],
            "/v3/kafka/nope/consumer/doomed"
        )
        .status,
        404
    );
    let r = delete(&[("Authorization", &auth)], "/v3/kafka/c1/consumer/doomed");
    assert_eq!(r.status, 200);
    assert!(r
        .text()
        .starts_with("{\"error\":false,\"message\":\"consumer group removed\""));
    // Forgotten at the next poll, and from /metrics too...
    wait_for(Duration::from_secs(10), "the group to be forgotten", || {
        listed().is_empty().then_some(())
    });
    assert!(!w.metrics().keys().any(|k| k.contains("doomed")));
    // Stays away while its offsets do not change: checked until warren has polled 3 more times.
    let last_poll = || w.metrics()["warren_last_poll_timestamp_seconds{cluster=\"c1\"}"];
    let forgotten_at = last_poll();
    wait_for(Duration::from_secs(30), "3 more polls", || {
        assert!(
            listed().is_empty(),
            "stays away while its offsets do not change"
        );
        (last_poll() >= forgotten_at + 3.0).then_some(())
    });
    // ...until it commits again.
    broker.commit("doomed", &[("t", 0, 5)]);
    wait_for(Duration::from_secs(10), "the group to come back", || {
        (listed() == [json!("doomed")]).then_some(())
    });
}

#[test]
fn mutations_are_off_without_a_token() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("burrow-noadmin");
    let w = Warren::start(&format!(
        "[[clusters]]\nname = \"c\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\n",
        broker.bootstrap()
    ));
    let r = w.request(
        "POST",
        "/v3/admin/loglevel",
        &[("Authorization", "Bearer x")],
        "{\"level\":\"debug\"}",
    );
    assert_eq!(r.status, 403);
    assert!(r
        .text()
        .contains("\"message\":\"admin endpoints are disabled: set http.admin_token\""));
    assert_eq!(
        w.request("DELETE", "/v3/kafka/c/consumer/g", &[], "")
            .status,
        403
    );
    assert_eq!(
        w.get("/v3/kafka", &[])
            .header("access-control-allow-origin"),
        None
    );
}

/// Walks the API the way the Datadog Burrow check (packetloop/datadog-agent-burrow, v3) does and
/// checks it reads the same numbers as `/metrics`.
#[test]
fn a_burrow_client_reads_what_metrics_show() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("burrow-client");
    broker.create_topic("orders", 2);
    broker.create_topic("audit", 1);
    broker.produce("orders", &[12, 8]);
    broker.produce("audit", &[5]);
    broker.commit(
        "svc",
        &[("orders", 0, 10), ("orders", 1, 8), ("audit", 0, 1)],
    );
    let w = Warren::start(&format!(
        "[[clusters]]\nname = \"dd\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\nmetadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\n",
        broker.bootstrap()
    ));
    wait_for(Duration::from_secs(30), "the group", || {
        (w.metrics()
            .get("kafka_consumergroup_group_sum_lag{cluster=\"dd\",group=\"svc\"}")
            == Some(&6.0))
        .then_some(())
    });
    let metrics = w.metrics();
    let metric = |name: &str, labels: &str| {
        metrics
            .get(&format!("{name}{{cluster=\"dd\",{labels}}}"))
            .copied()
    };

    // Service check: GET /burrow/admin answers 2xx.
    assert_eq!(w.get("/burrow/admin", &[]).status, 200);
    let (_, _, clusters) = get_json(&w, "/v3/kafka");
    assert_eq!(clusters["clusters"], json!(["dd"]));
    let mut checked = 0;
    for cluster in clusters["clusters"].as_array().unwrap() {
        let cluster = cluster.as_str().unwrap();
        let (_, _, topics) = get_json(&w, &format!("/v3/kafka/{cluster}/topic"));
        for topic in topics["topics"].as_array().unwrap() {
            let topic = topic.as_str().unwrap();
            let (_, _, detail) = get_json(&w, &format!("/v3/kafka/{cluster}/topic/{topic}"));
            // kafka.topic.offsets{partition = list index}
            for (p, off) in detail["offsets"].as_array().unwrap().iter().enumerate() {
                let want = metric(
                    "kafka_partition_latest_offset",
                    &format!("topic=\"{topic}\",partition=\"{p}\""),
                );
                assert_eq!(off.as_f64(), want, "{topic}/{p}");
                checked += 1;
            }
        }
        let (_, _, consumers) = get_json(&w, &format!("/v3/kafka/{cluster}/consumer"));
        for group in consumers["consumers"].as_array().unwrap() {
            let group = group.as_str().unwrap();
            let (_, _, detail) = get_json(&w, &format!("/v3/kafka/{cluster}/consumer/{group}"));
            // kafka.consumer.offsets: the last non-null window entry per partition.
            for (topic, parts) in detail["topics"].as_object().unwrap() {
                for (p, part) in parts.as_array().unwrap().iter().enumerate() {
                    let last = part["offsets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .rev()
                        .find(|o| !o.is_null());
                    let want = metric(
                        "kafka_consumergroup_group_offset",
                        &format!("group=\"{group}\",topic=\"{topic}\",partition=\"{p}\""),
                    );
                    assert_eq!(
                        last.map(|o| o["offset"].as_f64().unwrap()),
                        want,
                        "{group} {topic}/{p}"
                    );
                    assert_eq!(
                        part["current-lag"].as_f64(),
                        metric(
                            "kafka_consumergroup_group_lag",
                            &format!("group=\"{group}\",topic=\"{topic}\",partition=\"{p}\"")
                        ),
                    );
                    checked += 1;
                }
            }
            let (_, _, lag) = get_json(&w, &format!("/v3/kafka/{cluster}/consumer/{group}/lag"));
            let status = &lag["status"];
            assert_eq!(
                status["totallag"].as_f64(),
                metric(
                    "kafka_consumergroup_group_sum_lag",
                    &format!("group=\"{group}\"")
                )
            );
            assert_eq!(
                status["maxlag"]["current_lag"].as_f64(),
                metric(
                    "kafka_consumergroup_group_max_lag",
                    &format!("group=\"{group}\"")
                )
            );
            let code = metric(
                "kafka_consumergroup_group_status",
                &format!("group=\"{group}\""),
            )
            .unwrap();
            let name = ["NOTFOUND", "OK", "WARN", "ERR"][code as usize];
            assert_eq!(status["status"], name);
            for part in status["partitions"].as_array().unwrap() {
                // kafka.consumer.partition_lag = end.lag (the lag at the newest commit).
                assert!(part["end"]["lag"].is_u64(), "{part}");
                let (t, p) = (
                    part["topic"].as_str().unwrap(),
                    part["partition"].as_i64().unwrap(),
                );
                let code = metric(
                    "kafka_consumergroup_partition_status",
                    &format!("group=\"{group}\",topic=\"{t}\",partition=\"{p}\""),
                )
                .unwrap();
                let name =
                    ["NOTFOUND", "OK", "WARN", "ERR", "STOP", "STALL", "REWIND"][code as usize];
                assert_eq!(part["status"], name);
            }
        }
    }
    assert_eq!(
        checked, 6,
        "3 topic partitions and 3 group partitions compared"
    );
}

#[test]
fn config_replies_keep_burrows_key_order() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("burrow-order");
    let w = Warren::start(&format!(
        "[[clusters]]\nname = \"o\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\n",
        broker.bootstrap()
    ));
    let (_, raw, _) = get_json(&w, "/v3/config");
    let order = [
        "\"general\":{\"pidfile\":\"\",\"stdout-logfile\":\"\",\"access-control-allow-origin\":\"\"}",
        "\"logging\":{\"filename\":\"\",\"max-size\":0,\"max-backups\":0,\"max-age\":0,\"use-local-time\":false,\"use-compression\":false,\"level\":",
        "\"zookeeper\":{\"servers\":[],\"timeout\":0,\"root-path\":\"\"}",
        "\"httpserver\":{\"default\":{\"address\":",
    ];
    for part in order {
        assert!(raw.contains(part), "{part} in {raw}");
    }
    let (_, raw, _) = get_json(&w, "/v3/config/storage/default");
    assert!(raw.contains("\"module\":{\"class-name\":\"inmemory\",\"intervals\":10,\"min-distance\":0,\"group-allowlist\":\"\",\"expire-group\":600}"), "{raw}");
    let (_, raw, _) = get_json(&w, "/v3/config/consumer/o");
    assert!(
        raw.contains("\"module\":{\"class-name\":\"kafka\",\"cluster\":\"o\",\"servers\":["),
        "{raw}"
    );
    assert!(raw.contains("\"client-profile\":{\"name\":\"default\",\"client-id\":\"warren\",\"kafka-version\":\"\",\"tls\":null,\"sasl\":null},\"offsets-topic\":\"\",\"start-latest\":false}"), "{raw}");
}
