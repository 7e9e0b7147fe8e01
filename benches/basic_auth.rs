//! Benchmark of basic authentication on a scrape: the check of a request whose credentials
//! were verified before (the cache: target ≤ 20 µs per request, where one bcrypt verification
//! at cost 10, the baseline measured here, takes tens of milliseconds), including the
//! per-request look for a changed web-config file. Run with
//! `cargo bench --bench basic_auth`; prints each figure and its ratio to the target.

use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue};
use base64::Engine;
use warren::http::web_config::WebConfig;

const PASSWORD: &str = "bench-password";
const REQUESTS: u32 = 20_000;
const TARGET: Duration = Duration::from_micros(20);

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("web.yml");
    let hash = bcrypt::hash(PASSWORD, 10).expect("bcrypt");
    std::fs::write(
        &path,
        format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
    )
    .unwrap();
    let web = WebConfig::load("web config", &path).expect("web config");
    let token = base64::engine::general_purpose::STANDARD.encode(format!("prometheus:{PASSWORD}"));
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Basic {token}")).unwrap();
    headers.insert(header::AUTHORIZATION, value);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // Baseline: one bcrypt verification (what every scrape would cost without the cache).
    let started = Instant::now();
    assert!(bcrypt::verify(PASSWORD, &hash).unwrap());
    let bcrypt_once = started.elapsed();

    // The first request verifies and fills the cache.
    let check =
        || rt.block_on(async { web.current().users.as_ref().unwrap().allow(&headers).await });
    let started = Instant::now();
    assert!(check());
    let first = started.elapsed();

    let started = Instant::now();
    for _ in 0..REQUESTS {
        assert!(check());
    }
    let cached = started.elapsed() / REQUESTS;
    println!("bcrypt verification at cost 10 (baseline): {bcrypt_once:.2?}");
    println!("first request (bcrypt, then cached): {first:.2?}");
    println!(
        "cached request, file look included: {cached:.2?} per request (target ≤ {TARGET:?}: \
         {:.3} of the target; {:.0}x faster than the baseline)",
        cached.as_secs_f64() / TARGET.as_secs_f64(),
        bcrypt_once.as_secs_f64() / cached.as_secs_f64()
    );
}
