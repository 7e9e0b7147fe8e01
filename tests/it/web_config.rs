//! warren's own endpoint behind a web-config file (Prometheus exporter-toolkit's format):
//! HTTPS, client certificates, basic auth, response headers, reloads, `warren healthcheck`,
//! and a real Prometheus scraping it all. Certificates (a CA, server and client certificates,
//! and a stranger CA) are made at run time with the `openssl` CLI; requests go through real
//! curl and through this file's own rustls client (which also reports the certificate served).
//!
//! warren watches a cluster that is never there (`127.0.0.1:1`): only its own HTTP side is
//! under test, and `warren_build_info` is there without any Kafka.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde::Deserialize;
use tempfile::TempDir;

use crate::common::pki::Pki;
use crate::common::{http_get, spawn_serving, temp_dir, wait_for, warren_command};
use crate::dashboards::Prometheus;
use crate::tools;

fn suite(needs_prometheus: bool) -> bool {
    if needs_prometheus {
        tools::suite(
            "web_config_prometheus",
            &[tools::openssl, tools::curl, tools::prometheus],
        )
    } else {
        tools::suite("web_config", &[tools::openssl, tools::curl])
    }
}

const USER: &str = "prometheus";
/// warren's own code and its HTTP stack at trace level: no secret may show even there.
const LOG_FILTER: &str = "info,warren=trace,hyper=trace,h2=trace,tower=trace,axum=trace";
const PASSWORD: &str = "s3cret-canary-7f3a";

// Web-config files are written beside the certificates they name.
impl Pki {
    /// A web-config file `name` with `body` (YAML), written atomically.
    fn web_config(&self, name: &str, body: &str) -> PathBuf {
        let path = self.path(name);
        replace(&path, body.as_bytes());
        path
    }
}

/// Writes `path` atomically (a new file renamed over it), as a Secret update does.
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

/// A bcrypt hash of `password` (cost 4: the tests check behaviour, not the cost).
fn bcrypt_hash(password: &str) -> String {
    bcrypt::hash(password, 4).expect("bcrypt")
}

fn tls_section(client_auth: &str) -> String {
    format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
         client_ca_file: ca.crt\n  client_auth_type: {client_auth}\n"
    )
}

fn users_section() -> String {
    format!("basic_auth_users:\n  {USER}: '{}'\n", bcrypt_hash(PASSWORD))
}

// ---------------------------------------------------------------------------------------------
// warren, started with a web-config file.

struct Server {
    port: u16,
    child: Child,
    dir: TempDir,
}

impl Server {
    /// `warren run` with `--web.config.file web_config` (when given) and extra `[http]` keys.
    fn start(web_config: Option<&Path>, http: &str) -> Server {
        let dir = temp_dir("warren-web");
        let config = dir.path().join("warren.toml");
        std::fs::write(
            &config,
            format!(
                "[log]\nfilter = \"{LOG_FILTER}\"\n\
                 [[clusters]]\nname = \"absent\"\nbootstrap_servers = \"127.0.0.1:1\"\n\
                 [http]\nlisten = \"127.0.0.1:0\"\n{http}\n"
            ),
        )
        .expect("config");
        let mut args = vec!["run".as_ref(), "--config".as_ref(), config.as_os_str()];
        if let Some(web) = web_config {
            args.extend(["--web.config.file".as_ref(), web.as_os_str()]);
        }
        let (child, addr) = spawn_serving(&mut warren_command(), dir.path(), &args);
        Server {
            port: addr.port(),
            child,
            dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("warren.log")).unwrap_or_default()
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("warren.toml")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("warren log:\n{}", self.log());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clients: curl, and a rustls client of this file's own.

/// curl `https://127.0.0.1:PORT{path}` trusting `ca.crt`, with `args`; `(status, whole output)`
/// where status 0 means no HTTP reply (curl's own error is in the output).
fn curl(pki: &Pki, port: u16, path: &str, args: &[&str]) -> (u16, String) {
    let mut cmd = Command::new(tools::path(tools::curl));
    cmd.args(["-sS", "-i", "--max-time", "20", "--cacert"])
        .arg(pki.path("ca.crt"))
        .args(args)
        .arg(format!("https://127.0.0.1:{port}{path}"));
    let out = tools::run(&mut cmd, "apt-get install curl");
    let text = tools::text(&out);
    let status = text
        .lines()
        .next()
        .filter(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn user_pass(password: &str) -> String {
    format!("{USER}:{password}")
}

/// A reply to the own client: status, headers and the certificate the server presented.
struct Reply {
    status: u16,
    head: String,
    served: Vec<u8>,
}

/// A client trusting `ca.crt`, presenting `identity` (`name.crt`/`name.key`) when given.
fn client(pki: &Pki, identity: Option<&str>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki.der("ca.crt")))
        .expect("CA");
    let builder = ClientConfig::builder().with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some(name) => {
            let chain = vec![CertificateDer::from(pki.der(&format!("{name}.crt")))];
            let key = PrivateKeyDer::from_pem_file(pki.path(&format!("{name}.key"))).expect("key");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client certificate")
        }
    };
    Arc::new(config)
}

/// GET `path` over HTTPS with `config` (as `localhost`), with basic auth when given.
fn https_get(
    config: &Arc<ClientConfig>,
    port: u16,
    path: &str,
    auth: Option<(&str, &str)>,
) -> std::io::Result<Reply> {
    use base64::Engine;
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
    let name = ServerName::try_from("localhost").expect("name");
    let conn =
        rustls::ClientConnection::new(config.clone(), name).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some((user, password)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    tls.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        // A peer closing without close_notify after its reply.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    let served = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&raw).to_string();
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_string();
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {text:?}")))?;
    Ok(Reply {
        status,
        head,
        served,
    })
}

/// Neither `password` nor the `Authorization` value carrying it is in `log`.
fn assert_secret_not_logged(log: &str, password: &str) {
    use base64::Engine;
    let sent = base64::engine::general_purpose::STANDARD.encode(user_pass(password));
    assert!(!log.contains(password) && !log.contains(&sent), "{log}");
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// `warren healthcheck` against `port` with `args` and `env`.
fn healthcheck(port: u16, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = warren_command();
    cmd.args(["healthcheck", "--addr", &format!("127.0.0.1:{port}")])
        .args(args)
        .envs(env.iter().copied());
    cmd.output().expect("run warren healthcheck")
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn https_with_basic_auth_protects_every_route() {
    if !suite(false) {
        return;
    }
    let pki = Pki::new();
    let web = pki.web_config(
        "web.yml",
        &format!(
            "{}http_server_config:\n  http2: true\n  headers:\n    X-Frame-Options: deny\n\
             {}",
            tls_section("NoClientCert").replace("  client_ca_file: ca.crt\n", ""),
            users_section()
        ),
    );
    let w = Server::start(Some(&web), "");
    let port = w.port;

    // curl: the right password gets the metrics, over HTTPS verified against the CA.
    let good = user_pass(PASSWORD);
    let (status, text) = curl(&pki, port, "/metrics", &["-u", &good]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\nwarren_build_info{"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("\nx-frame-options: deny\r\n"),
        "{text}"
    );
    // A wrong password, or none: 401 with the challenge, and no metrics.
    let bad = user_pass("wrong");
    for args in [&["-u", bad.as_str()][..], &[]] {
        let (status, text) = curl(&pki, port, "/metrics", args);
        assert_eq!(status, 401, "{text}");
        assert!(!text.contains("warren_build_info"), "{text}");
        assert!(
            text.contains("www-authenticate: Basic realm=\"warren\", charset=\"UTF-8\"\r\n"),
            "{text}"
        );
        assert!(
            text.to_ascii_lowercase()
                .contains("\nx-frame-options: deny\r\n"),
            "{text}"
        );
    }
    // Every route, as exporter-toolkit protects everything: probes, the index, the Burrow API.
    for path in ["/healthz", "/readyz", "/", "/v3/kafka", "/no/such/route"] {
        assert_eq!(curl(&pki, port, path, &[]).0, 401, "{path}");
    }
    assert_eq!(curl(&pki, port, "/healthz", &["-u", &good]).0, 200);
    assert_eq!(curl(&pki, port, "/v3/kafka", &["-u", &good]).0, 200);

    // The own client sees the same, and the certificate is the server's.
    let config = client(&pki, None);
    let r = https_get(&config, port, "/metrics", Some((USER, PASSWORD))).expect("GET");
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.served, pki.der("server.crt"));
    let r = https_get(&config, port, "/metrics", Some((USER, "wrong"))).expect("GET");
    assert_eq!(r.status, 401, "{}", r.head);
    assert_eq!(
        header(&r.head, "www-authenticate"),
        Some("Basic realm=\"warren\", charset=\"UTF-8\"")
    );
    let r = https_get(&config, port, "/metrics", Some(("nobody", PASSWORD))).expect("GET");
    assert_eq!(r.status, 401, "{}", r.head);

    // Plain HTTP on the HTTPS port gets no HTTP reply.
    let plain = http_get(port, "/healthz", &[]);
    assert!(plain.is_err() || plain.unwrap().status != 200);

    // warren healthcheck: HTTPS from the web-config file, credentials from the environment.
    let web_arg = web.to_str().unwrap();
    let out = healthcheck(
        port,
        &["--web.config.file", web_arg],
        &[
            ("WARREN_HEALTHCHECK_USERNAME", USER),
            ("WARREN_HEALTHCHECK_PASSWORD", PASSWORD),
        ],
    );
    assert!(out.status.success(), "{}", tools::text(&out));
    assert_eq!(tools::text(&out).trim(), "HTTP/1.1 200 OK");
    let out = healthcheck(port, &["--web.config.file", web_arg], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", tools::text(&out));
    assert!(
        tools::text(&out).contains("401 Unauthorized"),
        "{}",
        tools::text(&out)
    );
    // It trusts only the certificate of the file it is given.
    let other = pki.web_config(
        "other.yml",
        "tls_server_config:\n  cert_file: stranger.crt\n  key_file: stranger.key\n",
    );
    let out = healthcheck(port, &["--web.config.file", other.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", tools::text(&out));
    assert!(
        tools::text(&out).contains("not the one in its web-config file"),
        "{}",
        tools::text(&out)
    );

    // The password appears in no log line, in clear or as sent.
    assert_secret_not_logged(&w.log(), PASSWORD);
}

#[test]
fn probes_can_stay_open_and_the_admin_token_still_works() {
    if !suite(false) {
        return;
    }
    let pki = Pki::new();
    let web = pki.web_config("web.yml", &users_section());
    let token = "admin-token-0123456789abcdef";
    let w = Server::start(
        Some(&web),
        &format!("probes_without_auth = true\nadmin_token = \"{token}\"\n"),
    );
    // No TLS in this file: plain HTTP with basic auth.
    assert_eq!(http_get(w.port, "/healthz", &[]).unwrap().status, 200);
    assert_eq!(http_get(w.port, "/metrics", &[]).unwrap().status, 401);
    assert_eq!(http_get(w.port, "/", &[]).unwrap().status, 401);
    // warren healthcheck without credentials passes where the probes are open.
    let out = healthcheck(w.port, &["--web.config.file", web.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", tools::text(&out));
    // The Burrow admin token passes basic auth: a mutation needs only it.
    let bearer = format!("Bearer {token}");
    let r = crate::common::http_request(
        w.port,
        "POST",
        "/v3/admin/loglevel",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        "{\"level\": \"info\"}",
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let wrong = crate::common::http_request(
        w.port,
        "POST",
        "/v3/admin/loglevel",
        &[("Authorization", "Bearer wrong-token-0123456789")],
        "{\"level\": \"info\"}",
    )
    .unwrap();
    assert_eq!(wrong.status, 401);
}

#[test]
fn client_certificates_required_and_verified() {
    if !suite(false) {
        return;
    }
    let pki = Pki::new();
    let web = pki.web_config("web.yml", &tls_section("RequireAndVerifyClientCert"));
    // Given as `http.web_config_file` this time (the others use the flag).
    let w = Server::start(None, &format!("web_config_file = \"{}\"\n", web.display()));
    let (crt, key) = (pki.path("client.crt"), pki.path("client.key"));
    let (crt, key) = (crt.to_str().unwrap(), key.to_str().unwrap());
    let (status, text) = curl(&pki, w.port, "/metrics", &["--cert", crt, "--key", key]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\nwarren_build_info{"), "{text}");
    // No certificate, or one from another CA: the handshake fails, no HTTP reply at all.
    let (status, text) = curl(&pki, w.port, "/metrics", &[]);
    assert_eq!(status, 0, "{text}");
    let (s_crt, s_key) = (pki.path("stranger.crt"), pki.path("stranger.key"));
    let stranger = [
        "--cert",
        s_crt.to_str().unwrap(),
        "--key",
        s_key.to_str().unwrap(),
    ];
    let (status, text) = curl(&pki, w.port, "/metrics", &stranger);
    assert_eq!(status, 0, "{text}");
    // The own client: the same.
    let r = https_get(&client(&pki, Some("client")), w.port, "/metrics", None).expect("GET");
    assert_eq!(r.status, 200);
    assert!(https_get(&client(&pki, None), w.port, "/metrics", None).is_err());
    assert!(https_get(&client(&pki, Some("stranger")), w.port, "/metrics", None).is_err());

    // warren healthcheck, finding the web-config file in warren's configuration, with the
    // client certificate from the environment; without one: refused.
    let config = w.config();
    let config_arg = ["--config", config.to_str().unwrap()];
    let env = [
        ("WARREN_HEALTHCHECK_CERT_FILE", crt),
        ("WARREN_HEALTHCHECK_KEY_FILE", key),
    ];
    let out = healthcheck(w.port, &config_arg, &env);
    assert!(out.status.success(), "{}", tools::text(&out));
    let out = healthcheck(w.port, &config_arg, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", tools::text(&out));
}

#[test]
fn optional_client_certificates() {
    if !suite(false) {
        return;
    }
    let pki = Pki::new();
    // VerifyClientCertIfGiven: none is fine, a good one is fine, a stranger's is refused.
    let web = pki.web_config("web.yml", &tls_section("VerifyClientCertIfGiven"));
    let w = Server::start(Some(&web), "");
    let get = |identity| https_get(&client(&pki, identity), w.port, "/healthz", None);
    assert_eq!(get(None).expect("no certificate").status, 200);
    assert_eq!(get(Some("client")).expect("good certificate").status, 200);
    assert!(get(Some("stranger")).is_err());
    drop(w);
    // RequireAnyClientCert: any certificate, from any CA, but one is needed.
    let web = pki.web_config(
        "web.yml",
        &tls_section("RequireAnyClientCert").replace("  client_ca_file: ca.crt\n", ""),
    );
    let w = Server::start(Some(&web), "");
    let get = |identity| https_get(&client(&pki, identity), w.port, "/healthz", None);
    assert!(get(None).is_err());
    assert_eq!(get(Some("stranger")).expect("any certificate").status, 200);
}

#[test]
fn certificates_and_passwords_reload_without_restart() {
    if !suite(false) {
        return;
    }
    let pki = Pki::new();
    let body = |hash: &str| {
        format!(
            "{}basic_auth_users:\n  {USER}: '{hash}'\n",
            tls_section("NoClientCert").replace("  client_ca_file: ca.crt\n", "")
        )
    };
    let web = pki.web_config("web.yml", &body(&bcrypt_hash(PASSWORD)));
    let w = Server::start(Some(&web), "");
    let config = client(&pki, None);
    let get = |password: &str| https_get(&config, w.port, "/healthz", Some((USER, password)));
    let first = pki.der("server.crt");
    assert_eq!(get(PASSWORD).expect("GET").served, first);

    // Rotation: new key and certificate (serial 9) written over the old files.
    pki.issue("rotated", "ca", "serverAuth", 9);
    replace(
        &pki.path("server.key"),
        &std::fs::read(pki.path("rotated.key")).unwrap(),
    );
    replace(
        &pki.path("server.crt"),
        &std::fs::read(pki.path("rotated.crt")).unwrap(),
    );
    let rotated = pki.der("rotated.crt");
    assert_ne!(rotated, first);
    wait_for(Duration::from_secs(30), "the rotated certificate", || {
        (get(PASSWORD).ok()?.served == rotated).then_some(())
    });
    // curl, verifying against the CA, gets it too.
    let (status, text) = curl(&pki, w.port, "/healthz", &["-u", &user_pass(PASSWORD)]);
    assert_eq!(status, 200, "{text}");

    // A new password: the old one stops working at once, with no restart.
    let new_password = "n3w-password";
    pki.web_config("web.yml", &body(&bcrypt_hash(new_password)));
    assert_eq!(get(new_password).expect("GET").status, 200);
    assert_eq!(get(PASSWORD).expect("GET").status, 401);

    // A broken key: the previous settings stay in force, and one error says so.
    let errors = |log: &str| log.matches("web config not reloaded").count();
    let before = errors(&w.log());
    replace(
        &pki.path("server.key"),
        b"-----BEGIN PRIVATE KEY-----\nbroken\n",
    );
    let r = get(new_password).expect("GET with the broken key file");
    assert_eq!((r.status, &r.served), (200, &rotated));
    wait_for(
        Duration::from_secs(10),
        "the reload error in the log",
        || (errors(&w.log()) == before + 1).then_some(()),
    );
    for _ in 0..5 {
        assert_eq!(get(new_password).expect("GET").served, rotated);
    }
    // warren healthcheck passes while the server serves, though the file does not load.
    let out = healthcheck(
        w.port,
        &["--web.config.file", web.to_str().unwrap()],
        &[
            ("WARREN_HEALTHCHECK_USERNAME", USER),
            ("WARREN_HEALTHCHECK_PASSWORD", new_password),
        ],
    );
    assert!(out.status.success(), "{}", tools::text(&out));
    assert!(
        tools::text(&out).contains("without checking its certificate"),
        "{}",
        tools::text(&out)
    );
    let log = w.log();
    assert_eq!(errors(&log), before + 1, "{log}");
    let line = log
        .lines()
        .rfind(|l| l.contains("web config not reloaded"))
        .unwrap();
    assert!(
        line.contains("tls_server_config.key_file")
            && line.contains("no \"-----END PRIVATE KEY-----\" line"),
        "{line}"
    );
    assert!(line.contains("ERROR"), "{line}");
    assert_secret_not_logged(&log, PASSWORD);
    assert_secret_not_logged(&log, new_password);

    // Fixed: served at the next connection.
    pki.issue("fixed", "ca", "serverAuth", 10);
    replace(
        &pki.path("server.key"),
        &std::fs::read(pki.path("fixed.key")).unwrap(),
    );
    replace(
        &pki.path("server.crt"),
        &std::fs::read(pki.path("fixed.crt")).unwrap(),
    );
    let fixed = pki.der("fixed.crt");
    wait_for(Duration::from_secs(30), "the fixed certificate", || {
        (get(new_password).ok()?.served == fixed).then_some(())
    });
}

#[test]
fn a_stalled_handshake_is_closed_after_the_header_timeout() {
    if !suite(false) {
        return;
    }
    let pki = Pki::new();
    let web = pki.web_config(
        "web.yml",
        &tls_section("NoClientCert").replace("  client_ca_file: ca.crt\n", ""),
    );
    let w = Server::start(Some(&web), "header_read_timeout = \"1s\"\n");
    // A client that sends its ClientHello and then nothing: the server answers (which, as
    // bytes written, would stop a header clock) and waits for the client's Finished.
    let mut tcp = TcpStream::connect(("127.0.0.1", w.port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(client(&pki, None), name).unwrap();
    let started = Instant::now();
    conn.write_tls(&mut tcp).expect("ClientHello");
    // Read until the server closes (idle_timeout is 90 s: only the handshake bound closes
    // it sooner).
    let mut buf = [0u8; 4096];
    let mut got = 0;
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("read after {:?}: {e}", started.elapsed()),
        }
    }
    let elapsed = started.elapsed();
    assert!(got > 0, "the server answered the ClientHello");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(30),
        "closed after {elapsed:?}"
    );
    // The server still serves.
    assert_eq!(
        https_get(&client(&pki, None), w.port, "/healthz", None)
            .expect("GET")
            .status,
        200
    );
}

#[test]
fn bad_web_config_files_exit_2_naming_the_key() {
    if !suite(false) {
        return;
    }
    let pki = Pki::new();
    let w_dir = temp_dir("web-config-check");
    let config = w_dir.path().join("warren.toml");
    let cluster = "[[clusters]]\nname = \"c\"\nbootstrap_servers = \"127.0.0.1:1\"\n";
    std::fs::write(&config, cluster).unwrap();
    let check = |web: &Path| {
        let out = warren_command()
            .args(["check-config", "--config"])
            .arg(&config)
            .arg("--web.config.file")
            .arg(web)
            .output()
            .expect("check-config");
        (out.status.code(), tools::text(&out))
    };
    let good = tls_section("RequireAndVerifyClientCert");
    std::fs::write(pki.path("garbage.pem"), "not PEM at all\n").unwrap();
    let cases: Vec<(String, &str, &str)> = vec![
        (
            good.replace("cert_file:", "cert_fil:"),
            "tls_server_config.cert_fil",
            "unknown field `cert_fil`",
        ),
        (
            "tls_server_config:\n  key_file: server.key\n".into(),
            "tls_server_config.cert_file",
            "required",
        ),
        (
            good.replace("server.crt", "missing.crt"),
            "tls_server_config.cert_file",
            "missing.crt",
        ),
        (
            good.replace("server.crt", "garbage.pem"),
            "tls_server_config.cert_file",
            "no PEM certificate",
        ),
        (
            good.replace("server.key", "client.key"),
            "tls_server_config.key_file",
            "does not go with",
        ),
        (
            good.replace("ca.crt", "garbage.pem"),
            "tls_server_config.client_ca_file",
            "no PEM certificate",
        ),
        (
            good.replace("RequireAndVerifyClientCert", "Sometimes"),
            "tls_server_config.client_auth_type",
            "unknown value \"Sometimes\"",
        ),
        (
            format!("{good}  min_version: TLS11\n"),
            "tls_server_config.min_version",
            "TLS11 is not supported",
        ),
        (
            format!("{good}  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n"),
            "tls_server_config.cipher_suites",
            "TLS_RSA_WITH_AES_128_CBC_SHA is not supported",
        ),
        (
            "basic_auth_users:\n  alice: plaintext\n".into(),
            "basic_auth_users.alice",
            "not a bcrypt hash",
        ),
        (
            "http_server_config:\n  headers:\n    Server: warren\n".into(),
            "http_server_config.headers.Server",
            "cannot be set",
        ),
        (
            "rate_limit:\n  interval: 1s\n".into(),
            "rate_limit",
            "not supported",
        ),
    ];
    for (body, key, message) in &cases {
        let web = pki.web_config("bad.yml", body);
        let (code, text) = check(&web);
        assert_eq!(code, Some(2), "{body}\n{text}");
        assert!(text.contains("config key `http.web_config_file`"), "{text}");
        assert!(text.contains(&format!("key `{key}`")), "{key}: {text}");
        assert!(text.contains(message), "{message}: {text}");
    }
    // The flag wins over `http.web_config_file`, and a good file passes.
    std::fs::write(
        &config,
        format!("{cluster}[http]\nweb_config_file = \"/nonexistent/web.yml\"\n"),
    )
    .unwrap();
    let good_file = pki.web_config("good.yml", &format!("{good}{}", users_section()));
    let (code, text) = check(&good_file);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains(PASSWORD));
    // Without the flag, the key's file is read: missing, so exit 2 naming it.
    let out = warren_command()
        .args(["check-config", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", tools::text(&out));
    assert!(tools::text(&out).contains("/nonexistent/web.yml"));
    // And `warren run` refuses to start the same way.
    let out = warren_command()
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", tools::text(&out));
}

// ---------------------------------------------------------------------------------------------
// A real Prometheus (the dashboards suite's) scraping warren over HTTPS with basic auth and a
// client certificate.

#[test]
fn prometheus_scrapes_over_https_with_basic_auth_and_a_client_certificate() {
    if !suite(true) {
        return;
    }
    let pki = Pki::new();
    let web = pki.web_config(
        "web.yml",
        &format!(
            "{}{}",
            tls_section("RequireAndVerifyClientCert"),
            users_section()
        ),
    );
    let w = Server::start(Some(&web), "");
    let job = |name: &str, password: &str, with_cert: bool| {
        let cert = if with_cert {
            format!(
                "      cert_file: {}\n      key_file: {}\n",
                pki.path("client.crt").display(),
                pki.path("client.key").display()
            )
        } else {
            String::new()
        };
        format!(
            "  - job_name: {name}\n    scheme: https\n    tls_config:\n      ca_file: {}\n\
             {cert}      server_name: localhost\n    basic_auth:\n      username: {USER}\n\
             \x20     password: {password}\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            pki.path("ca.crt").display(),
            w.port
        )
    };
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}{}",
        job("good", PASSWORD, true),
        job("wrong_password", "wrong", true),
        job("no_certificate", PASSWORD, false),
    );
    let p = Prometheus::start_with(&config);
    // Every target scraped at least once.
    let targets = wait_for(Duration::from_secs(60), "three scraped targets", || {
        let v = p.get_json("/api/v1/targets");
        let active = v["data"]["activeTargets"].as_array()?.clone();
        (active.len() == 3 && active.iter().all(|t| t["health"] != "unknown")).then_some(active)
    });
    let target = |job: &str| {
        targets
            .iter()
            .find(|t| t["labels"]["job"] == job)
            .unwrap_or_else(|| panic!("no target {job}: {targets:?}"))
            .clone()
    };
    let good = target("good");
    assert_eq!(good["health"], "up", "{good}");
    let wrong = target("wrong_password");
    assert_eq!(wrong["health"], "down", "{wrong}");
    // Prometheus's wording; the port in the URL may contain "401" too.
    assert!(
        wrong["lastError"]
            .as_str()
            .unwrap()
            .contains("HTTP status 401"),
        "{wrong}"
    );
    let no_cert = target("no_certificate");
    assert_eq!(no_cert["health"], "down", "{no_cert}");
    let no_cert_error = no_cert["lastError"].as_str().unwrap();
    assert!(
        no_cert_error.contains("tls: certificate required")
            && !no_cert_error.contains("HTTP status"),
        "{no_cert}"
    );
    // The data arrived: warren's build info, from the good job only.
    let v = wait_for(
        Duration::from_secs(30),
        "warren_build_info in Prometheus",
        || {
            let v = p.get_json("/api/v1/query?query=count%20by%20(job)%20(warren_build_info)");
            (v["data"]["result"].as_array()?.len() == 1).then_some(v)
        },
    );
    assert_eq!(v["data"]["result"][0]["metric"]["job"], "good", "{v}");
    assert_eq!(v["data"]["result"][0]["value"][1], "1", "{v}");
    // The jobs that failed got no sample but `up` 0.
    let v = p.get_json("/api/v1/query?query=up");
    let ups: Vec<(String, String)> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"]["job"].as_str().unwrap().to_string(),
                r["value"][1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (job, up) in &ups {
        let want = if job == "good" { "1" } else { "0" };
        assert_eq!(up, want, "{job}: {ups:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The Helm chart and the plain manifests: rendered with a web-config Secret, their probes run
// against a real warren.

/// Where the chart and the manifests mount the web-config Secret.
const WEB_MOUNT: &str = "/etc/warren-web/";

/// The `Deployment`'s pod spec among the YAML documents of `rendered`.
fn pod_spec(rendered: &str) -> serde_norway::Value {
    let deployment = serde_norway::Deserializer::from_str(rendered)
        .filter_map(|doc| serde_norway::Value::deserialize(doc).ok())
        .find(|doc| doc["kind"] == "Deployment")
        .expect("a Deployment");
    deployment["spec"]["template"]["spec"].clone()
}

fn strings(v: &serde_norway::Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("a list: {v:?}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

/// Checks that the warren container of `spec` runs with the web-config file of Secret
/// `warren-web`, then runs its probes against a real warren behind TLS, a required client
/// certificate and basic auth: the Secret's files are `pki`'s (`probe.crt` included), any
/// value taken from a Secret is the password.
fn rendered_probes_pass(pki: &Pki, spec: &serde_norway::Value) {
    let container = &spec["containers"][0];
    let web_file = format!("{WEB_MOUNT}web.yml");
    assert_eq!(
        strings(&container["args"]),
        [
            "run",
            "--config",
            "/etc/warren/warren.toml",
            "--web.config.file",
            &web_file
        ]
    );
    let mount = container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "web-config")
        .expect("the web-config mount");
    assert_eq!(mount["mountPath"], WEB_MOUNT.trim_end_matches('/'));
    let volume = spec["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "web-config")
        .expect("the web-config volume");
    assert_eq!(volume["secret"]["secretName"], "warren-web");

    pki.issue("probe", "ca", "clientAuth", 4);
    let hash = bcrypt_hash(PASSWORD);
    pki.web_config(
        "web.yml",
        &format!(
            "{}basic_auth_users:\n  {USER}: '{hash}'\n  probe: '{hash}'\n",
            tls_section("RequireAndVerifyClientCert")
        ),
    );
    let w = Server::start(Some(&pki.path("web.yml")), "");
    // What the pod's /etc/warren/warren.toml gives `warren healthcheck`: the listen address.
    let probe_config = pki.path("probe.toml");
    let listen = format!("[http]\nlisten = \"0.0.0.0:{}\"\n", w.port);
    std::fs::write(&probe_config, listen).unwrap();
    let in_pod = |s: &str| -> String {
        if s == "/etc/warren/warren.toml" {
            return probe_config.to_str().unwrap().to_string();
        }
        match s.strip_prefix(WEB_MOUNT) {
            Some(file) => pki.path(file).to_str().unwrap().to_string(),
            None => s.to_string(),
        }
    };
    let mut env = Vec::new();
    for var in container["env"].as_sequence().expect("env") {
        let name = var["name"].as_str().unwrap().to_string();
        if !name.starts_with("WARREN_HEALTHCHECK_") {
            continue;
        }
        let value = match var["value"].as_str() {
            Some(v) => in_pod(v),
            None => PASSWORD.to_string(),
        };
        env.push((name, value));
    }
    let run_probe = |probe: &str, env: &[(String, String)]| {
        let command = strings(&container[probe]["exec"]["command"]);
        assert_eq!(
            command[..2],
            ["/usr/local/bin/warren", "healthcheck"],
            "{probe}"
        );
        assert!(
            container[probe]["httpGet"].is_null(),
            "{probe}: httpGet left"
        );
        let mut cmd = warren_command();
        cmd.args(command[1..].iter().map(|a| in_pod(a)));
        cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd.output().expect("run the probe")
    };
    let out = run_probe("livenessProbe", &env);
    assert!(out.status.success(), "{}", tools::text(&out));
    assert_eq!(tools::text(&out).trim(), "HTTP/1.1 200 OK");
    // Ready once the (absent) cluster's first poll has failed.
    wait_for(
        Duration::from_secs(60),
        "the readiness probe to pass",
        || {
            run_probe("readinessProbe", &env)
                .status
                .success()
                .then_some(())
        },
    );
    // Without the password, or without the client certificate, the same probe fails.
    let without_certificate = [
        "WARREN_HEALTHCHECK_CERT_FILE",
        "WARREN_HEALTHCHECK_KEY_FILE",
    ];
    for dropped in [&["WARREN_HEALTHCHECK_PASSWORD"][..], &without_certificate] {
        let partial: Vec<(String, String)> = env
            .iter()
            .filter(|(k, _)| !dropped.contains(&k.as_str()))
            .cloned()
            .collect();
        let out = run_probe("livenessProbe", &partial);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{dropped:?}: {}",
            tools::text(&out)
        );
    }
}

#[test]
fn the_chart_probes_pass_against_a_protected_endpoint() {
    if !tools::suite("web_config_chart", &[tools::openssl, tools::helm]) {
        return;
    }
    let pki = Pki::new();
    let values = pki.path("values.yaml");
    std::fs::write(
        &values,
        "webConfig:\n  existingSecret: warren-web\n  probeEnv:\n\
         \x20   - name: WARREN_HEALTHCHECK_USERNAME\n      value: prometheus\n\
         \x20   - name: WARREN_HEALTHCHECK_PASSWORD\n      valueFrom:\n        secretKeyRef:\n\
         \x20         name: warren-probe\n          key: password\n\
         \x20   - name: WARREN_HEALTHCHECK_CERT_FILE\n      value: /etc/warren-web/probe.crt\n\
         \x20   - name: WARREN_HEALTHCHECK_KEY_FILE\n      value: /etc/warren-web/probe.key\n",
    )
    .unwrap();
    let home = temp_dir("helm-home");
    let mut helm = Command::new(tools::path(tools::helm));
    helm.args(["template", "w", "deploy/helm/warren", "-f"])
        .arg(&values)
        .current_dir(tools::repo_path(""))
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"));
    let rendered = tools::run_ok(&mut helm, "run .ci/install-deploy-tools", "helm template");
    rendered_probes_pass(&pki, &pod_spec(&rendered));
}

#[test]
fn the_manifest_patches_probes_pass_against_a_protected_endpoint() {
    if !tools::suite("web_config_manifests", &[tools::openssl, tools::kubectl]) {
        return;
    }
    let pki = Pki::new();
    // An overlay of the base with the two example patches, as their comment says.
    let dir = temp_dir("web-config-overlay");
    let (base, overlay) = (dir.path().join("base"), dir.path().join("overlay"));
    std::fs::create_dir_all(&base).unwrap();
    std::fs::create_dir_all(&overlay).unwrap();
    for entry in std::fs::read_dir(tools::repo_path("deploy/kubernetes")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, base.join(path.file_name().unwrap())).unwrap();
        }
    }
    let patches = [
        "web-config-deployment.yaml",
        "web-config-servicemonitor.yaml",
    ];
    for patch in patches {
        let from = tools::repo_path(&format!("deploy/kubernetes/examples/{patch}"));
        std::fs::copy(from, overlay.join(patch)).unwrap();
    }
    std::fs::write(
        overlay.join("kustomization.yaml"),
        format!(
            "resources: [../base]\npatches:\n  - path: {}\n  - path: {}\n",
            patches[0], patches[1]
        ),
    )
    .unwrap();
    let mut kubectl = Command::new(tools::path(tools::kubectl));
    kubectl.arg("kustomize").arg(&overlay);
    let rendered = tools::run_ok(&mut kubectl, "run .ci/install-deploy-tools", "kustomize");
    // The base's own variables stay.
    let spec = pod_spec(&rendered);
    let env = spec["containers"][0]["env"].as_sequence().unwrap();
    assert!(env
        .iter()
        .any(|v| v["name"] == "WARREN_CLUSTERS__PROD__CLIENT__SASL_PASSWORD"));
    rendered_probes_pass(&pki, &spec);
    // Prometheus scrapes over HTTPS with a client certificate and basic auth.
    let monitor = serde_norway::Deserializer::from_str(&rendered)
        .filter_map(|doc| serde_norway::Value::deserialize(doc).ok())
        .find(|doc| doc["kind"] == "ServiceMonitor")
        .expect("a ServiceMonitor");
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["scheme"], "https");
    assert_eq!(endpoint["tlsConfig"]["keySecret"]["name"], "warren-scraper");
    assert_eq!(endpoint["basicAuth"]["password"]["name"], "warren-scraper");
}
