//! AWS MSK IAM authentication (`clusters[].auth = { type = "aws_msk_iam", region = "…" }`):
//! warren's Kafka clients authenticate with SASL/OAUTHBEARER, each token a SigV4-presigned URL
//! ([`token`]) signed with credentials from AWS's default chain (environment, web identity
//! for EKS service accounts, ECS container credentials, EC2 instance profile), made when
//! librdkafka asks for one (at start, then 80% through each token's lifetime).
//!
//! librdkafka asks from one of its own threads (the admin client's background thread, the
//! record reader's polling thread); credentials may need an HTTP request (STS, ECS, IMDS), so
//! they are fetched on a small runtime of their own, never on a tokio worker of the exporter's,
//! with a time limit. A failure goes back to librdkafka (which logs it and asks again 10 s
//! later) and is logged once here, naming the cluster.
//!
//! AWS's default chain caches nothing, so the signer keeps the last credentials (one signer
//! per cluster, shared by its clients): every token, reconnect and new admin client would
//! otherwise run the whole chain (an STS call on EKS).

mod token;

use std::error::Error;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::provider_config::ProviderConfig;
use aws_config::Region;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::consumer::ConsumerContext;
use tokio::sync::OnceCell;

use crate::config::ClusterConfig;
pub use token::{
    endpoint_host, expires_at_ms, sign_token, unix_ms, user_agent, MskToken, TOKEN_VALIDITY,
};

/// The longest a token request waits for credentials (an STS or IMDS call that hangs): past
/// it, librdkafka is told the refresh failed and asks again.
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(10);

/// Cached credentials are fetched again when they expire within this, and credentials
/// without an expiry (environment, static keys) this long after they were fetched, so a
/// rotated key is picked up.
const CREDENTIALS_REUSE: Duration = Duration::from_secs(300);

/// The signer of one cluster's tokens. Cheap to clone (shared state).
#[derive(Clone)]
pub struct MskIam {
    inner: Arc<Inner>,
}

struct Inner {
    /// The cluster's name, for log lines.
    cluster: String,
    region: String,
    /// AWS's default chain, made on first use (on the credentials runtime), or given.
    credentials: OnceCell<SharedCredentialsProvider>,
    /// The last credentials fetched and when (by `clock`), reused per [`CREDENTIALS_REUSE`].
    cached: Mutex<Option<(Credentials, SystemTime)>>,
    /// The signing time; a test fixes it.
    clock: fn() -> SystemTime,
    /// The error of the last failed token request, while they fail: logged once.
    failing: Mutex<Option<String>>,
}

impl std::fmt::Debug for MskIam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MskIam")
            .field("cluster", &self.inner.cluster)
            .field("region", &self.inner.region)
            .finish_non_exhaustive()
    }
}

impl MskIam {
    /// The signer of `cluster`'s tokens when its `auth` is `aws_msk_iam`: credentials from
    /// AWS's default chain.
    pub fn for_cluster(cluster: &ClusterConfig) -> Option<MskIam> {
        let region = cluster.auth.as_ref()?.msk_iam_region()?;
        Some(MskIam::new(&cluster.name, region, None, SystemTime::now))
    }

    /// A signer with the given credentials and clock (tests; `credentials` None: AWS's default
    /// chain).
    pub fn new(
        cluster: &str,
        region: &str,
        credentials: Option<SharedCredentialsProvider>,
        clock: fn() -> SystemTime,
    ) -> MskIam {
        MskIam {
            inner: Arc::new(Inner {
                cluster: cluster.to_string(),
                region: region.to_string(),
                credentials: OnceCell::new_with(credentials),
                cached: Mutex::new(None),
                clock,
                failing: Mutex::new(None),
            }),
        }
    }

    /// A token signed now with the current credentials, or why there is none. A failure is
    /// logged when it differs from the previous one (librdkafka asks again every 10 s).
    pub fn token(&self) -> Result<MskToken, String> {
        let inner = &self.inner;
        let result = self
            .credentials()
            .and_then(|c| sign_token(&inner.region, &c, (inner.clock)()));
        let mut failing = inner.failing.lock().unwrap_or_else(|e| e.into_inner());
        match &result {
            Ok(token) => {
                if failing.take().is_some() {
                    tracing::info!(
                        cluster = %inner.cluster,
                        "AWS MSK IAM: credentials available again"
                    );
                }
                tracing::debug!(
                    cluster = %inner.cluster,
                    principal = %token.principal,
                    expires_at_ms = token.expires_at_ms,
                    "AWS MSK IAM: signed a token"
                );
            }
            Err(e) if failing.as_deref() != Some(e.as_str()) => {
                tracing::warn!(
                    cluster = %inner.cluster,
                    "AWS MSK IAM: no token, so no connection: {e} (librdkafka asks again every \
                     10 s)"
                );
                *failing = Some(e.clone());
            }
            Err(e) => tracing::debug!(cluster = %inner.cluster, "AWS MSK IAM: still no token: {e}"),
        }
        result
    }

    /// Why the last token request failed, while token requests fail.
    pub fn failure(&self) -> Option<String> {
        self.inner
            .failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The cached credentials while [`CREDENTIALS_REUSE`] allows, else fresh ones.
    fn credentials(&self) -> Result<Credentials, String> {
        let now = (self.inner.clock)();
        let mut cached = self.inner.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((credentials, fetched_at)) = cached.as_ref() {
            let reusable = match credentials.expiry() {
                Some(expiry) => expiry > now + CREDENTIALS_REUSE,
                None => now < *fetched_at + CREDENTIALS_REUSE,
            };
            if reusable {
                return Ok(credentials.clone());
            }
        }
        // Held while fetching: the cluster's clients asking at once fetch once.
        let fresh = self.fetch_credentials()?;
        *cached = Some((fresh.clone(), now));
        Ok(fresh)
    }

    /// Credentials from the provider, fetched on the credentials runtime within
    /// [`CREDENTIALS_TIMEOUT`].
    fn fetch_credentials(&self) -> Result<Credentials, String> {
        let runtime = credentials_runtime()?;
        let inner = Arc::clone(&self.inner);
        let (tx, rx) = mpsc::sync_channel(1);
        runtime.spawn(async move {
            let fetch = async {
                let provider = inner
                    .credentials
                    .get_or_init(|| default_chain(&inner.region))
                    .await;
                provider
                    .provide_credentials()
                    .await
                    .map_err(|e| format!("cannot get AWS credentials: {}", error_chain(&e)))
            };
            let result = tokio::time::timeout(CREDENTIALS_TIMEOUT, fetch)
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "cannot get AWS credentials: no answer within {CREDENTIALS_TIMEOUT:?}"
                    ))
                });
            let _ = tx.send(result);
        });
        rx.recv_timeout(CREDENTIALS_TIMEOUT + Duration::from_secs(2))
            .unwrap_or_else(|_| {
                Err(format!(
                    "cannot get AWS credentials: no answer within {CREDENTIALS_TIMEOUT:?}"
                ))
            })
    }
}

/// AWS's default credential chain for `region` (STS's region for web identity), with an HTTPS
/// client on rustls and ring.
async fn default_chain(region: &str) -> SharedCredentialsProvider {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let region = Region::new(region.to_string());
    let config = ProviderConfig::default()
        .with_http_client(http)
        .with_region(Some(region.clone()));
    let chain = DefaultCredentialsChain::builder()
        .region(region)
        .configure(config)
        .build()
        .await;
    SharedCredentialsProvider::new(chain)
}

/// The runtime credentials are fetched on: one thread, made on first use, for the process.
fn credentials_runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("warren-aws-credentials")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the AWS credentials runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// An error and its sources, `: `-separated (the SDK's errors say little on their own).
fn error_chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

impl MskToken {
    /// The token as rdkafka hands it to librdkafka.
    pub fn into_oauth_token(self) -> OAuthToken {
        OAuthToken {
            token: self.value,
            principal_name: self.principal,
            lifetime_ms: self.expires_at_ms,
        }
    }
}

/// The rdkafka context of a consumer authenticating with MSK IAM: rdkafka calls
/// [`ClientContext::generate_oauth_token`] when the consumer is polled and librdkafka has
/// asked for a token. (A consumer without `auth` keeps rdkafka's default context.)
pub struct MskIamContext(pub MskIam);

impl ClientContext for MskIamContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _oauthbearer_config: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn Error>> {
        Ok(self.0.token()?.into_oauth_token())
    }
}

impl ConsumerContext for MskIamContext {}

#[cfg(test)]
mod tests;
