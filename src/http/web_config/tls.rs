//! `tls_server_config`: a rustls server configuration (ring provider) built from
//! exporter-toolkit's keys. What rustls cannot do (TLS 1.0/1.1, CBC cipher suites, P-521) is
//! refused by name rather than ignored.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, SupportedKxGroup, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    DistinguishedName, RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion,
};
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;

use super::{read_file, WebConfigError};

/// `tls_server_config` as written. No `Debug`: `key` is a secret.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TlsServerSchema {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_ca_file: Option<PathBuf>,
    client_auth_type: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

/// A built server configuration and the certificate it serves.
pub(super) struct Built {
    pub acceptor: TlsAcceptor,
    /// The end-entity certificate (DER).
    pub leaf: Vec<u8>,
}

fn key(name: &str) -> String {
    format!("tls_server_config.{name}")
}

fn error(name: &str, message: impl Into<String>) -> WebConfigError {
    WebConfigError::new(key(name), message)
}

/// PEM text given inline (`inline_name`) or in a file (`file_name`, relative to `dir`): the
/// bytes and the key it came from, `None` when neither is given.
fn pem_source(
    inline: Option<&String>,
    file: Option<&PathBuf>,
    (inline_name, file_name): (&'static str, &'static str),
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Option<(Vec<u8>, &'static str)>, WebConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(error(
            inline_name,
            format!("give either `{inline_name}` or `{file_name}`, not both"),
        )),
        (Some(text), None) => Ok(Some((text.as_bytes().to_vec(), inline_name))),
        (None, Some(path)) => {
            let path = dir.join(path);
            let bytes = read_file(&path, &key(file_name))?;
            files.push(path);
            Ok(Some((bytes, file_name)))
        }
        (None, None) => Ok(None),
    }
}

/// A PEM error in words (rustls shows markers and lines as byte lists).
fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => format!(
            "bad PEM: no \"-----END {}-----\" line",
            String::from_utf8_lossy(end_marker)
        ),
        Error::IllegalSectionStart { line } => format!(
            "bad PEM: unreadable BEGIN line \"{}\"",
            String::from_utf8_lossy(line)
        ),
        Error::NoItemsFound => "bad PEM: no item of the expected kind".to_string(),
        other => format!("bad PEM: {other}"),
    }
}

fn certificates(pem: &[u8], name: &str) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(name, pem_error(&e)))?;
    if certs.is_empty() {
        return Err(error(name, "holds no PEM certificate"));
    }
    Ok(certs)
}

fn version(name: &str, value: Option<&str>) -> Result<Option<u8>, WebConfigError> {
    match value {
        None => Ok(None),
        Some("TLS12") => Ok(Some(12)),
        Some("TLS13") => Ok(Some(13)),
        Some(v @ ("TLS10" | "TLS11")) => Err(error(
            name,
            format!("{v} is not supported (rustls speaks TLS12 and TLS13)"),
        )),
        Some(v) => Err(error(name, format!("expected TLS12 or TLS13, got {v:?}"))),
    }
}

/// Go's name of a cipher suite to rustls's (Go spells two ChaCha suites without `_SHA256`).
fn suite_name(go: &str) -> String {
    match go {
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
            format!("{go}_SHA256")
        }
        _ => go.to_string(),
    }
}

/// The provider's cipher suites: TLS 1.3's always (as in Go, where `cipher_suites` governs
/// TLS 1.2 only), then the named TLS 1.2 suites in the order given.
pub(super) fn cipher_suites(
    provider: &CryptoProvider,
    names: &[String],
) -> Result<Vec<SupportedCipherSuite>, WebConfigError> {
    let mut chosen: Vec<SupportedCipherSuite> = provider
        .cipher_suites
        .iter()
        .filter(|s| s.tls13().is_some())
        .copied()
        .collect();
    let tls13_go_names = [
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
    ];
    for go in names {
        if tls13_go_names.contains(&go.as_str()) {
            continue;
        }
        let wanted = suite_name(go);
        let found = provider
            .cipher_suites
            .iter()
            .find(|s| s.tls13().is_none() && format!("{:?}", s.suite()) == wanted);
        match found {
            Some(s) => chosen.push(*s),
            None => {
                let supported: Vec<String> = provider
                    .cipher_suites
                    .iter()
                    .filter(|s| s.tls13().is_none())
                    .map(|s| format!("{:?}", s.suite()))
                    .collect();
                return Err(error(
                    "cipher_suites",
                    format!(
                        "{go} is not supported by rustls (TLS 1.2 suites it has: {})",
                        supported.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(chosen)
}

fn curves(names: &[String]) -> Result<Vec<&'static dyn SupportedKxGroup>, WebConfigError> {
    use rustls::crypto::ring::kx_group;
    names
        .iter()
        .map(|name| match name.as_str() {
            "X25519" => Ok(kx_group::X25519),
            "CurveP256" => Ok(kx_group::SECP256R1),
            "CurveP384" => Ok(kx_group::SECP384R1),
            other => Err(error(
                "curve_preferences",
                format!("{other} is not supported (supported: X25519, CurveP256, CurveP384)"),
            )),
        })
        .collect()
}

/// exporter-toolkit's `client_auth_type` values, Go's `tls.ClientAuthType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    fn parse(value: Option<&str>) -> Result<ClientAuth, WebConfigError> {
        Ok(match value.unwrap_or("NoClientCert") {
            "NoClientCert" => ClientAuth::NoClientCert,
            "RequestClientCert" => ClientAuth::RequestClientCert,
            "RequireAnyClientCert" => ClientAuth::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
            other => {
                return Err(error(
                    "client_auth_type",
                    format!(
                        "unknown value {other:?} (expected NoClientCert, RequestClientCert, \
                         RequireAnyClientCert, VerifyClientCertIfGiven or \
                         RequireAndVerifyClientCert)"
                    ),
                ))
            }
        })
    }
}

/// The crypto provider of warren's TLS, server and `warren healthcheck` alike: ring rather than
/// aws-lc-rs, as it builds in seconds without cmake. Its lack of post-quantum key exchange (why
/// rustls 0.23.48 deprecates it) matters little for a metrics endpoint.
pub(crate) fn provider() -> CryptoProvider {
    #[allow(deprecated)]
    rustls::crypto::ring::default_provider()
}

/// The handshake-signature methods of a certificate verifier (rustls's client and server
/// verifier traits share them), checked with the provider's algorithms in `self.algorithms`:
/// warren's own verifiers differ only in how they judge the certificate itself.
macro_rules! handshake_signatures_checked_by_provider {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    };
}
pub(crate) use handshake_signatures_checked_by_provider;

/// `RequestClientCert` and `RequireAnyClientCert`: a certificate is asked for (and, for the
/// second, required) but not checked against any CA, as Go does; its signature over the
/// handshake is still checked, so the client holds the key.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    handshake_signatures_checked_by_provider!();
}

fn client_verifier(
    auth: ClientAuth,
    client_ca: Option<(Vec<u8>, &'static str)>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, WebConfigError> {
    let roots = match client_ca {
        Some((pem, name)) => {
            if auth == ClientAuth::NoClientCert {
                return Err(error(
                    name,
                    "a client CA is given but client_auth_type is NoClientCert; set \
                     client_auth_type (RequireAndVerifyClientCert to require certificates)",
                ));
            }
            let mut roots = RootCertStore::empty();
            for cert in certificates(&pem, name)? {
                roots
                    .add(cert)
                    .map_err(|e| error(name, format!("unusable CA certificate: {e}")))?;
            }
            Some(Arc::new(roots))
        }
        None => None,
    };
    let any = |mandatory| -> Arc<dyn ClientCertVerifier> {
        Arc::new(AnyClientCert {
            mandatory,
            algorithms: provider.signature_verification_algorithms,
        })
    };
    let verified = |roots: Option<Arc<RootCertStore>>, optional: bool| {
        let roots = roots.ok_or_else(|| {
            error(
                "client_ca_file",
                format!("client_auth_type {auth:?} needs the CA to verify client certificates with (client_ca_file or client_ca)"),
            )
        })?;
        let builder = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
        let builder = if optional {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        builder
            .build()
            .map_err(|e| error("client_ca_file", format!("unusable client CA: {e}")))
    };
    match auth {
        ClientAuth::NoClientCert => Ok(WebPkiClientVerifier::no_client_auth()),
        ClientAuth::RequestClientCert => Ok(any(false)),
        ClientAuth::RequireAnyClientCert => Ok(any(true)),
        ClientAuth::VerifyClientCertIfGiven => verified(roots, true),
        ClientAuth::RequireAndVerifyClientCert => verified(roots, false),
    }
}

/// Builds the server configuration; every file read is added to `files`.
pub(super) fn build(
    t: &TlsServerSchema,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Built, WebConfigError> {
    if t.client_allowed_sans
        .as_ref()
        .is_some_and(|s| !s.is_empty())
    {
        return Err(error(
            "client_allowed_sans",
            "not supported by warren; verify clients with client_ca_file and \
             RequireAndVerifyClientCert",
        ));
    }
    let cert = pem_source(
        t.cert.as_ref(),
        t.cert_file.as_ref(),
        ("cert", "cert_file"),
        dir,
        files,
    )?;
    let private_key = pem_source(
        t.key.as_ref(),
        t.key_file.as_ref(),
        ("key", "key_file"),
        dir,
        files,
    )?;
    let client_ca = pem_source(
        t.client_ca.as_ref(),
        t.client_ca_file.as_ref(),
        ("client_ca", "client_ca_file"),
        dir,
        files,
    )?;
    let Some((cert_pem, cert_name)) = cert else {
        return Err(error("cert_file", "required (or `cert`) for HTTPS"));
    };
    let Some((key_pem, key_name)) = private_key else {
        return Err(error("key_file", "required (or `key`) for HTTPS"));
    };
    let chain = certificates(&cert_pem, cert_name)?;
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        error(
            key_name,
            format!("no usable private key: {}", pem_error(&e)),
        )
    })?;

    let min = version("min_version", t.min_version.as_deref())?.unwrap_or(12);
    let max = version("max_version", t.max_version.as_deref())?.unwrap_or(13);
    if min > max {
        return Err(error(
            "min_version",
            format!("TLS1{min} is above max_version TLS1{max}"),
        ));
    }
    let versions: Vec<&'static SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, v)| v)
            .collect();

    let mut provider = provider();
    if let Some(names) = t.cipher_suites.as_deref().filter(|n| !n.is_empty()) {
        provider.cipher_suites = cipher_suites(&provider, names)?;
    }
    if let Some(names) = t.curve_preferences.as_deref().filter(|n| !n.is_empty()) {
        provider.kx_groups = curves(names)?;
    }
    let provider = Arc::new(provider);
    let auth = ClientAuth::parse(t.client_auth_type.as_deref())?;
    let verifier = client_verifier(auth, client_ca, &provider)?;
    let leaf = chain[0].to_vec();
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| error("min_version", e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, private_key)
        .map_err(|e| {
            error(
                key_name,
                format!("does not go with the certificate ({cert_name}): {e}"),
            )
        })?;
    // Go's default (prefer_server_cipher_suites: true): the server's order wins.
    config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    Ok(Built {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        leaf,
    })
}
