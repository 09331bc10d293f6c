//! Unix domain sockets: `UnixListener`, `UnixStream` and `UnixDatagram`
//! with std's signatures, on the netpoller (`Fd::io`).

use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use gort_runtime::context::Context;
use gort_runtime::netpoll::Interest;
use socket2::{SockAddr, Type};

use crate::fd::{self, Fd};
use crate::methods::{datagram_io, deadline_methods, fd_traits, stream_io, stream_methods};

/// A Unix stream socket server.
///
/// ```
/// use std::io::{Read, Write};
/// let path = std::env::temp_dir().join(format!("gort-unix-doc-{}", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let ln = gort_net::UnixListener::bind(&path).unwrap();
/// let server = gort::go!(move || {
///     let (mut c, _) = ln.accept().unwrap();
///     c.write_all(b"hi").unwrap();
/// });
/// let mut c = gort_net::UnixStream::connect(&path).unwrap();
/// let mut s = String::new();
/// c.read_to_string(&mut s).unwrap();
/// assert_eq!(s, "hi");
/// server.join().unwrap();
/// std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixListener {
    fd: Fd<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` with the default backlog (`somaxconn`).
    ///
    /// # Errors
    /// `AddrInUse` when the path exists…
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let a = SockAddr::unix(path)?;
        let s = fd::socket(&a, Type::STREAM)?;
        s.bind(&a)?;
        s.listen(crate::tcp::default_backlog())?;
        Ok(UnixListener { fd: Fd::new(std::os::unix::net::UnixListener::from(s))? })
    }

    /// Waits for a connection (parking the goroutine).
    ///
    /// # Errors
    /// Accept errors, `TimedOut` past a deadline.
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        // The peer of an unbound client is unnamed, which socket2's address
        // cannot express; std's `peer_addr` can.
        let s = std::os::unix::net::UnixStream::from(self.fd.accept()?.0);
        let peer = s.peer_addr()?;
        Ok((UnixStream { fd: Fd::new(s)? }, peer))
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

/// A Unix stream connection; `Read`/`Write` park the goroutine.
#[derive(Debug)]
pub struct UnixStream {
    fd: Fd<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// # Errors
    /// `NotFound`, `ConnectionRefused`…
    pub fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let a = SockAddr::unix(path)?;
        Ok(UnixStream { fd: fd::connect(fd::socket(&a, Type::STREAM)?, &a, None, &Context::background())? })
    }

    /// A connected pair.
    ///
    /// # Errors
    /// Out of descriptors.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    stream_methods!(SocketAddr);
    deadline_methods!();
}

stream_io!(UnixStream);

/// A Unix datagram socket; `recv`/`recv_from` park the goroutine.
///
/// ```
/// let (a, b) = gort_net::UnixDatagram::pair().unwrap();
/// a.send(b"dgram").unwrap();
/// let mut buf = [0; 16];
/// let n = gort::go!(move || b.recv(&mut buf).map(|n| buf[..n].to_vec())).join().unwrap().unwrap();
/// assert_eq!(n, b"dgram");
/// ```
#[derive(Debug)]
pub struct UnixDatagram {
    fd: Fd<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds to `path`.
    ///
    /// # Errors
    /// `AddrInUse` when the path exists…
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// An unbound socket (it can still `send_to` and `connect`).
    ///
    /// # Errors
    /// Out of descriptors.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A connected pair.
    ///
    /// # Errors
    /// Out of descriptors.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Sets the default peer for `send` and filters `recv` to it.
    ///
    /// # Errors
    /// `NotFound`, `ConnectionRefused`…
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.fd.sock().connect(path)
    }

    /// Sends one datagram to the socket at `path`.
    ///
    /// # Errors
    /// `NotFound`, `ConnectionRefused`…
    pub fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.fd.io(Interest::Write, |s| s.send_to(buf, path))
    }

    datagram_io!(SocketAddr);

    deadline_methods!();
}

fd_traits!(
    UnixListener => std::os::unix::net::UnixListener,
    UnixStream => std::os::unix::net::UnixStream,
    UnixDatagram => std::os::unix::net::UnixDatagram
);
