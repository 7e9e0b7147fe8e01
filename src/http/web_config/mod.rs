//! Protection of warren's own endpoint, configured by a web-config file in the format of
//! Prometheus's exporter-toolkit (the `--web.config.file` of node_exporter and friends), so an
//! operator reuses the file they already have: HTTPS with rustls (`tls_server_config`, client
//! certificates included), response headers (`http_server_config.headers`) and basic
//! authentication (`basic_auth_users`, bcrypt hashes).
//!
//! The file, and every certificate and key file it names, is checked for changes (see
//! [`crate::file_watch`]) on each new connection and each request, as exporter-toolkit reads the
//! file on every request: a rotated certificate is served from the next connection on, a
//! changed password from the next request, with no restart. A new version that does not load (a
//! half-written key, a typo) keeps the previous one in force and is logged once, naming the key.
//!
//! Basic authentication covers every route, as exporter-toolkit's does; `http.probes_without_auth`
//! opens `/healthz` and `/readyz` for probes that cannot send credentials (kubelet's httpGet).

pub mod basic_auth;
pub mod tls;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;

use crate::file_watch::{read_regular_file, Loaded, Watched};
pub use basic_auth::protect;

/// What is wrong with a web-config file: the key inside it (`tls_server_config.cert_file`) and
/// the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfigError {
    pub key: String,
    pub message: String,
}

impl WebConfigError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> WebConfigError {
        WebConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for WebConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "key `{}`: {}", self.key, self.message)
        }
    }
}

/// The file as written (exporter-toolkit's schema; unknown keys are errors).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSchema {
    tls_server_config: Option<tls::TlsServerSchema>,
    http_server_config: Option<HttpServerSchema>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    /// exporter-toolkit's token bucket: refused by name rather than silently ignored.
    rate_limit: Option<serde_norway::Value>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpServerSchema {
    /// Accepted for compatibility and ignored: warren serves HTTP/1.1 (it offers no ALPN, so
    /// clients fall back to HTTP/1.1).
    #[allow(dead_code)]
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

/// The response headers exporter-toolkit lets a web-config file set (any other is an error
/// there, and here).
const SETTABLE_HEADERS: &[&str] = &[
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "X-XSS-Protection",
    "Strict-Transport-Security",
];

/// A loaded web-config file, ready to use.
pub struct WebSettings {
    /// `None`: plain HTTP.
    pub tls: Option<TlsAcceptor>,
    /// `None`: no basic authentication.
    pub users: Option<basic_auth::Users>,
    /// Added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The end-entity certificate served (DER), for `warren healthcheck` to pin.
    pub server_certificate: Option<Vec<u8>>,
    /// Every file this was read from (the web-config file first), to notice changes.
    files: Vec<PathBuf>,
}

impl std::fmt::Debug for WebSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSettings")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.as_ref().map(basic_auth::Users::len))
            .field("headers", &self.headers.len())
            .field("files", &self.files)
            .finish()
    }
}

/// The largest file read (a web-config file, a certificate, a key): far beyond any real one,
/// and a bound on memory when a path names something endless.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads a file named by `key`: a regular file of at most [`MAX_FILE_BYTES`].
fn read_file(path: &Path, key: &str) -> Result<Vec<u8>, WebConfigError> {
    read_regular_file(path, MAX_FILE_BYTES).map_err(|e| WebConfigError::new(key, e))
}

impl WebSettings {
    /// Reads and checks the web-config file at `path` and every file it names (relative paths
    /// are relative to the web-config file's directory, as in exporter-toolkit).
    pub fn read(path: &Path) -> Result<WebSettings, WebConfigError> {
        let text = read_file(path, "")?;
        let schema: FileSchema = if text.iter().all(u8::is_ascii_whitespace) {
            FileSchema::default()
        } else {
            serde_norway::from_slice(&text).map_err(|e| yaml_error(&e))?
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut files = vec![path.to_path_buf()];
        if schema.rate_limit.is_some() {
            return Err(WebConfigError::new(
                "rate_limit",
                "not supported by warren (limit scrapes with http.max_concurrent_scrapes)",
            ));
        }
        let (tls, server_certificate) = match schema.tls_server_config {
            Some(t) => {
                let built = tls::build(&t, dir, &mut files)?;
                (Some(built.acceptor), Some(built.leaf))
            }
            None => (None, None),
        };
        let headers = schema
            .http_server_config
            .and_then(|h| h.headers)
            .map(|h| response_headers(&h))
            .transpose()?
            .unwrap_or_default();
        let users = match schema.basic_auth_users {
            Some(users) if !users.is_empty() => Some(basic_auth::Users::new(users)?),
            _ => None,
        };
        Ok(WebSettings {
            tls,
            users,
            headers,
            server_certificate,
            files,
        })
    }
}

/// A YAML error with the dotted key it is about: serde_norway starts its message with the
/// path (`tls_server_config: unknown field `cert_fil`, ...`); an unknown field is named in full.
fn yaml_error(e: &serde_norway::Error) -> WebConfigError {
    let text = e.to_string();
    let (path, message) = match text.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => (path, rest),
        _ => ("", text.as_str()),
    };
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(field, _)| field);
    let key = match (path, unknown) {
        ("", Some(field)) => field.to_string(),
        (path, Some(field)) => format!("{path}.{field}"),
        (path, None) => path.to_string(),
    };
    WebConfigError::new(key, message)
}

fn response_headers(
    given: &BTreeMap<String, String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, WebConfigError> {
    let mut headers = Vec::new();
    for (name, value) in given {
        let key = format!("http_server_config.headers.{name}");
        let Some(known) = SETTABLE_HEADERS
            .iter()
            .find(|h| h.eq_ignore_ascii_case(name))
        else {
            let message = format!("cannot be set (settable: {})", SETTABLE_HEADERS.join(", "));
            return Err(WebConfigError::new(key, message));
        };
        // Blank means unset, as in exporter-toolkit.
        if value.trim().is_empty() {
            continue;
        }
        let allowed: &[&str] = match *known {
            "X-Frame-Options" => &["deny", "sameorigin"],
            "X-Content-Type-Options" => &["nosniff"],
            _ => &[],
        };
        if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
            let message = format!("must be one of {}, got {value:?}", allowed.join(", "));
            return Err(WebConfigError::new(key, message));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| WebConfigError::new(&key, "is not a valid header value"))?;
        let name = HeaderName::from_bytes(known.as_bytes()).expect("a settable header's name");
        headers.push((name, value));
    }
    Ok(headers)
}

/// The web-config file and its settings, reloaded when one of its files changes.
pub type WebConfig = Watched<WebSettings>;

impl Loaded for WebSettings {
    type Error = WebConfigError;

    fn load(path: &Path) -> Result<WebSettings, WebConfigError> {
        WebSettings::read(path)
    }

    fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

#[cfg(test)]
mod tests;
