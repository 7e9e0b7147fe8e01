//! AWS MSK IAM (`clusters[].auth = { type = "aws_msk_iam", … }`): no broker here speaks MSK
//! IAM, so a tiny listener written here speaks just enough Kafka (ApiVersions, SaslHandshake,
//! SaslAuthenticate) to capture the SASL/OAUTHBEARER token warren's clients send, then refuses
//! it. The tests show that both of warren's Kafka clients (the admin client and the record
//! reader) ask warren's signer for a token and send it, and that the token is the presigned
//! `kafka-cluster:Connect` URL for the configured region and credentials (the same bytes the
//! signer makes for that time, whose exact signature the unit tests check). With
//! `security.protocol = SASL_PLAINTEXT`: the listener has no TLS.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use base64::Engine;
use warren::config::{AuthConfig, AuthKind, ClusterConfig};
use warren::kafka::admin::Admin;
use warren::kafka::msk_iam::{sign_token, user_agent, MskIam};
use warren::kafka::record::{RecordReader, RecordWant};

use crate::common::{temp_dir, wait_for, warren_command};

const REGION: &str = "eu-west-1";

/// A listener that answers ApiVersions, SaslHandshake (OAUTHBEARER) and SaslAuthenticate,
/// keeping every OAUTHBEARER token it is sent.
struct SaslListener {
    address: String,
    tokens: Arc<Mutex<Vec<String>>>,
}

impl SaslListener {
    fn start() -> SaslListener {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let seen = tokens.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, &seen));
            }
        });
        SaslListener { address, tokens }
    }

    /// The first token sent, waiting up to 30 s for it.
    fn first_token(&self) -> String {
        wait_for(Duration::from_secs(30), "an OAUTHBEARER token", || {
            self.tokens.lock().unwrap().first().cloned()
        })
    }
}

/// One connection: request frames until the client closes it.
fn serve(mut stream: TcpStream, tokens: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    loop {
        let mut size = [0u8; 4];
        if stream.read_exact(&mut size).is_err() {
            return;
        }
        let mut frame = vec![0u8; u32::from_be_bytes(size) as usize];
        if stream.read_exact(&mut frame).is_err() || frame.len() < 10 {
            return;
        }
        let api_key = i16::from_be_bytes([frame[0], frame[1]]);
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        let correlation = &frame[4..8];
        // Request header v1/v2: the client id is a (non-compact) nullable string.
        let client_id = i16::from_be_bytes([frame[8], frame[9]]).max(0) as usize;
        let mut body = &frame[10 + client_id..];
        let mut reply = correlation.to_vec();
        match api_key {
            // ApiVersions: the header of a flexible version (3+) ends with tagged fields.
            18 => {
                let flexible = version >= 3;
                let apis: [(i16, i16, i16); 3] = [(18, 0, 3), (17, 0, 1), (36, 0, 1)];
                reply.extend(0i16.to_be_bytes());
                if flexible {
                    reply.push(apis.len() as u8 + 1);
                } else {
                    reply.extend((apis.len() as i32).to_be_bytes());
                }
                for (key, min, max) in apis {
                    reply.extend(key.to_be_bytes());
                    reply.extend(min.to_be_bytes());
                    reply.extend(max.to_be_bytes());
                    if flexible {
                        reply.push(0);
                    }
                }
                if version >= 1 {
                    reply.extend(0i32.to_be_bytes());
                }
                if flexible {
                    reply.push(0);
                }
            }
            // SaslHandshake: OAUTHBEARER it is.
            17 => {
                reply.extend(0i16.to_be_bytes());
                reply.extend(1i32.to_be_bytes());
                reply.extend(11i16.to_be_bytes());
                reply.extend(b"OAUTHBEARER");
            }
            // SaslAuthenticate: keep the token, refuse it.
            36 => {
                let n = i32::from_be_bytes([body[0], body[1], body[2], body[3]]) as usize;
                body = &body[4..4 + n];
                // RFC 7628's initial response: n,,\x01auth=Bearer <token>\x01\x01
                let text = String::from_utf8_lossy(body);
                if let Some(token) = text
                    .split('\x01')
                    .find_map(|kv| kv.strip_prefix("auth=Bearer "))
                {
                    tokens.lock().unwrap().push(token.to_string());
                }
                let message = b"refused by the test listener";
                reply.extend(58i16.to_be_bytes()); // SASL_AUTHENTICATION_FAILED
                reply.extend((message.len() as i16).to_be_bytes());
                reply.extend(message);
                reply.extend(0i32.to_be_bytes());
                if version >= 1 {
                    reply.extend(0i64.to_be_bytes());
                }
            }
            _ => return,
        }
        let mut out = (reply.len() as u32).to_be_bytes().to_vec();
        out.extend(reply);
        if stream.write_all(&out).is_err() {
            return;
        }
    }
}

/// The presigned URL a token is, split into its host and its `(name, value)` pairs.
fn decode(token: &str) -> (String, BTreeMap<String, String>) {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .expect("base64url without padding");
    let url = String::from_utf8(bytes).expect("UTF-8");
    let (host, query) = url
        .strip_prefix("https://")
        .and_then(|rest| rest.split_once("/?"))
        .unwrap_or_else(|| panic!("not a presigned URL: {url}"));
    let pairs = query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("name=value");
            (k.to_string(), percent_decode(v))
        })
        .collect();
    (host.to_string(), pairs)
}

fn percent_decode(s: &str) -> String {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

/// Checks that `token` is the MSK IAM token for [`REGION`] signed with `credentials`, and
/// that it is byte for byte what warren's signer makes for its signing time.
fn assert_msk_token(token: &str, credentials: &Credentials) {
    let (host, query) = decode(token);
    assert_eq!(host, "kafka.eu-west-1.amazonaws.com");
    let date = &query["X-Amz-Date"];
    assert_eq!(query["Action"], "kafka-cluster:Connect");
    assert_eq!(query["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
    assert_eq!(
        query["X-Amz-Credential"],
        format!(
            "{}/{}/eu-west-1/kafka-cluster/aws4_request",
            credentials.access_key_id(),
            &date[..8]
        )
    );
    assert_eq!(query["X-Amz-Expires"], "900");
    assert_eq!(query["X-Amz-SignedHeaders"], "host");
    assert_eq!(
        query.get("X-Amz-Security-Token").map(String::as_str),
        credentials.session_token()
    );
    assert_eq!(query["User-Agent"], user_agent());
    assert_eq!(query["X-Amz-Signature"].len(), 64);
    // Signed within the last minute (the clock is the real one: librdkafka refuses a token
    // that has expired).
    let signed_at = parse_amz_date(date);
    let age = SystemTime::now()
        .duration_since(signed_at)
        .expect("signed in the past");
    assert!(age < Duration::from_secs(60), "signed {age:?} ago");
    let expected = sign_token(REGION, credentials, signed_at).expect("sign");
    assert_eq!(token, expected.value);
    assert!(!token.contains(credentials.secret_access_key()));
}

/// `YYYYMMDDTHHMMSSZ` as a time (days from the civil date, Howard Hinnant's algorithm).
fn parse_amz_date(date: &str) -> SystemTime {
    let n = |r: std::ops::Range<usize>| date[r].parse::<i64>().expect("digits");
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs = days * 86_400 + n(9..11) * 3600 + n(11..13) * 60 + n(13..15);
    UNIX_EPOCH + Duration::from_secs(secs as u64)
}

fn msk_cluster(bootstrap: &str) -> ClusterConfig {
    let mut cluster = ClusterConfig::new("msk", bootstrap);
    cluster.auth = Some(AuthConfig {
        kind: AuthKind::AwsMskIam,
        region: REGION.to_string(),
    });
    cluster.client.insert(
        "security.protocol".to_string(),
        "SASL_PLAINTEXT".to_string(),
    );
    cluster
}

fn signer(credentials: &Credentials) -> MskIam {
    let provider = SharedCredentialsProvider::new(credentials.clone());
    MskIam::new("msk", REGION, Some(provider), SystemTime::now)
}

#[test]
fn the_admin_client_sends_the_signed_token() {
    let listener = SaslListener::start();
    let cluster = msk_cluster(&listener.address);
    let credentials = Credentials::new(
        "AKIDADMINCLIENT",
        "admin-secret-key",
        Some("admin/session+token=".to_string()),
        None,
        "test",
    );
    let auth = cluster.auth.as_ref().map(|a| (a, signer(&credentials)));
    let admin = Admin::with_auth(&cluster.bootstrap_servers, &cluster.client, auth)
        .expect("an MSK IAM admin client");
    // Nothing polls the client: librdkafka's background thread asks for the token, and the
    // client connects on its own (its group's coordinator lookup).
    let token = listener.first_token();
    assert_msk_token(&token, &credentials);
    drop(admin);
}

#[test]
fn the_record_reader_sends_the_signed_token() {
    let listener = SaslListener::start();
    let cluster = msk_cluster(&listener.address);
    let credentials = Credentials::new("AKIDRECORDREADER", "reader-secret", None, None, "test");
    let reader =
        RecordReader::new(&cluster, Some(signer(&credentials))).expect("an MSK IAM record reader");
    let want = RecordWant {
        topic: "orders".to_string(),
        partition: 0,
        offset: 0,
    };
    // Reading polls the consumer, which serves librdkafka's token request.
    let reads = reader.read(&[want], Duration::from_secs(5), &AtomicBool::new(false));
    assert!(reads.answers.is_empty());
    let token = listener.first_token();
    assert_msk_token(&token, &credentials);
}

/// A `[[clusters]]` table for `bootstrap` with MSK IAM.
fn msk_config(bootstrap: &str) -> String {
    format!(
        "[[clusters]]\nname = \"msk\"\nbootstrap_servers = \"{bootstrap}\"\n\
         poll_interval = \"1s\"\nauth = {{ type = \"aws_msk_iam\", region = \"{REGION}\" }}\n\
         client = {{ \"security.protocol\" = \"SASL_PLAINTEXT\" }}\n\
         [http]\nlisten = \"127.0.0.1:0\"\n"
    )
}

/// `warren run` with `config`, its stderr in `dir`/warren.log and its stdout in
/// `dir`/warren.out, with `env` added.
fn spawn_warren(dir: &std::path::Path, config: &str, env: &[(&str, &str)]) -> Child {
    let path = dir.join("warren.toml");
    std::fs::write(&path, config).expect("config");
    let log = std::fs::File::create(dir.join("warren.log")).expect("log");
    let out = std::fs::File::create(dir.join("warren.out")).expect("out");
    let mut cmd = warren_command();
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .args(["run", "--config"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(log)
        .spawn()
        .expect("start warren")
}

/// The real binary: credentials from the environment (AWS's default chain), the token sent by
/// the admin client of the configured cluster; neither the secret key nor the session token
/// is logged.
#[test]
fn warren_signs_with_environment_credentials() {
    let listener = SaslListener::start();
    let dir = temp_dir("msk-iam");
    let secret = "canary-secret-key-7f3a";
    let session = "canary-session-token-9c1e";
    let mut child = spawn_warren(
        dir.path(),
        &msk_config(&listener.address),
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT"),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_SESSION_TOKEN", session),
            ("WARREN_LOG__FILTER", "debug"),
        ],
    );
    let token = listener.first_token();
    let credentials = Credentials::new(
        "AKIDFROMENVIRONMENT",
        secret,
        Some(session.to_string()),
        None,
        "test",
    );
    assert_msk_token(&token, &credentials);
    // Let it log a failed authentication or two.
    std::thread::sleep(Duration::from_secs(2));
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.path().join("warren.log")).unwrap();
    assert!(log.contains("AWS MSK IAM: signed a token"), "{log}");
    assert!(!log.contains(secret) && !log.contains(session), "{log}");
}

/// At any log filter, even one asking for AWS's signer and HTTP stack at TRACE (aws-sigv4
/// logs the canonical request there, which holds the session token), neither the secret key
/// nor the session token reaches stdout or stderr.
#[test]
fn credentials_never_reach_the_log_at_trace() {
    let secret = "canary-secret-key-4b8d";
    let session = "canary-session-token-e2a6";
    for filter in ["trace", "aws_sigv4=trace,aws_smithy_runtime=trace"] {
        let listener = SaslListener::start();
        let dir = temp_dir("msk-iam-trace");
        let mut child = spawn_warren(
            dir.path(),
            &msk_config(&listener.address),
            &[
                ("AWS_ACCESS_KEY_ID", "AKIDTRACE"),
                ("AWS_SECRET_ACCESS_KEY", secret),
                ("AWS_SESSION_TOKEN", session),
                ("WARREN_LOG__FILTER", filter),
            ],
        );
        // Signed (so aws-sigv4 ran) and sent.
        let token = listener.first_token();
        let credentials =
            Credentials::new("AKIDTRACE", secret, Some(session.to_string()), None, "test");
        assert_msk_token(&token, &credentials);
        std::thread::sleep(Duration::from_secs(2));
        let _ = child.kill();
        let _ = child.wait();
        let log = std::fs::read_to_string(dir.path().join("warren.log")).unwrap();
        let out = std::fs::read_to_string(dir.path().join("warren.out")).unwrap();
        if filter == "trace" {
            // The filter is in force: warren's own DEBUG line is there.
            assert!(log.contains("AWS MSK IAM: signed a token"), "{log}");
        }
        for text in [&log, &out] {
            assert!(!text.contains(secret), "{filter}: {text}");
            assert!(!text.contains(session), "{filter}: {text}");
            assert!(!text.contains("aws_sigv4"), "{filter}: {text}");
        }
    }
}

/// Credentials expiring 5 s after each fetch, as STS's can near their end: each token ends
/// with them, so librdkafka (its real refresh timer, 80% through the lifetime) asks the
/// signer again about 4 s later, and the next connection sends the new token.
#[derive(Debug)]
struct ShortLived {
    fetched: Arc<AtomicUsize>,
}

impl ProvideCredentials for ShortLived {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.fetched.fetch_add(1, Ordering::SeqCst);
        future::ProvideCredentials::ready(Ok(Credentials::new(
            format!("ASIASHORT{n}"),
            "short-secret",
            Some(format!("short-session-{n}")),
            Some(SystemTime::now() + Duration::from_secs(5)),
            "test",
        )))
    }
}

#[test]
fn librdkafka_refreshes_the_token_before_it_expires() {
    let listener = SaslListener::start();
    let mut cluster = msk_cluster(&listener.address);
    // The listener refuses every token: reconnect within a second, not up to 10 s later.
    cluster
        .client
        .insert("reconnect.backoff.max.ms".to_string(), "1000".to_string());
    let fetched = Arc::new(AtomicUsize::new(0));
    let provider = ShortLived {
        fetched: Arc::clone(&fetched),
    };
    let signer = MskIam::new(
        "msk",
        REGION,
        Some(SharedCredentialsProvider::new(provider)),
        SystemTime::now,
    );
    let auth = cluster.auth.as_ref().map(|a| (a, signer));
    let admin = Admin::with_auth(&cluster.bootstrap_servers, &cluster.client, auth)
        .expect("an MSK IAM admin client");
    let first = listener.first_token();
    let started = std::time::Instant::now();
    let second = wait_for(Duration::from_secs(8), "a second, different token", || {
        let tokens = listener.tokens.lock().unwrap();
        tokens.iter().find(|t| **t != first).cloned()
    });
    // Not before librdkafka's refresh (80% of the 5 s lifetime, less the time to the first
    // connection).
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(fetched.load(Ordering::SeqCst) >= 2);
    let (_, first_query) = decode(&first);
    let (_, second_query) = decode(&second);
    assert_eq!(first_query["X-Amz-Security-Token"], "short-session-0");
    let n = second_query["X-Amz-Security-Token"]
        .strip_prefix("short-session-")
        .and_then(|n| n.parse::<usize>().ok())
        .expect("a session token the provider made");
    assert!(n >= 1, "{second_query:?}");
    let credentials = Credentials::new(
        format!("ASIASHORT{n}"),
        "short-secret",
        Some(format!("short-session-{n}")),
        None,
        "test",
    );
    assert_msk_token(&second, &credentials);
    drop(admin);
}

/// Without credentials, one warning names the cluster and the reason, however often
/// librdkafka asks again (every 10 s).
#[test]
fn missing_credentials_are_one_clear_line() {
    let listener = SaslListener::start();
    let dir = temp_dir("msk-iam-none");
    let mut child = spawn_warren(
        dir.path(),
        &msk_config(&listener.address),
        // No instance metadata here: asking for it would only take longer.
        &[
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("HOME", "/nonexistent"),
            ("WARREN_LOG__FILTER", "info,warren::kafka::msk_iam=debug"),
        ],
    );
    let log = || std::fs::read_to_string(dir.path().join("warren.log")).unwrap_or_default();
    let warning = |log: &str| {
        log.lines()
            .filter(|l| l.contains("AWS MSK IAM: no token, so no connection"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let first = wait_for(Duration::from_secs(30), "the warning", || {
        warning(&log()).first().cloned()
    });
    assert!(first.contains("WARN"), "{first}");
    assert!(first.contains("cluster=msk"), "{first}");
    assert!(first.contains("cannot get AWS credentials"), "{first}");
    // librdkafka asks again 10 s after a failure: still one warning.
    wait_for(Duration::from_secs(30), "a second attempt", || {
        log().contains("AWS MSK IAM: still no token").then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
    let log = log();
    assert_eq!(warning(&log).len(), 1, "{log}");
    // The cluster is down, with the reason (librdkafka raises no error event for it).
    let down = log
        .lines()
        .find(|l| l.contains("cluster is down"))
        .unwrap_or_else(|| panic!("no outage line: {log}"));
    assert!(
        down.contains(
            "cause=\"AWS MSK IAM: cannot get AWS credentials: the credential provider was not \
             enabled: no providers in chain provided credentials\""
        ),
        "{down}"
    );
    assert!(listener.tokens.lock().unwrap().is_empty());
}
