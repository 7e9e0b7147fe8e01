//! Logging: a `tracing` subscriber on stderr whose filter can be changed while running (Burrow's
//! `POST /v3/admin/loglevel`). The subscriber is process-wide, so its control is too.
//!
//! Whatever the filter, [`secret_guard`] keeps AWS's SDK quiet below DEBUG: at TRACE,
//! `aws-sigv4` logs canonical requests (an MSK IAM token's holds the session token) and the
//! SDK's HTTP stack logs STS requests and responses (web identity tokens, credentials).

use std::sync::{Mutex, OnceLock};

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Layer, Registry};

struct Control {
    handle: reload::Handle<EnvFilter, Registry>,
    /// The level as last set, shown by `GET /v3/admin/loglevel`.
    level: Mutex<String>,
}

static CONTROL: OnceLock<Control> = OnceLock::new();

/// Crates whose TRACE (or any, for `aws_sigv4`) output can hold credentials, each with the
/// most it may log (target prefixes: `aws_smithy_` is every `aws-smithy-*` crate).
const SECRET_BEARING: [(&str, LevelFilter); 7] = [
    ("aws_sigv4", LevelFilter::OFF),
    ("aws_smithy_", LevelFilter::DEBUG),
    ("aws_config", LevelFilter::DEBUG),
    ("aws_sdk_sts", LevelFilter::DEBUG),
    ("aws_runtime", LevelFilter::DEBUG),
    ("hyper", LevelFilter::DEBUG),
    ("h2", LevelFilter::DEBUG),
];

/// The filter applied after the user's (`log.filter`, or the level set at runtime), which it
/// cannot widen: everything passes except [`SECRET_BEARING`] above its limit.
fn secret_guard() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(SECRET_BEARING)
}

/// Installs the subscriber with `filter` (an `EnvFilter` directive; `info` if invalid).
pub fn init(filter: &str) {
    let env_filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let (layer, handle) = reload::Layer::new(env_filter);
    // The guard sits on the output layer, so a reloaded filter (`set_level`) keeps it too.
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(secret_guard());
    let installed = tracing_subscriber::registry()
        .with(layer)
        .with(output)
        .try_init();
    if installed.is_ok() {
        let _ = CONTROL.set(Control {
            handle,
            level: Mutex::new(level_of(filter).to_string()),
        });
    }
}

/// The Burrow level name for a filter: its global directive (`info` in `info,warren=debug`),
/// `info` when it has none.
fn level_of(filter: &str) -> &'static str {
    filter
        .split(',')
        .map(str::trim)
        .find(|d| !d.contains('='))
        .and_then(burrow_level)
        .unwrap_or("info")
}

/// The current level, as a Burrow level name.
pub fn level() -> String {
    CONTROL.get().map_or_else(
        || "info".to_string(),
        |c| c.level.lock().unwrap_or_else(|e| e.into_inner()).clone(),
    )
}

/// Burrow's level names, case-insensitive: debug (or trace), info, warn (or warning), error,
/// fatal. Returns the normalized name, or `None` for anything else.
pub fn burrow_level(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "debug" | "trace" => Some("debug"),
        "info" => Some("info"),
        "warn" | "warning" => Some("warn"),
        "error" => Some("error"),
        "fatal" => Some("fatal"),
        _ => None,
    }
}

/// Sets the level (a name from [`burrow_level`]) for warren's own logs; librdkafka's stay quiet.
pub fn set_level(level: &'static str) {
    let directive = match level {
        "fatal" => "error",
        other => other,
    };
    if let Some(c) = CONTROL.get() {
        let filter = EnvFilter::new(format!("{directive},librdkafka=warn"));
        if c.handle.reload(filter).is_ok() {
            *c.level.lock().unwrap_or_else(|e| e.into_inner()) = level.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burrow_levels() {
        assert_eq!(burrow_level("DEBUG"), Some("debug"));
        assert_eq!(burrow_level("trace"), Some("debug"));
        assert_eq!(burrow_level("Warning"), Some("warn"));
        assert_eq!(burrow_level("fatal"), Some("fatal"));
        assert_eq!(burrow_level("verbose"), None);
        assert_eq!(level_of("warn,warren=debug"), "warn");
        assert_eq!(level_of("warren=debug"), "info");
        assert_eq!(level_of("trace"), "debug");
    }

    #[test]
    fn the_secret_guard_caps_the_aws_sdk() {
        let guard = secret_guard();
        let allows = |target: &str, level| guard.would_enable(target, &level);
        use tracing::Level;
        for level in [Level::ERROR, Level::INFO, Level::TRACE] {
            assert!(!allows("aws_sigv4::http_request::sign", level));
        }
        for target in [
            "aws_smithy_runtime::client::orchestrator",
            "aws_smithy_http_client::hyper_legacy",
            "aws_config::web_identity_token",
            "aws_sdk_sts::operation",
            "aws_runtime::user_agent",
            "hyper::proto::h1",
            "hyper_util::client",
            "h2::codec",
        ] {
            assert!(allows(target, Level::DEBUG), "{target}");
            assert!(!allows(target, Level::TRACE), "{target}");
        }
        assert!(allows("warren::kafka::msk_iam", Level::TRACE));
        assert!(allows("librdkafka", Level::TRACE));
    }
}
