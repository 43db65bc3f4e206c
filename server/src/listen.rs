//! The accept loop (instead of `axum::serve`, which sets no timeouts): a request's headers must
//! arrive within a time limit, which also closes kept-alive connections that sit idle; a response
//! the client stops reading is dropped; a request body that goes silent is cut off (see
//! [`crate::router`]); connections are capped in all and per client address, and those over the
//! cap are answered at once and closed instead of waiting in the kernel's queue. HTTP/1 only:
//! browsers speak HTTP/2 over TLS alone, which a proxy in front of Bartleby terminates.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use app::platform::config::HttpLimits;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tower::Service as _;

/// How long open requests may take to finish once shutdown has begun.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` completes. `per_ip_cap: false` turns the
/// per-address cap off (behind a proxy every connection comes from the proxy).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &HttpLimits,
    per_ip_cap: bool,
    shutdown: impl Future<Output = ()>,
) {
    let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_ip = PerIp::default();
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // the header timer starts at the first byte awaited and again after each response, so it is
    // also the idle timeout of a kept-alive connection
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout.min(limits.idle_timeout)).keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(%peer, "connection limit reached (HTTP_MAX_CONNECTIONS): refused");
            refuse(&stream, "503 Service Unavailable");
            continue;
        };
        let ip_slot = match per_ip_cap {
            false => None,
            true => match per_ip.try_take(client_key(peer.ip()), limits.max_connections_per_ip) {
                Some(s) => Some(s),
                None => {
                    tracing::debug!(%peer, "per-address connection limit reached: refused");
                    refuse(&stream, "429 Too Many Requests");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let mut io = TimeoutStream::new(stream);
        // a write that makes no progress for this long: the client stopped reading
        io.set_write_timeout(Some(limits.idle_timeout));
        let io = TokioIo::new(Box::pin(io));
        let Ok(service) = make_service.call(peer).await;
        let conn = graceful.watch(http.serve_connection(io, TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection closed");
            }
            drop((slot, ip_slot));
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {} s; closing them", SHUTDOWN_GRACE.as_secs());
    }
}

/// A best-effort answer on a fresh socket (never waits); the caller then drops (closes) it.
fn refuse(stream: &TcpStream, status: &str) {
    let reply = format!("HTTP/1.1 {status}\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n");
    let _ = stream.try_write(reply.as_bytes());
}

async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    // out of file descriptors, say: the caps should prevent it; wait a little rather than spin
    tracing::error!(error = %e, "accept error");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// IPv6 clients are counted by /64 (one host usually holds a whole /64).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Open connections per client address.
#[derive(Clone, Default)]
struct PerIp(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection's place in [`PerIp`], given back when the connection ends.
struct IpSlot {
    table: PerIp,
    ip: IpAddr,
}

impl PerIp {
    fn try_take(&self, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(IpSlot { table: self.clone(), ip })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut map = self.table.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Raises the soft limit of open files to the hard limit (a flood of connections then meets the
/// caps above, not "Too many open files"). Returns the limit in force.
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            1024
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_slots_are_given_back() {
        let table = PerIp::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let a = table.try_take(ip, 2).unwrap();
        let _b = table.try_take(ip, 2).unwrap();
        assert!(table.try_take(ip, 2).is_none());
        assert!(table.try_take("192.0.2.2".parse().unwrap(), 2).is_some());
        drop(a);
        assert!(table.try_take(ip, 2).is_some());
    }

    #[test]
    fn ipv6_clients_count_by_their_network() {
        let a = client_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = client_key("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(client_key("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
