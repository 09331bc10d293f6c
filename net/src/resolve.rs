//! Name resolution: `lookup_host` runs std's resolver (`getaddrinfo`) on a
//! blocking call, so a slow DNS server holds one OS thread, never a P.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves `host` (`"example.com:80"`, `("::1", 80)`, a `SocketAddr`…)
/// to socket addresses, without stalling other goroutines.
///
/// ```
/// let addrs: Vec<_> = gort_net::lookup_host("127.0.0.1:80").unwrap().collect();
/// assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
/// ```
///
/// # Errors
/// When the name does not resolve.
pub fn lookup_host(host: impl ToSocketAddrs) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    gort_runtime::blocking(|| host.to_socket_addrs().map(|a| a.collect::<Vec<_>>().into_iter()))
}

/// Tries `f` on each address in turn; returns the first success or the
/// last error (std's `each_addr`).
pub(crate) fn each_addr<T>(
    addrs: impl Iterator<Item = SocketAddr>,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addrs {
        match f(a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no addresses to try")))
}
