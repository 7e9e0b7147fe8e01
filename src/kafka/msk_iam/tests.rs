use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
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

/// Credentials that expire `lifetime_s` after they are fetched (by the fake clock; None: no
/// expiry, as static keys), with a new access key id each time, as STS or IMDS hand them out;
/// counts its calls.
#[derive(Debug)]
struct Counting {
    clock: fn() -> SystemTime,
    lifetime_s: Option<u64>,
    fetched: Arc<AtomicI64>,
}

impl ProvideCredentials for Counting {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.fetched.fetch_add(1, Ordering::Relaxed);
        let expiry = self
            .lifetime_s
            .map(|s| (self.clock)() + Duration::from_secs(s));
        future::ProvideCredentials::ready(Ok(Credentials::new(
            format!("ASIA{n}"),
            "secret",
            Some("session".into()),
            expiry,
            "counting",
        )))
    }
}

fn counting_signer(clock: fn() -> SystemTime, lifetime_s: Option<u64>) -> (MskIam, Arc<AtomicI64>) {
    let fetched = Arc::new(AtomicI64::new(0));
    let provider = Counting {
        clock,
        lifetime_s,
        fetched: Arc::clone(&fetched),
    };
    let signer = MskIam::new(
        "msk",
        "eu-west-1",
        Some(SharedCredentialsProvider::new(provider)),
        clock,
    );
    (signer, fetched)
}

/// Credentials with an expiry are reused until 5 minutes before it, then fetched again.
#[test]
fn expiring_credentials_are_reused_until_five_minutes_before_they_expire() {
    fake_clock!(NOW, START_MS);
    fn now() -> SystemTime {
        at_ms(NOW.load(Ordering::Relaxed))
    }
    let (signer, fetched) = counting_signer(now, Some(3600));
    let first = signer.token().unwrap();
    assert_eq!(first.principal, "ASIA0");
    assert_eq!(fetched.load(Ordering::Relaxed), 1);
    // librdkafka's refreshes (720 s apart) until the credentials are 5 minutes from expiry.
    for step in 1..=3 {
        NOW.store(START_MS + step * 720_000, Ordering::Relaxed);
        let token = signer.token().unwrap();
        assert_eq!(token.principal, "ASIA0", "step {step}");
        assert_eq!(token.expires_at_ms, START_MS + step * 720_000 + 900_000);
    }
    // 2880 s in, 720 s left: the token ends with the credentials.
    NOW.store(START_MS + 2_880_000, Ordering::Relaxed);
    let token = signer.token().unwrap();
    assert_eq!(token.principal, "ASIA0");
    assert_eq!(token.expires_at_ms, START_MS + 3_600_000);
    // 3299 s in: 301 s left, still reused; at 3300 s exactly 300 s left: fetched again.
    NOW.store(START_MS + 3_299_000, Ordering::Relaxed);
    assert_eq!(signer.token().unwrap().principal, "ASIA0");
    assert_eq!(fetched.load(Ordering::Relaxed), 1);
    NOW.store(START_MS + 3_300_000, Ordering::Relaxed);
    let renewed = signer.token().unwrap();
    assert_eq!(renewed.principal, "ASIA1");
    assert_eq!(renewed.expires_at_ms, START_MS + 3_300_000 + 900_000);
    assert_eq!(fetched.load(Ordering::Relaxed), 2);
    // The clones of a signer (one per client of the cluster) share the cache.
    assert_eq!(signer.clone().token().unwrap().principal, "ASIA1");
    assert_eq!(fetched.load(Ordering::Relaxed), 2);
}

/// Credentials expiring within 5 minutes of being fetched are never reused.
#[test]
fn short_lived_credentials_are_fetched_for_every_token() {
    fake_clock!(NOW, START_MS);
    fn now() -> SystemTime {
        at_ms(NOW.load(Ordering::Relaxed))
    }
    let (signer, fetched) = counting_signer(now, Some(120));
    for n in 0..3 {
        let token = signer.token().unwrap();
        assert_eq!(token.principal, format!("ASIA{n}"));
        // Ends with the credentials.
        assert_eq!(token.expires_at_ms, NOW.load(Ordering::Relaxed) + 120_000);
        NOW.fetch_add(96_000, Ordering::Relaxed);
    }
    assert_eq!(fetched.load(Ordering::Relaxed), 3);
}

/// Credentials without an expiry (environment, static keys) are reused for 5 minutes.
#[test]
fn credentials_without_an_expiry_are_reused_for_five_minutes() {
    fake_clock!(NOW, START_MS);
    fn now() -> SystemTime {
        at_ms(NOW.load(Ordering::Relaxed))
    }
    let (signer, fetched) = counting_signer(now, None);
    assert_eq!(signer.token().unwrap().principal, "ASIA0");
    NOW.store(START_MS + 299_999, Ordering::Relaxed);
    assert_eq!(signer.token().unwrap().principal, "ASIA0");
    assert_eq!(fetched.load(Ordering::Relaxed), 1);
    NOW.store(START_MS + 300_000, Ordering::Relaxed);
    assert_eq!(signer.token().unwrap().principal, "ASIA1");
    // Reused from the new fetch on.
    NOW.store(START_MS + 599_999, Ordering::Relaxed);
    assert_eq!(signer.token().unwrap().principal, "ASIA1");
    assert_eq!(fetched.load(Ordering::Relaxed), 2);
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
