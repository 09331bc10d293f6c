//! TCP: `TcpListener` and `TcpStream` with std's signatures, on the
//! netpoller. Every operation goes through `Fd` (`fd.rs`); the methods
//! shared with the other socket types come from `methods.rs`, and this
//! file adds what is TCP's own (binding, connecting, `TCP_NODELAY`,
//! `SO_LINGER`).
//!
//! `accept` never returns EMFILE/ENFILE: out of descriptors, it sleeps 5 ms
//! doubling to 1 s and tries again (Go's `http.Server` rule, in `Fd::accept`),
//! so a server keeps serving once descriptors free up; the wait's first
//! EMFILE is said once on stderr.

use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gort_runtime::context::Context;
use socket2::{SockAddr, SockRef, Type};

use crate::fd::{self, Fd};
use crate::methods::{deadline_methods, fd_traits, stream_io, stream_methods};
use crate::resolve::{each_addr, ToSocketAddrs};

/// The kernel's listen backlog cap (Go's default backlog), else 4096.
pub fn default_backlog() -> i32 {
    static BACKLOG: OnceLock<i32> = OnceLock::new();
    *BACKLOG.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4096)
    })
}

/// A TCP socket server, listening for connections.
///
/// ```
/// use std::io::{Read, Write};
/// let ln = gort_net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = ln.local_addr().unwrap();
/// let server = gort::go!(move || {
///     let (mut c, _) = ln.accept().unwrap();
///     std::io::copy(&mut &c, &mut &c).unwrap();
/// });
/// let mut c = gort_net::TcpStream::connect(addr).unwrap();
/// c.write_all(b"ping").unwrap();
/// c.shutdown(std::net::Shutdown::Write).unwrap();
/// let mut s = String::new();
/// c.read_to_string(&mut s).unwrap();
/// assert_eq!(s, "ping");
/// server.join().unwrap();
/// ```
#[derive(Debug)]
pub struct TcpListener {
    fd: Fd<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds with `SO_REUSEADDR` and the default backlog
    /// ([`default_backlog`]: `/proc/sys/net/core/somaxconn`), trying each
    /// address `addr` resolves to.
    ///
    /// # Errors
    /// `AddrInUse`, `PermissionDenied`, resolution errors…
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::bind_with_backlog(addr, default_backlog())
    }

    /// [`bind`](Self::bind) with an explicit listen backlog.
    ///
    /// # Errors
    /// As [`bind`](Self::bind).
    pub fn bind_with_backlog(addr: impl ToSocketAddrs, backlog: i32) -> io::Result<TcpListener> {
        each_addr(addr, |a| {
            let a = SockAddr::from(a);
            let s = fd::socket(&a, Type::STREAM)?;
            s.set_reuse_address(true)?;
            s.bind(&a)?;
            s.listen(backlog)?;
            Ok(TcpListener { fd: Fd::new(std::net::TcpListener::from(s))? })
        })
    }

    /// Waits for a connection (parking the goroutine) and returns it with
    /// its peer's address. Out of descriptors it backs off and retries
    /// (see the module doc); a connection aborted before it was accepted is
    /// skipped.
    ///
    /// # Errors
    /// Other accept errors, `TimedOut` past a deadline.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, a) = self.fd.accept()?;
        let peer = a.as_socket().ok_or_else(|| io::Error::other("accept: not an IP address"))?;
        Ok((TcpStream { fd: Fd::new(std::net::TcpStream::from(s))? }, peer))
    }

    /// An endless iterator over accepted connections.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// As `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.sock().local_addr()
    }

    deadline_methods!();
}

/// Iterator returned by [`TcpListener::incoming`]; never ends.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A TCP connection. `Read` and `Write` park the goroutine (or block the
/// thread) instead of returning `WouldBlock`; both are implemented for
/// `&TcpStream` too, so one goroutine can read while another writes.
#[derive(Debug)]
pub struct TcpStream {
    fd: Fd<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to the first address of `addr` that accepts.
    ///
    /// # Errors
    /// `ConnectionRefused`, resolution errors…
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        TcpStream::connect_context(addr, &Context::background())
    }

    /// Connects to the first address of `addr` that accepts, giving up
    /// when `ctx` ends (Go's `Dialer.DialContext`) with the context's
    /// [`Error`](gort_runtime::context::Error) as an `io::Error`: `TimedOut`
    /// past its deadline, `Other` when cancelled. Resolving a name is not
    /// interrupted; the addresses it gives are not tried once `ctx` ended.
    ///
    /// ```
    /// use gort::context::{Context, Error};
    /// use std::time::Duration;
    /// let ln = gort_net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let (ctx, cancel) = Context::background().with_timeout(Duration::from_secs(5));
    /// assert!(gort_net::TcpStream::connect_context(ln.local_addr().unwrap(), &ctx).is_ok());
    /// cancel.cancel();
    /// let e = gort_net::TcpStream::connect_context(ln.local_addr().unwrap(), &ctx).unwrap_err();
    /// assert_eq!(e.get_ref().unwrap().downcast_ref::<Error>(), Some(&Error::Canceled));
    /// ```
    ///
    /// # Errors
    /// The context's error, `ConnectionRefused`, resolution errors…
    pub fn connect_context(addr: impl ToSocketAddrs, ctx: &Context) -> io::Result<TcpStream> {
        each_addr(addr, |a| match ctx.err() {
            Some(e) => Err(e.into()),
            None => TcpStream::connect_until(&a, None, ctx),
        })
    }

    /// Connects to one address, failing with `TimedOut` after `timeout`
    /// (one too far away to name is no limit).
    ///
    /// # Errors
    /// `InvalidInput` for a zero `timeout`, as std; `TimedOut`,
    /// `ConnectionRefused`…
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(fd::zero_timeout());
        }
        TcpStream::connect_until(addr, Instant::now().checked_add(timeout), &Context::background())
    }

    fn connect_until(addr: &SocketAddr, deadline: Option<Instant>, ctx: &Context) -> io::Result<TcpStream> {
        let a = SockAddr::from(*addr);
        Ok(TcpStream { fd: fd::connect(fd::socket(&a, Type::STREAM)?, &a, deadline, ctx)? })
    }

    /// Sets `TCP_NODELAY` (off by default, as std; Go turns it on).
    ///
    /// # Errors
    /// As `setsockopt`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.fd.sock().set_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    /// As `getsockopt`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.fd.sock().nodelay()
    }

    /// Sets `SO_LINGER` (`Some(ZERO)`: close resets the connection).
    ///
    /// # Errors
    /// As `setsockopt`.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self.fd.sock()).set_linger(linger)
    }

    stream_methods!(SocketAddr);
    deadline_methods!();
}

stream_io!(TcpStream);

fd_traits!(TcpListener => std::net::TcpListener, TcpStream => std::net::TcpStream);
