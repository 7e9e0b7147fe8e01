//! `warren healthcheck`: asks a running warren for `/healthz` (or `/readyz`) over loopback and
//! turns the answer into an exit status. Container images without curl (distroless, slim) use
//! it as their `HEALTHCHECK`, and Kubernetes as an exec probe where an httpGet probe cannot
//! pass (a client certificate required).
//!
//! With a web-config file it speaks as the server does: HTTPS when `tls_server_config` is set,
//! trusting exactly the certificate the server's file holds (the probe asks an address, not a
//! name, so no name check could pass), with a client certificate and basic-auth credentials
//! from the `WARREN_HEALTHCHECK_*` variables when given.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::ClientConfig;

use crate::http::web_config::tls::{self, handshake_signatures_checked_by_provider};
use crate::http::web_config::WebSettings;

/// The variable holding the basic-auth password.
pub const PASSWORD_VAR: &str = "WARREN_HEALTHCHECK_PASSWORD";

/// Connect, send and read, each at most this long.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The address to probe for a server listening on `listen`: a wildcard address is reached
/// through loopback of the same family.
pub fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// What to ask and how.
pub struct Probe {
    pub addr: SocketAddr,
    /// HTTPS with this client configuration; `None`: plain HTTP.
    pub tls: Option<Arc<ClientConfig>>,
    /// The `Authorization` header's value.
    pub authorization: Option<String>,
}

/// Credentials for a protected server (from `WARREN_HEALTHCHECK_*`).
#[derive(Debug, Default)]
pub struct Credentials {
    pub username: Option<String>,
    pub password: Option<String>,
    pub cert_file: Option<std::path::PathBuf>,
    pub key_file: Option<std::path::PathBuf>,
}

impl Probe {
    /// A probe of `addr` for a server configured by the web-config file `web_config` (if any).
    pub fn new(
        addr: SocketAddr,
        web_config: Option<&Path>,
        credentials: &Credentials,
    ) -> Result<Probe, String> {
        let authorization = match (&credentials.username, &credentials.password) {
            (Some(user), password) => {
                let pair = format!("{user}:{}", password.as_deref().unwrap_or(""));
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                Some(format!("Basic {encoded}"))
            }
            (None, Some(_)) => {
                return Err("WARREN_HEALTHCHECK_PASSWORD is set without \
                            WARREN_HEALTHCHECK_USERNAME"
                    .into())
            }
            (None, None) => None,
        };
        // `None`: plain HTTP; `Some(None)`: HTTPS, any certificate; `Some(Some(der))`: only
        // that certificate.
        let server_certificate = match web_config {
            None => None,
            Some(path) => match WebSettings::read(path) {
                Ok(settings) => settings.server_certificate.map(Some),
                Err(e) => {
                    // The server keeps serving the last version that loaded: the probe must
                    // not fail where the server still serves (a failing liveness probe would
                    // restart it into a file it refuses). HTTPS unless the file says otherwise.
                    let tls = std::fs::read_to_string(path)
                        .map_or(true, |text| text.contains("tls_server_config"));
                    eprintln!(
                        "warning: web config {} does not load ({e}); probing {addr} without \
                         checking its certificate",
                        path.display()
                    );
                    tls.then_some(None)
                }
            },
        };
        let tls = server_certificate
            .map(|pinned| client_config(pinned, credentials))
            .transpose()?;
        Ok(Probe {
            addr,
            tls,
            authorization,
        })
    }

    fn url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }
}

fn client_config(
    pinned: Option<Vec<u8>>,
    credentials: &Credentials,
) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(tls::provider());
    let verifier = Arc::new(PinnedCertificate {
        certificate: pinned,
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (&credentials.cert_file, &credentials.key_file) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("WARREN_HEALTHCHECK_CERT_FILE {}: {e}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| format!("WARREN_HEALTHCHECK_KEY_FILE {}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate: {e}"))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(
                "WARREN_HEALTHCHECK_CERT_FILE and WARREN_HEALTHCHECK_KEY_FILE go \
                        together"
                    .into(),
            )
        }
    };
    Ok(Arc::new(config))
}

/// Trusts exactly one certificate: the one the server's web-config file names (any, `None`,
/// when that file does not load).
#[derive(Debug)]
struct PinnedCertificate {
    certificate: Option<Vec<u8>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let expected = self.certificate.as_deref();
        if expected.is_none_or(|der| end_entity.as_ref() == der) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server's certificate is not the one in its web-config file".into(),
            ))
        }
    }

    handshake_signatures_checked_by_provider!();
}

/// GETs `path` over plain HTTP from `addr` (see [`check_with`]).
pub fn check(addr: SocketAddr, path: &str) -> Result<String, String> {
    let probe = Probe {
        addr,
        tls: None,
        authorization: None,
    };
    check_with(&probe, path)
}

/// GETs `path` as `probe` says; `Ok` with the status line when the reply is 200, `Err` saying
/// what went wrong otherwise.
pub fn check_with(probe: &Probe, path: &str) -> Result<String, String> {
    let addr = probe.addr;
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(authorization) = &probe.authorization {
        request.push_str(&format!("Authorization: {authorization}\r\n"));
    }
    request.push_str("\r\n");
    let head = match &probe.tls {
        None => exchange(stream, &request, addr)?,
        Some(config) => {
            let connection =
                rustls::ClientConnection::new(config.clone(), ServerName::from(addr.ip()))
                    .map_err(|e| format!("TLS to {addr}: {e}"))?;
            exchange(rustls::StreamOwned::new(connection, stream), &request, addr)?
        }
    };
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or("").trim().to_string();
    let url = probe.url(path);
    match status_line.split(' ').nth(1) {
        Some("200") => Ok(status_line),
        Some(_) => Err(format!("{url} answered {status_line:?}")),
        None => Err(format!("{url} sent no HTTP status line")),
    }
}

/// Sends `request` and reads the reply's first line (replies of these paths are a few bytes).
fn exchange(
    mut stream: impl Read + Write,
    request: &str,
    addr: SocketAddr,
) -> Result<Vec<u8>, String> {
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending to {addr}: {e}"))?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("reading from {addr}: {e}")),
        }
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn wildcard_listen_addresses_are_probed_on_loopback() {
        let probe = |s: &str| probe_address(s.parse().unwrap()).to_string();
        assert_eq!(probe("0.0.0.0:9753"), "127.0.0.1:9753");
        assert_eq!(probe("[::]:9000"), "[::1]:9000");
        assert_eq!(probe("10.1.2.3:80"), "10.1.2.3:80");
    }

    /// Serves one connection with `reply`, returning the request it read.
    fn serve_once(reply: &'static str) -> (SocketAddr, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = conn.read(&mut buf).unwrap();
            conn.write_all(reply.as_bytes()).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        (addr, handle)
    }

    #[test]
    fn ok_only_on_200() {
        let (addr, server) = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nOK");
        assert_eq!(check(addr, "/healthz").unwrap(), "HTTP/1.1 200 OK");
        assert!(server
            .join()
            .unwrap()
            .starts_with("GET /healthz HTTP/1.1\r\n"));

        let (addr, server) = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        let err = check(addr, "/readyz").unwrap_err();
        assert!(err.contains("503 Service Unavailable"), "{err}");
        assert!(err.starts_with("http://127.0.0.1:"), "{err}");
        assert!(server.join().unwrap().starts_with("GET /readyz "));

        let (addr, server) = serve_once("");
        assert!(check(addr, "/healthz")
            .unwrap_err()
            .contains("no HTTP status line"));
        server.join().unwrap();
    }

    #[test]
    fn nothing_listening_is_an_error() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = check(addr, "/healthz").unwrap_err();
        assert!(err.starts_with("cannot connect to 127.0.0.1:"), "{err}");
    }
}
