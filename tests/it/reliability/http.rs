//! Hostile HTTP clients (issue 17, failures 2 and 3): slow readers of a multi-megabyte
//! `/metrics`, idle sockets, dribbled headers, half-sent and oversized bodies, and more
//! connections than the process has descriptors. Each on the real binary and the real broker.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::{self, proc_status, wait_for, Broker, Warren};
use crate::tools;

const TOKEN: &str = "reliability-admin-token-0123";

fn can_run() -> bool {
    tools::suite("reliability-http", &[tools::broker])
}

/// A one-cluster config polling `broker` every second.
fn cluster(broker: &Broker) -> String {
    format!(
        "[[clusters]]\nname = \"c\"\nbootstrap_servers = \"{}\"\npoll_interval = \"1s\"\n\
         metadata_refresh = \"1s\"\ngroups_refresh = \"1s\"\n",
        broker.bootstrap()
    )
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s
}

/// Reads until the end of a response head (or EOF); returns what was read.
fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads and drops bytes until the server closes `s` (EOF or reset), for at most `limit`;
/// returns how long that took, `None` if it stayed open.
fn wait_closed(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    while start.elapsed() < limit {
        if read_closed(s) {
            return Some(start.elapsed());
        }
    }
    None
}

/// One read (bytes are dropped): whether the server has closed `s` (EOF or reset), false
/// when it sent something or the read timed out.
fn read_closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

/// [`wait_closed`] on its own thread, so many sockets are timed at once.
fn time_closing(mut s: TcpStream, limit: Duration) -> JoinHandle<Option<Duration>> {
    std::thread::spawn(move || wait_closed(&mut s, limit))
}

/// The status code of a response head.
fn status_of(head: &str) -> u16 {
    head.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn slow_readers_do_not_exhaust_memory() {
    if !can_run() {
        return;
    }
    const PARTITIONS: i32 = 2000;
    const GROUPS: usize = 8;
    const SLOW_READERS: usize = 100;
    const CAP: usize = 4;
    let broker = Broker::start("rel-http-slow");
    broker.create_topic("wide", PARTITIONS);
    let offsets: Vec<(&str, i32, i64)> = (0..PARTITIONS).map(|p| ("wide", p, 0)).collect();
    for g in 0..GROUPS {
        broker.commit(&format!("group-with-a-realistic-name-{g}"), &offsets);
    }
    let w = Warren::start_limited(
        &cluster(&broker),
        &format!(
            "max_concurrent_scrapes = {CAP}\nidle_timeout = \"4s\"\nheader_read_timeout = \"2s\""
        ),
        None,
    );
    let size = wait_for(Duration::from_secs(60), "every group's series", || {
        let r = common::http_get(w.port, "/metrics", &[]).ok()?;
        (r.body.len() > 4_000_000).then_some(r.body.len())
    });
    let rss_before = proc_status(w.pid(), "VmRSS");
    let threads_before = proc_status(w.pid(), "Threads");

    let mut slow: Vec<TcpStream> = (0..SLOW_READERS).map(|_| connect(w.port)).collect();
    for (i, s) in slow.iter_mut().enumerate() {
        // Half of them ask for gzip.
        let gzip = if i % 2 == 0 {
            "Accept-Encoding: gzip\r\n"
        } else {
            ""
        };
        s.write_all(format!("GET /metrics HTTP/1.1\r\nHost: warren\r\n{gzip}\r\n").as_bytes())
            .expect("request");
    }
    // Only the heads are read: the bodies of the served ones stay unread.
    let heads: Vec<String> = slow.iter_mut().map(read_head).collect();
    let served = heads.iter().filter(|h| status_of(h) == 200).count();
    let refused: Vec<&String> = heads.iter().filter(|h| status_of(h) == 503).collect();
    let threads_during = proc_status(w.pid(), "Threads");
    let rss_during = proc_status(w.pid(), "VmRSS");
    let peak = proc_status(w.pid(), "VmHWM");
    eprintln!(
        "slow readers: exposition {size} B; {SLOW_READERS} slow readers ({served} served, {} \
         refused): VmRSS {rss_before} kB before, {rss_during} kB during, VmHWM {peak} kB; \
         threads {threads_before} before, {threads_during} during",
        refused.len()
    );
    assert_eq!(served, CAP, "{heads:?}");
    assert_eq!(refused.len(), SLOW_READERS - CAP, "{heads:?}");
    assert!(
        refused
            .iter()
            .all(|h| h.to_ascii_lowercase().contains("\r\nretry-after: 1\r\n")),
        "{refused:?}"
    );

    // A normal scraper is served again once the idle timeout has cut the slow readers, while
    // their sockets are still open on this side.
    let scraped = wait_for(Duration::from_secs(60), "a normal scrape", || {
        let r = common::http_get(w.port, "/metrics", &[]).ok()?;
        (r.status == 200).then_some(r.body.len())
    });
    assert!(scraped > 4_000_000);
    // The gzip reply (shared compressed part, then this scrape's telemetry) is one gzip member.
    let r = common::http_get(w.port, "/metrics", &[("Accept-Encoding", "gzip")]).expect("gzip");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&r.body[..])
        .read_to_string(&mut text)
        .expect("gzip body");
    assert!(text.len() > 4_000_000);
    assert!(
        text.contains("\nwarren_scrapes_total{format=\"text\"} "),
        "telemetry at the end"
    );
    let peak = proc_status(w.pid(), "VmHWM");
    eprintln!("slow readers: VmHWM {peak} kB after a normal scrape");
    // Before the fix each slow reader held its own rendered body and a blocked thread.
    assert!(
        peak < rss_before + 64 * 1024,
        "peak RSS {peak} kB, {rss_before} kB before the slow readers"
    );
    assert!(
        threads_during <= threads_before + 8,
        "{threads_during} threads with slow readers, {threads_before} before"
    );
    drop(slow);
}

#[test]
fn idle_connections_are_closed_after_the_idle_timeout() {
    if !can_run() {
        return;
    }
    const SOCKETS: usize = 100;
    let broker = Broker::start("rel-http-idle");
    let w = Warren::start_with_http(
        &cluster(&broker),
        "header_read_timeout = \"1s\"\nidle_timeout = \"3s\"",
    );
    // Kept alive after a request: the idle timeout applies (not the shorter header one).
    let kept_alive: Vec<_> = (0..SOCKETS)
        .map(|_| {
            let mut s = connect(w.port);
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: warren\r\n\r\n")
                .expect("request");
            let head = read_head(&mut s);
            assert_eq!(status_of(&head), 200, "{head}");
            let mut body = [0u8; 3];
            s.read_exact(&mut body).expect("body");
            assert_eq!(&body, b"ok\n");
            time_closing(s, Duration::from_secs(40))
        })
        .collect();
    // Never sent a byte: closed at the header timeout.
    let silent: Vec<_> = (0..SOCKETS)
        .map(|_| time_closing(connect(w.port), Duration::from_secs(40)))
        .collect();
    let times = |handles: Vec<JoinHandle<Option<Duration>>>| -> Vec<Duration> {
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("closed by warren"))
            .collect()
    };
    let kept_alive = times(kept_alive);
    let silent = times(silent);
    let max = |t: &[Duration]| t.iter().max().copied().unwrap_or_default();
    let min = |t: &[Duration]| t.iter().min().copied().unwrap_or_default();
    eprintln!(
        "idle: {SOCKETS} kept-alive closed after {:?}..{:?}, {SOCKETS} silent after {:?}..{:?}",
        min(&kept_alive),
        max(&kept_alive),
        min(&silent),
        max(&silent)
    );
    assert!(min(&kept_alive) >= Duration::from_secs(2), "{kept_alive:?}");
    assert_eq!(w.get("/healthz", &[]).status, 200);
}

#[test]
fn dribbled_headers_are_cut_at_the_header_timeout() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("rel-http-dribble");
    let w = Warren::start_with_http(
        &cluster(&broker),
        "header_read_timeout = \"2s\"\nidle_timeout = \"60s\"",
    );
    let mut s = connect(w.port);
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let start = Instant::now();
    let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: warren\r\n");
    let mut line = 0;
    // One header line every 300 ms (the read timeout paces it), far below the idle timeout.
    let closed = loop {
        if start.elapsed() > Duration::from_secs(40) {
            break None;
        }
        line += 1;
        if s.write_all(format!("X-Dribble-{line}: x\r\n").as_bytes())
            .is_err()
        {
            break Some(start.elapsed());
        }
        if read_closed(&mut s) {
            break Some(start.elapsed());
        }
    };
    let closed = closed.expect("warren closed the connection before the headers ended");
    eprintln!("dribbled headers: cut after {closed:?} ({line} lines sent)");
    assert!(closed >= Duration::from_secs(1), "{closed:?}");
    assert_eq!(w.get("/healthz", &[]).status, 200);
}

#[test]
fn half_sent_bodies_are_cut() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("rel-http-half");
    let w = Warren::start_with_http(
        &cluster(&broker),
        &format!("admin_token = \"{TOKEN}\"\nheader_read_timeout = \"1s\"\nidle_timeout = \"2s\""),
    );
    let mut s = connect(w.port);
    let head = format!(
        "POST /v3/admin/loglevel HTTP/1.1\r\nHost: warren\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"level\":\""
    );
    s.write_all(head.as_bytes()).expect("request");
    let closed = wait_closed(&mut s, Duration::from_secs(40))
        .expect("warren closed the connection with the body half sent");
    eprintln!("half-sent body: cut after {closed:?}");
    assert!(closed >= Duration::from_secs(1), "{closed:?}");
    assert_eq!(w.get("/healthz", &[]).status, 200);
}

#[test]
fn oversized_body_gets_413_before_authentication() {
    if !can_run() {
        return;
    }
    let broker = Broker::start("rel-http-413");
    let w = Warren::start_with_http(
        &cluster(&broker),
        &format!("admin_token = \"{TOKEN}\"\nmax_request_body = 1024"),
    );
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    // Only the head is sent: the answer comes from Content-Length alone, before the token
    // is looked at.
    for authorization in ["", auth.as_str(), "Authorization: Bearer wrong\r\n"] {
        let mut s = connect(w.port);
        let head = format!(
            "POST /v3/admin/loglevel HTTP/1.1\r\nHost: warren\r\n{authorization}\
             Content-Type: application/json\r\nContent-Length: 67108864\r\n\r\n"
        );
        s.write_all(head.as_bytes()).expect("request");
        let reply = read_head(&mut s);
        assert_eq!(status_of(&reply), 413, "{authorization:?}: {reply}");
    }
    // A chunked body is cut at the limit.
    let mut s = connect(w.port);
    let head = format!(
        "POST /v3/admin/loglevel HTTP/1.1\r\nHost: warren\r\n{auth}\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("request");
    let chunk = format!("200\r\n{}\r\n", " ".repeat(0x200));
    for _ in 0..8 {
        // warren may answer and close before all of it is sent.
        if s.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let reply = read_head(&mut s);
    assert_eq!(status_of(&reply), 413, "chunked: {reply}");
    // Within the limit, the token still decides.
    let body = "{\"level\":\"info\"}";
    let r = w.request("POST", "/v3/admin/loglevel", &[], body);
    assert_eq!(r.status, 401);
    let bearer = format!("Bearer {TOKEN}");
    let r = w.request(
        "POST",
        "/v3/admin/loglevel",
        &[
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ],
        body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn connection_limit_keeps_healthz_answering() {
    if !can_run() {
        return;
    }
    const SOCKETS: usize = 200;
    let broker = Broker::start("rel-http-limit");
    let w = Warren::start_limited(&cluster(&broker), "header_read_timeout = \"1s\"", Some(128));
    // More idle sockets than warren has descriptors, all held open on this side.
    let mut idle: Vec<TcpStream> = (0..SOCKETS).map(|_| connect(w.port)).collect();
    let start = Instant::now();
    wait_for(
        Duration::from_secs(30),
        "/healthz with idle sockets held",
        || {
            let r = common::http_get(w.port, "/healthz", &[]).ok()?;
            (r.status == 200).then_some(())
        },
    );
    eprintln!(
        "connection limit: /healthz answered {:?} after {SOCKETS} idle sockets, 128 descriptors",
        start.elapsed()
    );
    for s in &mut idle {
        assert!(wait_closed(s, Duration::from_secs(30)).is_some());
    }
    assert!(
        w.log()
            .contains("http.max_connections lowered to fit the descriptor limit"),
        "{}",
        w.log()
    );
    assert_eq!(
        common::http_get(w.port, "/healthz", &[])
            .map(|r| r.status)
            .ok(),
        Some(200)
    );
}
