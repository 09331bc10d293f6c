//! `PersistConn`: one client connection, and the exchange the requesting
//! goroutine runs on it itself (Go's `persistConn` without its read-loop
//! and write-loop goroutines). The request is written, the response head
//! read, and the body read by whoever reads the [`Response`]'s body, all
//! on the caller's goroutine or thread. One thing that costs: a server
//! that answers before it has read the whole request body, then neither
//! reads on nor closes, leaves the body's write waiting for its deadline
//! (`Client::timeout`), where Go's read loop would hand the answer over
//! at once.
//!
//! # States
//!
//! | state              | owner                          | holds | next |
//! |--------------------|--------------------------------|-------|------|
//! | idle               | the pool, as an `Idle` (stream and timestamp) | the stream only (a `ClientConn`: TCP, or a rustls session over it): no goroutine, no buffer of ours, no timer | in a round trip (checked out, still open by `still_open`); closed (expired, evicted, EOF or close_notify seen) |
//! | in a round trip    | the requesting goroutine       | socket, read buffer, cancellation hook | reading the body (head read); idle (no body, reusable); closed (error, not reusable) |
//! | reading the body   | the response's `Body`           | same  | idle (body at its end, reusable); closed (error, dropped early past the drain, not reusable, context ended); handed over (`Response::upgrade` of a 101 or a CONNECT tunnel) |
//! | handed over        | the caller, as an `Upgraded`    | the stream, and what was buffered past the head; no hook, no deadline | closed (dropped) |
//! | closed             | nobody: the socket is shut and the pool's count for its host dropped | — | — |
//!
//! # Who touches what
//! - Everything in a `PersistConn` belongs to its one owner of the table
//!   above; it moves between them by value.
//! - The stream is behind an `Arc` for one reason: the request context's
//!   `after_func` hook holds a second handle, and may only `close` it,
//!   from its own goroutine, which wakes the owner's blocked read or write
//!   (the dial's handshake hook, `client_conn.rs`, is the same).
//!
//! # The invariants
//! - A connection goes back to the pool only from a finished exchange: the
//!   response allowed reuse, its body reached its framed end, nothing
//!   more is buffered, and the cancellation hook was stopped before it
//!   could run. Anything else closes it. A half-read body never goes back.
//! - Going idle gives the read buffer back to `BufPool` and clears the
//!   socket's deadlines, so the next owner starts clean.
//! - Dropping a `PersistConn` closes it and frees its slot in the pool's
//!   per-host count (which may start a dial for a waiting request).
//!
//! # Why no connection is handed out twice
//! Ownership is the value: there is one `PersistConn` per open checked-out
//! connection, moved from the dialer or the pool to one request, from the
//! request to its body, and from the body back to the pool
//! (`idle_pool.rs` argues the pool side). The hook's handle can only
//! close, and a stopped hook ([`AfterFunc::stop`] returned `true`) never
//! will; a hook that did run means the connection is closed, not pooled.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use gort_runtime::context::{AfterFunc, Context};
use http::header::HeaderName;
use http::request::Parts;
use http::{HeaderMap, StatusCode};

use crate::body::{Body, State};
use crate::buf::{ReadBuf, WriteBuf};
use crate::client::Response;
use crate::client_conn::ClientConn;
use crate::idle_pool::{Key, Pool};
use crate::response_head::{self, Head};
use crate::stream::Conn;
use crate::transfer::{self, Framing};
use crate::upgrade::{self, Upgraded};
use crate::{gunzip, transport, wire_out};

/// A dropped body is read on for at most this many bytes…
const DRAIN_BYTES: u64 = 256 << 10;
/// …and this long, then the connection closes instead (Go 1.27's rule).
const DRAIN_TIME: Duration = Duration::from_millis(50);
/// Interim (1xx) responses skipped before a final one, at most (as Go).
const MAX_INTERIM: usize = 5;

/// See the module doc.
pub(crate) struct PersistConn {
    stream: Arc<ClientConn>,
    rbuf: ReadBuf,
    key: Arc<Key>,
    pool: Arc<Pool>,
    /// It served an earlier exchange (came from the idle list).
    reused: bool,
    /// The response allows another exchange after it.
    keep: bool,
    /// A deadline is set on the socket.
    deadlines: bool,
    /// The most bytes a response head may take.
    max_head: usize,
    /// Closes the socket when the request's context ends.
    hook: Option<AfterFunc>,
    /// Went idle: the drop must not count it closed.
    pooled: bool,
}

/// What one exchange needs besides the connection.
pub(crate) struct Exchange<'a> {
    pub(crate) head: &'a Parts,
    pub(crate) framing: Framing,
    pub(crate) ctx: &'a Context,
    /// Client::timeout's end, for the whole exchange.
    pub(crate) deadline: Option<Instant>,
    pub(crate) header_timeout: Option<Duration>,
    pub(crate) max_head: usize,
    pub(crate) keep_alive: bool,
    /// The request asks for gzip on the transport's behalf (`gunzip.rs`).
    pub(crate) gzip: bool,
}

/// An exchange that failed, and whether it may be tried again elsewhere.
pub(crate) struct Failed {
    pub(crate) err: io::Error,
    /// A reused connection failed before any response byte arrived (the
    /// server had closed it): Go's retry case.
    pub(crate) retryable: bool,
}

impl PersistConn {
    pub(crate) fn new(stream: Arc<ClientConn>, key: Arc<Key>, pool: Arc<Pool>, reused: bool) -> PersistConn {
        let rbuf = ReadBuf::new();
        PersistConn {
            stream,
            rbuf,
            key,
            pool,
            reused,
            keep: false,
            deadlines: false,
            max_head: 0,
            hook: None,
            pooled: false,
        }
    }

    pub(crate) fn key(&self) -> &Arc<Key> {
        &self.key
    }

    /// Marks it as having served an exchange (Go's `markReused`): the pool
    /// hands it to a waiting request, which may then retry elsewhere when
    /// the server turns out to have closed it.
    pub(crate) fn mark_reused(&mut self) {
        self.reused = true;
    }

    /// Whether it served an earlier exchange.
    pub(crate) fn is_reused(&self) -> bool {
        self.reused
    }

    /// Whether it is still open (`ClientConn::still_open`), for one that
    /// waited between exchanges.
    pub(crate) fn still_open(&self) -> bool {
        self.stream.still_open()
    }

    /// The stream, for the idle list (see the state table).
    pub(crate) fn into_idle(mut self) -> Arc<ClientConn> {
        if std::mem::take(&mut self.deadlines) {
            self.stream.set_read_deadline(None);
            self.stream.set_write_deadline(None);
        }
        self.pooled = true;
        Arc::clone(&self.stream)
    }

    pub(crate) fn conn(&self) -> &dyn Conn {
        &*self.stream
    }

    /// Runs one exchange: writes the request, reads the response head
    /// (skipping interim responses) and hands the connection to the body.
    pub(crate) fn round_trip(mut self, x: &Exchange<'_>, mut body: Body) -> Result<Response, Failed> {
        if let Some(e) = x.ctx.err() {
            return Err(Failed { err: e.into(), retryable: false });
        }
        let s = Arc::clone(&self.stream);
        self.hook = Some(x.ctx.after_func(move || s.close()));
        self.max_head = x.max_head;
        self.set_deadlines(x.deadline, x.deadline);
        let wrote = self.write_request(x, &mut body);
        // The header timeout counts from the end of the request, body and
        // all, as Go's `ResponseHeaderTimeout` does.
        // Only the read deadline moves.
        if let Some(t) = x.header_timeout {
            self.stream.set_read_deadline(x.deadline.min_some(Some(Instant::now() + t)));
            self.deadlines = true;
        }
        // A server may answer before it has read the whole body (a 413,
        // say) and close: a write cut off on the socket looks for that
        // answer before giving up, and prefers it, as Go's transport does.
        let cut_off = matches!(&wrote, Err((e, _)) if peer_gone(e));
        let head = match wrote {
            Ok(()) => self.read_final_head(),
            Err(w) if cut_off => self.read_final_head().map_err(|_| w),
            Err(w) => Err(w),
        };
        let mut head = match head {
            Ok(h) => h,
            Err((err, any_byte)) => {
                let retryable = self.reused
                    && !any_byte
                    && x.ctx.err().is_none()
                    && err.kind() != io::ErrorKind::TimedOut;
                return Err(Failed { err: self.explain(err, x, "awaiting response headers"), retryable });
            }
        };
        let framing =
            transfer::response_framing(&x.head.method, head.status, &head.headers).map_err(|r| Failed {
                err: io::Error::new(io::ErrorKind::InvalidData, r.reason),
                retryable: false,
            })?;
        self.keep = !cut_off && x.keep_alive && reusable(x, &head, framing);
        if self.deadlines {
            self.set_deadlines(x.deadline, x.deadline);
        }
        let state = State::new(framing);
        let hands_over = transfer::hands_over(&x.head.method, head.status);
        let mut rb =
            ResponseBody { pc: Some(self), state, ctx: x.ctx.clone(), deadline: x.deadline, hands_over };
        let body = match rb.state.is_done() {
            true => {
                rb.finish();
                Body::empty()
            }
            false => Body::client(rb),
        };
        // A tunnel's bytes are the new protocol's, never gzip's (as Go).
        let gzipped = x.gzip && !hands_over && !body.is_empty() && gunzip::strip(&mut head.headers);
        let (body, uncompressed) = match gzipped {
            true => (body.gunzip(), true),
            false => (body, false),
        };
        Ok(Response::new(head.status, head.version, head.headers, body, uncompressed))
    }

    /// Sets the write deadline to `write` and the read deadline to `read`,
    /// skipping the calls when neither was nor is set.
    fn set_deadlines(&mut self, write: Option<Instant>, read: Option<Instant>) {
        if self.deadlines || write.is_some() || read.is_some() {
            self.stream.set_write_deadline(write);
            self.stream.set_read_deadline(read);
            self.deadlines = write.is_some() || read.is_some();
        }
    }

    /// The request head and body, framed by `x.framing`.
    fn write_request(&self, x: &Exchange<'_>, body: &mut Body) -> Result<(), (io::Error, bool)> {
        let mut w = WriteBuf::new();
        let r = wire_out::write_head(&mut w, self.conn(), x)
            .and_then(|()| wire_out::write_body(&mut w, self.conn(), body, x.framing));
        let r = r.and_then(|()| w.flush_to(self.conn()));
        r.map_err(|e| (e, false))
    }

    /// Reads heads until a final one; the error says whether any response
    /// byte had arrived.
    fn read_final_head(&mut self) -> Result<Head, (io::Error, bool)> {
        let mut names = Vec::new();
        for _ in 0..=MAX_INTERIM {
            let head = self.read_head(&mut names)?;
            if !head.status.is_informational() || head.status == StatusCode::SWITCHING_PROTOCOLS {
                return Ok(head);
            }
        }
        Err((io::Error::new(io::ErrorKind::InvalidData, "too many 1xx responses"), true))
    }

    fn read_head(&mut self, names: &mut Vec<(HeaderName, usize, usize)>) -> Result<Head, (io::Error, bool)> {
        loop {
            let any = !self.rbuf.data().is_empty();
            let parsed = if any { response_head::parse_head(self.rbuf.data(), names) } else { Ok(None) };
            match parsed {
                Ok(Some(raw)) => {
                    let len = raw.len;
                    let head = raw.build(self.rbuf.data(), names).map_err(|e| (e, true));
                    self.rbuf.consume(len);
                    return head;
                }
                Ok(None) => {}
                Err(e) => return Err((e, true)),
            }
            match self.rbuf.fill(&*self.stream, self.max_head) {
                Ok(0) if any => {
                    return Err((eof("the server closed the connection inside the response head"), true))
                }
                Ok(0) => return Err((eof("the server closed the connection before answering"), false)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::OutOfMemory => {
                    let msg = format!("server response headers exceeded {} bytes", self.max_head);
                    return Err((io::Error::new(io::ErrorKind::InvalidData, msg), true));
                }
                Err(e) => return Err((e, any)),
            }
        }
    }

    /// The error to return: the context's when it ended, a named timeout
    /// when a deadline passed, else `e` itself.
    fn explain(&self, e: io::Error, x: &Exchange<'_>, stage: &str) -> io::Error {
        explain(e, x.ctx, x.deadline, stage)
    }

    /// Stops the cancellation hook; false when it ran or is running (the
    /// connection is then closed, or about to be).
    fn disarm(&mut self) -> bool {
        self.hook.take().is_none_or(|h| h.stop())
    }
}

/// A write that failed because the peer closed or reset the connection.
fn peer_gone(e: &io::Error) -> bool {
    use io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    matches!(e.kind(), BrokenPipe | ConnectionReset | ConnectionAborted)
}

/// See [`PersistConn::explain`].
fn explain(e: io::Error, ctx: &Context, deadline: Option<Instant>, stage: &str) -> io::Error {
    if let Some(c) = ctx.err() {
        return c.into();
    }
    if e.kind() != io::ErrorKind::TimedOut {
        return e;
    }
    let msg = match deadline.is_some_and(|d| Instant::now() >= d) {
        true => format!("Client::timeout exceeded while {stage}"),
        false => format!("timeout {stage}"),
    };
    io::Error::new(io::ErrorKind::TimedOut, msg)
}

fn eof(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, msg.to_owned())
}

/// Whether the connection may carry another exchange after this response.
fn reusable(x: &Exchange<'_>, head: &Head, framing: Framing) -> bool {
    framing != Framing::Close
        && transfer::keep_alive(head.version, Some(&head.headers))
        && !transfer::has_token(&x.head.headers, "close")
}

/// `a`, or `b` when it is earlier or `a` is unset.
trait MinSome {
    fn min_some(self, b: Option<Instant>) -> Option<Instant>;
}

impl MinSome for Option<Instant> {
    fn min_some(self, b: Option<Instant>) -> Option<Instant> {
        match (self, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A response body on the client, owning its connection (the body table
/// in `body.rs`).
pub(crate) struct ResponseBody {
    /// `None` once returned to the pool or closed.
    pc: Option<PersistConn>,
    state: State,
    ctx: Context,
    deadline: Option<Instant>,
    /// The response switched protocols or opened a tunnel: the body is the
    /// connection, and [`upgrade`](Self::upgrade) may take it.
    hands_over: bool,
}

impl ResponseBody {
    /// Hands the connection over, with what is buffered past the head, to
    /// the caller: its cancellation hook stopped and its deadlines
    /// cleared, since from here the caller owns it (as Go's transport
    /// stops watching an upgraded connection).
    ///
    /// # Errors
    /// `InvalidInput` for a response that hands nothing over; the
    /// context's error when it closed the connection already; `NotConnected`
    /// once the body read to the server's close.
    pub(crate) fn upgrade(mut self) -> io::Result<Upgraded> {
        if !self.hands_over {
            return Err(upgrade::refused());
        }
        let Some(mut pc) = self.pc.take() else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "upgrade: the connection is closed"));
        };
        if !pc.disarm() {
            return Err(explain(io::ErrorKind::ConnectionAborted.into(), &self.ctx, None, "upgrading"));
        }
        pc.set_deadlines(None, None);
        let rest = Bytes::copy_from_slice(pc.rbuf.data());
        pc.rbuf.consume(rest.len());
        pc.rbuf.release();
        Ok(Upgraded::new(pc, rest))
    }

    pub(crate) fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let Some(pc) = &mut self.pc else {
            return match self.state.is_done() {
                true => Ok(0),
                false => Err(io::Error::other("response body unusable after an earlier error")),
            };
        };
        if out.is_empty() {
            return Ok(0);
        }
        match self.state.read(&*pc.stream, &mut pc.rbuf, pc.max_head, out) {
            Ok(0) => {
                self.finish();
                Ok(0)
            }
            Ok(n) => Ok(n),
            Err(e) => {
                self.pc = None;
                Err(explain(e, &self.ctx, self.deadline, "reading the body"))
            }
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state.is_done()
    }

    pub(crate) fn trailers(&self) -> Option<&HeaderMap> {
        self.state.trailers()
    }

    /// At the body's end: the connection goes back to the pool when the
    /// module doc's invariant allows, else closes.
    fn finish(&mut self) {
        let Some(mut pc) = self.pc.take() else { return };
        if pc.disarm() && pc.keep && pc.rbuf.release() {
            Arc::clone(&pc.pool).put(pc);
        }
    }

    /// Dropped early: read on within the drain bounds; back to the pool if
    /// that reached the end.
    fn drain(&mut self) {
        let Some(pc) = &mut self.pc else { return };
        if !pc.keep {
            return;
        }
        let stop = Instant::now() + DRAIN_TIME;
        pc.stream.set_read_deadline(Some(self.deadline.map_or(stop, |d| d.min(stop))));
        pc.deadlines = true;
        let mut sink = [0u8; 4096];
        let mut left = DRAIN_BYTES;
        while left > 0 && self.pc.is_some() {
            let want = sink.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            match self.read(&mut sink[..want]) {
                Ok(0) | Err(_) => return,
                Ok(n) => left -= n as u64,
            }
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        if !self.state.is_done() {
            self.drain();
        }
        // Whatever is still held now was not read to its end: it closes.
    }
}

impl Drop for PersistConn {
    fn drop(&mut self) {
        if let Some(h) = self.hook.take() {
            h.stop();
        }
        if self.pooled {
            return;
        }
        self.stream.close();
        if let Some(w) = self.pool.closed(&self.key) {
            transport::dial_for(Arc::clone(&self.pool), Arc::clone(&self.key), w);
        }
    }
}
