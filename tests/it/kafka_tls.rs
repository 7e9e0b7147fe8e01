//! warren to Kafka over TLS, mutual TLS and SASL SCRAM (issue 15 items 1 and 2), against real
//! endpoints: nisshi's own TLS listener (server-only TLS); Debian's stunnel with `verify = 2`
//! in front of a plain nisshi that advertises stunnel's port (mutual TLS); nisshi's
//! `--authentication` (SASL SCRAM-SHA-256 and SCRAM-SHA-512, users made with `nisshi user
//! create` before authentication is switched on). Certificates are made at run time
//! ([`Pki`]). nisshi enables no SASL PLAIN: a PLAIN client is refused at the handshake, and
//! that refusal is what is tested of PLAIN here.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::common::pki::Pki;
use crate::common::{
    address_in_use, fast_cluster, start_on_free_port, temp_dir, wait_for, Broker, BrokerSetup,
    Started, Warren,
};
use crate::tools;

fn can_run_tls() -> bool {
    tools::suite(
        "kafka_tls",
        &[tools::broker, tools::openssl, tools::stunnel],
    )
}

fn can_run_sasl() -> bool {
    tools::suite("kafka_sasl", &[tools::broker])
}

const TOPIC: &str = "orders";
const GROUP: &str = "billing";
/// The SASL password: a canary searched for in every log, reply and `check-config` output.
const PASSWORD: &str = "canary-pw-6c1f0e9a";
const WRONG_PASSWORD: &str = "canary-wrong-3b7d52";
/// librdkafka's debug output too: no password may show even there.
const TRACE: &str = "[log]\nfilter = \"trace\"\n";

/// The topic and group whose lags warren must report: high watermarks 5 and 8, committed 2
/// and 8, so lags 3 and 0.
fn load(broker: &Broker) {
    broker.create_topic(TOPIC, 2);
    broker.produce(TOPIC, &[5, 8]);
    broker.commit(GROUP, &[(TOPIC, 0, 2), (TOPIC, 1, 8)]);
}

/// `client."KEY" = "VALUE"` lines of a `[[clusters]]` table.
fn client_lines(props: &[(&str, String)]) -> Vec<String> {
    props
        .iter()
        .map(|(k, v)| format!("client.\"{k}\" = \"{v}\""))
        .collect()
}

/// A `[[clusters]]` table `name` for `bootstrap` with client properties `props`.
fn cluster(name: &str, bootstrap: &str, props: &[(&str, String)]) -> String {
    let lines = client_lines(props);
    let mut extra: Vec<&str> = lines.iter().map(String::as_str).collect();
    extra.push("request_timeout = \"3s\"");
    fast_cluster(name, bootstrap, &extra)
}

/// Prints warren's log when a test fails while it is in scope.
struct LogOnFailure<'a>(&'a Warren);

impl Drop for LogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("warren log:\n{}", self.0.log());
        }
    }
}

/// Waits until warren reports the exact offsets and lags of [`load`] for `cluster`, up.
fn assert_exact_lags(w: &Warren, cluster: &str) {
    let c = format!("cluster=\"{cluster}\"");
    let series = |name: &str, p: i32| {
        format!("{name}{{{c},group=\"{GROUP}\",topic=\"{TOPIC}\",partition=\"{p}\"}}")
    };
    let m = wait_for(
        Duration::from_secs(60),
        &format!("the lags of {cluster}"),
        || {
            let m = w.metrics();
            let lag = |p| m.get(&series("kafka_consumergroup_group_lag", p)).copied();
            (lag(0) == Some(3.0) && lag(1) == Some(0.0)).then_some(m)
        },
    );
    let mut want = BTreeMap::new();
    want.insert(format!("warren_cluster_up{{{c}}}"), 1.0);
    for (p, latest, committed) in [(0, 5.0, 2.0), (1, 8.0, 8.0)] {
        want.insert(
            format!("kafka_partition_latest_offset{{{c},topic=\"{TOPIC}\",partition=\"{p}\"}}"),
            latest,
        );
        want.insert(series("kafka_consumergroup_group_offset", p), committed);
    }
    want.insert(
        format!("kafka_consumergroup_group_sum_lag{{{c},group=\"{GROUP}\"}}"),
        3.0,
    );
    let got: BTreeMap<String, f64> = want
        .keys()
        .filter_map(|k| Some((k.clone(), *m.get(k)?)))
        .collect();
    assert_eq!(got, want);
}

/// Waits until `cluster` has failed at least 3 polls, then checks that it is down and that
/// the log holds exactly one warning naming the cluster, which says it is down and why
/// (`error`): one line per outage, not one per attempt. Returns the log.
fn assert_down_with_one_line(w: &Warren, cluster: &str, error: &str) -> String {
    let c = format!("cluster=\"{cluster}\"");
    let m = wait_for(
        Duration::from_secs(120),
        &format!("3 failed polls of {cluster}"),
        || {
            let m = w.metrics();
            let failed: f64 = m
                .iter()
                .filter(|(k, _)| k.starts_with("warren_poll_errors_total{") && k.contains(&c))
                .map(|(_, v)| v)
                .sum();
            (failed >= 3.0).then_some(m)
        },
    );
    assert_eq!(m.get(&format!("warren_cluster_up{{{c}}}")), Some(&0.0));
    let log = w.log();
    let named = format!("\"{cluster}\"");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| is_warning(l) && l.contains(&named))
        .collect();
    assert_eq!(lines.len(), 1, "one warning naming {cluster}:\n{log}");
    assert!(
        lines[0].contains("cluster is down") && lines[0].contains(error),
        "{error:?} not in: {}",
        lines[0]
    );
    log
}

/// Whether a log line is at WARN or ERROR (its second word once colours are taken out).
fn is_warning(line: &str) -> bool {
    let mut plain = String::new();
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        if ch == '\u{1b}' {
            // An SGR sequence: ESC [ ... m.
            chars.by_ref().find(|&c| c == 'm');
        } else {
            plain.push(ch);
        }
    }
    matches!(plain.split_whitespace().nth(1), Some("WARN" | "ERROR"))
}

// ---------------------------------------------------------------------------------------------
// TLS

/// The TLS client properties trusting `ca` (a file in `pki`), with `identity`'s certificate
/// and key when given.
fn ssl(pki: &Pki, ca: &str, identity: Option<&str>) -> Vec<(&'static str, String)> {
    let path = |f: String| pki.path(&f).display().to_string();
    let mut props = vec![
        ("security.protocol", "SSL".to_string()),
        ("ssl.ca.location", path(format!("{ca}.crt"))),
    ];
    if let Some(name) = identity {
        props.push(("ssl.certificate.location", path(format!("{name}.crt"))));
        props.push(("ssl.key.location", path(format!("{name}.key"))));
    }
    props
}

fn owned(props: &[(&str, String)]) -> Vec<(String, String)> {
    props
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn tls_to_the_brokers_own_listener_reports_exact_lags_and_a_wrong_ca_is_one_line() {
    if !can_run_tls() {
        return;
    }
    let pki = Pki::new();
    let server = (pki.path("server.crt"), pki.path("server.key"));
    let broker = Broker::start_with(
        "tls",
        BrokerSetup {
            tls: Some(server),
            client: owned(&ssl(&pki, "ca", None)),
            ..BrokerSetup::default()
        },
    );
    load(&broker);
    let config = cluster("tls", &broker.bootstrap(), &ssl(&pki, "ca", None))
        + &cluster(
            "stranger-ca",
            &broker.bootstrap(),
            &ssl(&pki, "other-ca", None),
        )
        + &cluster("plaintext", &broker.bootstrap(), &[]);
    let w = Warren::start(&config);
    let _log = LogOnFailure(&w);
    assert_exact_lags(&w, "tls");
    assert_down_with_one_line(&w, "stranger-ca", "certificate verify failed");
    assert_down_with_one_line(&w, "plaintext", "BrokerTransportFailure");
}

/// stunnel on 127.0.0.1:`port` in front of the broker on `broker_port`, requiring a client
/// certificate from `ca` (`verify = 2`); killed on drop.
struct Stunnel {
    child: Child,
    dir: TempDir,
}

impl Stunnel {
    fn start(pki: &Pki, port: u16, broker_port: u16) -> Started<Stunnel> {
        let dir = temp_dir("stunnel");
        let conf = dir.path().join("stunnel.conf");
        let file = |f: &str| pki.path(f).display().to_string();
        std::fs::write(
            &conf,
            format!(
                "foreground = yes\npid =\n[kafka]\naccept = 127.0.0.1:{port}\n\
                 connect = 127.0.0.1:{broker_port}\ncert = {}\nkey = {}\nCAfile = {}\n\
                 verify = 2\n",
                file("server.crt"),
                file("server.key"),
                file("ca.crt"),
            ),
        )
        .expect("stunnel.conf");
        let log = std::fs::File::create(dir.path().join("stunnel.log")).expect("log");
        let child = Command::new(tools::path(tools::stunnel))
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start stunnel");
        let mut s = Stunnel { child, dir };
        let ready = wait_for(Duration::from_secs(30), "stunnel to listen", || {
            if let Ok(Some(status)) = s.child.try_wait() {
                let log = s.log();
                assert!(address_in_use(&log), "stunnel exited with {status}:\n{log}");
                return Some(false);
            }
            std::net::TcpStream::connect(("127.0.0.1", port))
                .is_ok()
                .then_some(true)
        });
        if ready {
            Started::Up(s)
        } else {
            Started::PortTaken
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stunnel.log")).unwrap_or_default()
    }
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn mutual_tls_through_stunnel_reports_exact_lags_and_no_client_certificate_is_one_line() {
    if !can_run_tls() {
        return;
    }
    let pki = Pki::new();
    // The broker advertises stunnel's port, so every connection, the test's own too, goes
    // through stunnel and must show a client certificate.
    let (broker, stunnel) = start_on_free_port("stunnel", |proxy_port| {
        let broker = Broker::start_with(
            "mtls",
            BrokerSetup {
                advertised_port: Some(proxy_port),
                client: owned(&ssl(&pki, "ca", Some("client"))),
                ..BrokerSetup::default()
            },
        );
        match Stunnel::start(&pki, proxy_port, broker.port) {
            Started::Up(s) => Started::Up((broker, s)),
            Started::PortTaken => Started::PortTaken,
        }
    });
    load(&broker);
    let via = broker
        .setup
        .advertised_port
        .map(|p| format!("127.0.0.1:{p}"))
        .expect("stunnel's port");
    let config = cluster("mtls", &via, &ssl(&pki, "ca", Some("client")))
        + &cluster("no-client-cert", &via, &ssl(&pki, "ca", None))
        + &cluster("stranger-cert", &via, &ssl(&pki, "ca", Some("stranger")));
    let w = Warren::start(&config);
    let _log = LogOnFailure(&w);
    assert_exact_lags(&w, "mtls");
    assert_down_with_one_line(&w, "no-client-cert", "certificate required");
    assert_down_with_one_line(&w, "stranger-cert", "certificate required");
    drop(stunnel);
}

// ---------------------------------------------------------------------------------------------
// SASL

/// A broker that requires SASL SCRAM, holding [`load`]'s data and users `warren256`
/// (SCRAM-SHA-256) and `warren512` (SCRAM-SHA-512), both with [`PASSWORD`]. `nisshi user
/// create` cannot authenticate, so users and data are made first and the broker then restarts
/// with authentication on the same SQLite store.
fn scram_broker(cluster_id: &str) -> Broker {
    let mut broker = Broker::start_with(
        cluster_id,
        BrokerSetup {
            persistent: true,
            ..BrokerSetup::default()
        },
    );
    broker.create_user("warren256", PASSWORD, "scram256");
    broker.create_user("warren512", PASSWORD, "scram512");
    load(&broker);
    broker.setup.authentication = true;
    broker.restart();
    broker
}

fn sasl(mechanism: &str, user: &str, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("security.protocol", "SASL_PLAINTEXT".to_string()),
        ("sasl.mechanism", mechanism.to_string()),
        ("sasl.username", user.to_string()),
        ("sasl.password", password.to_string()),
    ]
}

#[test]
fn scram_sha_256_and_512_report_exact_lags_and_a_wrong_password_is_one_line() {
    if !can_run_sasl() {
        return;
    }
    let broker = scram_broker("scram");
    let b = broker.bootstrap();
    let config = cluster("sha256", &b, &sasl("SCRAM-SHA-256", "warren256", PASSWORD))
        + &cluster("sha512", &b, &sasl("SCRAM-SHA-512", "warren512", PASSWORD))
        + &cluster(
            "wrong-password",
            &b,
            &sasl("SCRAM-SHA-512", "warren512", WRONG_PASSWORD),
        )
        + &cluster("no-sasl", &b, &[]);
    let w = Warren::start(&config);
    let _log = LogOnFailure(&w);
    assert_exact_lags(&w, "sha256");
    assert_exact_lags(&w, "sha512");
    assert_down_with_one_line(&w, "wrong-password", "invalid-proof");
    assert_down_with_one_line(&w, "no-sasl", "BrokerTransportFailure");
}

#[test]
fn sasl_passwords_never_show_in_logs_replies_or_check_config() {
    if !can_run_sasl() {
        return;
    }
    let broker = scram_broker("scram-leak");
    let b = broker.bootstrap();
    let debug_all = "client.\"debug\" = \"all\"";
    let with_debug = |table: String| table + debug_all + "\n";
    let config = with_debug(cluster("good", &b, &sasl("SCRAM-SHA-256", "warren256", PASSWORD)))
        + &with_debug(cluster(
            "wrong",
            &b,
            &sasl("SCRAM-SHA-256", "warren256", WRONG_PASSWORD),
        ))
        // nisshi enables SCRAM only: PLAIN is refused at the handshake.
        + &with_debug(cluster("plain", &b, &sasl("PLAIN", "warren256", PASSWORD)))
        + TRACE;
    let w = Warren::start(&config);
    let _log = LogOnFailure(&w);
    assert_exact_lags(&w, "good");
    assert_down_with_one_line(&w, "plain", "Unsupported SASL mechanism");
    wait_for(
        Duration::from_secs(60),
        "the wrong password to be refused",
        || (w.metrics().get("warren_cluster_up{cluster=\"wrong\"}") == Some(&0.0)).then_some(()),
    );
    let mut seen = vec![("log".to_string(), w.log())];
    for path in [
        "/metrics",
        "/",
        "/v3/config",
        "/v3/config/cluster",
        "/v3/config/cluster/good",
        "/v3/config/cluster/wrong",
        "/v3/config/cluster/plain",
        "/v3/config/consumer",
        "/v3/config/consumer/good",
        "/v3/kafka/good",
        "/v3/kafka/wrong",
    ] {
        seen.push((path.to_string(), w.get(path, &[]).text()));
    }
    let dir = temp_dir("sasl-check-config");
    let file = dir.path().join("warren.toml");
    std::fs::write(&file, &config).expect("config file");
    let out = crate::common::warren_command()
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .expect("warren check-config");
    assert!(out.status.success(), "check-config: {out:?}");
    let check = crate::config::text(&out.stdout) + &crate::config::text(&out.stderr);
    assert!(check.contains("sasl.password"), "{check}");
    seen.push(("check-config".to_string(), check));
    for (what, text) in &seen {
        for secret in [PASSWORD, WRONG_PASSWORD] {
            assert!(!text.contains(secret), "{secret} in {what}:\n{text}");
        }
    }
    // The log is librdkafka's debug output indeed, SASL included.
    assert!(seen[0].1.contains("SASL"), "no librdkafka SASL debug lines");
}
