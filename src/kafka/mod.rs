//! Talking to Kafka: the FFI wrapper around librdkafka's admin API ([`admin`]; its `ffi`
//! module is the only unsafe code) and the per-cluster poll loop ([`scraper`]).

pub mod admin;
pub mod msk_iam;
pub mod record;
pub mod scraper;

/// Drops `value` (holding a client) on a thread of its own, "warren-admin-close": destroying
/// a client joins librdkafka's background thread, which may be waiting up to 12 s for AWS
/// credentials, and this must not block a tokio worker. Dropped here if no thread can start.
pub(crate) fn drop_off_worker<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("warren-admin-close".into())
        .spawn(move || drop(value));
}
