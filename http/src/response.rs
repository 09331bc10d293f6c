//! `ResponseWriter`: what a handler writes (status, headers, body bytes),
//! and how it is framed on the wire (Go's `response` and `chunkWriter`).
//!
//! # From the handler's writes to the wire
//! 1. Until the head is committed, body bytes are staged in the
//!    connection's write buffer, after any earlier pipelined responses.
//! 2. The head is committed by a `flush`, by a write that no longer fits,
//!    or by the handler returning. Only then is the framing chosen
//!    (`transfer::outgoing`): a handler that returned with its whole body
//!    staged gets `Content-Length`; one still writing gets chunked on 1.1
//!    and a close-delimited body on 1.0. The head is written in front of
//!    the staged body in place (a rotation, no copy elsewhere).
//! 3. After the commit, writes are framed as they come: chunks are cut
//!    when the buffer fills or on `flush`, so the size line is written once
//!    the chunk's length is known.
//!
//! Writing past a declared `Content-Length` is an error to the handler;
//! writing less closes the connection after the response.

use std::io::{self, Write};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{StatusCode, Version};

use crate::buf::WriteBuf;
use crate::chunked;
use crate::head_out::{self, Head, Sink};
use crate::transfer::{self, Framing, Outgoing};
use crate::wire::Wire;
use crate::{header_pool, sniff};

/// What a handler writes its response through; see the module doc.
///
/// ```
/// use std::io::Write;
/// use gort::http::{Request, ResponseWriter, StatusCode};
/// fn teapot(w: &mut ResponseWriter, _r: &mut Request) -> std::io::Result<()> {
///     w.headers_mut().insert("x-kind", "teapot".parse().unwrap());
///     w.write_header(StatusCode::IM_A_TEAPOT);
///     w.write_all(b"short and stout")
/// }
/// ```
pub struct ResponseWriter {
    wire: Arc<Wire>,
    wbuf: WriteBuf,
    headers: HeaderMap,
    status: Option<StatusCode>,
    /// Where this response's bytes start in `wbuf`.
    staged_from: usize,
    /// The framing, once the head is committed.
    out: Option<Outgoing>,
    /// The open chunk's data start in `wbuf` (chunked framing only).
    chunk_from: Option<usize>,
    /// Body bytes the handler wrote.
    written: u64,
    /// The `Content-Type` guessed from a first write that is not staged: a
    /// HEAD response's, or one too big to stage (a small one is sniffed
    /// from the staged bytes).
    sniffed_early: Option<HeaderValue>,
    head_request: bool,
    version: Version,
    /// The connection closes after this response (the request or the
    /// server asked for it).
    close: bool,
    /// A write to the connection failed: nothing more goes out.
    broken: bool,
}

/// What the connection loop learns when a response is finished.
pub(crate) struct Finished {
    /// The writer's handle on the connection, kept by the loop for the
    /// next response (so a response costs no reference count).
    pub(crate) wire: Arc<Wire>,
    pub(crate) wbuf: WriteBuf,
    /// The header map, cleared for the connection's next response.
    pub(crate) headers: HeaderMap,
    /// The connection must close after these bytes.
    pub(crate) close: bool,
}

impl ResponseWriter {
    pub(crate) fn new(
        wire: Arc<Wire>,
        wbuf: WriteBuf,
        headers: HeaderMap,
        head_request: bool,
        version: Version,
        close: bool,
    ) -> Self {
        let staged_from = wbuf.len();
        ResponseWriter {
            wire,
            wbuf,
            headers,
            status: None,
            staged_from,
            out: None,
            chunk_from: None,
            written: 0,
            sniffed_early: None,
            head_request,
            version,
            close,
            broken: false,
        }
    }

    /// The response headers. Changes after the head went out (the first
    /// flush, or a body too big to stage) have no effect, as in Go.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The status the response will have (200 until set).
    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or(StatusCode::OK)
    }

    /// Sets the status. Only the first call counts, and none after the
    /// head went out. A 1xx status other than 101 is sent at once as an
    /// informational response (with the headers set so far), and the
    /// final status is still to come, as Go 1.19+ does for 103 Early Hints;
    /// an HTTP/1.0 client is sent none (RFC 9110 §15.2).
    pub fn write_header(&mut self, status: StatusCode) {
        if self.out.is_some() || self.status.is_some() {
            return;
        }
        if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
            if self.version != Version::HTTP_10 {
                let _ = self.informational(status);
            }
            return;
        }
        self.status = Some(status);
    }

    /// Sends everything written so far to the client: commits the head
    /// (the body then streams: chunked on HTTP/1.1) and writes the buffer.
    ///
    /// # Errors
    /// The connection's write error.
    pub fn flush(&mut self) -> io::Result<()> {
        self.commit(None)?;
        self.end_chunk();
        self.send()
    }

    /// Takes the connection over (Go's `Hijacker`): the server forgets it
    /// and the handler owns the returned socket, with the bytes the server
    /// had read past the request head and not yet handed out. Responses
    /// to earlier pipelined requests are written first.
    ///
    /// # Errors
    /// `Unsupported` when the connection is not a gort TCP socket (TLS, a
    /// test pipe); `Other` once this response's head went out.
    pub fn hijack(&mut self) -> io::Result<(gort_net::TcpStream, Bytes)> {
        if self.out.is_some() {
            return Err(io::Error::other("hijack after the response head went out"));
        }
        let tcp = self.wire.conn.hijack_tcp().ok_or(io::ErrorKind::Unsupported)??;
        self.wbuf.truncate(self.staged_from);
        self.send()?;
        self.wire.set_hijacked();
        let data = self.wire.rbuf.lock().take_data();
        Ok((tcp, data))
    }

    /// Ends the response after the handler returned.
    pub(crate) fn finish(mut self) -> Finished {
        let complete = self.written;
        if self.commit(Some(complete)).is_err() {
            self.broken = true;
        }
        self.end_chunk();
        let out = self.out.unwrap_or(Outgoing { framing: Framing::Close, close: true });
        match out.framing {
            Framing::Chunked if !self.broken => self.push(chunked::LAST_CHUNK),
            Framing::Length(n) if n != self.written && !self.head_request => self.close = true,
            _ => {}
        }
        let close = self.close || out.close || self.broken;
        let ResponseWriter { wire, wbuf, mut headers, .. } = self;
        header_pool::clear(&mut headers);
        Finished { wire, wbuf, headers, close }
    }

    /// The connection closes after this response (`Connection: close`, if
    /// the head has not gone out yet).
    pub(crate) fn close_after(&mut self) {
        self.close = true;
    }

    /// The handler failed after the head went out: the body stops where it
    /// is, with no last chunk whatever its framing, and the connection
    /// closes, so the client sees a cut-off body rather than a complete
    /// one (as in Go).
    pub(crate) fn abort(&mut self) {
        if let Some(out) = &mut self.out {
            out.framing = Framing::Close;
        }
        self.close = true;
    }

    /// Sends the complete responses staged before this one (pipelined),
    /// and moves this one's staged body to the front of the buffer: the
    /// loop calls it before it drains a body that may be slow to come, so
    /// that those responses do not wait for it. The head must not be out.
    pub(crate) fn send_earlier(&mut self) -> io::Result<()> {
        debug_assert!(self.out.is_none(), "ResponseWriter::send_earlier: the head is out");
        let from = self.staged_from;
        if from == 0 || self.broken {
            return Ok(());
        }
        let r = self.wire.conn.write_all(&self.wbuf.data()[..from]);
        self.check(r)?;
        let len = self.wbuf.len();
        self.wbuf.data_mut().copy_within(from.., 0);
        self.wbuf.truncate(len - from);
        self.staged_from = 0;
        Ok(())
    }

    /// Whether the connection is known to close after this response.
    pub(crate) fn closes(&self) -> bool {
        self.close
    }

    /// A handler that failed before writing anything gets `status` with a
    /// short text body, and the connection closes.
    pub(crate) fn fail(&mut self, status: StatusCode, text: &str) {
        self.wbuf.truncate(self.staged_from);
        self.written = 0;
        self.headers.clear();
        self.headers.insert(CONTENT_TYPE, sniff::TEXT_PLAIN);
        self.status = Some(status);
        self.close = true;
        let _ = self.write_all(text.as_bytes());
    }

    /// The valid `Content-Length` the handler set, if any; most handlers
    /// set no header at all, and then pay no lookup.
    fn declared_length(&self) -> Option<u64> {
        if self.headers.is_empty() {
            return None;
        }
        self.headers.get(CONTENT_LENGTH).and_then(|v| transfer::parse_length(v.as_bytes()))
    }

    /// Whether a write to the connection failed (the response is lost).
    pub(crate) fn broken(&self) -> bool {
        self.broken
    }

    /// Whether the head has gone out (the framing is fixed).
    pub(crate) fn committed(&self) -> bool {
        self.out.is_some()
    }

    /// Commits the head if it has not gone out; `complete` is the body's
    /// length when the handler is done (see the module doc).
    fn commit(&mut self, complete: Option<u64>) -> io::Result<()> {
        if self.out.is_some() {
            return Ok(());
        }
        // A 100 Continue still owed will never be sent now: the client may
        // never send the body, so the connection cannot be reused.
        self.close |= self.wire.take_continue() || self.wire.shutting_down();
        let status = self.status();
        let declared = self.declared_length();
        // Most handlers set no header: then there is nothing to look up.
        let bare = self.headers.is_empty();
        if declared.is_none() && !bare {
            self.headers.remove(CONTENT_LENGTH);
        }
        let out = transfer::outgoing(self.head_request, status, declared, complete, self.version);
        self.close |= out.close || !bare && transfer::has_token(&self.headers, "close");
        let staged = self.wbuf.len() - self.staged_from;
        // Sniffed into the head only, as Go's `chunkWriter` does: the
        // handler's map is not touched. An encoded body's bytes say
        // nothing of its type (Go's rule too).
        let sniffed = if !bare && (self.headers.contains_key(CONTENT_TYPE) || encoded(&self.headers)) {
            None
        } else {
            let staged_type =
                || (staged > 0).then(|| sniff::content_type(&self.wbuf.data()[self.staged_from..]));
            self.sniffed_early.take().or_else(staged_type)
        };
        let head = Head {
            status,
            out,
            add_len: declared.is_none(),
            sniffed,
            close: self.close,
            version: self.version,
        };
        let chunk = (out.framing == Framing::Chunked && staged > 0).then_some(staged);
        self.place_head(&head, chunk)?;
        if chunk.is_some() {
            self.push(b"\r\n");
        }
        self.out = Some(out);
        Ok(())
    }

    /// Writes the head (and the size line of the staged body, `chunk`) in
    /// front of the staged body: into the free room, then rotated into
    /// place. A head too big for the room goes out on its own.
    fn place_head(&mut self, head: &Head, chunk: Option<usize>) -> io::Result<()> {
        let mut sink = Sink { buf: self.wbuf.spare(), n: 0 };
        head.write(&self.headers, &mut sink, chunk);
        if sink.n <= sink.buf.len() {
            let k = sink.n;
            self.wbuf.grow_len(k);
            self.wbuf.data_mut()[self.staged_from..].rotate_right(k);
            return Ok(());
        }
        let mut big = Vec::new();
        head.write(&self.headers, &mut big, chunk);
        let staged = self.wbuf.data()[self.staged_from..].to_vec();
        self.wbuf.truncate(self.staged_from);
        self.send()?;
        self.raw(&big)?;
        self.raw(&staged).map(drop)
    }

    /// Sends an informational (1xx) response with the headers set so far.
    fn informational(&mut self, status: StatusCode) -> io::Result<()> {
        self.raw(&head_out::informational(status, &self.headers))?;
        self.send()
    }

    /// Body bytes once the head is committed, framed as it says.
    fn write_body(&mut self, data: &[u8]) -> io::Result<usize> {
        let out = self.out.map_or(Framing::Empty, |o| o.framing);
        match out {
            Framing::Length(n) if self.written + data.len() as u64 > n => Err(too_long()),
            Framing::Length(_) | Framing::Close => self.raw(data),
            Framing::Chunked => self.chunk(data),
            Framing::Empty => Err(io::Error::new(io::ErrorKind::InvalidInput, "this response has no body")),
        }
        .inspect(|&n| self.written += n as u64)
    }

    /// Unframed bytes: buffered, or written straight out when large.
    fn raw(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.len() > self.wbuf.room() {
            self.send()?;
            if data.len() >= self.wbuf.capacity() / 2 {
                return self.check(self.wire.conn.write_all(data)).map(|()| data.len());
            }
        }
        self.push(data);
        Ok(data.len())
    }

    /// Chunked bytes: appended to the open chunk, which is cut when the
    /// buffer fills; a large write becomes a chunk of its own.
    fn chunk(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let len = data.len();
        while !data.is_empty() {
            if self.chunk_from.is_none() {
                if self.wbuf.room() < chunked::SIZE_LINE + 3 {
                    self.send()?;
                }
                if data.len() >= self.wbuf.capacity() / 2 {
                    let mut l = [0; chunked::SIZE_LINE];
                    let k = chunked::size_line(data.len(), &mut l);
                    self.raw(&l[..k])?;
                    self.send()?;
                    self.check(self.wire.conn.write_all(data))?;
                    self.push(b"\r\n");
                    return Ok(len);
                }
                self.wbuf.grow_len(chunked::SIZE_LINE);
                self.chunk_from = Some(self.wbuf.len());
            }
            let k = data.len().min(self.wbuf.room() - 2);
            self.push(&data[..k]);
            data = &data[k..];
            if !data.is_empty() {
                self.end_chunk();
                self.send()?;
            }
        }
        Ok(len)
    }

    /// Closes the open chunk: its size line goes into the room kept for
    /// it, and the data moves up against it.
    fn end_chunk(&mut self) {
        let Some(start) = self.chunk_from.take() else { return };
        let n = self.wbuf.len() - start;
        let line_at = start - chunked::SIZE_LINE;
        if n == 0 {
            self.wbuf.truncate(line_at);
            return;
        }
        let mut l = [0; chunked::SIZE_LINE];
        let k = chunked::size_line(n, &mut l);
        let buf = self.wbuf.data_mut();
        buf[line_at..line_at + k].copy_from_slice(&l[..k]);
        buf.copy_within(start..start + n, line_at + k);
        self.wbuf.truncate(line_at + k + n);
        self.push(b"\r\n");
    }

    /// Appends bytes that fit in the buffer.
    fn push(&mut self, b: &[u8]) {
        if !self.wbuf.try_push(b) {
            let _ = self.send();
            self.wbuf.push(b);
        }
    }

    /// Writes the buffer out.
    fn send(&mut self) -> io::Result<()> {
        if self.broken {
            self.wbuf.truncate(0);
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let r = self.wbuf.flush_to(&*self.wire.conn);
        self.staged_from = 0;
        self.check(r)
    }

    /// Marks the writer broken on an error.
    fn check<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if r.is_err() {
            self.broken = true;
        }
        r
    }
}

impl Write for ResponseWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.broken {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let status = *self.status.get_or_insert(StatusCode::OK);
        if !transfer::status_has_body(status) && !data.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "this status has no body"));
        }
        if self.head_request {
            if self.written == 0 && !data.is_empty() {
                // Go sniffs a HEAD response's type from what it would send.
                self.sniffed_early = Some(sniff::content_type(data));
            }
            self.written += data.len() as u64;
            return Ok(data.len());
        }
        if self.out.is_none() {
            if self.declared_length().is_some_and(|n| self.written + data.len() as u64 > n) {
                return Err(too_long());
            }
            if self.wbuf.try_push(data) {
                self.written += data.len() as u64;
                return Ok(data.len());
            }
            if self.written == 0 && !data.is_empty() {
                self.sniffed_early = Some(sniff::content_type(data));
            }
            self.commit(None)?;
        }
        self.write_body(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        ResponseWriter::flush(self)
    }
}

/// Whether the handler set a non-empty `Content-Encoding`.
fn encoded(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_ENCODING).is_some_and(|v| !v.is_empty())
}

fn too_long() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "wrote more than the declared Content-Length")
}
