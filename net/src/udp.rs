//! UDP: `UdpSocket` with std's signatures, on the netpoller (`Fd::io`).

use std::io;
use std::net::SocketAddr;

use gort_runtime::netpoll::Interest;
use socket2::{SockAddr, Type};

use crate::fd::{self, Fd};
use crate::methods::{datagram_io, deadline_methods, fd_traits};
use crate::resolve::{each_addr, first_addr, ToSocketAddrs};

/// A UDP socket. `recv`/`recv_from` park the goroutine until a datagram
/// arrives.
///
/// ```
/// let a = gort_net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let b = gort_net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// b.send_to(b"hi", a.local_addr().unwrap()).unwrap();
/// let mut buf = [0; 8];
/// let (n, from) = a.recv_from(&mut buf).unwrap();
/// assert_eq!((&buf[..n], from), (&b"hi"[..], b.local_addr().unwrap()));
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    fd: Fd<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to the first address of `addr` that works.
    ///
    /// # Errors
    /// `AddrInUse`, resolution errors…
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(addr, |a| {
            let a = SockAddr::from(a);
            let s = fd::socket(&a, Type::DGRAM)?;
            s.bind(&a)?;
            Ok(UdpSocket { fd: Fd::new(std::net::UdpSocket::from(s))? })
        })
    }

    /// Sets the default peer for `send` and filters `recv` to it.
    ///
    /// # Errors
    /// Resolution errors…
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(addr, |a| self.fd.sock().connect(a))
    }

    /// Sends one datagram to `addr`.
    ///
    /// # Errors
    /// `MessageTooLong`-style errors from the kernel, resolution errors…
    pub fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let a = first_addr(addr)?;
        self.fd.io(Interest::Write, |s| s.send_to(buf, a))
    }

    datagram_io!(SocketAddr);

    /// The connected peer's address.
    ///
    /// # Errors
    /// `NotConnected`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.fd.sock().peer_addr()
    }

    deadline_methods!();
}

fd_traits!(UdpSocket => std::net::UdpSocket);
