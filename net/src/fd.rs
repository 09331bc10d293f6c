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

use gort_runtime::context::Context;
use gort_runtime::netpoll::{Interest, PollDesc};
use socket2::{SockAddr, SockRef, Socket};

use crate::drained::Drained;

/// `accept`'s back-off while out of descriptors.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A byte-stream socket type, and whether the drained hint's premise holds
/// for it (`drained.rs`): a short read proves the receive queue empty. It
/// does on TCP until urgent data arrives (a read stops short at its mark:
/// `PollDesc::urgent`), and not on a Unix stream, whose reads stop short at
/// a message that carries descriptors or another writer's credentials.
pub(crate) trait Stream {
    const SHORT_READ_DRAINS: bool;
}

impl Stream for std::net::TcpStream {
    const SHORT_READ_DRAINS: bool = true;
}

impl Stream for std::os::unix::net::UnixStream {
    const SHORT_READ_DRAINS: bool = false;
}

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
    pub(crate) fn read_stream(&self, len: usize, op: impl FnMut(&S) -> io::Result<usize>) -> io::Result<usize>
    where
        S: Stream,
    {
        let drained = self.begin_read();
        let r = self.io_loop(Interest::Read, op, drained);
        self.drained.end(matches!(r, Ok(n) if n > 0 && n < len));
        r
    }

    /// Parks until a read may find data (see `wait_readable` on the
    /// stream types): waits only when the last read drained the socket,
    /// and clears that hint, so the read that follows tries at once.
    pub(crate) fn wait_readable(&self) -> io::Result<()>
    where
        S: Stream,
    {
        self.pd.check_open()?;
        let drained = self.begin_read();
        let r = match drained {
            true => self.pd.wait(Interest::Read, self.timeout(Interest::Read).map(|d| Instant::now() + d)),
            false => Ok(()),
        };
        self.drained.end(false);
        r
    }

    /// A hinted read starts (`Drained::begin`): whether it may wait first,
    /// which also needs a short read to still prove the queue empty
    /// (`Stream`).
    #[inline]
    fn begin_read(&self) -> bool
    where
        S: Stream,
    {
        self.drained.begin() && S::SHORT_READ_DRAINS && !self.pd.urgent()
    }

    /// A `MSG_PEEK` receive through the retry loop. It counts as a read
    /// for the drained hint, which it clears: readiness it waits for is
    /// consumed, so the next read must try before it waits.
    pub(crate) fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.drained.begin();
        let r = self.io_loop(Interest::Read, |s| gort_runtime::netpoll::peek_now(s.as_fd(), buf), false);
        self.drained.end(false);
        r
    }

    /// One read of a byte stream that does not wait: `WouldBlock` when
    /// nothing is queued. It counts as a read for the drained hint, and an
    /// empty queue sets it as a short read does (`drained.rs`'s argument
    /// holds for `EAGAIN` as well), so the wait that follows parks.
    pub(crate) fn try_read(
        &self,
        len: usize,
        mut op: impl FnMut(&S) -> io::Result<usize>,
    ) -> io::Result<usize> {
        self.pd.check_open()?;
        self.drained.begin();
        let r = loop {
            match op(&self.sock) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => break r,
            }
        };
        let empty = matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        self.drained.end(empty || matches!(r, Ok(n) if n > 0 && n < len));
        r
    }

    /// One non-blocking `MSG_PEEK` receive: no wait, no retry.
    pub(crate) fn peek_now(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.pd.check_open()?;
        gort_runtime::netpoll::peek_now(self.sock.as_fd(), buf)
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
                    r => {
                        if !waited {
                            // A call that never parked is a runtime entry
                            // all the same: yield if sysmon asked us to.
                            gort_runtime::preempt_check();
                        }
                        return r;
                    }
                }
            }
            if !waited {
                waited = true;
                deadline = self.timeout(dir).map(|d| Instant::now() + d);
            }
            self.pd.wait(dir, deadline)?;
        }
    }

    /// Waits for a non-blocking `connect` to finish (`deadline` bounds it),
    /// or for `ctx` to end: its `after_func` evicts the socket, which wakes
    /// the wait, and the context's error is returned. A context that never
    /// ends costs nothing here (no goroutine, no timer).
    pub(crate) fn finish_connect(&self, deadline: Option<Instant>, ctx: &Context) -> io::Result<()> {
        let evictor = self.pd.evictor();
        let watch = ctx.after_func(move || evictor.evict());
        let r = self.wait_connected(deadline);
        if watch.stop() {
            return r;
        }
        // The context ended first; the socket is (or is being) evicted.
        Err(ctx.err().map_or_else(|| io::ErrorKind::ConnectionAborted.into(), io::Error::from))
    }

    fn wait_connected(&self, deadline: Option<Instant>) -> io::Result<()> {
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
            Some(d) if d.is_zero() => return Err(zero_timeout()),
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
    /// server keeps serving once descriptors free up. As in Go, that sleep
    /// is not a wait on the socket: a closed listener ends the loop after
    /// the current sleep, and deadlines are not looked at until a try gets
    /// past EMFILE. A connection aborted before it was accepted is skipped.
    /// The first EMFILE of a wait is said on stderr, once: out of
    /// descriptors is for the operator to fix (Go's server logs each retry).
    pub(crate) fn accept(&self) -> io::Result<(Socket, SockAddr)> {
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        let mut backoff = ACCEPT_BACKOFF_MIN;
        loop {
            match self.io(Interest::Read, |l| SockRef::from(l).accept4(flags)) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    self.pd.check_open()?;
                    if backoff == ACCEPT_BACKOFF_MIN {
                        eprintln!(
                            "gort: accept on {}: {e}; retrying after {ACCEPT_BACKOFF_MIN:?}, doubling up to {ACCEPT_BACKOFF_MAX:?}",
                            self.listener_name()
                        );
                    }
                    gort_runtime::time::sleep(backoff);
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                }
                Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => {}
                r => return r,
            }
        }
    }

    /// The address a listener is bound to (its path, for a Unix one), for
    /// a message.
    fn listener_name(&self) -> String {
        let Ok(a) = SockRef::from(&self.sock).local_addr() else { return "a listener".to_owned() };
        match (a.as_socket(), a.as_pathname()) {
            (Some(ip), _) => ip.to_string(),
            (None, Some(path)) => path.display().to_string(),
            (None, None) => "a listener".to_owned(),
        }
    }

    /// A copy with the same timeouts, for `try_clone` (`dup` of the fd).
    pub(crate) fn clone_with(&self, sock: S) -> io::Result<Fd<S>> {
        let fd = Fd::new(sock)?;
        for (mine, theirs) in fd.timeouts.iter().zip(&self.timeouts) {
            // Relaxed: see `timeout`.
            mine.store(theirs.load(Ordering::Relaxed), Ordering::Relaxed);
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

/// Starts a non-blocking connect of `sock` to `addr` and waits for it,
/// until `deadline` or until `ctx` ends.
pub(crate) fn connect<S>(
    sock: Socket,
    addr: &SockAddr,
    deadline: Option<Instant>,
    ctx: &Context,
) -> io::Result<Fd<S>>
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
            fd.finish_connect(deadline, ctx).map(|()| fd)
        }
        Err(e) => Err(e),
    }
}

impl<S: AsFd + std::fmt::Debug> std::fmt::Debug for Fd<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.sock.fmt(f)
    }
}

/// std's error for a zero timeout.
pub(crate) fn zero_timeout() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "cannot set a 0 duration timeout")
}
