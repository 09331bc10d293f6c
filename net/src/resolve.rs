//! Addresses: gort's [`ToSocketAddrs`] and name resolution.
//!
//! The trait is implemented for every type std's `ToSocketAddrs` is, so code
//! written against std's socket signatures compiles unchanged, but it splits
//! the cheap cases from the slow one (tokio's trait does the same):
//! - a resolved address (`SocketAddr`, `(IpAddr, u16)`, `&[SocketAddr]`…)
//!   and a string holding an IP literal (`"127.0.0.1:80"`, `("::1", 80)`)
//!   convert inline, with no allocation and no `blocking` call;
//! - only a name (`"localhost:80"`) goes to std's resolver (`getaddrinfo`),
//!   on [`gort_runtime::blocking`], so a slow DNS server holds one OS thread,
//!   never a P.
//!
//! With std's trait, every `send_to` ran the resolver path, with its
//! blocking-call bookkeeping and a sysmon wake-up, even for a `SocketAddr`.

use std::io;
use std::iter::Copied;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::{option, slice, vec};

/// What the sockets' `bind`, `connect` and `send_to` take: a value that
/// converts to one or more socket addresses. Implemented for the types
/// std's `ToSocketAddrs` is (`SocketAddr`, `SocketAddrV4`, `SocketAddrV6`,
/// `(IpAddr, u16)`, `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `(&str, u16)`,
/// `(String, u16)`, `str`, `String`, `&[SocketAddr]`) and references to
/// them. Sealed: resolve a value yourself with [`lookup_host`].
///
/// ```
/// use std::net::{Ipv4Addr, SocketAddr};
/// let a = gort_net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
/// let to: SocketAddr = a.local_addr().unwrap();
/// let b = gort_net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// b.send_to(b"resolved", to).unwrap(); // no resolver call
/// b.send_to(b"literal", ("127.0.0.1", to.port())).unwrap(); // parsed inline
/// let c = gort_net::TcpListener::bind("localhost:0").unwrap(); // getaddrinfo
/// assert!(c.local_addr().unwrap().ip().is_loopback());
/// ```
pub trait ToSocketAddrs: sealed::Convert {}

/// The conversion itself, out of users' reach so that its shape can change.
mod sealed {
    use std::io;
    use std::net::SocketAddr;

    /// Converts to the addresses to try, in order.
    pub trait Convert {
        /// The addresses, borrowed or owned; allocated only for a name.
        type Iter: Iterator<Item = SocketAddr>;

        /// Inline for addresses and IP literals; names go to the resolver.
        fn convert(&self) -> io::Result<Self::Iter>;
    }
}
use sealed::Convert;

/// Resolves `host` (`"example.com:80"`, `("::1", 80)`, a `SocketAddr`…)
/// to socket addresses, without stalling other goroutines: a name runs
/// std's resolver on a blocking call; an address or an IP literal converts
/// inline.
///
/// ```
/// let addrs: Vec<_> = gort_net::lookup_host("127.0.0.1:80").unwrap().collect();
/// assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
/// ```
///
/// # Errors
/// When `host` is not `host:port`, or the name does not resolve.
pub fn lookup_host<A: ToSocketAddrs>(host: A) -> io::Result<impl Iterator<Item = SocketAddr>> {
    host.convert()
}

/// Tries `f` on each address `addr` converts to, in turn; returns the first
/// success or the last error (std's `each_addr`).
pub(crate) fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.convert()? {
        match f(a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| invalid("no addresses to try".into())))
}

/// The first address `addr` converts to (`send_to` uses only that one, as
/// std's does).
pub(crate) fn first_addr<A: ToSocketAddrs>(addr: A) -> io::Result<SocketAddr> {
    addr.convert()?.next().ok_or_else(|| invalid("no addresses to send to".into()))
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The addresses a string gives: an IP literal's one, or a name's list.
#[derive(Debug)]
pub enum StrAddrs {
    /// An IP literal, parsed inline.
    Literal(option::IntoIter<SocketAddr>),
    /// What the resolver returned for a name.
    Resolved(vec::IntoIter<SocketAddr>),
}

impl Iterator for StrAddrs {
    type Item = SocketAddr;

    fn next(&mut self) -> Option<SocketAddr> {
        match self {
            StrAddrs::Literal(it) => it.next(),
            StrAddrs::Resolved(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            StrAddrs::Literal(it) => it.size_hint(),
            StrAddrs::Resolved(it) => it.size_hint(),
        }
    }
}

/// `"host:port"`: a socket address literal inline, else a name to resolve.
fn str_addrs(s: &str) -> io::Result<StrAddrs> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(StrAddrs::Literal(Some(a).into_iter()));
    }
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| invalid(format!("invalid socket address {s:?}: expected host:port")))?;
    let port =
        port.parse::<u16>().map_err(|_| invalid(format!("invalid port {port:?} in socket address {s:?}")))?;
    host_addrs(host, port)
}

/// `(host, port)`: an IP literal inline, else a name to resolve.
fn host_addrs(host: &str, port: u16) -> io::Result<StrAddrs> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(StrAddrs::Literal(Some(SocketAddr::new(ip, port)).into_iter()));
    }
    let resolved = gort_runtime::blocking(|| std::net::ToSocketAddrs::to_socket_addrs(&(host, port)));
    match resolved {
        Ok(addrs) => Ok(StrAddrs::Resolved(addrs)),
        Err(e) => Err(io::Error::new(e.kind(), format!("resolving {host:?}: {e}"))),
    }
}

/// Resolved forms: one address, inline.
macro_rules! one_addr {
    ($($t:ty => |$v:ident| $addr:expr;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl Convert for $t {
            type Iter = option::IntoIter<SocketAddr>;

            #[inline]
            fn convert(&self) -> io::Result<Self::Iter> {
                let $v = self;
                Ok(Some($addr).into_iter())
            }
        }
    )*};
}

one_addr! {
    SocketAddr => |a| *a;
    SocketAddrV4 => |a| SocketAddr::V4(*a);
    SocketAddrV6 => |a| SocketAddr::V6(*a);
    (IpAddr, u16) => |a| SocketAddr::new(a.0, a.1);
    (Ipv4Addr, u16) => |a| SocketAddr::new(IpAddr::V4(a.0), a.1);
    (Ipv6Addr, u16) => |a| SocketAddr::new(IpAddr::V6(a.0), a.1);
}

/// Strings: IP literals inline, names through the resolver.
macro_rules! str_addr {
    ($($t:ty => |$v:ident| $addrs:expr;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl Convert for $t {
            type Iter = StrAddrs;

            fn convert(&self) -> io::Result<StrAddrs> {
                let $v = self;
                $addrs
            }
        }
    )*};
}

str_addr! {
    str => |s| str_addrs(s);
    String => |s| str_addrs(s);
    (&str, u16) => |a| host_addrs(a.0, a.1);
    (String, u16) => |a| host_addrs(&a.0, a.1);
}

impl ToSocketAddrs for &[SocketAddr] {}
impl<'a> Convert for &'a [SocketAddr] {
    type Iter = Copied<slice::Iter<'a, SocketAddr>>;

    #[inline]
    fn convert(&self) -> io::Result<Self::Iter> {
        Ok(self.iter().copied())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Convert + ?Sized> Convert for &T {
    type Iter = T::Iter;

    #[inline]
    fn convert(&self) -> io::Result<T::Iter> {
        (**self).convert()
    }
}
