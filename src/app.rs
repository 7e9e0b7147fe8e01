//! Wiring: one scraper task per cluster, the HTTP server, graceful shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::http::metrics::scrape::Scrapes;
use crate::http::metrics::BuildInfo;
use crate::http::{router, server, AppState};
use crate::kafka::scraper::{Scraper, ScraperSettings};
use crate::snapshot::{ClusterSnapshot, Snapshots};
use crate::telemetry::Telemetry;

/// Version facts for `warren_build_info`.
pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        librdkafka: rdkafka::util::get_rdkafka_version().1,
    }
}

/// Binds `config.http.listen`; the error names the key.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (config key `http.listen`): {e}"))
}

/// Logs the address `listener` is bound to (the port is the one the system chose when the
/// configured port is 0) and, when `address_file` is given (`--address-file`), writes it there
/// as `ip:port` and a newline: to a temporary file beside it, renamed over it, so a reader sees
/// the whole line or no file.
pub fn report_address(listener: &TcpListener, address_file: Option<&Path>) -> Result<(), String> {
    let addr = listener
        .local_addr()
        .map_err(|e| format!("listener address: {e}"))?;
    tracing::info!(%addr, "listening");
    let Some(path) = address_file else {
        return Ok(());
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp.{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, format!("{addr}\n"))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write the address file {}: {e}", path.display())
        })
}

/// Runs the scrapers and serves HTTP on `listener` until `shutdown` turns true.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), String> {
    let initial = config
        .clusters
        .iter()
        .map(|c| {
            let labels: Vec<(String, String)> = c
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            ClusterSnapshot::empty(&c.name, &labels).with_granularity(c.granularity)
        })
        .collect();
    let snapshots = Arc::new(Snapshots::new(initial));
    let telemetry = Arc::new(Telemetry::new(&config.clusters));
    let mut tasks = Vec::new();
    for (i, cluster) in config.clusters.iter().enumerate() {
        let settings = ScraperSettings {
            cluster: cluster.clone(),
            points: config.window.points,
            retention: config.retention,
        };
        let scraper = Scraper::new(i, settings, snapshots.clone(), telemetry.clone());
        tasks.push(tokio::spawn(scraper.run(shutdown.clone())));
    }
    let addr = listener
        .local_addr()
        .map_err(|e| format!("listener address: {e}"))?;
    let state = Arc::new(AppState {
        snapshots,
        build: build_info(),
        telemetry,
        config: config.clone(),
        listen: addr,
        hostname: crate::http::hostname(),
        scrapes: Scrapes::new(config.http.max_concurrent_scrapes),
    });
    tracing::info!(%addr, clusters = config.clusters.len(), "serving /metrics");
    let stop = async move {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
    };
    let limits = server::Limits {
        header_read_timeout: config.http.header_read_timeout,
        idle_timeout: config.http.idle_timeout,
        max_connections: server::connection_cap(config.http.max_connections),
    };
    let web = config.http.web_config.clone();
    server::serve(listener, router(state), limits, web, stop).await;
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// A shutdown signal that turns true on SIGINT or SIGTERM.
pub fn shutdown_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        let _ = tx.send(true);
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    rx
}
