//! `Body`: a message body as a `Read`. On the server it reads the request
//! body off the connection through its framing (`Content-Length` or
//! chunked), sending an owed `100 Continue` first; it can also wrap any
//! `Read` or bytes, for requests and responses built by hand.
//!
//! # States of a connection body
//!
//! | state    | meaning                                   | next                        |
//! |----------|-------------------------------------------|-----------------------------|
//! | Reading  | framing bytes left to read                | Done at the framed end; Poisoned on any error |
//! | Done     | read to its end: the connection may serve another message | — |
//! | Poisoned | an error (EOF too early, bad chunk, a limit): the connection's position in the stream is unknown | — |
//!
//! The connection's loop takes the body back after the handler
//! ([`Body::finish`], before the response's head goes out when it has not
//! yet, so that the head can say the connection closes): a Done body lets
//! the connection go on; a Reading one is drained (up to a bound) first; a
//! Poisoned one closes the connection, and so does one the handler moved
//! away unless it was read to its end (the wire's `body_done`, which the
//! body sets wherever it is read).
//!
//! # A response body on the client
//!
//! The client's response body owns its connection (a persistConn, see
//! `persist_conn.rs`) and reads through the same [`State`], which adds
//! close-delimited bodies for responses:
//!
//! | state    | meaning                               | next |
//! |----------|---------------------------------------|------|
//! | Reading  | the body owns the connection          | Returned at the framed end; Drained or closed on drop; Poisoned on any error; Handed over by `Response::upgrade` (a 101 or a `CONNECT` tunnel, whose body is the connection until it closes) |
//! | Returned | read to its end: the connection went back to the pool (or closed, if the response forbade reuse) | — |
//! | Drained  | dropped early, and the rest (≤ 256 KiB, ≤ 50 ms) was read: the connection went back | — |
//! | Poisoned | an error, or dropped with more left than the drain allows: the connection closed | — |
//! | Handed over | the caller owns the connection as an `Upgraded` (`upgrade.rs`) | — |

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::buf::ReadBuf;
use crate::chunked::{Chunk, Decoder};
use crate::gunzip::Gunzip;
use crate::persist_conn::ResponseBody;
use crate::stream::Conn;
use crate::transfer::Framing;
use crate::upgrade::{self, Upgraded};
use crate::wire::{Wire, CONTINUE};

/// Below this many bytes asked, a read goes through the buffer; at or
/// above it, and with the buffer empty, straight into the caller's slice.
const DIRECT_READ: usize = 4 << 10;

/// A message body; see the module doc.
///
/// ```
/// use std::io::Read;
/// let mut b = gort::http::Body::from("hello");
/// let mut s = String::new();
/// b.read_to_string(&mut s).unwrap();
/// assert_eq!(s, "hello");
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    Empty,
    Bytes(io::Cursor<Bytes>),
    Reader(Box<dyn Read + Send>),
    Wire(WireBody),
    /// Boxed: a pooled connection is large, and a server's `Request`
    /// (which holds a `Body`) is moved on every request.
    Client(Box<ResponseBody>),
    /// A client's response body in gzip, decoded as read (`gunzip.rs`).
    Gunzip(Box<Gunzip>),
}

/// A body read off a connection.
struct WireBody {
    wire: Arc<Wire>,
    state: State,
    /// Body bytes read so far.
    read: u64,
    /// `max_bytes`: reading past this many bytes fails.
    limit: Option<u64>,
}

/// Where the reading of a framed body stands (the tables above).
pub(crate) enum State {
    Length(u64),
    Chunked(Box<Decoder>),
    /// Until the peer closes (responses only).
    UntilClose,
    /// With the trailers, if any (boxed: rare, and a map is large).
    Done(Option<Box<HeaderMap>>),
    Poisoned,
}

impl Body {
    /// An empty body.
    pub fn empty() -> Body {
        Body { kind: Kind::Empty }
    }

    /// A body streamed from `r`.
    pub fn from_reader(r: impl Read + Send + 'static) -> Body {
        Body { kind: Kind::Reader(Box::new(r)) }
    }

    /// The body of a message read off `wire` with `framing` (a body with
    /// no bytes holds no reference to the wire).
    pub(crate) fn wire(wire: &Arc<Wire>, framing: Framing) -> Body {
        if framing == Framing::Close {
            unreachable!("Body::wire: a request body is never close-delimited");
        }
        match State::new(framing) {
            State::Done(_) => Body::empty(),
            state => {
                Body { kind: Kind::Wire(WireBody { wire: Arc::clone(wire), state, read: 0, limit: None }) }
            }
        }
    }

    /// A response body the client reads off its connection.
    pub(crate) fn client(body: ResponseBody) -> Body {
        Body { kind: Kind::Client(Box::new(body)) }
    }

    /// `self`, a gzipped response body, decoded as it is read.
    pub(crate) fn gunzip(self) -> Body {
        Body { kind: Kind::Gunzip(Box::new(Gunzip::Raw(self))) }
    }

    /// The connection a client's response handed over with its body
    /// (`Response::upgrade`).
    pub(crate) fn upgrade(self) -> io::Result<Upgraded> {
        match self.kind {
            Kind::Client(b) => b.upgrade(),
            _ => Err(upgrade::refused()),
        }
    }

    /// The body's length, when it knows it before being read.
    pub(crate) fn known_len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Empty => Some(0),
            Kind::Bytes(c) => Some((c.get_ref().len() as u64).saturating_sub(c.position())),
            _ => None,
        }
    }

    /// A second body with the same bytes, for a request that may be sent
    /// again (a retry, a 307 redirect): empty and unread byte bodies only.
    pub(crate) fn replay(&self) -> Option<Body> {
        match &self.kind {
            Kind::Empty => Some(Body::empty()),
            Kind::Bytes(c) if c.position() == 0 => Some(Body::from(c.get_ref().clone())),
            _ => None,
        }
    }

    /// Go's `MaxBytesReader`: reading more than `n` bytes in all fails,
    /// and a server then answers 413 and closes the connection.
    pub fn limit(&mut self, n: u64) {
        if let Kind::Wire(b) = &mut self.kind {
            b.limit = Some(b.limit.map_or(n, |l| l.min(n)));
        }
    }

    /// The trailers of a chunked body, once it has been read to its end.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        match &self.kind {
            Kind::Wire(WireBody { state, .. }) => state.trailers(),
            Kind::Client(b) => b.trailers(),
            Kind::Gunzip(g) => g.body().trailers(),
            _ => None,
        }
    }

    /// Whether the body is known to hold nothing.
    pub fn is_empty(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Bytes(c) => c.position() as usize >= c.get_ref().len(),
            Kind::Reader(_) | Kind::Gunzip(_) => false,
            Kind::Wire(b) => matches!(b.state, State::Done(_) | State::Length(0)),
            Kind::Client(b) => b.is_done(),
        }
    }

    /// The connection loop takes the body back after the handler: reads
    /// what is left, up to `drain` bytes, and says whether the connection
    /// can carry another message (see the module doc). `wire` is the
    /// connection the loop expects the body to belong to.
    pub(crate) fn finish(&mut self, wire: &Arc<Wire>, drain: u64) -> bool {
        match &mut self.kind {
            Kind::Wire(b) if Arc::ptr_eq(&b.wire, wire) => b.drain(drain),
            // The handler took it out (leaving an empty body) or swapped
            // another in, which may still be read elsewhere: only a taken
            // body that was read to its end (the wire's `body_done`) lets
            // it go on.
            _ => matches!(self.kind, Kind::Empty) && wire.body_done(),
        }
    }
}

impl WireBody {
    /// Reads what is left, up to `drain` bytes; whether the body reached
    /// its end. The handler's `limit` does not apply: the server reads
    /// the rest, not the handler (Go's `MaxBytesHandler` limits a copy).
    fn drain(&mut self, drain: u64) -> bool {
        self.limit = None;
        // Go's `maxPostHandlerReadBytes` rule: a declared rest past the
        // bound is not read at all.
        if matches!(self.state, State::Length(n) if n > drain) {
            return false;
        }
        let mut left = drain;
        let mut sink = [0u8; 2048];
        while !matches!(self.state, State::Done(_) | State::Poisoned) {
            let want = sink.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            match self.read(&mut sink[..want.max(1)]) {
                Ok(n) if n as u64 <= left => left -= n as u64,
                _ => return false,
            }
        }
        matches!(self.state, State::Done(_))
    }

    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.wire.take_continue() {
            self.wire.conn.write_all(CONTINUE)?;
        }
        let r = self.state.read(&*self.wire.conn, &mut self.wire.rbuf.lock(), self.wire.rbuf_limit, out);
        let n = r.inspect_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                self.wire.set_body_fault(StatusCode::BAD_REQUEST);
            }
        })?;
        let n = self.count(n)?;
        if matches!(self.state, State::Done(_)) {
            self.wire.set_body_done(true);
        }
        Ok(n)
    }

    /// Counts `n` more bytes read against the limit.
    fn count(&mut self, n: usize) -> io::Result<usize> {
        self.read += n as u64;
        if self.limit.is_some_and(|l| self.read > l) {
            self.state = State::Poisoned;
            self.wire.set_body_fault(StatusCode::PAYLOAD_TOO_LARGE);
            return Err(io::Error::new(io::ErrorKind::InvalidData, "request body too large"));
        }
        Ok(n)
    }
}

impl State {
    /// The state a body with `framing` starts in.
    pub(crate) fn new(framing: Framing) -> State {
        match framing {
            Framing::Empty => State::Done(None),
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Box::new(Decoder::new())),
            Framing::Close => State::UntilClose,
        }
    }

    /// Reads the next body bytes off `conn` through `rbuf` (growing to at
    /// most `limit`); `Ok(0)` once at the framed end (then Done). Any error
    /// leaves the body Poisoned.
    pub(crate) fn read(
        &mut self,
        conn: &dyn Conn,
        rbuf: &mut ReadBuf,
        limit: usize,
        out: &mut [u8],
    ) -> io::Result<usize> {
        let r = match self {
            State::Done(_) => return Ok(0),
            State::Poisoned => return Err(io::Error::other("body unusable after an earlier error")),
            State::Length(left) => read_length(conn, rbuf, limit, left, out),
            State::Chunked(d) => read_chunked(conn, rbuf, limit, d, out),
            // A close-delimited body ends at the peer's EOF.
            State::UntilClose => read_some(conn, rbuf, limit, out),
        };
        match r {
            Ok(0) if !out.is_empty() => {
                *self = match std::mem::replace(self, State::Poisoned) {
                    State::Chunked(d) => State::Done(d.trailers().cloned().map(Box::new)),
                    _ => State::Done(None),
                };
                Ok(0)
            }
            Err(e) => {
                *self = State::Poisoned;
                Err(e)
            }
            r => r,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        matches!(self, State::Done(_))
    }

    pub(crate) fn trailers(&self) -> Option<&HeaderMap> {
        match self {
            State::Done(t) => t.as_deref(),
            _ => None,
        }
    }
}

/// Reads up to `left` bytes of a length-delimited body.
fn read_length(
    conn: &dyn Conn,
    rbuf: &mut ReadBuf,
    limit: usize,
    left: &mut u64,
    out: &mut [u8],
) -> io::Result<usize> {
    if *left == 0 {
        return Ok(0);
    }
    let n = read_some(conn, rbuf, limit, left_of(out, *left))?;
    if n == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside the body"));
    }
    *left -= n as u64;
    Ok(n)
}

/// `out` cut to at most `left` bytes.
fn left_of(out: &mut [u8], left: u64) -> &mut [u8] {
    let want = out.len().min(usize::try_from(left).unwrap_or(usize::MAX));
    &mut out[..want]
}

/// Buffered bytes first; else one read, straight into `out` when it is
/// large, through the buffer when not. 0 at EOF.
fn read_some(conn: &dyn Conn, rbuf: &mut ReadBuf, limit: usize, out: &mut [u8]) -> io::Result<usize> {
    Ok(match rbuf.data().len() {
        0 if out.len() >= DIRECT_READ => conn.read(out)?,
        0 => {
            rbuf.fill(conn, limit)?;
            take(rbuf, out)
        }
        _ => take(rbuf, out),
    })
}

/// Reads the next data of a chunked body; `Ok(0)` once the last chunk and
/// the trailers are through.
fn read_chunked(
    conn: &dyn Conn,
    rbuf: &mut ReadBuf,
    limit: usize,
    d: &mut Decoder,
    out: &mut [u8],
) -> io::Result<usize> {
    loop {
        let (used, chunk) =
            d.decode(rbuf.data()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.0))?;
        rbuf.consume(used);
        match chunk {
            Chunk::Data(n) => {
                let want = out.len().min(n);
                let k = take(rbuf, &mut out[..want]);
                d.took(k);
                return Ok(k);
            }
            Chunk::End => return Ok(0),
            Chunk::More => {
                if rbuf.fill(conn, limit)? == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed inside the body",
                    ));
                }
            }
        }
    }
}

/// Copies buffered bytes into `out`; returns how many.
fn take(rbuf: &mut ReadBuf, out: &mut [u8]) -> usize {
    let n = out.len().min(rbuf.data().len());
    out[..n].copy_from_slice(&rbuf.data()[..n]);
    rbuf.consume(n);
    n
}

impl Read for Body {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match &mut self.kind {
            Kind::Empty => Ok(0),
            Kind::Bytes(c) => c.read(out),
            Kind::Reader(r) => r.read(out),
            Kind::Wire(b) => b.read(out),
            Kind::Client(b) => b.read(out),
            Kind::Gunzip(g) => g.read(out),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Body {
        Body { kind: Kind::Bytes(io::Cursor::new(b)) }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Body {
        Body::from(Bytes::from(v))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::from(Bytes::from(s))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::from(Bytes::from_static(s.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Body {
        Body::from(Bytes::from_static(s))
    }
}

impl From<()> for Body {
    fn from((): ()) -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Bytes(_) => "bytes",
            Kind::Reader(_) => "reader",
            Kind::Wire(_) | Kind::Client(_) => "connection",
            Kind::Gunzip(_) => "gzip",
        };
        f.debug_struct("Body").field("kind", &kind).finish()
    }
}
