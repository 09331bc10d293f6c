//! Go's transparent gzip on the client (`Transport.DisableCompression`
//! off, the default): when the caller asked for no encoding itself, the
//! request says `Accept-Encoding: gzip`, and a response that comes back
//! `Content-Encoding: gzip` is decompressed as its body is read
//! ([`Gunzip`], Go's `gzipReader`).
//!
//! # Invariants
//! - Only what the transport asked for is decoded: a caller's own
//!   `Accept-Encoding` (or a `Range`, or a `HEAD`) gets the bytes as sent.
//! - The decoder is made at the first read, so a response is handed over
//!   as soon as its head arrives even when its body is slow to come.
//! - Gzip members follow one another as in Go's `gzip.Reader`
//!   (multistream), so the decoder reads the body to its framed end, and
//!   the connection goes back to the pool as after any body.

use std::io::{self, BufReader, Read};

use flate2::bufread::MultiGzDecoder;
use http::header::{HeaderMap, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, RANGE};
use http::request::Parts;
use http::Method;

use crate::body::Body;

/// What the decoder reads of the compressed body at a time.
const READ: usize = 4 << 10;

/// Whether the transport asks for gzip on this request (Go's rule).
pub(crate) fn asks(head: &Parts, disabled: bool) -> bool {
    !disabled
        && head.method != Method::HEAD
        && !head.headers.contains_key(ACCEPT_ENCODING)
        && !head.headers.contains_key(RANGE)
}

/// For a response to a request that asked: when it is gzipped, strips the
/// headers that describe the compressed bytes and says to decode.
pub(crate) fn strip(headers: &mut HeaderMap) -> bool {
    let gzip = headers.get(CONTENT_ENCODING).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    if gzip {
        headers.remove(CONTENT_ENCODING);
        headers.remove(CONTENT_LENGTH);
    }
    gzip
}

/// A gzipped response body, decoded as it is read; see the module doc.
pub(crate) enum Gunzip {
    /// Not read yet.
    Raw(Body),
    Decoding(MultiGzDecoder<BufReader<Body>>),
}

impl Gunzip {
    /// The compressed body underneath.
    pub(crate) fn body(&self) -> &Body {
        match self {
            Gunzip::Raw(b) => b,
            Gunzip::Decoding(d) => d.get_ref().get_ref(),
        }
    }

    pub(crate) fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            match self {
                Gunzip::Decoding(d) => return d.read(out),
                Gunzip::Raw(b) => {
                    let raw = std::mem::take(b);
                    *self = Gunzip::Decoding(MultiGzDecoder::new(BufReader::with_capacity(READ, raw)));
                }
            }
        }
    }
}
