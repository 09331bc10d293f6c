//! Request heads, parsed strictly: `httparse` for the syntax, then the
//! checks that keep one request from being read two ways (hyper's
//! `role.rs` is the model: strict by default, each rejection with its
//! status and reason). No I/O here: [`parse_head`] takes bytes and says
//! "need more", "here is a head" or "reject with this status".
//!
//! What is rejected, and with what:
//! - malformed syntax, obs-fold, whitespace before a colon, control bytes
//!   in the target or a header: 400;
//! - a major version other than 1: 505;
//! - a request line longer than the limit: 414; more header bytes or lines
//!   than allowed: 431;
//! - on HTTP/1.1 a missing, doubled or invalid `Host`: 400.
//!
//! Body framing (`Content-Length`, `Transfer-Encoding`) is judged in
//! `transfer.rs`, for requests and responses alike.

use std::mem::MaybeUninit;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING};
use http::request::Parts;
use http::{Method, StatusCode, Uri, Version};

use crate::header_pool;
use crate::mux::path;
use crate::sniff::starts_with_ignore_case;

/// Limits a head is parsed under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The whole head, request line included.
    pub(crate) max_head_bytes: usize,
    /// The request line alone.
    pub(crate) max_line_bytes: usize,
    /// Header lines.
    pub(crate) max_headers: usize,
}

/// Why a head was refused: the status to answer with and a short reason
/// for the body and the error log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reject {
    /// The status the client gets.
    pub status: StatusCode,
    /// Why, in a few words.
    pub reason: &'static str,
}

impl Reject {
    pub(crate) const fn new(status: StatusCode, reason: &'static str) -> Reject {
        Reject { status, reason }
    }

    pub(crate) const fn bad(reason: &'static str) -> Reject {
        Reject::new(StatusCode::BAD_REQUEST, reason)
    }
}

/// The most header lines a head may have, whatever the limit says.
pub(crate) const HEADER_SLOTS: usize = 256;

/// A complete head measured in the read buffer, before it is split off:
/// offsets into the buffer instead of borrows, so the buffer can then be
/// split and the parts sliced out of the shared bytes ([`Raw::build`]).
pub(crate) struct Raw {
    /// The head's length, leading empty lines included.
    pub(crate) len: usize,
    method: Method,
    version: Version,
    target: (usize, usize),
}

/// Parses the head at the front of `buf`: `Ok(None)` when it is not
/// complete yet. Header names are parsed into `names` with the offsets of
/// their values (a scratch vector the connection reuses).
pub(crate) fn parse_head(
    buf: &[u8],
    limits: &Limits,
    names: &mut Vec<(HeaderName, usize, usize)>,
) -> Result<Option<Raw>, Reject> {
    // A few slots on the stack serve nearly every request; a head with
    // more lines is parsed again with slots on the heap. 256 slots on the
    // stack (8 KiB) would stay resident in every connection's goroutine
    // stack, idle ones included.
    let limit = limits.max_headers.min(HEADER_SLOTS);
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_SLOTS];
    match parse_with(buf, limits, names, &mut slots[..limit.min(STACK_SLOTS)]) {
        Err(r) if r == TOO_MANY && limit > STACK_SLOTS => {
            let mut slots: Vec<_> = std::iter::repeat_with(MaybeUninit::uninit).take(limit).collect();
            parse_with(buf, limits, names, &mut slots)
        }
        r => r,
    }
}

/// Header slots tried on the stack first.
const STACK_SLOTS: usize = 32;

const TOO_MANY: Reject = Reject::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "too many header lines");

/// `parse_head` with these (uninitialised: zeroing them would cost more
/// than parsing a small head) header slots.
fn parse_with<'b>(
    buf: &'b [u8],
    limits: &Limits,
    names: &mut Vec<(HeaderName, usize, usize)>,
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<Raw>, Reject> {
    let skip = buf.len() - skip_leading_crlf(buf).len();
    let mut req = httparse::Request::new(&mut []);
    let n = match req.parse_with_uninit_headers(&buf[skip..], slots) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return check_partial(&buf[skip..], limits).map(|()| None),
        Err(httparse::Error::TooManyHeaders) => return Err(TOO_MANY),
        Err(httparse::Error::Version) => {
            // RFC 9112 §2.3 (and Go): a newer 1.x is served as 1.1, the
            // highest this server speaks. httparse knows 1.0 and 1.1 only,
            // so the head is parsed again from a copy that says 1.1; the
            // offsets are the same, and the digit is in no value.
            return match newer_minor(&buf[skip..]) {
                Some(at) => {
                    let mut copy = buf.to_vec();
                    copy[skip + at] = b'1';
                    parse_head(&copy, limits, names)
                }
                None => Err(version_reject(&buf[skip..])),
            };
        }
        Err(_) => {
            return Err(check_partial(&buf[skip..], limits)
                .err()
                .unwrap_or(Reject::bad("malformed request head")))
        }
    };
    let at = |s: &[u8]| s.as_ptr() as usize - buf.as_ptr() as usize;
    let method = Method::from_bytes(req.method.unwrap_or_default().as_bytes())
        .map_err(|_| Reject::bad("invalid method"))?;
    let version = if req.version == Some(0) { Version::HTTP_10 } else { Version::HTTP_11 };
    let target = req.path.unwrap_or_default().as_bytes();
    // The whole line counts, as `check_partial` counts it: the version is
    // a few bytes past the target's end.
    let target_end = at(target) + target.len();
    if target_end - skip + line_len(&buf[target_end..]) > limits.max_line_bytes {
        return Err(Reject::new(StatusCode::URI_TOO_LONG, "request line too long"));
    }
    names.clear();
    for h in req.headers.iter() {
        let name =
            HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| Reject::bad("invalid header name"))?;
        names.push((name, at(h.value), h.value.len()));
    }
    Ok(Some(Raw { len: skip + n, method, version, target: (at(target), target.len()) }))
}

/// Which headers the framing, `Expect` and keep-alive rules read were in
/// a head, noted while the header map is built, so that a request without
/// them (the common case) pays no lookup for them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Seen {
    /// `Content-Length` or `Transfer-Encoding`.
    pub(crate) framing: bool,
    pub(crate) expect: bool,
    pub(crate) connection: bool,
}

impl Raw {
    /// Fills `parts` (a connection's request slot, its header map empty)
    /// from the head this was measured in, which starts at `base` in the
    /// read buffer's frozen storage `whole`: the target and header values
    /// are slices of it, not copies. Filled in place: the
    /// parts are a few hundred bytes, which a returned value would copy on
    /// its way. A head may carry one valid `Host` at most, and on HTTP/1.1
    /// must carry one (RFC 9112 §3.2; Go checks the first part on 1.0 too).
    pub(crate) fn build(
        self,
        whole: &Bytes,
        base: usize,
        names: &mut Vec<(HeaderName, usize, usize)>,
        parts: &mut Parts,
    ) -> Result<Seen, Reject> {
        let slice = |at: usize, len: usize| whole.slice(base + at..base + at + len);
        let (at, len) = self.target;
        let uri = parse_target(slice(at, len), &self.method)?;
        // The slot's map, cleared by the last request (or given up while
        // the connection idled: then one from the pool).
        let headers = &mut parts.headers;
        if headers.capacity() == 0 {
            *headers = header_pool::MAPS.get(names.len());
        }
        let mut seen = Seen::default();
        let (mut hosts, mut hosts_valid) = (0, true);
        for (name, at, len) in names.drain(..) {
            let value = HeaderValue::from_maybe_shared(slice(at, len))
                .map_err(|_| Reject::bad("invalid header value"))?;
            if name == HOST {
                hosts += 1;
                hosts_valid &= valid_host(value.as_bytes());
            } else if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
                seen.framing = true;
            } else if name == CONNECTION {
                seen.connection = true;
            } else if name == EXPECT {
                seen.expect = true;
            }
            headers.append(name, value);
        }
        match hosts {
            0 if self.version == Version::HTTP_11 => return Err(Reject::bad("missing required Host header")),
            0 => {}
            1 if hosts_valid => {}
            1 => return Err(Reject::bad("malformed Host header")),
            _ => return Err(Reject::bad("too many Host headers")),
        }
        (parts.method, parts.uri, parts.version) = (self.method, uri, self.version);
        Ok(seen)
    }
}

/// Leading empty lines before a request line are ignored (RFC 9112 §2.2).
pub(crate) fn skip_leading_crlf(buf: &[u8]) -> &[u8] {
    let n = buf.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
    &buf[n..]
}

/// The length of the line `buf` starts with, without its line end (all
/// of `buf` when the end has not come yet).
fn line_len(buf: &[u8]) -> usize {
    match memchr::memchr(b'\n', buf) {
        Some(n) if n > 0 && buf[n - 1] == b'\r' => n - 1,
        Some(n) => n,
        None => buf.len(),
    }
}

/// An incomplete head that already breaks a limit.
fn check_partial(buf: &[u8], limits: &Limits) -> Result<(), Reject> {
    if line_len(buf) > limits.max_line_bytes {
        return Err(Reject::new(StatusCode::URI_TOO_LONG, "request line too long"));
    }
    if buf.len() >= limits.max_head_bytes {
        return Err(Reject::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "request head too large"));
    }
    Ok(())
}

/// The request line's last word (the version, in a well-formed one).
fn version_word(buf: &[u8]) -> &[u8] {
    let line = &buf[..memchr::memchr(b'\n', buf).unwrap_or(buf.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.rsplit(|&b| b == b' ').next().unwrap_or_default()
}

/// Where the minor digit of an `HTTP/1.2` to `HTTP/1.9` is in `buf`.
fn newer_minor(buf: &[u8]) -> Option<usize> {
    let word = version_word(buf);
    match word {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'2'..=b'9'] => {
            Some(word.as_ptr() as usize - buf.as_ptr() as usize + word.len() - 1)
        }
        _ => None,
    }
}

/// `HTTP/2.0` and up get 505; anything else that is not a version, 400.
fn version_reject(buf: &[u8]) -> Reject {
    match version_word(buf) {
        [b'H', b'T', b'T', b'P', b'/', major, ..] if major.is_ascii_digit() && *major != b'1' => {
            Reject::new(StatusCode::HTTP_VERSION_NOT_SUPPORTED, "unsupported HTTP version")
        }
        _ => Reject::bad("malformed HTTP version"),
    }
}

/// The request target: origin form (`/p?q`), absolute form
/// (`http://h/p`), authority form for `CONNECT`, or `*` for `OPTIONS`.
/// Control bytes and spaces are refused, as in Go; the raw bytes Go takes
/// that a `Uri` cannot hold are percent-encoded (a copy, on that rare path
/// only).
fn parse_target(target: Bytes, method: &Method) -> Result<Uri, Reject> {
    // One table load per byte, no branch: the target's bytes, classed.
    let seen = target.iter().fold(0, |seen, &b| seen | TARGET_CLASS[usize::from(b)]);
    if seen & CONTROL != 0 {
        return Err(Reject::bad("control byte in the request target"));
    }
    let target = if seen & REFUSED != 0 { escape_refused(&target) } else { target };
    let ok = match target.first() {
        Some(b'/') => true,
        Some(b'*') => target.len() == 1 && method == Method::OPTIONS,
        Some(_) => {
            let scheme = |s| starts_with_ignore_case(&target, s);
            method == Method::CONNECT || scheme(b"http://") || scheme(b"https://")
        }
        None => false,
    };
    if !ok {
        return Err(Reject::bad("invalid request target"));
    }
    let uri = Uri::from_maybe_shared(target).map_err(|_| Reject::bad("invalid request target"))?;
    if !path::valid_escapes(uri.path()) {
        return Err(Reject::bad("invalid URL escape in the request path"));
    }
    Ok(uri)
}

/// A control byte or a space: refused in a target, as Go refuses them.
const CONTROL: u8 = 1;
/// A byte outside RFC 3986 that clients send raw in a target and Go
/// serves, but an `http::Uri` refuses (in its path, its query, or both).
const REFUSED: u8 = 2;

/// Each byte's class in a request target (0: taken as it is).
static TARGET_CLASS: [u8; 256] = {
    let mut t = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_control() || c == b' ' {
            CONTROL
        } else if matches!(c, b'"' | b'<' | b'>' | b'`') {
            REFUSED
        } else {
            0
        };
        b += 1;
    }
    t
};

/// `target` with each [`REFUSED`] byte percent-encoded: the same target
/// to anything that decodes it (a path value, a form parser).
fn escape_refused(target: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(target.len() + 8);
    for &b in target {
        if TARGET_CLASS[usize::from(b)] == REFUSED {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.push(b);
        }
    }
    Bytes::from(out)
}

/// Go's `httpguts.ValidHostHeader`: the bytes a host, an IPv6 literal and
/// a port can hold, and nothing else.
fn valid_host(h: &[u8]) -> bool {
    h.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.')
            || matches!(b, b':' | b';' | b'=' | b'[' | b']' | b'_' | b'~' | b'%')
    })
}
