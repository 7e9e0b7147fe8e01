//! Logging: a `tracing` subscriber on stderr whose filter can be changed while running (Burrow's
//! `POST /v3/admin/loglevel`). The subscriber is process-wide, so its control is too.

use std::sync::{Mutex, OnceLock};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

struct Control {
    handle: reload::Handle<EnvFilter, Registry>,
    /// The level as last set, shown by `GET /v3/admin/loglevel`.
    level: Mutex<String>,
}

static CONTROL: OnceLock<Control> = OnceLock::new();

/// Installs the subscriber with `filter` (an `EnvFilter` directive; `info` if invalid).
pub fn init(filter: &str) {
    let env_filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let (layer, handle) = reload::Layer::new(env_filter);
    let installed = tracing_subscriber::registry()
        .with(layer)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
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
}
