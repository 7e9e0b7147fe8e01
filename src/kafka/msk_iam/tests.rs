use std::sync::atomic::{AtomicI64, Ordering};
use std::time::UNIX_EPOCH;

use aws_credential_types::provider::{error::CredentialsError, future, ProvideCredentials};

use super::*;

/// A fake clock: Unix milliseconds, moved by the test. One per test (fn pointers capture
/// nothing, so each test has its own static).
macro_rules! fake_clock {
    ($name:ident, $start_ms:expr) => {
        static $name: AtomicI64 = AtomicI64::new($start_ms);
    };
}

fn at_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms as u64)
}

/// 2026-12-05T12:34:56Z.
const START_MS: i64 = 1_796_474_096_000;

fn fixed(credentials: Credentials) -> Option<SharedCredentialsProvider> {
    Some(SharedCredentialsProvider::new(credentials))
}

fn decode_url(token: &MskToken) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&token.value)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_token_is_signed_with_the_credentials_at_the_clocks_time() {
    fake_clock!(NOW, START_MS);
    let credentials =
        Credentials::new("AKIDFIXED", "secret-key", Some("session".into()), None, "t");
    let signer = MskIam::new("msk", "eu-west-1", fixed(credentials), || {
        at_ms(NOW.load(Ordering::Relaxed))
    });
    let token = signer.token().unwrap();
    assert_eq!(token.principal, "AKIDFIXED");
    assert_eq!(token.expires_at_ms, START_MS + 900_000);
    let url = decode_url(&token);
    assert!(
        url.starts_with("https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect&"),
        "{url}"
    );
    assert!(url.contains("&X-Amz-Date=20261205T123456Z&"), "{url}");
    assert!(
        url.contains(
            "&X-Amz-Credential=AKIDFIXED%2F20261205%2Feu-west-1%2Fkafka-cluster%2Faws4_request&"
        ),
        "{url}"
    );
    assert!(url.contains("&X-Amz-Security-Token=session&"), "{url}");
    assert!(!url.contains("secret-key"));
    // An hour later, another signing time.
    NOW.fetch_add(3_600_000, Ordering::Relaxed);
    let later = signer.token().unwrap();
    assert!(decode_url(&later).contains("&X-Amz-Date=20261205T133456Z&"));
    assert_eq!(later.expires_at_ms, START_MS + 3_600_000 + 900_000);
    // rdkafka's form of it.
    let oauth = later.clone().into_oauth_token();
    assert_eq!(
        (oauth.token, oauth.principal_name, oauth.lifetime_ms),
        (later.value, later.principal, later.expires_at_ms)
    );
}

/// Credentials that expire `lifetime_s` after they are fetched (by the fake clock), with a
/// new access key id each time, as STS or IMDS hand them out.
#[derive(Debug)]
struct Expiring {
    clock: fn() -> SystemTime,
    lifetime_s: u64,
    fetched: AtomicI64,
}

impl ProvideCredentials for Expiring {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.fetched.fetch_add(1, Ordering::Relaxed);
        let expiry = (self.clock)() + Duration::from_secs(self.lifetime_s);
        future::ProvideCredentials::ready(Ok(Credentials::new(
            format!("ASIA{n}"),
            "secret",
            Some("session".into()),
            Some(expiry),
            "expiring",
        )))
    }
}

/// librdkafka asks for a token at start and then 80% through each token's remaining life
/// (`librdkafka_refresh_at_ms`); with the fake clock moved to each of those times, every token
/// is replaced before it expires, whether the URL's 900 s or the credentials' expiry ends it.
#[test]
fn tokens_are_refreshed_before_they_expire() {
    fake_clock!(NOW, START_MS);
    fn now() -> SystemTime {
        at_ms(NOW.load(Ordering::Relaxed))
    }
    for (credentials_lifetime_s, token_lifetime_ms) in [(3600, 900_000), (300, 300_000)] {
        NOW.store(START_MS, Ordering::Relaxed);
        let provider = Expiring {
            clock: now,
            lifetime_s: credentials_lifetime_s,
            fetched: AtomicI64::new(0),
        };
        let signer = MskIam::new(
            "msk",
            "eu-west-1",
            Some(SharedCredentialsProvider::new(provider)),
            now,
        );
        let mut previous: Option<MskToken> = None;
        for round in 0..5 {
            let now_ms = NOW.load(Ordering::Relaxed);
            let token = signer.token().unwrap();
            assert_eq!(token.principal, format!("ASIA{round}"));
            assert_eq!(token.expires_at_ms, now_ms + token_lifetime_ms);
            if let Some(previous) = previous {
                // Replaced with a fifth of the previous token's life left.
                assert_eq!(previous.expires_at_ms - now_ms, token_lifetime_ms / 5);
            }
            let refresh_at = librdkafka_refresh_at_ms(now_ms, token.expires_at_ms);
            assert_eq!(refresh_at, now_ms + token_lifetime_ms * 4 / 5);
            assert!(refresh_at < token.expires_at_ms);
            NOW.store(refresh_at, Ordering::Relaxed);
            previous = Some(token);
        }
    }
}

#[derive(Debug)]
struct Failing;

impl ProvideCredentials for Failing {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
            "no web identity token file",
        )))
    }
}

#[test]
fn a_credentials_failure_is_the_reason_given_to_librdkafka() {
    let signer = MskIam::new(
        "msk",
        "eu-west-1",
        Some(SharedCredentialsProvider::new(Failing)),
        SystemTime::now,
    );
    let e = signer.token().unwrap_err();
    assert_eq!(
        e,
        "cannot get AWS credentials: the credential provider was not enabled: no web identity \
         token file"
    );
    // Again the same: remembered (logged once), still an error.
    assert_eq!(signer.token().unwrap_err(), e);
    let context = MskIamContext(signer);
    let err = context.generate_oauth_token(None).err().unwrap();
    assert_eq!(err.to_string(), e);
}

#[test]
fn the_signer_comes_from_the_clusters_auth() {
    let mut cluster = ClusterConfig::new("msk", "b-1:9098");
    assert!(MskIam::for_cluster(&cluster).is_none());
    cluster.auth = Some(crate::config::AuthConfig {
        kind: crate::config::AuthKind::AwsMskIam,
        region: "ap-southeast-2".to_string(),
    });
    let signer = MskIam::for_cluster(&cluster).unwrap();
    assert_eq!(
        format!("{signer:?}"),
        "MskIam { cluster: \"msk\", region: \"ap-southeast-2\", .. }"
    );
}
