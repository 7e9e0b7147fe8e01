//! What the benches on the real broker share: their command line and their size knob.

/// Whether `cargo bench` asked for another bench: it passes `--bench`, and a filter argument
/// that is not `name` means "not this one".
pub fn filtered_out(name: &str) -> bool {
    std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && a != name)
}

/// A whole number from the environment variable `var` (at least 1), or `default`.
pub fn env_count(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
        .max(1)
}
