//! Talking to Kafka: the FFI wrapper around librdkafka's admin API ([`admin`]; its `ffi`
//! module is the only unsafe code) and the per-cluster poll loop ([`scraper`]).

pub mod admin;
pub mod msk_iam;
pub mod record;
pub mod scraper;
