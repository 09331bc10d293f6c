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
//! ([`Body::finish`]): a Done body lets the connection go on; a Reading one
//! is drained (up to a bound) first; a Poisoned one, or one the handler
//! moved away, closes the connection.

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;

use crate::chunked::{Chunk, Decoder};
use crate::transfer::Framing;
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

enum State {
    Length(u64),
    Chunked(Box<Decoder>),
    Done(Option<HeaderMap>),
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

    /// The body of a message read off `wire` with `framing`.
    pub(crate) fn wire(wire: Arc<Wire>, framing: Framing) -> Body {
        let state = match framing {
            Framing::Empty => return Body::empty(),
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Box::new(Decoder::new())),
            Framing::Close => unreachable!("Body::wire: a request body is never close-delimited"),
        };
        Body { kind: Kind::Wire(WireBody { wire, state, read: 0, limit: None }) }
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
            Kind::Wire(WireBody { state: State::Done(t), .. }) => t.as_ref(),
            _ => None,
        }
    }

    /// Whether the body is known to hold nothing.
    pub fn is_empty(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Bytes(c) => c.position() as usize >= c.get_ref().len(),
            Kind::Reader(_) => false,
            Kind::Wire(b) => matches!(b.state, State::Done(_) | State::Length(0)),
        }
    }

    /// The connection loop takes the body back after the handler: reads
    /// what is left, up to `drain` bytes, and says whether the connection
    /// can carry another message (see the module doc). `wire` is the
    /// connection the loop expects the body to belong to.
    pub(crate) fn finish(&mut self, wire: &Arc<Wire>, drain: u64) -> bool {
        let Kind::Wire(b) = &mut self.kind else {
            // Empty bodies stay; anything else means the handler swapped
            // the body out, and the real one may still be read elsewhere.
            return matches!(self.kind, Kind::Empty);
        };
        if !Arc::ptr_eq(&b.wire, wire) {
            return false;
        }
        let mut left = drain;
        let mut sink = [0u8; 2048];
        while !matches!(b.state, State::Done(_) | State::Poisoned) {
            let want = sink.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            match b.read(&mut sink[..want.max(1)]) {
                Ok(n) if n as u64 <= left => left -= n as u64,
                _ => return false,
            }
        }
        matches!(b.state, State::Done(_))
    }
}

impl WireBody {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.wire.take_continue() {
            self.wire.conn.write_all(CONTINUE)?;
        }
        let r = match &mut self.state {
            State::Done(_) => return Ok(0),
            State::Poisoned => return Err(io::Error::other("request body unusable after an earlier error")),
            State::Length(left) => read_length(&self.wire, left, out),
            State::Chunked(d) => read_chunked(&self.wire, d, out),
        };
        match r {
            Ok(0) => {
                self.state = match std::mem::replace(&mut self.state, State::Poisoned) {
                    State::Chunked(d) => State::Done(d.trailers().cloned()),
                    _ => State::Done(None),
                };
                Ok(0)
            }
            Ok(n) => self.count(n),
            Err(e) => {
                self.state = State::Poisoned;
                Err(e)
            }
        }
    }

    /// Counts `n` more bytes read against the limit.
    fn count(&mut self, n: usize) -> io::Result<usize> {
        self.read += n as u64;
        if self.limit.is_some_and(|l| self.read > l) {
            self.state = State::Poisoned;
            self.wire.set_too_large();
            return Err(io::Error::new(io::ErrorKind::InvalidData, "request body too large"));
        }
        Ok(n)
    }
}

/// Reads up to `left` bytes of a length-delimited body.
fn read_length(wire: &Wire, left: &mut u64, out: &mut [u8]) -> io::Result<usize> {
    if *left == 0 {
        return Ok(0);
    }
    let want = out.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
    let mut rbuf = wire.rbuf.lock();
    let n = match rbuf.data().len() {
        0 if want >= DIRECT_READ => wire.conn.read(&mut out[..want])?,
        0 => {
            rbuf.fill(&*wire.conn, wire.rbuf_limit)?;
            take(&mut rbuf, &mut out[..want])
        }
        _ => take(&mut rbuf, &mut out[..want]),
    };
    if n == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside the body"));
    }
    *left -= n as u64;
    Ok(n)
}

/// Reads the next data of a chunked body; `Ok(0)` once the last chunk and
/// the trailers are through.
fn read_chunked(wire: &Wire, d: &mut Decoder, out: &mut [u8]) -> io::Result<usize> {
    let mut rbuf = wire.rbuf.lock();
    loop {
        let (used, chunk) = d.decode(rbuf.data()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.0))?;
        rbuf.consume(used);
        match chunk {
            Chunk::Data(n) => {
                let want = out.len().min(n);
                let k = take(&mut rbuf, &mut out[..want]);
                d.took(k);
                return Ok(k);
            }
            Chunk::End => return Ok(0),
            Chunk::More => {
                if rbuf.fill(&*wire.conn, wire.rbuf_limit)? == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside the body"));
                }
            }
        }
    }
}

/// Copies buffered bytes into `out`; returns how many.
fn take(rbuf: &mut crate::buf::ReadBuf, out: &mut [u8]) -> usize {
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
            Kind::Wire(_) => "connection",
        };
        f.debug_struct("Body").field("kind", &kind).finish()
    }
}
