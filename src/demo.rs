//! `warren demo`: placeholder until the demo lands.

use std::net::SocketAddr;

pub async fn run(_listen: SocketAddr) -> Result<(), String> {
    Err("demo not built yet".into())
}
