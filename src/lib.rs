//! warren: a Kafka consumer-lag exporter.
//!
//! Data flows one way, one module per step:
//! [`config`] → [`kafka`] (scrape) → [`store`] → [`snapshot`] → [`http`] (render).
//! [`app`] wires them together; [`cli`] is the command line; [`demo`] runs against a mock;
//! [`healthcheck`] is the probe a container image runs.

#![deny(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod evaluate;
pub mod healthcheck;
pub mod http;
pub mod kafka;
pub mod logging;
pub mod model;
pub mod snapshot;
pub mod store;
pub mod telemetry;
