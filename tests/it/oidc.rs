//! OAUTHBEARER with OIDC (`sasl.oauthbearer.method = "oidc"`, librdkafka built with curl):
//! a local token endpoint, written here, sees warren's Kafka client ask for a token with the
//! configured client id, secret and scope (client credentials, HTTP basic authentication), and
//! ask again before the token expires. No broker here accepts OAUTHBEARER, so the broker side
//! is not part of this test (README "Connecting to Kafka").

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use warren::kafka::admin::Admin;

use crate::common::{free_port, temp_dir, wait_for, warren_command};

/// A token request as the endpoint saw it.
#[derive(Debug, Clone)]
struct TokenRequest {
    at: Instant,
    authorization: String,
    body: String,
}

/// A token endpoint on a free port answering every POST with a JWT valid for `lifetime`.
struct TokenEndpoint {
    url: String,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
}

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl TokenEndpoint {
    fn start(lifetime: Duration) -> TokenEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the token endpoint");
        let url = format!(
            "http://{}/oauth2/token",
            listener.local_addr().expect("address")
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut authorization = String::new();
                let mut length = 0usize;
                let mut line = String::new();
                // Request line and headers, up to the empty line.
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    let header = line.trim_end().to_string();
                    line.clear();
                    if header.is_empty() {
                        break;
                    }
                    let lower = header.to_ascii_lowercase();
                    if lower.starts_with("authorization:") {
                        authorization = header["authorization:".len()..].trim().to_string();
                    } else if let Some(n) = lower.strip_prefix("content-length:") {
                        length = n.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                seen.lock().unwrap().push(TokenRequest {
                    at: Instant::now(),
                    authorization,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let claims = format!(
                    "{{\"sub\":\"warren\",\"iat\":{now},\"exp\":{}}}",
                    now + lifetime.as_secs()
                );
                let jwt = format!(
                    "{}.{}.{}",
                    base64url(b"{\"alg\":\"none\",\"typ\":\"JWT\"}"),
                    base64url(claims.as_bytes()),
                    base64url(b"signature")
                );
                let reply = format!(
                    "{{\"access_token\":\"{jwt}\",\"token_type\":\"Bearer\",\"expires_in\":{}}}",
                    lifetime.as_secs()
                );
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        TokenEndpoint { url, requests }
    }

    fn requests(&self) -> Vec<TokenRequest> {
        self.requests.lock().unwrap().clone()
    }
}

/// The client properties of an OIDC cluster using `endpoint`.
fn oidc_client(endpoint: &TokenEndpoint) -> BTreeMap<String, String> {
    [
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "OAUTHBEARER"),
        ("sasl.oauthbearer.method", "oidc"),
        ("sasl.oauthbearer.client.id", "warren-client"),
        ("sasl.oauthbearer.client.secret", "oidc-secret-1234"),
        ("sasl.oauthbearer.scope", "kafka.read"),
        ("sasl.oauthbearer.token.endpoint.url", endpoint.url.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[test]
fn the_client_asks_the_token_endpoint_and_refreshes_before_expiry() {
    let lifetime = Duration::from_secs(6);
    let endpoint = TokenEndpoint::start(lifetime);
    // warren's own Kafka client (the admin client every poll uses), kept alive: the broker
    // address answers nothing, the token is fetched and refreshed all the same.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let admin = Admin::new(&nowhere, &oidc_client(&endpoint)).expect("an OIDC client");
    let requests = wait_for(Duration::from_secs(30), "a token refresh", || {
        let r = endpoint.requests();
        (r.len() >= 2).then_some(r)
    });
    drop(admin);
    let basic = base64::engine::general_purpose::STANDARD.encode("warren-client:oidc-secret-1234");
    for r in &requests[..2] {
        assert_eq!(r.authorization, format!("Basic {basic}"));
        assert_eq!(r.body, "grant_type=client_credentials&scope=kafka.read");
    }
    // librdkafka refreshes at 80% of the token's lifetime: before it expires.
    let between = requests[1].at - requests[0].at;
    eprintln!("token refreshed after {between:?} of its {lifetime:?}");
    assert!(
        between < lifetime && between >= lifetime / 2,
        "refreshed after {between:?}, the token lives {lifetime:?}"
    );
}

/// `check-config` accepts OIDC (librdkafka without curl refuses `oidc`) and never shows the
/// client secret.
#[test]
fn check_config_accepts_oidc_and_masks_the_secret() {
    let endpoint = TokenEndpoint::start(Duration::from_secs(60));
    let dir = temp_dir("oidc");
    let path = dir.path().join("warren.toml");
    let mut config = "[[clusters]]\nname = \"idp\"\nbootstrap_servers = \"127.0.0.1:9\"\n\
                      [clusters.client]\n"
        .to_string();
    for (k, v) in oidc_client(&endpoint) {
        config.push_str(&format!("\"{k}\" = \"{v}\"\n"));
    }
    std::fs::write(&path, config).expect("config");
    let out = warren_command()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .expect("warren check-config");
    let shown = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{shown}{errors}");
    assert!(
        shown.contains("\"sasl.oauthbearer.method\" = \"oidc\""),
        "{shown}"
    );
    assert!(
        shown.contains("\"sasl.oauthbearer.client.secret\" = \"***\""),
        "{shown}"
    );
    assert!(!shown.contains("oidc-secret-1234") && !errors.contains("oidc-secret-1234"));
}
