//! See `mod.rs`.
