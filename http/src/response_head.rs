//! Response heads, as the client reads them: `httparse` for the syntax,
//! strict as `parse.rs` is for requests, and with no I/O. [`parse_head`]
//! measures a complete head at the front of the buffer (or says "need
//! more"); [`Raw::build`] then copies the header values out. (The server
//! shares its read buffer with the values instead; on the client that cost
//! more: a response is usually kept while its body is read, so giving the
//! buffer back meant copying it, 4 KiB, zeroed, per response. Copying
//! a handful of short values is cheaper.)
//!
//! What is refused, each with a clear error: a status line that is not
//! `HTTP/1.x NNN reason` (Go: `malformed HTTP response`), an invalid header
//! line, more than [`MAX_LINES`] header lines. The byte limit on a head
//! (10 MiB by default, as Go's `MaxResponseHeaderBytes`) is the read
//! buffer's growth limit, enforced where the head is read. A folded
//! header line (obs-fold) is taken, its line breaks read as spaces, as
//! RFC 9112 §5.2 asks of a user agent and as Go joins them.

use std::io;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{StatusCode, Version};

use crate::parse::HEADER_SLOTS;

/// A response head, its values pointing into the read buffer.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
}

/// A complete head measured in the buffer, before it is split off.
pub(crate) struct Raw {
    /// The head's length in bytes.
    pub(crate) len: usize,
    status: StatusCode,
    version: Version,
}

/// Parses the head at the front of `buf`: `Ok(None)` while it is not
/// complete. Header names go into `names` with their values' offsets.
///
/// # Errors
/// `InvalidData`, naming what is wrong.
pub(crate) fn parse_head(buf: &[u8], names: &mut Vec<(HeaderName, usize, usize)>) -> io::Result<Option<Raw>> {
    // Most heads fit the small table; filling 256 empty slots per parse
    // cost 9% of a keep-alive GET's client CPU in `loadgen`. A head with
    // more lines than the large one gets a table with a slot per line.
    let lines = || memchr::memchr_iter(b'\n', buf).count().min(MAX_LINES);
    parse_with(buf, names, &mut [httparse::EMPTY_HEADER; FEW_SLOTS])
        .or_else(|Slots| parse_with(buf, names, &mut [httparse::EMPTY_HEADER; HEADER_SLOTS]))
        .or_else(|Slots| parse_with(buf, names, &mut vec![httparse::EMPTY_HEADER; lines()]))
        .unwrap_or_else(|Slots| Err(bad("too many header lines in the response")))
}

/// Header slots tried first.
const FEW_SLOTS: usize = 24;

/// The most header lines a response may have. Go caps only the bytes;
/// here the `HeaderMap` does too (it holds at most 2^15 entries, and
/// `with_capacity` panics past 24,576), and at 32 bytes a slot this bounds
/// the table a hostile head can make us fill (512 KiB).
const MAX_LINES: usize = 1 << 14;

/// More header lines than the slots given.
struct Slots;

fn parse_with<'b>(
    buf: &'b [u8],
    names: &mut Vec<(HeaderName, usize, usize)>,
    slots: &mut [httparse::Header<'b>],
) -> Result<io::Result<Option<Raw>>, Slots> {
    let mut resp = httparse::Response::new(slots);
    let parsed = httparse::ParserConfig::default()
        .allow_obsolete_multiline_headers_in_responses(true)
        .parse_response(&mut resp, buf);
    let n = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(Ok(None)),
        Err(httparse::Error::TooManyHeaders) => return Err(Slots),
        Err(httparse::Error::Status | httparse::Error::Version) => return Ok(Err(malformed(buf))),
        Err(e) => return Ok(Err(bad(&format!("malformed response header: {e}")))),
    };
    Ok(build_raw(buf, &resp, n, names))
}

fn build_raw(
    buf: &[u8],
    resp: &httparse::Response<'_, '_>,
    n: usize,
    names: &mut Vec<(HeaderName, usize, usize)>,
) -> io::Result<Option<Raw>> {
    let status = StatusCode::from_u16(resp.code.unwrap_or_default()).map_err(|_| malformed(buf))?;
    let version = if resp.version == Some(0) { Version::HTTP_10 } else { Version::HTTP_11 };
    let at = |s: &[u8]| s.as_ptr() as usize - buf.as_ptr() as usize;
    names.clear();
    for h in resp.headers.iter() {
        let name =
            HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| bad("invalid response header name"))?;
        names.push((name, at(h.value), h.value.len()));
    }
    Ok(Some(Raw { len: n, status, version }))
}

impl Raw {
    /// The [`Head`] over `head`, the split-off bytes this was measured in.
    pub(crate) fn build(self, head: &[u8], names: &mut Vec<(HeaderName, usize, usize)>) -> io::Result<Head> {
        let mut headers = HeaderMap::with_capacity(names.len());
        for (name, at, len) in names.drain(..) {
            let raw = &head[at..at + len];
            // Only a folded value holds line breaks, which `from_bytes` refuses.
            let value = HeaderValue::from_bytes(raw).or_else(|_| HeaderValue::from_bytes(&unfold(raw)));
            headers.append(name, value.map_err(|_| bad("invalid response header value"))?);
        }
        Ok(Head { status: self.status, version: self.version, headers })
    }
}

/// A folded value with each line break byte read as a space (one or more
/// spaces per fold, which RFC 9112 §5.2 allows).
fn unfold(raw: &[u8]) -> Vec<u8> {
    raw.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect()
}

/// Go's `malformed HTTP response "…"`, quoting the first line (cut short).
fn malformed(buf: &[u8]) -> io::Error {
    let line = &buf[..memchr::memchr(b'\n', buf).unwrap_or(buf.len()).min(80)];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    bad(&format!("malformed HTTP response {:?}", String::from_utf8_lossy(line)))
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(b: &[u8]) -> io::Result<Option<Head>> {
        let mut names = Vec::new();
        let Some(raw) = parse_head(b, &mut names)? else { return Ok(None) };
        raw.build(b, &mut names).map(Some)
    }

    #[test]
    fn parses_a_head_whole_and_waits_for_the_rest() {
        let b = b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX-A: 1\r\n\r\nabc";
        let h = head(b).unwrap().unwrap();
        assert_eq!((h.status, h.version), (StatusCode::NOT_FOUND, Version::HTTP_11));
        assert_eq!(h.headers["x-a"], "1");
        for cut in 1..b.len() - 3 {
            assert!(head(&b[..cut]).unwrap().is_none(), "cut at {cut}");
        }
        let h = head(b"HTTP/1.0 200 \r\n\r\n").unwrap().unwrap();
        assert_eq!(h.version, Version::HTTP_10);
    }

    #[test]
    fn more_headers_than_the_small_table_still_parse() {
        let mut b = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..100 {
            b.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        b.extend_from_slice(b"\r\n");
        assert_eq!(head(&b).unwrap().unwrap().headers.len(), 100);
        let lines = |n: usize| -> Vec<u8> {
            let many = (0..n).flat_map(|i| format!("Set-Cookie: c{i}=v\r\n").into_bytes());
            b"HTTP/1.1 200 OK\r\n".iter().copied().chain(many).chain(*b"\r\n").collect()
        };
        // Past the large table, a table with a slot per line; past MAX_LINES, an error.
        assert_eq!(head(&lines(300)).unwrap().unwrap().headers.get_all("set-cookie").iter().count(), 300);
        // Past what a HeaderMap can hold, still an error, not its panic.
        for n in [MAX_LINES + 1, 30_000] {
            let e = head(&lines(n)).unwrap_err();
            assert_eq!(e.to_string(), "too many header lines in the response", "{n} lines");
        }
    }

    #[test]
    fn a_folded_line_reads_with_spaces_for_its_breaks() {
        let h = head(b"HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\nX-After: 1\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.headers["x-fold"], "a    b");
        assert_eq!(h.headers["x-after"], "1");
    }

    #[test]
    fn refuses_garbage_with_the_line_quoted() {
        for bad in [
            &b"garbage\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/2.0 200 OK\r\n\r\n",
            b"SSH-2.0-OpenSSH\r\n",
        ] {
            let e = head(bad).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            assert!(e.to_string().starts_with("malformed HTTP response"), "{e}");
        }
        assert!(head(b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n").is_err());
    }
}
