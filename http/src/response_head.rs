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
//! line, more than [`HEADER_SLOTS`] header lines. The byte limit on a head
//! (10 MiB by default, as Go's `MaxResponseHeaderBytes`) is the read
//! buffer's growth limit, enforced where the head is read.

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
    // cost 9% of a keep-alive GET's client CPU in `loadgen`.
    match parse_with::<FEW_SLOTS>(buf, names) {
        Err(Slots) => parse_with::<HEADER_SLOTS>(buf, names)
            .unwrap_or_else(|Slots| Err(bad("too many header lines in the response"))),
        Ok(r) => r,
    }
}

/// Header slots tried first.
const FEW_SLOTS: usize = 24;

/// More header lines than the slots given.
struct Slots;

fn parse_with<const N: usize>(
    buf: &[u8],
    names: &mut Vec<(HeaderName, usize, usize)>,
) -> Result<io::Result<Option<Raw>>, Slots> {
    let mut slots = [httparse::EMPTY_HEADER; N];
    let mut resp = httparse::Response::new(&mut slots);
    let n = match resp.parse(buf) {
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
            let value = HeaderValue::from_bytes(&head[at..at + len])
                .map_err(|_| bad("invalid response header value"))?;
            headers.append(name, value);
        }
        Ok(Head { status: self.status, version: self.version, headers })
    }
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
        let many: Vec<u8> = (0..300).flat_map(|i| format!("X-{i}: v\r\n").into_bytes()).collect();
        assert!(head(&[&b"HTTP/1.1 200 OK\r\n"[..], &many, b"\r\n"].concat()).is_err());
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
