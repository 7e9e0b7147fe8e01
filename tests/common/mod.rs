//! Test harness: the real test broker (nisshi, see README "Tests"), the real warren binary, and
//! a tiny HTTP/1.1 client. Everything binds 127.0.0.1 on free ports, so tests run in parallel.
#![allow(dead_code)]

pub mod workload;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "warren-test-{tag}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Polls `f` until it returns `Some`, or panics with `what` after `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The nisshi broker binary: `$WARREN_TEST_BROKER`, else the `.ci/run` cache.
fn broker_binary() -> PathBuf {
    if let Ok(p) = std::env::var("WARREN_TEST_BROKER") {
        return PathBuf::from(p);
    }
    let root = std::env::var("WARREN_TEST_BROKER_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/warren/test-broker")
        });
    let bin = root.join("bin/nisshi");
    assert!(
        bin.exists(),
        "test broker not found at {}: run `bash .ci/run` (it installs nisshi 0.8.1) or set WARREN_TEST_BROKER",
        bin.display()
    );
    bin
}

/// A real nisshi broker on 127.0.0.1, killed on drop.
pub struct Broker {
    pub port: u16,
    cluster_id: String,
    dir: PathBuf,
    child: Option<Child>,
}

impl Broker {
    pub fn start(cluster_id: &str) -> Broker {
        let mut b = Broker {
            port: free_port(),
            cluster_id: cluster_id.to_string(),
            dir: temp_dir("broker"),
            child: None,
        };
        b.spawn();
        b
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::File::create(self.dir.join("broker.log")).expect("broker log");
        let child = Command::new(broker_binary())
            .current_dir(&self.dir)
            .args(["broker", "--cluster-id", &self.cluster_id])
            .args(["--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://nisshi/"])
            .args(["--group-initial-rebalance-delay", "0s"])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start nisshi");
        self.child = Some(child);
        let port = self.port;
        wait_for(Duration::from_secs(20), "the broker port", || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
    }

    /// SIGKILL: instant, and the port can be reused at once.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port (the memory engine starts empty).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", self.bootstrap());
        c.set("log_level", "3");
        c
    }

    pub fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> =
            self.client_config().create().expect("admin client");
        let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let res = rt
            .block_on(admin.create_topics([&topic], &opts))
            .expect("create_topics");
        for r in res {
            r.expect("topic created");
        }
    }

    /// Produces `counts[p]` messages to partition `p`, one record per request (exact offsets).
    pub fn produce(&self, topic: &str, counts: &[usize]) {
        let producer: ThreadedProducer<DefaultProducerContext> = self
            .client_config()
            .set("linger.ms", "0")
            .set("batch.num.messages", "1")
            .set("acks", "all")
            .create()
            .expect("producer");
        for (p, &n) in counts.iter().enumerate() {
            for i in 0..n {
                let payload = format!("m{i}");
                let mut record = BaseRecord::<(), str>::to(topic)
                    .partition(p as i32)
                    .payload(&payload);
                loop {
                    match producer.send(record) {
                        Ok(()) => break,
                        Err((_, r)) => {
                            record = r;
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
            }
        }
        producer.flush(Duration::from_secs(30)).expect("flush");
    }

    /// Commits `offsets` (topic, partition, offset) for `group` without joining it.
    pub fn commit(&self, group: &str, offsets: &[(&str, i32, i64)]) {
        let consumer: BaseConsumer = self
            .client_config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for &(t, p, o) in offsets {
            tpl.add_partition_offset(t, p, Offset::Offset(o))
                .expect("tpl");
        }
        consumer.commit(&tpl, CommitMode::Sync).expect("commit");
    }

    pub fn delete_group(&self, group: &str) {
        let admin: AdminClient<DefaultClientContext> =
            self.client_config().create().expect("admin client");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let res = rt
            .block_on(admin.delete_groups(&[group], &AdminOptions::new()))
            .expect("delete_groups");
        for r in res {
            r.expect("group deleted");
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The real warren binary with a config file, killed on drop.
pub struct Warren {
    pub port: u16,
    child: Child,
    dir: PathBuf,
}

impl Warren {
    /// Starts `warren run` with `config` (TOML, without the `[http]` table) and waits until
    /// `/readyz` answers 200.
    pub fn start(config: &str) -> Warren {
        Warren::start_with_http(config, "")
    }

    /// As [`Warren::start`], with extra keys for the `[http]` table.
    pub fn start_with_http(config: &str, http: &str) -> Warren {
        let port = free_port();
        let dir = temp_dir("warren");
        let path = dir.join("warren.toml");
        // The table goes last so that top-level keys in `config` stay top-level.
        let full = format!("{config}\n[http]\nlisten = \"127.0.0.1:{port}\"\n{http}\n");
        std::fs::write(&path, full).expect("config file");
        let log = std::fs::File::create(dir.join("warren.log")).expect("log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warren"));
        for (k, _) in std::env::vars() {
            if k.starts_with("WARREN_") {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .args(["run", "--config"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start warren");
        let mut w = Warren { port, child, dir };
        wait_for(Duration::from_secs(30), "warren /readyz", || {
            if let Ok(Some(status)) = w.child.try_wait() {
                panic!("warren exited with {status}:\n{}", w.log());
            }
            (w.try_get("/readyz", &[]).ok()?.status == 200).then_some(())
        });
        w
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("warren.log")).unwrap_or_default()
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        self.try_get(path, headers)
            .unwrap_or_else(|e| panic!("GET {path}: {e}\nwarren log:\n{}", self.log()))
    }

    pub fn try_get(&self, path: &str, headers: &[(&str, &str)]) -> std::io::Result<HttpResponse> {
        http_get(self.port, path, headers)
    }

    /// Any method, with a body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpResponse {
        http_request(self.port, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\nwarren log:\n{}", self.log()))
    }

    /// `/metrics` (text format) as a map from series (name and labels as written) to value.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        parse_metrics(&self.get("/metrics", &[]).text())
    }
}

impl Drop for Warren {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Series lines of an exposition, keyed by everything before the value.
pub fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8 body")
    }
}

/// A minimal HTTP/1.1 GET (Connection: close), decoding chunked bodies.
pub fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> std::io::Result<HttpResponse> {
    http_request(port, "GET", path, headers, "")
}

/// A minimal HTTP/1.1 request (Connection: close), decoding chunked bodies.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<HttpResponse> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..eol])
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim(),
                16,
            )
            .map_err(|_| bad("bad chunk size"))?;
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}
