//! `Conn`: what one HTTP connection runs over. The server's connection loop
//! (`conn.rs`) and the client's persistConn are written against this trait,
//! not against a socket type, so the goroutine server, the
//! thread-per-connection example and a TLS layer run the same code.
//!
//! Every method takes `&self`: the request body reads and the response
//! writer writes the same connection while the loop that owns it waits, as
//! a Go `net.Conn` is shared. gort's and std's sockets are already usable
//! through `&self`; a stream that needs `&mut self` (a TLS session) puts a
//! lock around itself.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A blocking, bidirectional byte stream that HTTP can run over.
///
/// Implemented for [`gort::net::TcpStream`](gort_net::TcpStream) (a read
/// parks the goroutine), [`gort::net::UnixStream`](gort_net::UnixStream)
/// and `std::net::TcpStream` (a read blocks the thread).
pub trait Conn: Send + Sync + 'static {
    /// Reads into `buf`, blocking until at least one byte or EOF (`Ok(0)`).
    ///
    /// # Errors
    /// As the stream's read; `TimedOut` past a read deadline.
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes some of `buf`, blocking until at least one byte went out.
    ///
    /// # Errors
    /// As the stream's write; `TimedOut` past a write deadline.
    fn write(&self, buf: &[u8]) -> io::Result<usize>;

    /// Blocks until a read may find data, without reading, so an idle
    /// connection can wait holding no buffer. The default returns at once
    /// (the next read then blocks instead).
    ///
    /// # Errors
    /// As a read.
    fn wait_readable(&self) -> io::Result<()> {
        Ok(())
    }

    /// Reads what is queued without blocking: `WouldBlock` when nothing is
    /// (a readiness that [`wait_readable`](Self::wait_readable) reported was
    /// stale). The default is a blocking [`read`](Self::read).
    ///
    /// # Errors
    /// As a read; `WouldBlock` when nothing is queued.
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(buf)
    }

    /// Blocks until data is queued or the peer closes (`Ok(0)`), without
    /// consuming anything; a read deadline ends it with `TimedOut`. The
    /// server watches for a client that goes away with it. The default is
    /// `Unsupported`: such a connection's request contexts then end only
    /// when the handler returns or the server shuts down.
    ///
    /// # Errors
    /// As a read; `Unsupported` by default.
    fn peek(&self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// Sets the instant after which reads fail with `TimedOut` (`None`:
    /// never), including a read already blocked where the stream allows.
    ///
    /// # Errors
    /// When the stream cannot take the deadline.
    fn set_read_deadline(&self, deadline: Option<Instant>) -> io::Result<()>;

    /// Sets the instant after which writes fail with `TimedOut`.
    ///
    /// # Errors
    /// When the stream cannot take the deadline.
    fn set_write_deadline(&self, deadline: Option<Instant>) -> io::Result<()>;

    /// Stops sending (a FIN), keeping the read side open: the first step of
    /// a lingering close.
    fn shutdown_write(&self);

    /// Ends the connection both ways and wakes whoever is blocked on it.
    fn close(&self);

    /// The peer's address, when the stream has one.
    fn peer_addr(&self) -> Option<SocketAddr> {
        None
    }

    /// A separate handle on the underlying TCP socket, for `hijack`.
    /// `None` when there is none to hand over (a TLS session, a test pipe).
    fn hijack_tcp(&self) -> Option<io::Result<gort_net::TcpStream>> {
        None
    }

    /// What a TLS session negotiated; `None` on a plain stream.
    fn tls(&self) -> Option<&crate::TlsInfo> {
        None
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    /// As [`write`](Self::write); `WriteZero` when the stream takes nothing.
    fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// `Conn` for a gort stream socket type: every call is the socket's own
/// (reads park the goroutine, deadlines need no syscall).
macro_rules! gort_stream_conn {
    ($t:ty { $($extra:item)* }) => {
        impl Conn for $t {
            fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                io::Read::read(&mut &*self, buf)
            }
            fn write(&self, buf: &[u8]) -> io::Result<usize> {
                io::Write::write(&mut &*self, buf)
            }
            fn wait_readable(&self) -> io::Result<()> {
                <$t>::wait_readable(self)
            }
            fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                <$t>::try_read(self, buf)
            }
            fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
                <$t>::peek(self, buf)
            }
            fn set_read_deadline(&self, deadline: Option<Instant>) -> io::Result<()> {
                <$t>::set_read_deadline(self, deadline);
                Ok(())
            }
            fn set_write_deadline(&self, deadline: Option<Instant>) -> io::Result<()> {
                <$t>::set_write_deadline(self, deadline);
                Ok(())
            }
            fn shutdown_write(&self) {
                let _ = self.shutdown(std::net::Shutdown::Write);
            }
            fn close(&self) {
                <$t>::close(self);
            }
            $($extra)*
        }
    };
}

gort_stream_conn! {
    gort_net::TcpStream {
        fn peer_addr(&self) -> Option<SocketAddr> {
            gort_net::TcpStream::peer_addr(self).ok()
        }
        fn hijack_tcp(&self) -> Option<io::Result<gort_net::TcpStream>> {
            Some(self.try_clone())
        }
    }
}
gort_stream_conn! { gort_net::UnixStream {} }

/// A blocking std socket: deadlines become std's per-call timeouts, set
/// afresh before each call that has one, so they bound a call that starts
/// before the deadline, not one already blocked. A deadline that has
/// already passed becomes the shortest timeout (a call with nothing to do
/// fails at once), and the timeout's `WouldBlock` is reported as
/// `TimedOut`, as every other [`Conn`] reports a deadline.
impl Conn for std::net::TcpStream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        timed_out(io::Read::read(&mut &*self, buf))
    }
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        timed_out(io::Write::write(&mut &*self, buf))
    }
    fn set_read_deadline(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.set_read_timeout(remaining(deadline))
    }
    fn set_write_deadline(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.set_write_timeout(remaining(deadline))
    }
    fn shutdown_write(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
    fn close(&self) {
        let _ = self.shutdown(std::net::Shutdown::Both);
    }
    fn peer_addr(&self) -> Option<SocketAddr> {
        std::net::TcpStream::peer_addr(self).ok()
    }
}

/// A deadline as std's timeout: the time left, and for a deadline already
/// passed the shortest timeout std takes (it refuses zero, and rounds a
/// nanosecond up to a microsecond).
fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()).max(Duration::from_nanos(1)))
}

/// A blocking std socket's timeout surfaces as `WouldBlock` (`EAGAIN`):
/// reported as `TimedOut`, as [`Conn`] says.
fn timed_out(r: io::Result<usize>) -> io::Result<usize> {
    r.map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock => io::Error::new(io::ErrorKind::TimedOut, "deadline passed"),
        _ => e,
    })
}
