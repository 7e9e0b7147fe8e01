//! The status page in a real browser: warren watches real consumers on the test broker (the
//! workload of `tests/evaluate.rs`: one group OK, one WARN, one ERR) and groups with hostile
//! names on a topic with an odd name; headless Chromium, driven through chromedriver's
//! WebDriver HTTP API, opens `/` and group pages. Each group's status and lag in the rendered
//! DOM must be those of `/metrics`; the hostile names must show as text with nothing run (no
//! alert, no injected element); the inline style and the refresh script must work under the
//! Content-Security-Policy (the script swaps `<main>` without a reload). Screenshots of both
//! pages go to `target/test-artifacts/`.
//!
//! Also `warren demo`, which prints the page's URL first.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::common::workload::{Workload, TOPIC};
use crate::common::{
    address_in_use, http_get, start_on_free_port, temp_dir, wait_for, Broker, Started, Warren,
};
use crate::tools;

const CLUSTER: &str = "pg";
/// Group names that are markup, or a path step (`..`: its page is not a path segment). Kafka
/// takes any group id.
const HOSTILE_GROUPS: [&str; 3] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "..",
];
/// Kafka allows only `[a-zA-Z0-9._-]` in topic names (the test broker checks as Kafka does):
/// the oddest of them, dots in a row included.
const ODD_TOPIC: &str = "_.-odd..topic.-_";
/// The workload's groups and the group status each reaches.
const WORKLOAD_GROUPS: [(&str, &str); 3] =
    [("keeps-up", "OK"), ("too-slow", "WARN"), ("stops", "ERR")];

/// Chromium under chromedriver, one WebDriver session; both end on drop.
struct Browser {
    port: u16,
    session: String,
    driver: Child,
    _dirs: (TempDir, TempDir),
}

impl Browser {
    fn start() -> Browser {
        let log_dir = temp_dir("chromedriver");
        let (port, driver) = start_on_free_port("chromedriver", |port| {
            let log = log_dir.path().join("chromedriver.log");
            let mut child = Command::new(tools::path(tools::chromedriver))
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver");
            let ready = wait_for(Duration::from_secs(30), "chromedriver /status", || {
                if let Ok(Some(_)) = child.try_wait() {
                    return Some(false);
                }
                let (_, body) = webdriver_request(port, "GET", "/status", "").ok()?;
                let v: Value = serde_json::from_slice(&body).ok()?;
                v["value"]["ready"].as_bool().filter(|&r| r).map(|_| true)
            });
            if ready {
                return Started::Up((port, child));
            }
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(address_in_use(&log), "chromedriver exited:\n{log}");
            Started::PortTaken
        });
        let profile = temp_dir("chromium");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": tools::path(tools::chromium),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1200,800",
                         "--hide-scrollbars", "--force-color-profile=srgb",
                         format!("--user-data-dir={}", profile.path().display())],
            },
        }}});
        let mut browser = Browser {
            port,
            session: String::new(),
            driver,
            _dirs: (log_dir, profile),
        };
        let v = browser.call("POST", "/session", Some(capabilities));
        browser.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        browser
    }

    /// A WebDriver command; its `value` (an error reply fails the test).
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.try_call(method, path, body);
        assert_eq!(status, 200, "WebDriver {method} {path}: {v}");
        v
    }

    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, reply) = webdriver_request(self.port, method, path, &body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let v: Value = serde_json::from_slice(&reply).unwrap_or_else(|e| {
            panic!(
                "WebDriver {method} {path}: {e}: {:?}",
                String::from_utf8_lossy(&reply)
            )
        });
        (status, v["value"].clone())
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn open(&self, url: &str) {
        self.call(
            "POST",
            &self.session_path("/url"),
            Some(json!({"url": url})),
        );
    }

    /// Runs `script` (a function body) in the page; its return value.
    fn run(&self, script: &str) -> Value {
        let body = json!({"script": script, "args": []});
        self.call("POST", &self.session_path("/execute/sync"), Some(body))
    }

    /// The text of an open alert, confirm or prompt, if any.
    fn alert(&self) -> Option<String> {
        let (status, v) = self.try_call("GET", &self.session_path("/alert/text"), None);
        match status {
            200 => Some(v.as_str().unwrap_or_default().to_string()),
            _ => {
                assert_eq!(v["error"], "no such alert", "{v}");
                None
            }
        }
    }

    /// Saves a screenshot of the viewport as `name` under `target/test-artifacts/`.
    fn screenshot(&self, name: &str) -> PathBuf {
        let v = self.call("GET", &self.session_path("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 PNG"))
            .expect("base64");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).expect("artifacts dir");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot: {}", path.display());
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = self.session_path("");
            let _ = webdriver_request(self.port, "DELETE", &path, "");
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// One WebDriver request: status and body. chromedriver keeps the connection open whatever the
/// request says, so the body is read by its `Content-Length`, not to the end of the stream.
fn webdriver_request(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    // Starting a browser session takes a few seconds; a loaded machine is slow, not wrong.
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut r = BufReader::new(s);
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut length = 0;
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().map_err(|_| bad("bad Content-Length"))?;
            }
        }
    }
    let mut reply = vec![0; length];
    r.read_exact(&mut reply)?;
    Ok((status, reply))
}

/// `target/test-artifacts`, next to the binaries under test.
fn artifacts_dir() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_warren"));
    let target = bin.ancestors().nth(2).expect("target dir").to_path_buf();
    target.join("test-artifacts")
}

/// A group name as a Prometheus label value.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn series(name: &str, group: &str, extra: &str) -> String {
    format!(
        "{name}{{cluster=\"{CLUSTER}\",group=\"{}\"{extra}}}",
        label(group)
    )
}

/// Burrow's group status names by code.
fn status_name(code: f64) -> &'static str {
    ["NOTFOUND", "OK", "WARN", "ERR", "STOP", "STALL", "REWIND"][code as usize]
}

/// What `/metrics` says of `group`: status, lag sum, largest lag ("–" where there is no series).
fn from_metrics(m: &BTreeMap<String, f64>, group: &str) -> [String; 3] {
    let value = |name: &str| {
        m.get(&series(name, group, ""))
            .map_or("–".to_string(), |v| format!("{v}"))
    };
    let status = m
        .get(&series("kafka_consumergroup_group_status", group, ""))
        .map_or("absent", |&c| status_name(c));
    [
        status.to_string(),
        value("kafka_consumergroup_group_sum_lag"),
        value("kafka_consumergroup_group_max_lag"),
    ]
}

/// Every group row of the overview: name → (href, [status, lag, max lag]).
fn overview_rows(b: &Browser) -> BTreeMap<String, (String, [String; 3])> {
    let rows = b.run(
        "return Array.from(document.querySelectorAll('tr.group')).map(function (r) {\
           var a = r.querySelector('a.group');\
           return [r.querySelector('td.cluster').textContent, a.textContent, a.getAttribute('href'),\
                   r.querySelector('td.status').textContent, r.querySelector('td.lag').textContent,\
                   r.querySelector('td.max-lag').textContent];\
         });",
    );
    let text = |v: &Value| v.as_str().expect("text").to_string();
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            assert_eq!(r[0], CLUSTER);
            let figures = [text(&r[3]), text(&r[4]), text(&r[5])];
            (text(&r[1]), (text(&r[2]), figures))
        })
        .collect()
}

/// Reads `/metrics`, then `read_page`, then `/metrics` again, until both reads of `/metrics`
/// agree on `keys` (no poll in between): then the page must show `expected` of those metrics.
fn consistent<T: PartialEq + std::fmt::Debug>(
    w: &Warren,
    what: &str,
    keys: impl Fn(&BTreeMap<String, f64>) -> Vec<Option<f64>>,
    mut read_page: impl FnMut() -> T,
    expected: impl Fn(&BTreeMap<String, f64>) -> T,
) {
    let (page, m) = wait_for(Duration::from_secs(60), what, || {
        let before = w.metrics();
        let page = read_page();
        let after = w.metrics();
        (keys(&before) == keys(&after)).then_some((page, after))
    });
    assert_eq!(
        page,
        expected(&m),
        "{what}: the page disagrees with /metrics"
    );
}

/// What the browser must not show on any page: a dialog, an element the hostile names would
/// inject, a script other than the page's own.
fn assert_nothing_ran(b: &Browser, page: &str) {
    assert_eq!(b.alert(), None, "{page}: an alert is open");
    let injected = b.run(
        "return [document.querySelectorAll('img, [onerror], b').length, document.scripts.length];",
    );
    assert_eq!(
        injected,
        json!([0, 1]),
        "{page}: injected elements or scripts"
    );
}

#[test]
fn the_page_shows_what_metrics_say_in_a_real_browser() {
    if !tools::suite(
        "page",
        &[tools::broker, tools::chromium, tools::chromedriver],
    ) {
        return;
    }
    let broker = Broker::start("page");
    let workload = Workload::start(&broker);
    broker.create_topic(ODD_TOPIC, 1);
    broker.produce(ODD_TOPIC, &[10]);
    for (i, group) in HOSTILE_GROUPS.iter().enumerate() {
        broker.commit(group, &[(ODD_TOPIC, 0, 3 + i as i64)]);
    }
    let w = Warren::start(&format!(
        "[[clusters]]\nname = \"{CLUSTER}\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\nmetadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\nrequest_timeout = \"2s\"\nevaluator = {{ allowed_lag = 5 }}\n",
        broker.bootstrap()
    ));
    let status = |m: &BTreeMap<String, f64>, g: &str| {
        m.get(&series("kafka_consumergroup_group_status", g, ""))
            .copied()
    };
    // 3 x window.points polls at 1 s, plus the time the groups take to join and commit.
    wait_for(Duration::from_secs(90), "OK, WARN and ERR groups", || {
        let m = w.metrics();
        let reached = WORKLOAD_GROUPS
            .iter()
            .all(|(g, s)| status(&m, g).map(status_name) == Some(s));
        let hostile = HOSTILE_GROUPS.iter().all(|g| status(&m, g).is_some());
        (reached && hostile).then_some(())
    });

    let browser = Browser::start();
    let base = format!("http://127.0.0.1:{}", w.port);
    browser.open(&format!("{base}/"));
    let mut groups: Vec<String> = w
        .metrics()
        .keys()
        .filter_map(|k| {
            let rest = k.strip_prefix(&format!(
                "kafka_consumergroup_group_status{{cluster=\"{CLUSTER}\",group=\""
            ))?;
            Some(
                rest.strip_suffix("\"}")?
                    .replace("\\\"", "\"")
                    .replace("\\\\", "\\"),
            )
        })
        .collect();
    groups.sort();
    let mut expected_groups: Vec<String> =
        WORKLOAD_GROUPS.iter().map(|(g, _)| g.to_string()).collect();
    expected_groups.extend(HOSTILE_GROUPS.iter().map(|g| g.to_string()));
    expected_groups.sort();
    assert_eq!(groups, expected_groups, "groups in /metrics");
    let figure_keys = |m: &BTreeMap<String, f64>| {
        let names = [
            "kafka_consumergroup_group_status",
            "kafka_consumergroup_group_sum_lag",
            "kafka_consumergroup_group_max_lag",
        ];
        groups
            .iter()
            .flat_map(|g| names.map(|n| m.get(&series(n, g, "")).copied()))
            .collect()
    };
    // The page as loaded (each check reloads it: the figures are those of one snapshot).
    consistent(
        &w,
        "the overview and /metrics at one poll",
        figure_keys,
        || {
            browser.open(&format!("{base}/"));
            overview_rows(&browser)
                .into_iter()
                .map(|(g, (_, figures))| (g, figures))
                .collect::<BTreeMap<_, _>>()
        },
        |m| {
            groups
                .iter()
                .map(|g| (g.clone(), from_metrics(m, g)))
                .collect()
        },
    );
    assert_nothing_ran(&browser, "/");
    // The hostile names are shown as text, exactly.
    let rows = overview_rows(&browser);
    for g in HOSTILE_GROUPS {
        assert!(rows.contains_key(g), "{g} not shown as text: {rows:?}");
    }
    // The inline style applies under the CSP: status badges are white on colour.
    let badge = browser.run(
        "var s = getComputedStyle(document.querySelector('.st-err')); return [s.color, s.backgroundColor];",
    );
    assert_eq!(badge, json!(["rgb(255, 255, 255)", "rgb(198, 40, 40)"]));
    // The refresh script runs under the CSP: it replaces <main>'s content without a reload.
    browser.run(
        "window.notReloaded = true; document.querySelector('main').insertAdjacentHTML('afterbegin', '<i id=\"marker\"></i>');",
    );
    wait_for(
        Duration::from_secs(30),
        "the page to refresh <main>",
        || {
            let v = browser.run("return [window.notReloaded === true, !document.getElementById('marker'), document.querySelectorAll('tr.group').length];");
            (v == json!([true, true, groups.len()])).then_some(())
        },
    );
    assert_nothing_ran(&browser, "/ after a refresh");
    browser.screenshot("page-overview.png");

    // Group pages, through the overview's links.
    for group in [
        "too-slow",
        HOSTILE_GROUPS[0],
        HOSTILE_GROUPS[1],
        HOSTILE_GROUPS[2],
    ] {
        let href = rows[group].0.clone();
        let topic = if group == "too-slow" {
            TOPIC
        } else {
            ODD_TOPIC
        };
        let partition_keys = |m: &BTreeMap<String, f64>| {
            let topic_label = format!(",topic=\"{}\",partition=\"0\"", label(topic));
            vec![
                m.get(&series("kafka_consumergroup_group_status", group, ""))
                    .copied(),
                m.get(&series("kafka_consumergroup_group_sum_lag", group, ""))
                    .copied(),
                m.get(&series(
                    "kafka_consumergroup_group_lag",
                    group,
                    &topic_label,
                ))
                .copied(),
                m.get(&series(
                    "kafka_consumergroup_partition_status",
                    group,
                    &topic_label,
                ))
                .copied(),
                m.get(&series(
                    "kafka_consumergroup_group_offset",
                    group,
                    &topic_label,
                ))
                .copied(),
            ]
        };
        consistent(
            &w,
            &format!("group page {group} and /metrics at one poll"),
            partition_keys,
            || {
                browser.open(&format!("{base}{href}"));
                browser.run(
                    "var t = function (s) { return document.querySelector(s).textContent; };\
                     return [t('.group-name'), t('.topic-name'), t('dd.status'), t('dd.lag'),\
                             t('tr.partition td.status'), t('tr.partition td.committed'), t('tr.partition td.lag'),\
                             document.querySelectorAll('tr.partition').length,\
                             document.querySelectorAll('tr.partition svg.spark').length];",
                )
            },
            |m| {
                let k = partition_keys(m);
                let num = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v}"));
                json!([
                    group,
                    topic,
                    status_name(k[0].unwrap_or(0.0)),
                    num(k[1]),
                    status_name(k[3].unwrap_or(0.0)),
                    num(k[4]),
                    num(k[2]),
                    1,
                    1
                ])
            },
        );
        assert_nothing_ran(&browser, &href);
        if group == "too-slow" {
            browser.screenshot("page-group.png");
        }
    }

    // An unknown group: the 404 page, in the browser too.
    browser.open(&format!(
        "{base}/clusters/{CLUSTER}/groups/%3Cimg%20src%3Dx%3E"
    ));
    let text = browser.run("return document.querySelector('p.error').textContent;");
    assert_eq!(
        text,
        format!("cluster “{CLUSTER}” has no consumer group named “<img src=x>”")
    );
    assert_nothing_ran(&browser, "404");
    drop(workload);
}

#[test]
fn demo_prints_the_page_url_first() {
    /// Kills the demo however the test ends.
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut demo = Kill(
        Command::new(env!("CARGO_BIN_EXE_warren"))
            .args(["demo", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start warren demo"),
    );
    let mut first = String::new();
    // Kept open until the end: the demo prints more, and a closed pipe would make it fail.
    let mut stdout = BufReader::new(demo.0.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("the demo's first line");
    let url = first
        .strip_prefix("warren demo: status page at ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("first line: {first:?}"));
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not the page's URL: {url}"));
    let groups = [
        "billing-fast",
        "analytics-slow",
        "audit-stopped",
        "replay-rewind",
    ];
    wait_for(
        Duration::from_secs(60),
        "the demo groups on the page",
        || {
            let r = http_get(port, "/", &[]).ok()?;
            let page = String::from_utf8(r.body).ok()?;
            let all = groups.iter().all(|g| {
                page.contains(&format!(
                    "<a class=\"group\" href=\"/clusters/demo/groups/{g}\">{g}</a>"
                ))
            });
            (r.status == 200 && all).then_some(())
        },
    );
}
