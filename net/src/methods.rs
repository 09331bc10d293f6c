//! The methods every socket type shares, written once as macros over a
//! type whose `fd` field is an [`Fd`](crate::fd::Fd): timeouts and
//! deadlines, the stream and datagram calls, `Read`/`Write`, and the
//! conversions from and to std sockets and raw descriptors. Each socket
//! file (`tcp.rs`, `udp.rs`, `unix.rs`) expands the ones that apply.

/// Generates the timeout and deadline methods of a socket type whose `fd`
/// field is an `Fd`, and Go's `close(&self)`, so every type documents them
/// once and shares the code.
macro_rules! deadline_methods {
    () => {
        /// Sets std's per-call read timeout: a read that waits longer fails
        /// with `TimedOut`. `None` waits forever.
        ///
        /// # Errors
        /// `InvalidInput` for a zero duration, as std.
        pub fn set_read_timeout(&self, t: Option<std::time::Duration>) -> std::io::Result<()> {
            self.fd.set_timeout(gort_runtime::netpoll::Interest::Read, t)
        }

        /// Sets std's per-call write timeout; see [`set_read_timeout`](Self::set_read_timeout).
        ///
        /// # Errors
        /// `InvalidInput` for a zero duration, as std.
        pub fn set_write_timeout(&self, t: Option<std::time::Duration>) -> std::io::Result<()> {
            self.fd.set_timeout(gort_runtime::netpoll::Interest::Write, t)
        }

        /// The per-call read timeout.
        ///
        /// # Errors
        /// Never; `io::Result` for std's signature.
        pub fn read_timeout(&self) -> std::io::Result<Option<std::time::Duration>> {
            Ok(self.fd.timeout(gort_runtime::netpoll::Interest::Read))
        }

        /// The per-call write timeout.
        ///
        /// # Errors
        /// Never; `io::Result` for std's signature.
        pub fn write_timeout(&self) -> std::io::Result<Option<std::time::Duration>> {
            Ok(self.fd.timeout(gort_runtime::netpoll::Interest::Write))
        }

        /// Go's `SetDeadline`: reads and writes fail with `TimedOut` once
        /// `deadline` passes, including ones already waiting; a later call
        /// can extend it. `None` removes it. One difference from Go: a call
        /// that can complete without waiting still does after the deadline
        /// (Go fails it too), which lets a past deadline make a write a
        /// single try.
        pub fn set_deadline(&self, deadline: Option<std::time::Instant>) {
            self.set_read_deadline(deadline);
            self.set_write_deadline(deadline);
        }

        /// Go's `SetReadDeadline`; see [`set_deadline`](Self::set_deadline).
        pub fn set_read_deadline(&self, deadline: Option<std::time::Instant>) {
            self.fd.set_deadline(gort_runtime::netpoll::Interest::Read, deadline);
        }

        /// Go's `SetWriteDeadline`; see [`set_deadline`](Self::set_deadline).
        pub fn set_write_deadline(&self, deadline: Option<std::time::Instant>) {
            self.fd.set_deadline(gort_runtime::netpoll::Interest::Write, deadline);
        }

        /// Go's `Close` for a socket shared between goroutines: every call
        /// parked on it wakes with `ConnectionAborted`, later calls fail the
        /// same way, and the connection is shut down. The descriptor itself
        /// is released when the value is dropped.
        pub fn close(&self) {
            self.fd.evict();
            let _ = socket2::SockRef::from(self.fd.sock()).shutdown(std::net::Shutdown::Both);
        }
    };
}

/// Generates the methods a datagram socket type whose `fd` field is an `Fd`
/// shares (`UdpSocket`, `UnixDatagram`), `$addr` being its address type.
/// Expands inside the type's `impl` block.
macro_rules! datagram_io {
    ($addr:ty) => {
        /// Receives one datagram and its sender's address.
        ///
        /// # Errors
        /// `TimedOut` past a deadline, `ConnectionRefused` (an earlier
        /// datagram bounced)…
        pub fn recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, $addr)> {
            self.fd.io(gort_runtime::netpoll::Interest::Read, |s| s.recv_from(buf))
        }

        /// Sends one datagram to the connected peer.
        ///
        /// # Errors
        /// `NotConnected`, `ConnectionRefused` (an earlier datagram bounced)…
        pub fn send(&self, buf: &[u8]) -> std::io::Result<usize> {
            self.fd.io(gort_runtime::netpoll::Interest::Write, |s| s.send(buf))
        }

        /// Receives one datagram from the connected peer.
        ///
        /// # Errors
        /// `TimedOut` past a deadline, `ConnectionRefused`…
        pub fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.fd.io(gort_runtime::netpoll::Interest::Read, |s| s.recv(buf))
        }

        /// The local address.
        ///
        /// # Errors
        /// As `getsockname`.
        pub fn local_addr(&self) -> std::io::Result<$addr> {
            self.fd.sock().local_addr()
        }
    };
}

/// Generates the methods a stream socket type whose `fd` field is an `Fd`
/// shares (`TcpStream`, `UnixStream`), `$addr` being its address type.
/// Expands inside the type's `impl` block.
macro_rules! stream_methods {
    ($addr:ty) => {
        /// The remote address.
        ///
        /// # Errors
        /// `NotConnected`…
        pub fn peer_addr(&self) -> std::io::Result<$addr> {
            self.fd.sock().peer_addr()
        }

        /// The local address.
        ///
        /// # Errors
        /// As `getsockname`.
        pub fn local_addr(&self) -> std::io::Result<$addr> {
            self.fd.sock().local_addr()
        }

        /// Shuts down the read, write, or both halves.
        ///
        /// # Errors
        /// `NotConnected`…
        pub fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
            self.fd.sock().shutdown(how)
        }

        /// Parks until a read may find data, without reading: at once
        /// unless the last read drained the socket, otherwise until the
        /// netpoller reports readiness (or EOF). The read timeout and read
        /// deadline bound the wait. A server waits this way on an idle
        /// keep-alive connection holding no buffer; readiness can be
        /// spurious, so the read that follows may still park.
        ///
        /// # Errors
        /// `TimedOut` when a deadline passes; `ConnectionAborted` once closed.
        pub fn wait_readable(&self) -> std::io::Result<()> {
            self.fd.wait_readable()
        }

        /// Reads without removing the data from the receive queue, parking
        /// until some is queued or the peer closes (`Ok(0)`), as std's
        /// `peek`; deadlines and the read timeout apply. A server watches
        /// for a client that goes away this way while a handler runs.
        ///
        /// # Errors
        /// `TimedOut` past a deadline; `ConnectionAborted` once closed.
        pub fn peek(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.fd.peek(buf)
        }

        /// Reads without removing the data from the receive queue, and
        /// without waiting: `WouldBlock` when nothing is queued, `Ok(0)` at
        /// EOF. A connection pool checks an idle connection this way.
        ///
        /// # Errors
        /// `WouldBlock` when nothing is queued; any error of `recv`.
        pub fn peek_now(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.fd.peek_now(buf)
        }

        /// Reads what is queued without waiting (tokio's `try_read`):
        /// `WouldBlock` when nothing is, `Ok(0)` at EOF. A server that was
        /// told the socket is readable reads this way into a buffer it
        /// takes only then, and gives back at once when the news was stale.
        ///
        /// # Errors
        /// `WouldBlock` when nothing is queued; any error of `recv`.
        pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.fd.try_read(buf.len(), |s| gort_runtime::netpoll::recv_now(std::os::fd::AsFd::as_fd(s), buf))
        }

        /// A second handle on the same connection (a `dup` of the fd), with
        /// its own registration and the same timeouts.
        ///
        /// # Errors
        /// Out of descriptors…
        pub fn try_clone(&self) -> std::io::Result<Self> {
            Ok(Self { fd: self.fd.clone_with(self.fd.sock().try_clone()?)? })
        }
    };
}

/// Implements `Read` and `Write` (vectored too) for a stream type whose `fd`
/// field is an `Fd`, on `&T` through the retry loop and on `T` through `&T`,
/// as std does for its sockets.
macro_rules! stream_io {
    ($t:ty) => {
        impl std::io::Read for &$t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.fd.read_stream(buf.len(), |s| {
                    gort_runtime::netpoll::recv_now(std::os::fd::AsFd::as_fd(s), buf)
                })
            }

            fn read_vectored(&mut self, bufs: &mut [std::io::IoSliceMut<'_>]) -> std::io::Result<usize> {
                let len = bufs.iter().map(|b| b.len()).sum();
                self.fd.read_stream(len, |mut s| std::io::Read::read_vectored(&mut s, bufs))
            }
        }

        impl std::io::Write for &$t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.fd.io(gort_runtime::netpoll::Interest::Write, |s| {
                    gort_runtime::netpoll::send_now(std::os::fd::AsFd::as_fd(s), buf)
                })
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.fd.io(gort_runtime::netpoll::Interest::Write, |mut s| {
                    std::io::Write::write_vectored(&mut s, bufs)
                })
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl std::io::Read for $t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut &*self, buf)
            }

            fn read_vectored(&mut self, bufs: &mut [std::io::IoSliceMut<'_>]) -> std::io::Result<usize> {
                std::io::Read::read_vectored(&mut &*self, bufs)
            }
        }

        impl std::io::Write for $t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::io::Write::write(&mut &*self, buf)
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                std::io::Write::write_vectored(&mut &*self, bufs)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}

/// For socket types whose `fd` field is an `Fd` of the std type `$std`:
/// conversions from and to std (`from_std`, `into_std`) and to and from
/// descriptors (`AsFd`, `AsRawFd`, `OwnedFd` both ways, `IntoRawFd`,
/// `FromRawFd`).
macro_rules! fd_traits {
    ($($t:ident => $std:ty),*) => {$(
        impl $t {
            /// Takes over a std socket: made non-blocking and registered
            /// with the netpoller.
            ///
            /// # Errors
            /// When it cannot be made non-blocking or registered.
            pub fn from_std(s: $std) -> std::io::Result<$t> {
                Ok($t { fd: crate::fd::Fd::from_std(s)? })
            }

            /// Gives the socket back to std, unregistered and in blocking mode.
            ///
            /// # Errors
            /// When blocking mode cannot be restored.
            pub fn into_std(self) -> std::io::Result<$std> {
                self.fd.into_std()
            }
        }

        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.fd)
            }
        }

        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(&self.fd))
            }
        }

        /// Takes over a socket descriptor: made non-blocking and registered
        /// with the netpoller, as `from_std` does.
        impl TryFrom<std::os::fd::OwnedFd> for $t {
            type Error = std::io::Error;

            fn try_from(fd: std::os::fd::OwnedFd) -> std::io::Result<Self> {
                Self::from_std(fd.into())
            }
        }

        /// Unregisters the socket and hands over its descriptor, still in
        /// non-blocking mode (`into_std` restores blocking mode).
        impl From<$t> for std::os::fd::OwnedFd {
            fn from(s: $t) -> std::os::fd::OwnedFd {
                s.fd.into_sock().into()
            }
        }

        impl std::os::fd::IntoRawFd for $t {
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                std::os::fd::OwnedFd::from(self).into_raw_fd()
            }
        }

        /// # Panics
        /// If the descriptor cannot be made non-blocking or registered
        /// with the netpoller (it is not a socket); `TryFrom<OwnedFd>`
        /// returns that error instead.
        #[allow(unsafe_code)]
        impl std::os::fd::FromRawFd for $t {
            unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> Self {
                // SAFETY: the caller guarantees what std's `from_raw_fd`
                // requires: `fd` is open, and its ownership is ours now.
                let owned = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
                Self::try_from(owned).unwrap_or_else(|e| panic!("gort::net: from_raw_fd({fd}): {e}"))
            }
        }
    )*};
}

pub(crate) use datagram_io;
pub(crate) use deadline_methods;
pub(crate) use fd_traits;
pub(crate) use stream_io;
pub(crate) use stream_methods;
