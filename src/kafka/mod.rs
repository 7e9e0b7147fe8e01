//! Talking to Kafka: the FFI wrapper around librdkafka's admin API ([`admin`]; its `ffi`
//! module is the only unsafe code) and the per-cluster poll loop ([`scraper`]).

pub mod admin;
pub mod msk_iam;
pub mod record;
pub mod scraper;

/// Runs `close` (dropping Kafka clients) on a thread of its own, "warren-admin-close":
/// librdkafka's destroy waits for its threads, which must not block a tokio worker, and a plain
/// thread, unlike the runtime's blocking pool, cannot hold up the process's exit. The receiver
/// hears when it is done. When no thread can be started, `close` is dropped unrun, and what it
/// holds with it.
pub(crate) fn close_on_thread(
    close: impl FnOnce() + Send + 'static,
) -> tokio::sync::oneshot::Receiver<()> {
    let (done, closed) = tokio::sync::oneshot::channel();
    let _ = std::thread::Builder::new()
        .name("warren-admin-close".into())
        .spawn(move || {
            close();
            let _ = done.send(());
        });
    closed
}

/// Drops `value` (holding a client) with [`close_on_thread`], not waiting for it: destroying a
/// client joins librdkafka's background thread, which may be waiting up to 12 s for AWS
/// credentials.
pub(crate) fn drop_off_worker<T: Send + 'static>(value: T) {
    // Nobody waits: the receiver goes at once.
    drop(close_on_thread(move || drop(value)));
}
