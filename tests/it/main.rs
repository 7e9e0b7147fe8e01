//! The integration tests, one binary (one link of rdkafka): each module is a suite.
//!
//! Suites that need an external tool (the test broker, promtool, prometheus, schemathesis,
//! systemd-analyze, podman, helm, kubectl, node, stunnel, ...) check for it first with
//! [`tools::suite`]: when one is missing the suite's tests pass without running and one line,
//! `skipped suite NAME: REASON`, goes to stderr; with `WARREN_REQUIRE_TOOLS=1` (as `.ci/run`
//! sets it) they fail with that line instead.

mod common;
mod tools;

mod burrow;
mod config;
mod container;
mod dashboards;
mod demo;
mod deploy;
mod evaluate;
mod granularity;
mod group_offsets;
mod groups;
mod kafka;
mod kafka_tls;
mod kubernetes;
mod msk_iam;
mod oidc;
mod openapi;
mod page;
mod record_lag;
mod reliability;
mod secret_files;
mod topic_configs;
mod web_config;
