//! `Upgraded`: the connection a client's request handed over to another
//! protocol, taken with [`Response::upgrade`](crate::Response::upgrade)
//! from a `101 Switching Protocols` (WebSocket, h2c) or a 2xx to `CONNECT`
//! (a tunnel). Go's transport hands the same thing over as the response's
//! writable body.
//!
//! # Invariants
//! - Reads give first the bytes the server sent behind the response head
//!   (already read into the exchange's buffer, copied out here so that the
//!   buffer went back to its pool), then the stream's own.
//! - The pool has forgotten the connection except for its host's count of
//!   open connections, which the drop gives back as it closes the stream.
//! - Nothing else watches it: no request context, no `Client::timeout`.
//!
//! A reader goroutine and a writer goroutine share one through `&Upgraded`
//! (an `Arc`), as they would a Go `net.Conn`: the stream takes reads and
//! writes through `&self`, and the leftover bytes sit behind a lock held
//! only while they are copied.

use std::fmt;
use std::io::{self, Read, Write};
use std::time::Instant;

use bytes::{Buf, Bytes};
use parking_lot::Mutex;

use crate::persist_conn::PersistConn;

/// A connection handed over by a protocol switch or a `CONNECT` tunnel;
/// see the module doc. Dropping it closes the connection.
///
/// ```no_run
/// use std::io::{Read, Write};
/// use gort::http::{header, Client, Request};
///
/// let req = Request::builder()
///     .uri("http://127.0.0.1:8080/chat")
///     .header(header::CONNECTION, "upgrade")
///     .header(header::UPGRADE, "echo")
///     .build()?;
/// let resp = Client::new().send(req)?;
/// let mut conn = resp.upgrade()?; // an error unless the server answered 101
/// conn.write_all(b"ping")?;
/// let mut pong = [0u8; 4];
/// conn.read_exact(&mut pong)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Upgraded {
    pc: PersistConn,
    /// What the server sent behind the response head, not yet read.
    rest: Mutex<Bytes>,
}

impl Upgraded {
    pub(crate) fn new(pc: PersistConn, rest: Bytes) -> Upgraded {
        Upgraded { pc, rest: Mutex::new(rest) }
    }

    /// Sets the instant after which reads fail with `TimedOut` (`None`:
    /// never), a read already waiting included.
    pub fn set_read_deadline(&self, deadline: Option<Instant>) {
        // A pooled client stream takes any deadline (`ClientConn`).
        let _ = self.pc.conn().set_read_deadline(deadline);
    }

    /// Sets the instant after which writes fail with `TimedOut`.
    pub fn set_write_deadline(&self, deadline: Option<Instant>) {
        let _ = self.pc.conn().set_write_deadline(deadline);
    }

    /// Stops sending (a FIN, or TLS's `close_notify` and then a FIN),
    /// keeping the read side open.
    pub fn shutdown_write(&self) {
        self.pc.conn().shutdown_write();
    }
}

/// The error of an upgrade from a response that hands nothing over.
pub(crate) fn refused() -> io::Error {
    let msg = "upgrade: only a 101 Switching Protocols or a 2xx to CONNECT hands the connection over";
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl Read for &Upgraded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        {
            let mut rest = self.rest.lock();
            if !rest.is_empty() {
                let n = buf.len().min(rest.len());
                rest.copy_to_slice(&mut buf[..n]);
                return Ok(n);
            }
        }
        self.pc.conn().read(buf)
    }
}

impl Write for &Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pc.conn().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Upgraded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for Upgraded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded").field("buffered", &self.rest.lock().len()).finish_non_exhaustive()
    }
}
