//! How a response head is written (Go's `chunkWriter.writeHeader`): the
//! status line, the handler's headers in Go's canonical case, then what
//! the server adds: a sniffed `Content-Type`, `Date`, the framing header
//! the transfer rules chose, and `Connection`. The head is written where
//! the response writer says: into its write buffer's free room (a
//! [`Sink`], which counts what did not fit) or, when that is too small, a
//! vector. Nothing here does I/O.

use http::header::{
    HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, DATE, TRANSFER_ENCODING,
};
use http::{StatusCode, Version};

use crate::chunked;
use crate::date;
use crate::transfer::{self, Framing, Outgoing};

/// What the head of a response says, apart from the handler's headers.
pub(crate) struct Head {
    pub(crate) status: StatusCode,
    pub(crate) out: Outgoing,
    /// Add `Content-Length` (the handler set none).
    pub(crate) add_len: bool,
    /// The `Content-Type` guessed for a handler that set none.
    pub(crate) sniffed: Option<HeaderValue>,
    pub(crate) close: bool,
    pub(crate) version: Version,
}

impl Head {
    /// Writes the head, then the size line of a first chunk of `chunk` bytes.
    pub(crate) fn write(&self, headers: &HeaderMap, to: &mut impl Put, chunk: Option<usize>) {
        status_line(to, self.version, self.status);
        let bodiless = !transfer::status_has_body(self.status);
        let mut dated = false;
        for (name, value) in headers {
            if name == TRANSFER_ENCODING
                || name == CONNECTION && self.close
                || bodiless && suppressed(self.status, name)
            {
                continue;
            }
            dated |= name == DATE;
            header_line(to, name.as_str().as_bytes(), value.as_bytes());
        }
        if let Some(ty) = self.sniffed.as_ref().filter(|_| !bodiless) {
            line(to, b"Content-Type", ty.as_bytes());
        }
        if !dated {
            date::with(|d| line(to, b"Date", d));
        }
        match self.out.framing {
            Framing::Length(n) if self.add_len => {
                line(to, b"Content-Length", itoa::Buffer::new().format(n).as_bytes())
            }
            Framing::Chunked => line(to, b"Transfer-Encoding", b"chunked"),
            _ => {}
        }
        if self.close {
            line(to, b"Connection", b"close");
        } else if self.version == Version::HTTP_10 {
            line(to, b"Connection", b"keep-alive");
        }
        to.put(b"\r\n");
        if let Some(n) = chunk {
            let mut l = [0; chunked::SIZE_LINE];
            let k = chunked::size_line(n, &mut l);
            to.put(&l[..k]);
        }
    }
}

/// Where a head is written: the buffer's free room, or a vector.
pub(crate) trait Put {
    fn put(&mut self, b: &[u8]);
}

impl Put for Vec<u8> {
    fn put(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }
}

/// A slice that counts what did not fit, so the caller can tell.
pub(crate) struct Sink<'a> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) n: usize,
}

impl Put for Sink<'_> {
    fn put(&mut self, b: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.n..self.n + b.len()) {
            dst.copy_from_slice(b);
        }
        self.n += b.len();
    }
}

/// Whether a response with `status`, which has no body, leaves the
/// handler's `name` header out (Go's `suppressedHeaders`): a 1xx or 204
/// never carries framing headers (RFC 9110 §8.6), and a 304 no
/// `Content-Type` either.
fn suppressed(status: StatusCode, name: &HeaderName) -> bool {
    name == CONTENT_LENGTH
        || name == TRANSFER_ENCODING
        || status == StatusCode::NOT_MODIFIED && name == CONTENT_TYPE
}

/// An informational (1xx) head with the headers set so far, less the
/// framing ones.
pub(crate) fn informational(status: StatusCode, headers: &HeaderMap) -> Vec<u8> {
    let mut h = Vec::new();
    status_line(&mut h, Version::HTTP_11, status);
    for (name, value) in headers {
        if suppressed(status, name) {
            continue;
        }
        header_line(&mut h, name.as_str().as_bytes(), value.as_bytes());
    }
    h.put(b"\r\n");
    h
}

fn status_line(to: &mut impl Put, version: Version, status: StatusCode) {
    if version != Version::HTTP_10 && status == StatusCode::OK {
        return to.put(b"HTTP/1.1 200 OK\r\n");
    }
    to.put(if version == Version::HTTP_10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    to.put(status.as_str().as_bytes());
    to.put(b" ");
    to.put(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    to.put(b"\r\n");
}

/// A header line, its name in Go's canonical case (`content-type` is sent
/// as `Content-Type`), which the http crate's lower-case names lose.
fn header_line(to: &mut impl Put, name: &[u8], value: &[u8]) {
    let mut canon = [0u8; 64];
    match canon.get_mut(..name.len()) {
        Some(c) => {
            let mut upper = true;
            for (d, &b) in c.iter_mut().zip(name) {
                *d = if upper { b.to_ascii_uppercase() } else { b };
                upper = b == b'-';
            }
            line(to, c, value);
        }
        None => line(to, name, value),
    }
}

/// A header line whose name is spelled as it goes out.
fn line(to: &mut impl Put, name: &[u8], value: &[u8]) {
    to.put(name);
    to.put(b": ");
    to.put(value);
    to.put(b"\r\n");
}
