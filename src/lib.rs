//! warren: a Kafka consumer-lag exporter.
//!
//! Data flows one way, one module per step:
//! [`config`] → [`kafka`] (scrape) → [`store`] → [`evaluate`] → [`snapshot`] → [`http`] (render).
//! [`model`] holds the words every step shares (topic-partition, watermarks and the one lag
//! function, group state); [`telemetry`] is warren's own instrumentation, which the scrapers and
//! the HTTP side record into. [`app`] wires them together; [`cli`] is the command line;
//! [`demo`] runs against a mock; [`healthcheck`] is the probe a container image runs.
//!
//! Unsafe code is denied here and allowed only in `kafka::admin::ffi`, behind a safe API.

#![deny(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod evaluate;
pub mod file_watch;
pub mod healthcheck;
pub mod http;
pub mod kafka;
pub mod logging;
pub mod model;
pub mod snapshot;
pub mod store;
pub mod telemetry;
