//! Every body-framing decision, for requests and responses, reading and
//! writing, in one place (Go's `transfer.go`): how long a body is, whether
//! a message may have one at all, and whether the connection survives it.
//! Framing rules scattered over a server and a client are where request
//! smuggling lives, so both sides call these and nothing else decides.
//!
//! Reading (RFC 9112 §6.3), strictest reading first:
//! - `Transfer-Encoding` and `Content-Length` together: 400, always.
//! - `Transfer-Encoding` must be exactly one final `chunked`: another
//!   coding before it is 501 (we decode none), `chunked` not last or twice
//!   is 400. On HTTP/1.0 a request with it is 400.
//! - `Content-Length` must be digits only; several values must agree.
//! - A request with neither has no body; a response with neither is
//!   delimited by the connection's close.
//! - A `101 Switching Protocols`, and a 2xx to `CONNECT`, hand the
//!   connection over: what follows the head is the new protocol's, read
//!   as a body delimited by the close, and the connection never carries
//!   another HTTP/1.1 message.
//! - A response to `HEAD`, another 1xx, 204 or 304 have no body, whatever
//!   their headers say.
//!
//! Writing a request (the client): a body of known length gets
//! `Content-Length`, one of unknown length is chunked, and an empty one
//! says `Content-Length: 0` only for the methods that expect a body.

use http::header::{HeaderMap, HeaderValue, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Method, StatusCode, Version};

use crate::parse::Reject;

/// How a message body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body at all.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the peer closes (responses only).
    Close,
}

/// The framing of a request body, or why the request must be refused.
/// `None` for headers known to hold neither `Transfer-Encoding` nor
/// `Content-Length` (the body is empty).
pub(crate) fn request_framing(headers: Option<&HeaderMap>, version: Version) -> Result<Framing, Reject> {
    let Some(headers) = headers else { return Ok(Framing::Empty) };
    let chunked = chunked(headers)?;
    let length = content_length(headers)?;
    match (chunked, length) {
        (true, Some(_)) => Err(Reject::bad("both Transfer-Encoding and Content-Length")),
        (true, None) if version == Version::HTTP_10 => Err(Reject::bad("Transfer-Encoding on HTTP/1.0")),
        (true, None) => Ok(Framing::Chunked),
        (false, Some(0) | None) => Ok(Framing::Empty),
        (false, Some(n)) => Ok(Framing::Length(n)),
    }
}

/// The framing of a response to a `method` request, or why the client
/// must give up on it (see the module doc).
pub(crate) fn response_framing(
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<Framing, Reject> {
    if hands_over(method, status) {
        return Ok(Framing::Close);
    }
    if method == Method::HEAD || !status_has_body(status) {
        return Ok(Framing::Empty);
    }
    match (chunked(headers)?, content_length(headers)?) {
        (true, Some(_)) => Err(Reject::bad("both Transfer-Encoding and Content-Length")),
        (true, None) => Ok(Framing::Chunked),
        (false, Some(0)) => Ok(Framing::Empty),
        (false, Some(n)) => Ok(Framing::Length(n)),
        (false, None) => Ok(Framing::Close),
    }
}

/// Whether a response to a `method` request with `status` hands the
/// connection over to another protocol (an upgrade, or a tunnel).
pub(crate) fn hands_over(method: &Method, status: StatusCode) -> bool {
    status == StatusCode::SWITCHING_PROTOCOLS || (method == Method::CONNECT && status.is_success())
}

/// How the client frames the body of a request it sends: `known` is the
/// body's length when the body knows it; a `Content-Length` or
/// `Transfer-Encoding: chunked` the caller set in `headers` wins.
/// `Length(0)` writes `Content-Length: 0`; `Empty` writes no framing header.
pub(crate) fn request_body_framing(
    method: &Method,
    headers: &HeaderMap,
    known: Option<u64>,
) -> Result<Framing, Reject> {
    let declared = content_length(headers)?;
    match (chunked(headers)?, declared, known) {
        (true, Some(_), _) => Err(Reject::bad("both Transfer-Encoding and Content-Length")),
        (true, None, _) => Ok(Framing::Chunked),
        (false, Some(d), Some(k)) if d != k => Err(Reject::bad("Content-Length does not match the body")),
        (false, Some(n), _) | (false, None, Some(n @ 1..)) => Ok(Framing::Length(n)),
        (false, None, Some(0)) if expects_body(method) => Ok(Framing::Length(0)),
        (false, None, Some(_)) => Ok(Framing::Empty),
        (false, None, None) => Ok(Framing::Chunked),
    }
}

/// Methods whose requests normally carry a body (Go's
/// `outgoingLength` rule for sending `Content-Length: 0`).
fn expects_body(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH].contains(method)
}

/// Whether a response with `status` may carry a body (RFC 9110 §6.4.1).
pub(crate) fn status_has_body(status: StatusCode) -> bool {
    !(status.is_informational() || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED)
}

/// Whether `Transfer-Encoding` says chunked; see the module doc.
fn chunked(headers: &HeaderMap) -> Result<bool, Reject> {
    let mut codings = headers
        .get_all(TRANSFER_ENCODING)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .peekable();
    if codings.peek().is_none() {
        return Ok(false);
    }
    let mut last_chunked = false;
    for c in codings {
        if last_chunked {
            return Err(Reject::bad("chunked is not the final transfer coding"));
        }
        last_chunked = c.eq_ignore_ascii_case(b"chunked");
        if !last_chunked && !c.is_empty() {
            return Err(Reject::new(StatusCode::NOT_IMPLEMENTED, "unsupported transfer coding"));
        }
    }
    match last_chunked {
        true => Ok(true),
        false => Err(Reject::bad("empty Transfer-Encoding")),
    }
}

/// `Content-Length`, strictly: digits only, at most 19 of them, and every
/// value (repeated headers, comma lists) the same.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, Reject> {
    let mut found = None;
    for v in headers.get_all(CONTENT_LENGTH).iter() {
        for part in v.as_bytes().split(|&b| b == b',') {
            let n = parse_length(part.trim_ascii()).ok_or(Reject::bad("malformed Content-Length"))?;
            if found.is_some_and(|f| f != n) {
                return Err(Reject::bad("conflicting Content-Length"));
            }
            found = Some(n);
        }
    }
    Ok(found)
}

/// A decimal length of 1–19 digits.
pub(crate) fn parse_length(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

/// Whether a `Connection` header lists `token` (case-insensitive).
pub(crate) fn has_token(headers: &HeaderMap, token: &str) -> bool {
    headers.get_all(CONNECTION).iter().any(|v| list_has(v, token))
}

/// Whether the comma-separated list `v` holds `token` (any case).
pub(crate) fn list_has(v: &HeaderValue, token: &str) -> bool {
    v.as_bytes().split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Whether the sender of a message with these headers wants the
/// connection kept after it: HTTP/1.1 unless `close`; HTTP/1.0 only with
/// `keep-alive`. `None` for headers known to hold no `Connection`.
pub(crate) fn keep_alive(version: Version, headers: Option<&HeaderMap>) -> bool {
    let has = |token| headers.is_some_and(|h| has_token(h, token));
    match version {
        Version::HTTP_11 => !has("close"),
        Version::HTTP_10 => has("keep-alive") && !has("close"),
        _ => false,
    }
}

/// How a server frames the body it writes, given what it knows when the
/// head goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outgoing {
    /// The wire framing.
    pub(crate) framing: Framing,
    /// Whether the connection must close after this response.
    pub(crate) close: bool,
}

/// The framing of a response: `declared` is a `Content-Length` the handler
/// set, `complete` the body's length when the handler has already returned
/// (the whole body is buffered), `None` when it is still writing.
pub(crate) fn outgoing(
    head_request: bool,
    status: StatusCode,
    declared: Option<u64>,
    complete: Option<u64>,
    version: Version,
) -> Outgoing {
    let keep = Outgoing { framing: Framing::Empty, close: false };
    if !status_has_body(status) {
        return keep;
    }
    if let Some(n) = declared {
        return Outgoing { framing: Framing::Length(n), close: false };
    }
    match complete {
        // A HEAD handler that wrote nothing says nothing of the length.
        Some(n) if !head_request || n > 0 => Outgoing { framing: Framing::Length(n), close: false },
        _ if head_request => keep,
        _ if version == Version::HTTP_11 => Outgoing { framing: Framing::Chunked, close: false },
        _ => Outgoing { framing: Framing::Close, close: true },
    }
}
