//! `warren healthcheck`: asks a running warren for `/healthz` (or `/readyz`) over loopback and
//! turns the answer into an exit status. Container images without curl (distroless, slim) use
//! it as their `HEALTHCHECK`.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Connect, send and read, each at most this long.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The address to probe for a server listening on `listen`: a wildcard address is reached
/// through loopback of the same family.
pub fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// GETs `path` from `addr`; `Ok` with the status line when the reply is 200, `Err` saying what
/// went wrong otherwise.
pub fn check(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| format!("{addr}: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending to {addr}: {e}"))?;
    // The status line is all that matters; replies of these paths are a few bytes.
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("reading from {addr}: {e}")),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or("").trim().to_string();
    match status_line.split(' ').nth(1) {
        Some("200") => Ok(status_line),
        Some(_) => Err(format!("http://{addr}{path} answered {status_line:?}")),
        None => Err(format!("http://{addr}{path} sent no HTTP status line")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn wildcard_listen_addresses_are_probed_on_loopback() {
        let probe = |s: &str| probe_address(s.parse().unwrap()).to_string();
        assert_eq!(probe("0.0.0.0:9753"), "127.0.0.1:9753");
        assert_eq!(probe("[::]:9000"), "[::1]:9000");
        assert_eq!(probe("10.1.2.3:80"), "10.1.2.3:80");
    }

    /// Serves one connection with `reply`, returning the request it read.
    fn serve_once(reply: &'static str) -> (SocketAddr, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = conn.read(&mut buf).unwrap();
            conn.write_all(reply.as_bytes()).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        (addr, handle)
    }

    #[test]
    fn ok_only_on_200() {
        let (addr, server) = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nOK");
        assert_eq!(check(addr, "/healthz").unwrap(), "HTTP/1.1 200 OK");
        assert!(server
            .join()
            .unwrap()
            .starts_with("GET /healthz HTTP/1.1\r\n"));

        let (addr, server) = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        let err = check(addr, "/readyz").unwrap_err();
        assert!(err.contains("503 Service Unavailable"), "{err}");
        assert!(server.join().unwrap().starts_with("GET /readyz "));

        let (addr, server) = serve_once("");
        assert!(check(addr, "/healthz")
            .unwrap_err()
            .contains("no HTTP status line"));
        server.join().unwrap();
    }

    #[test]
    fn nothing_listening_is_an_error() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = check(addr, "/healthz").unwrap_err();
        assert!(err.starts_with("cannot connect to 127.0.0.1:"), "{err}");
    }
}
