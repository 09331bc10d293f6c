//! The one I/O loop every socket call goes through (Go's `internal/poll`
//! `FD`): try the operation on the non-blocking socket; on `WouldBlock`
//! park on the socket's poll descriptor until it may be ready; retry.
//!
//! `Fd<S>` owns a non-blocking std socket and its [`PollDesc`]. Field order
//! is the invariant that keeps fd reuse safe: `pd` is declared first, so it
//! is dropped (unregistered from epoll, generation bumped) before `sock`
//! closes the fd number the kernel may then hand out again.
//!
//! On a ready socket an operation is one syscall and allocates nothing; the
//! per-call timeout (std's `set_read_timeout`) is turned into a deadline
//! only once the call first has to wait. A stream read whose predecessor
//! came back short waits first instead (`drained.rs`), which saves the read
//! that would find nothing.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gort_runtime::netpoll::{Interest, PollDesc};
use socket2::{SockAddr, SockRef, Socket};

use crate::drained::Drained;

/// `accept`'s back-off while out of descriptors.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A registered non-blocking socket.
pub(crate) struct Fd<S: AsFd> {
    pd: PollDesc,
    sock: S,
    /// std-style per-call timeouts in nanoseconds, 0 = none; [read, write].
    timeouts: [AtomicU64; 2],
    /// Stream reads only: whether the last read drained the socket.
    drained: Drained,
}

impl<S: AsFd> Fd<S> {
    /// Registers `sock`, which must already be non-blocking.
    pub(crate) fn new(sock: S) -> io::Result<Fd<S>> {
        let pd = PollDesc::new(sock.as_fd())?;
        Ok(Fd { pd, sock, timeouts: [AtomicU64::new(0), AtomicU64::new(0)], drained: Drained::default() })
    }

    pub(crate) fn sock(&self) -> &S {
        &self.sock
    }

    /// Runs `op` until it does not return `WouldBlock`, parking on `dir`
    /// between attempts. `Interrupted` is retried at once.
    pub(crate) fn io<R>(&self, dir: Interest, op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        self.io_loop(dir, op, false)
    }

    /// A read of a byte stream into `len` bytes of buffer, through the
    /// retry loop; it waits before its first try when the last read drained
    /// the socket (`drained.rs`).
    pub(crate) fn read_stream(
        &self,
        len: usize,
        op: impl FnMut(&S) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let drained = self.drained.begin();
        let r = self.io_loop(Interest::Read, op, drained);
        self.drained.end(matches!(r, Ok(n) if n > 0 && n < len));
        r
    }

    /// The retry loop; `drained`: wait before the first try.
    fn io_loop<R>(
        &self,
        dir: Interest,
        mut op: impl FnMut(&S) -> io::Result<R>,
        mut drained: bool,
    ) -> io::Result<R> {
        self.pd.check_open()?;
        let mut deadline = None;
        let mut waited = false;
        loop {
            if !std::mem::take(&mut drained) {
                match op(&self.sock) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => return r,
                }
            }
            if !waited {
                waited = true;
                deadline = self.timeout(dir).map(|d| Instant::now() + d);
            }
            self.pd.wait(dir, deadline)?;
        }
    }

    /// Waits for a non-blocking `connect` to finish (`deadline` bounds it).
    pub(crate) fn finish_connect(&self, deadline: Option<Instant>) -> io::Result<()> {
        let s = SockRef::from(&self.sock);
        loop {
            self.pd.wait(Interest::Write, deadline)?;
            if let Some(e) = s.take_error()? {
                return Err(e);
            }
            match s.peer_addr() {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn timeout(&self, dir: Interest) -> Option<Duration> {
        // Relaxed: an independent setting; no other memory depends on it.
        match self.timeouts[dir as usize].load(Ordering::Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    /// std's rule: `Some(ZERO)` is an error; `None` clears the timeout.
    pub(crate) fn set_timeout(&self, dir: Interest, t: Option<Duration>) -> io::Result<()> {
        let n = match t {
            Some(d) if d.is_zero() => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot set a 0 duration timeout"));
            }
            Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1),
            None => 0,
        };
        // Relaxed: see `timeout`.
        self.timeouts[dir as usize].store(n, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn set_deadline(&self, dir: Interest, deadline: Option<Instant>) {
        self.pd.set_deadline(dir, deadline);
    }

    /// Go's `Close` on a shared socket: wake every parked caller with
    /// `ConnectionAborted` and fail later calls.
    pub(crate) fn evict(&self) {
        self.pd.evict();
    }

    /// Takes over a std socket: non-blocking from now on, and registered.
    pub(crate) fn from_std(sock: S) -> io::Result<Fd<S>> {
        SockRef::from(&sock).set_nonblocking(true)?;
        Fd::new(sock)
    }

    /// Unregisters the socket and gives it back to std, in blocking mode.
    pub(crate) fn into_std(self) -> io::Result<S> {
        let sock = self.into_sock();
        SockRef::from(&sock).set_nonblocking(false)?;
        Ok(sock)
    }

    /// Unregisters the socket and gives it back as it is (non-blocking).
    pub(crate) fn into_sock(self) -> S {
        let Fd { pd, sock, .. } = self;
        drop(pd);
        sock
    }

    /// Accepts a connection on this listening socket, already non-blocking
    /// and close-on-exec. Out of descriptors (EMFILE/ENFILE) it sleeps 5 ms
    /// doubling to 1 s and tries again, as Go's `http.Server` does, so a
    /// server keeps serving once descriptors free up; a closed listener or
    /// a passed deadline still ends the wait. A connection aborted before it
    /// was accepted is skipped.
    pub(crate) fn accept(&self) -> io::Result<(Socket, SockAddr)> {
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        let mut backoff = ACCEPT_BACKOFF_MIN;
        loop {
            match self.io(Interest::Read, |l| SockRef::from(l).accept4(flags)) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    self.pd.check_open()?;
                    gort_runtime::time::sleep(backoff);
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                }
                Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => {}
                r => return r,
            }
        }
    }

    /// A copy with the same timeouts, for `try_clone` (`dup` of the fd).
    pub(crate) fn clone_with(&self, sock: S) -> io::Result<Fd<S>> {
        let fd = Fd::new(sock)?;
        for d in [Interest::Read, Interest::Write] {
            fd.set_timeout(d, self.timeout(d))?;
        }
        Ok(fd)
    }
}

impl<S: AsFd> AsFd for Fd<S> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// Creates a non-blocking, close-on-exec socket for `addr`.
pub(crate) fn socket(addr: &SockAddr, ty: socket2::Type) -> io::Result<Socket> {
    Socket::new(addr.domain(), ty.nonblocking(), None)
}

/// Starts a non-blocking connect of `sock` to `addr` and waits for it.
pub(crate) fn connect<S>(sock: Socket, addr: &SockAddr, deadline: Option<Instant>) -> io::Result<Fd<S>>
where
    S: AsFd + From<Socket>,
{
    let started = sock.connect(addr);
    let fd = Fd::new(S::from(sock))?;
    match started {
        Ok(()) => Ok(fd),
        // In progress: wait for writability. EAGAIN is not among these: for
        // a Unix socket it means the listener's queue is full, for TCP that
        // no local port is left, and neither ever completes (Go returns it).
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EALREADY | libc::EINTR)) => {
            fd.finish_connect(deadline).map(|()| fd)
        }
        Err(e) => Err(e),
    }
}

/// Generates the timeout and deadline methods of a socket type whose `fd`
/// field is an `Fd`, so every type documents them once and shares the code.
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
        /// can extend it. `None` removes it.
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

pub(crate) use deadline_methods;

impl<S: AsFd + std::fmt::Debug> std::fmt::Debug for Fd<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sock.fmt(f)
    }
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

/// Implements `Read` and `Write` (vectored too) for a stream type whose `fd`
/// field is an `Fd`, on `&T` through the retry loop and on `T` through `&T`,
/// as std does for its sockets.
macro_rules! stream_io {
    ($t:ty) => {
        impl std::io::Read for &$t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.fd.read_stream(buf.len(), |mut s| std::io::Read::read(&mut s, buf))
            }

            fn read_vectored(&mut self, bufs: &mut [std::io::IoSliceMut<'_>]) -> std::io::Result<usize> {
                let len = bufs.iter().map(|b| b.len()).sum();
                self.fd.read_stream(len, |mut s| std::io::Read::read_vectored(&mut s, bufs))
            }
        }

        impl std::io::Write for &$t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.fd.io(gort_runtime::netpoll::Interest::Write, |mut s| std::io::Write::write(&mut s, buf))
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
pub(crate) use fd_traits;
pub(crate) use stream_io;
