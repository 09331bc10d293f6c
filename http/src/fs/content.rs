//! Go's `serveContent` for one open file: `Last-Modified` and the
//! conditional requests it answers in RFC 9110's order (`If-Match` and
//! `If-Unmodified-Since` → 412, `If-None-Match` and `If-Modified-Since` →
//! 304, `If-Range`; entity tags are the handler's `ETag`, if it set one), a byte range (206 with
//! `Content-Range`, 416 when none can be satisfied; an empty file ignores
//! a `Range`), `Content-Type` by extension (else sniffed from the file's
//! first 512 bytes, as Go does), and the
//! body streamed from the file through `gort::blocking` reads, so a cold
//! disk holds an OS thread and never a P.
//!
//! One difference from Go: a `Range` of several ranges is answered with
//! the whole file (200), which RFC 9110 §14.2 allows, rather than a
//! `multipart/byteranges` body.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{
    HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_MATCH,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, LAST_MODIFIED, RANGE,
};
use http::{Method, StatusCode};

use crate::request::Request;
use crate::response::ResponseWriter;

/// What one read of the file takes in.
const CHUNK: usize = 32 << 10;

/// Serves the open file `f` (`size` bytes, modified at `modified`), named
/// `name` for its type.
pub(crate) fn serve(
    w: &mut ResponseWriter,
    r: &Request,
    name: &Path,
    mut f: File,
    size: u64,
    modified: Option<SystemTime>,
) -> io::Result<()> {
    let modified = modified.filter(|&t| t > UNIX_EPOCH).map(whole_seconds);
    let etag = w.headers_mut().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(status) = precondition(r, etag.as_deref(), modified) {
        return not_modified_or_failed(w, status, modified);
    }
    if let Some(t) = modified {
        w.headers_mut().insert(LAST_MODIFIED, date(t));
    }
    if !w.headers_mut().contains_key(CONTENT_TYPE) {
        let ct = match mime_guess::from_path(name).first_raw() {
            Some(ct) => with_charset(ct),
            None => sniff_file(&mut f)?,
        };
        w.headers_mut().insert(CONTENT_TYPE, ct);
    }
    w.headers_mut().insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let (mut start, mut len) = (0, size);
    // An empty file ignores a Range (Go: some clients send one always).
    let range = r.headers().get(RANGE).filter(|_| size > 0 && range_applies(r, modified));
    if let Some(range) = range {
        match parse_range(range.as_bytes(), size) {
            Range::Whole => {}
            Range::One(s, n) => {
                (start, len) = (s, n);
                let v = format!("bytes {s}-{}/{size}", s + n - 1);
                w.headers_mut().insert(CONTENT_RANGE, HeaderValue::try_from(v).map_err(io::Error::other)?);
                w.write_header(StatusCode::PARTIAL_CONTENT);
            }
            Range::Unsatisfiable => {
                let v = HeaderValue::try_from(format!("bytes */{size}")).map_err(io::Error::other)?;
                w.headers_mut().insert(CONTENT_RANGE, v);
                return crate::reply::error(
                    w,
                    "invalid range: failed to overlap",
                    StatusCode::RANGE_NOT_SATISFIABLE,
                );
            }
        }
    }
    w.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(len));
    if r.method() == Method::HEAD || len == 0 {
        return Ok(());
    }
    if start > 0 {
        gort_runtime::blocking(|| f.seek(SeekFrom::Start(start)))?;
    }
    let mut buf = vec![0u8; CHUNK.min(usize::try_from(len).unwrap_or(CHUNK))];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = gort_runtime::blocking(|| f.read(&mut buf[..want]))?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while it was served"));
        }
        w.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Go's way for a name with no known type: sniff the file's own first
/// bytes (the writer would see only a range's, or none for a HEAD), then
/// read from the start again.
fn sniff_file(f: &mut File) -> io::Result<HeaderValue> {
    gort_runtime::blocking(|| {
        let mut head = [0u8; 512];
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..])? {
                0 => break,
                k => n += k,
            }
        }
        f.seek(SeekFrom::Start(0))?;
        Ok(crate::sniff::content_type(&head[..n]))
    })
}

/// A `text/…` type says its charset, as Go's table does.
fn with_charset(ct: &'static str) -> HeaderValue {
    match ct.starts_with("text/") {
        true => HeaderValue::try_from(format!("{ct}; charset=utf-8")).unwrap_or(HeaderValue::from_static(ct)),
        false => HeaderValue::from_static(ct),
    }
}

/// HTTP dates have whole seconds; a file's time is compared as one.
fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn date(t: SystemTime) -> HeaderValue {
    HeaderValue::try_from(httpdate::fmt_http_date(t)).expect("content::date: an HTTP date is a valid value")
}

fn header_date(r: &Request, name: http::header::HeaderName) -> Option<SystemTime> {
    httpdate::parse_http_date(r.headers().get(name)?.to_str().ok()?).ok()
}

/// Go's `checkPreconditions` (RFC 9110 §13.2.2): `If-Match`, else
/// `If-Unmodified-Since`, can fail the request (412); then
/// `If-None-Match`, else `If-Modified-Since`, can answer it (304 for a
/// GET or HEAD; a matched `If-None-Match` is 412 otherwise). `etag` is one
/// the handler set; the file server sets none, so only `*` matches then.
fn precondition(r: &Request, etag: Option<&str>, modified: Option<SystemTime>) -> Option<StatusCode> {
    let get = r.method() == Method::GET || r.method() == Method::HEAD;
    let matches = |name, strong| Some(tag_list_matches(r.headers().get(name)?.to_str().ok()?, etag, strong));
    let passes = match matches(IF_MATCH, true) {
        Some(m) => m,
        None => header_date(r, IF_UNMODIFIED_SINCE).is_none_or(|t| modified.is_none_or(|m| m <= t)),
    };
    if !passes {
        return Some(StatusCode::PRECONDITION_FAILED);
    }
    match matches(IF_NONE_MATCH, false) {
        Some(true) if get => Some(StatusCode::NOT_MODIFIED),
        Some(true) => Some(StatusCode::PRECONDITION_FAILED),
        Some(false) => None,
        None => {
            let unchanged =
                header_date(r, IF_MODIFIED_SINCE).is_some_and(|t| modified.is_some_and(|m| m <= t));
            (get && unchanged).then_some(StatusCode::NOT_MODIFIED)
        }
    }
}

/// Whether a comma-separated list of entity tags holds `*` or `etag`,
/// compared strongly (neither weak) or weakly (`W/` ignored).
fn tag_list_matches(list: &str, etag: Option<&str>, strong: bool) -> bool {
    let weak = |t: &str| t.strip_prefix("W/").unwrap_or(t).to_owned();
    list.split(',').map(str::trim).any(|t| {
        t == "*"
            || etag.is_some_and(|e| match strong {
                true => !t.starts_with("W/") && !e.starts_with("W/") && t == e,
                false => weak(t) == weak(e),
            })
    })
}

/// A 304 keeps `Last-Modified` and says nothing of the body; a 412 is
/// an empty answer.
fn not_modified_or_failed(
    w: &mut ResponseWriter,
    status: StatusCode,
    modified: Option<SystemTime>,
) -> io::Result<()> {
    let h = w.headers_mut();
    h.remove(CONTENT_TYPE);
    h.remove(CONTENT_LENGTH);
    if let (StatusCode::NOT_MODIFIED, Some(t)) = (status, modified) {
        h.insert(LAST_MODIFIED, date(t));
    }
    w.write_header(status);
    Ok(())
}

/// Whether a `Range` is honoured: with no `If-Range`, or one naming the
/// file's modification time exactly (an entity tag never matches: the
/// file server sets none).
fn range_applies(r: &Request, modified: Option<SystemTime>) -> bool {
    if !r.headers().contains_key(IF_RANGE) {
        return true;
    }
    header_date(r, IF_RANGE).is_some_and(|t| Some(t) == modified)
}

/// What a `Range` asks of a `size`-byte file.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// Serve it all: not a byte range we take (a malformed header, another
    /// unit, several ranges, or one that covers the file).
    Whole,
    /// `(start, length)`.
    One(u64, u64),
    /// No range overlaps the file: 416.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` (RFC 9110 §14.1.2).
fn parse_range(v: &[u8], size: u64) -> Range {
    let Some(spec) = std::str::from_utf8(v).ok().and_then(|s| s.strip_prefix("bytes=")) else {
        return Range::Whole;
    };
    let ranges: Vec<&str> = spec.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let [one] = ranges[..] else { return Range::Whole };
    let Some((a, b)) = one.split_once('-') else { return Range::Whole };
    let num =
        |s: &str| (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse::<u64>().ok())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => match num(n) {
            Some(0) => return Range::Unsatisfiable,
            Some(n) => (size.saturating_sub(n), size.saturating_sub(1)),
            None => return Range::Whole,
        },
        (a, "") => match num(a) {
            Some(a) => (a, size.saturating_sub(1)),
            None => return Range::Whole,
        },
        (a, b) => match (num(a), num(b)) {
            (Some(a), Some(b)) if a <= b => (a, b.min(size.saturating_sub(1))),
            _ => return Range::Whole,
        },
    };
    if start >= size {
        return Range::Unsatisfiable;
    }
    match (start, end - start + 1) {
        (0, n) if n == size => Range::Whole,
        (s, n) => Range::One(s, n),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_range, Range};

    #[test]
    fn ranges_as_rfc_9110_has_them() {
        let r = |s: &str| parse_range(s.as_bytes(), 100);
        assert_eq!(r("bytes=0-9"), Range::One(0, 10));
        assert_eq!(r("bytes=90-"), Range::One(90, 10));
        assert_eq!(r("bytes=-5"), Range::One(95, 5));
        assert_eq!(r("bytes=-500"), Range::Whole, "a suffix longer than the file is all of it");
        assert_eq!(r("bytes=50-1000"), Range::One(50, 50), "the end is cut to the file");
        assert_eq!(r("bytes=0-99"), Range::Whole);
        assert_eq!(r("bytes=100-"), Range::Unsatisfiable);
        assert_eq!(r("bytes=-0"), Range::Unsatisfiable);
        for whole in
            ["bytes=5-1", "bytes=a-b", "items=0-1", "bytes=0-1,5-6", "bytes=", "bytes=1", "bytes=+1-2"]
        {
            assert_eq!(r(whole), Range::Whole, "{whole}");
        }
    }
}
