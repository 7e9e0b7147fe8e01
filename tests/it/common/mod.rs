//! Test harness: the real test broker (nisshi, see README "Tests"), the real warren binary, and
//! a tiny HTTP/1.1 client. Everything binds 127.0.0.1, so tests run in parallel: warren binds
//! port 0 and reports the port it got (`--address-file`); the broker cannot, so it gets a free
//! port and is started again on another one when that port was taken in the meantime.
#![allow(dead_code)]

pub mod pki;
pub mod workload;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tempfile::TempDir;

use crate::tools;

/// How often [`wait_for`] checks its condition.
pub const POLL: Duration = Duration::from_millis(200);

/// A free TCP port on 127.0.0.1 (bound then released: another process may take it before it is
/// used, so whatever binds it must be started again on another port when it fails with "address
/// in use"; see [`start_on_free_port`]).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Whether a log says that a listener could not bind because its address was taken.
pub fn address_in_use(log: &str) -> bool {
    let log = log.to_ascii_lowercase();
    log.contains("already in use") || log.contains("addrinuse")
}

/// The outcome of one attempt to start a server on a port.
pub enum Started<T> {
    Up(T),
    /// The port was taken between [`free_port`] and the server's bind: try another.
    PortTaken,
}

/// Starts a server on a free port with `start`, again on a fresh port each time the port turns
/// out to be taken (up to 10 times): a port race cannot fail a test.
pub fn start_on_free_port<T>(what: &str, mut start: impl FnMut(u16) -> Started<T>) -> T {
    for _ in 0..10 {
        if let Started::Up(t) = start(free_port()) {
            return t;
        }
    }
    panic!("{what}: the free port was taken 10 times in a row")
}

/// A scratch directory under the system temp dir, removed on drop.
pub fn temp_dir(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("warren-test-{tag}-"))
        .tempdir()
        .expect("temp dir")
}

/// Polls `f` every [`POLL`] until it returns `Some`, or panics with `what` after `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(POLL);
    }
}

/// Waits until `child` has written its bound address to `path` (see `warren --address-file`),
/// panicking with `log()` if it exits first.
pub fn wait_address_file(
    child: &mut Child,
    path: &Path,
    what: &str,
    log: impl Fn() -> String,
) -> SocketAddr {
    wait_for(
        Duration::from_secs(60),
        &format!("{what} to write {}", path.display()),
        || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{what} exited with {status}:\n{}", log());
            }
            let text = std::fs::read_to_string(path).ok()?;
            Some(
                text.trim_end()
                    .parse()
                    .unwrap_or_else(|e| panic!("{}: {e}: {text:?}", path.display())),
            )
        },
    )
}

/// Creates a topic on the broker at `bootstrap`, with topic-level `configs`.
pub fn create_topic_on(bootstrap: &str, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", bootstrap)
        .set("log_level", "3");
    create_topic_with_client(&client, name, partitions, configs);
}

/// Creates a topic through a client made from `client`, with topic-level `configs`.
fn create_topic_with_client(
    client: &ClientConfig,
    name: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) {
    let admin: AdminClient<DefaultClientContext> = client.create().expect("admin client");
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for &(k, v) in configs {
        topic = topic.set(k, v);
    }
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

/// How a [`Broker`] listens, stores and authenticates; the default is a plain listener on
/// the memory engine.
#[derive(Clone, Debug, Default)]
pub struct BrokerSetup {
    /// nisshi's own TLS listener, with this certificate chain and key (PEM files): it then
    /// accepts only TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The port advertised in metadata instead of the broker's own, for clients that reach it
    /// through a proxy on that port (stunnel).
    pub advertised_port: Option<u16>,
    /// The SQLite engine in the broker's directory: kept over [`Broker::restart`], and the
    /// engine that can store SCRAM users.
    pub persistent: bool,
    /// `--authentication`: every client must authenticate with SASL SCRAM first.
    pub authentication: bool,
    /// librdkafka properties of the test's own clients (topics, produce, commit), e.g. the
    /// TLS settings the listener needs.
    pub client: Vec<(String, String)>,
}

/// A real nisshi broker on 127.0.0.1, killed on drop.
pub struct Broker {
    pub port: u16,
    cluster_id: String,
    /// Read at each (re)start: a test may change it before [`Broker::restart`].
    pub setup: BrokerSetup,
    dir: TempDir,
    child: Option<Child>,
}

impl Broker {
    /// Starts a broker on a free port. Call only after `tools::suite(.., &[tools::broker, ..])`
    /// said the suite can run.
    pub fn start(cluster_id: &str) -> Broker {
        Broker::start_with(cluster_id, BrokerSetup::default())
    }

    /// As [`Broker::start`], set up as `setup` says.
    pub fn start_with(cluster_id: &str, setup: BrokerSetup) -> Broker {
        start_on_free_port("the test broker", |port| {
            let mut b = Broker {
                port,
                cluster_id: cluster_id.to_string(),
                setup: setup.clone(),
                dir: temp_dir("broker"),
                child: None,
            };
            match b.spawn() {
                Ok(()) => Started::Up(b),
                Err(_) => Started::PortTaken,
            }
        })
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("broker.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts nisshi on `self.port` and waits until it is ready (it prints `ready in Nms` once
    /// its listener is bound, and the port accepts). `Err` when the port was taken.
    fn spawn(&mut self) -> Result<(), ()> {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let advertised = format!(
            "tcp://127.0.0.1:{}",
            self.setup.advertised_port.unwrap_or(self.port)
        );
        let storage = if self.setup.persistent {
            "sqlite://nisshi.db"
        } else {
            "memory://nisshi/"
        };
        let log = std::fs::File::create(self.log_path()).expect("broker log");
        let mut cmd = Command::new(tools::path(tools::broker));
        cmd.current_dir(self.dir.path())
            .args(["broker", "--cluster-id", &self.cluster_id])
            .args([
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &advertised,
            ])
            .args(["--storage-engine", storage])
            .args(["--group-initial-rebalance-delay", "0s"]);
        if let Some((cert, key)) = &self.setup.tls {
            cmd.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        if self.setup.authentication {
            cmd.arg("--authentication");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start nisshi");
        self.child = Some(child);
        let port = self.port;
        wait_for(
            Duration::from_secs(60),
            "the test broker to be ready",
            || {
                let child = self.child.as_mut().expect("child");
                if let Ok(Some(status)) = child.try_wait() {
                    let log = self.log();
                    self.child = None;
                    if address_in_use(&log) {
                        return Some(Err(()));
                    }
                    panic!("the test broker exited with {status}:\n{log}");
                }
                let ready = self.log().contains("ready in")
                    && TcpStream::connect(("127.0.0.1", port)).is_ok();
                ready.then_some(Ok(()))
            },
        )
    }

    /// SIGKILL: instant, and the port can be reused at once.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port (the memory engine starts empty); clients know the port,
    /// so if another process took it in the meantime, tries again until it is free.
    pub fn restart(&mut self) {
        self.stop();
        wait_for(
            Duration::from_secs(60),
            "the broker's port to be free again",
            || self.spawn().ok(),
        );
    }

    /// The test's own clients: to the advertised port (a proxy's, when there is one), with the
    /// setup's client properties.
    fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        let port = self.setup.advertised_port.unwrap_or(self.port);
        c.set("bootstrap.servers", format!("127.0.0.1:{port}"));
        c.set("log_level", "3");
        for (k, v) in &self.setup.client {
            c.set(k, v);
        }
        c
    }

    pub fn create_topic(&self, name: &str, partitions: i32) {
        self.create_topic_with(name, partitions, &[]);
    }

    /// A topic with topic-level configs (`cleanup.policy`, ...).
    pub fn create_topic_with(&self, name: &str, partitions: i32, configs: &[(&str, &str)]) {
        create_topic_with_client(&self.client_config(), name, partitions, configs);
    }

    /// Adds a SCRAM user (`mechanism`: `scram256` or `scram512`) with `nisshi user create`,
    /// which cannot authenticate itself: only on a broker without `authentication`, and
    /// `persistent` so that the user is still there when it restarts with it.
    pub fn create_user(&self, name: &str, password: &str, mechanism: &str) {
        let mut cmd = Command::new(tools::path(tools::broker));
        cmd.current_dir(self.dir.path())
            .args([
                "user",
                "create",
                "--broker",
                &format!("tcp://127.0.0.1:{}", self.port),
            ])
            .args(["--mechanism", mechanism, name, password]);
        tools::run_ok(
            &mut cmd,
            "nisshi 0.8.1, see tools::broker",
            "nisshi user create",
        );
    }

    /// Produces `counts[p]` messages to partition `p`, one record per request (exact offsets).
    pub fn produce(&self, topic: &str, counts: &[usize]) {
        let records = counts
            .iter()
            .enumerate()
            .flat_map(|(p, &n)| (0..n).map(move |_| (p as i32, None)));
        self.send(topic, records);
    }

    /// Produces one record per timestamp (CreateTime, milliseconds) to `partition`, in order.
    pub fn produce_at(&self, topic: &str, partition: i32, timestamps_ms: &[i64]) {
        self.send(topic, timestamps_ms.iter().map(|&t| (partition, Some(t))));
    }

    /// Sends `(partition, timestamp)` records, one per request, and waits for all.
    fn send(&self, topic: &str, records: impl Iterator<Item = (i32, Option<i64>)>) {
        let producer: ThreadedProducer<DefaultProducerContext> = self
            .client_config()
            .set("linger.ms", "0")
            .set("batch.num.messages", "1")
            .set("acks", "all")
            .create()
            .expect("producer");
        for (i, (p, timestamp)) in records.enumerate() {
            let payload = format!("m{i}");
            let mut record = BaseRecord::<(), str>::to(topic)
                .partition(p)
                .payload(&payload);
            if let Some(t) = timestamp {
                record = record.timestamp(t);
            }
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((_, r)) => {
                        // Queue full: wait for it to drain, then send again.
                        record = r;
                        let _ = producer.flush(Duration::from_secs(1));
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

    /// Deletes the records of `topic`/`partition` before `before` (DeleteRecords): the log
    /// start moves to `before`.
    pub fn delete_records(&self, topic: &str, partition: i32, before: i64) {
        let admin: AdminClient<DefaultClientContext> =
            self.client_config().create().expect("admin client");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(before))
            .expect("tpl");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let done = rt
            .block_on(admin.delete_records(&tpl, &opts))
            .expect("delete_records");
        for e in done.elements() {
            assert!(
                e.error().is_ok(),
                "delete records {topic}/{partition}: {:?}",
                e.error()
            );
        }
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
    }
}

/// A `[[clusters]]` table for `bootstrap` polling every second (metadata and group list too),
/// with `extra` lines (`key = value`) appended.
pub fn fast_cluster(name: &str, bootstrap: &str, extra: &[&str]) -> String {
    let mut t = format!(
        "[[clusters]]\nname = \"{name}\"\nbootstrap_servers = \"{bootstrap}\"\n\
         poll_interval = \"1s\"\nmetadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\n"
    );
    for line in extra {
        t.push_str(line);
        t.push('\n');
    }
    t
}

/// Removes every `WARREN_*` variable of this process (any case, as warren reads them) from
/// `cmd`'s environment: the tests' own settings (`WARREN_TEST_BROKER_ROOT`, …) are not warren's
/// configuration.
pub fn without_warren_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        if key
            .to_str()
            .is_some_and(|k| k.to_ascii_uppercase().starts_with("WARREN_"))
        {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// Spawns warren through `cmd` (the binary, or a wrapper ending with it) with
/// `--address-file`, then `args` (the subcommand and its arguments), its output in
/// `dir`/warren.log, and waits until it listens; returns it and its address.
pub fn spawn_serving(
    cmd: &mut Command,
    dir: &Path,
    args: &[&std::ffi::OsStr],
) -> (Child, SocketAddr) {
    let address_file = dir.join("address");
    let log_path = dir.join("warren.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut child = cmd
        .arg("--address-file")
        .arg(&address_file)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start warren");
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    // The listener is bound before the address is written: connections wait in its queue.
    let addr = wait_address_file(&mut child, &address_file, "warren", read_log);
    (child, addr)
}

/// The warren binary, without this process's `WARREN_*` variables.
pub fn warren_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warren"));
    without_warren_env(&mut cmd);
    cmd
}

/// The real warren binary with a config file, killed on drop.
pub struct Warren {
    /// The port warren bound (it is given port 0 and reports the one it got).
    pub port: u16,
    child: Child,
    dir: TempDir,
}

impl Warren {
    /// Starts `warren run` with `config` (TOML, without the `[http]` table) and waits until
    /// `/readyz` answers 200.
    pub fn start(config: &str) -> Warren {
        Warren::start_with_http(config, "")
    }

    /// As [`Warren::start`], with extra keys for the `[http]` table. `http.listen` is
    /// `127.0.0.1:0`; the port warren bound is read from its `--address-file`.
    pub fn start_with_http(config: &str, http: &str) -> Warren {
        Warren::start_limited(config, http, None)
    }

    /// As [`Warren::start_with_http`], under `ulimit -n descriptors` (soft and hard) when
    /// given.
    pub fn start_limited(config: &str, http: &str, descriptors: Option<u32>) -> Warren {
        let dir = temp_dir("warren");
        let path = dir.path().join("warren.toml");
        // The table goes last so that top-level keys in `config` stay top-level.
        let full = format!("{config}\n[http]\nlisten = \"127.0.0.1:0\"\n{http}\n");
        std::fs::write(&path, full).expect("config file");
        let mut cmd = match descriptors {
            None => Command::new(env!("CARGO_BIN_EXE_warren")),
            Some(n) => {
                let mut sh = Command::new("sh");
                sh.args(["-c", "ulimit -n \"$1\" || exit 1; shift; exec \"$@\""])
                    .args(["sh", &n.to_string(), env!("CARGO_BIN_EXE_warren")]);
                sh
            }
        };
        without_warren_env(&mut cmd);
        let args = ["run".as_ref(), "--config".as_ref(), path.as_os_str()];
        let (child, addr) = spawn_serving(&mut cmd, dir.path(), &args);
        let mut w = Warren {
            port: addr.port(),
            child,
            dir,
        };
        wait_for(Duration::from_secs(30), "warren /readyz", || {
            if let Ok(Some(status)) = w.child.try_wait() {
                panic!("warren exited with {status}:\n{}", w.log());
            }
            (w.try_get("/readyz", &[]).ok()?.status == 200).then_some(())
        });
        w
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("warren.log")).unwrap_or_default()
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

    /// warren's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as a service manager does (with the `kill` command: the tests have no
    /// libc binding).
    pub fn terminate(&self) {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid}: {status}");
    }

    /// Waits up to `limit` for warren to exit: its exit status, or `None` while it still runs.
    /// Checks every 10 ms, so that the time until it returns measures the exit closely.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for warren") {
                return Some(status);
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Warren {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of `/proc/PID/status` (kB, or a plain count), e.g. `VmRSS`, `VmHWM` or `Threads`.
pub fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
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

/// librdkafka clients alive in process `pid`: each has exactly one `rdk:main` thread.
pub fn rdk_main_threads(pid: u32) -> usize {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc/PID/task");
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == "rdk:main")
        .count()
}
