//! The path and host text the mux works on: cleaning (Go's `cleanPath`),
//! percent-decoding one segment, splitting off the first segment, and
//! dropping a port from a host.
//!
//! Everything here borrows in the common case: a clean path, a segment with
//! no `%`, a host without a port come back as the input slice. Only an
//! unclean path (which the mux redirects) or an escaped segment allocates.

use std::borrow::Cow;

/// Go's `cleanPath`: the path rooted at `/`, with `.` and `..` elements
/// resolved and repeated slashes collapsed, keeping a trailing slash.
pub(crate) fn clean(p: &str) -> Cow<'_, str> {
    if is_clean(p) {
        Cow::Borrowed(p)
    } else {
        Cow::Owned(clean_slow(p))
    }
}

/// Whether `clean(p)` is `p`: rooted, with no empty, `.` or `..` element
/// except a final empty one (the trailing slash).
fn is_clean(p: &str) -> bool {
    let b = p.as_bytes();
    if b.first() != Some(&b'/') {
        return false;
    }
    let mut start = 1;
    for i in 1..=b.len() {
        if i < b.len() && b[i] != b'/' {
            continue;
        }
        match &b[start..i] {
            b"." | b".." => return false,
            b"" if i < b.len() => return false,
            _ => start = i + 1,
        }
    }
    true
}

#[cold]
fn clean_slow(p: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for e in p.split('/') {
        match e {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            e => kept.push(e),
        }
    }
    let mut out = String::with_capacity(p.len() + 1);
    for e in &kept {
        out.push('/');
        out.push_str(e);
    }
    if out.is_empty() || p.ends_with('/') {
        out.push('/');
    }
    out
}

/// Percent-decodes one segment (Go's `PathUnescape`). A segment with a
/// malformed escape, or one that does not decode to UTF-8, is kept as it
/// is, as Go keeps a segment it cannot unescape.
pub(crate) fn unescape(s: &str) -> Cow<'_, str> {
    if memchr::memchr(b'%', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    decode(s).map_or(Cow::Borrowed(s), Cow::Owned)
}

#[cold]
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = hex(*b.get(i + 1)?)?;
            let lo = hex(*b.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether every `%` in `path` starts a `%XX` escape, as Go's
/// `url.ParseRequestURI` requires of a request's path (the server refuses
/// one that does not; the query is kept raw).
pub(crate) fn valid_escapes(path: &str) -> bool {
    let b = path.as_bytes();
    memchr::memchr_iter(b'%', b)
        .all(|i| b.get(i + 1..i + 3).is_some_and(|h| h.iter().all(|&c| hex(c).is_some())))
}

fn hex(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).map(|d| d as u8)
}

/// Splits `/seg/rest…` into `seg` and `/rest…` (empty at the end). `path`
/// starts with `/`. A plain byte scan: segments are a few bytes, where
/// `memchr`'s vector set-up cost more than it saved (1.4% of the server's
/// samples under `wrk`, for `/hello/x`).
pub(crate) fn first_segment(path: &str) -> (&str, &str) {
    let after = &path[1..];
    let end = after.bytes().position(|b| b == b'/').unwrap_or(after.len());
    after.split_at(end)
}

/// The host without its port, as Go's `stripHostPort`: `h:80` → `h`,
/// `[::1]:80` → `::1`; a host without a port is returned as it is.
pub(crate) fn strip_port(host: &str) -> &str {
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split_once("]:").map_or(host, |(h, _)| h);
    }
    match host.bytes().position(|b| b == b':') {
        Some(i) if !host.as_bytes()[i + 1..].contains(&b':') => &host[..i],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go() {
        for (p, want) in [
            ("/", "/"),
            ("", "/"),
            ("a/b", "/a/b"),
            ("/a/b/", "/a/b/"),
            ("//a", "/a"),
            ("/a//b/", "/a/b/"),
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/..", "/"),
            ("/../a/", "/a/"),
            ("/a/.", "/a"),
            ("/a/b/..", "/a"),
            ("/a/b/../", "/a/"),
            ("/a%2F..%2Fb", "/a%2F..%2Fb"),
        ] {
            assert_eq!(clean(p), want, "clean({p:?})");
            assert_eq!(matches!(clean(p), Cow::Borrowed(_)), p == want, "borrows only when clean: {p:?}");
        }
    }

    #[test]
    fn unescape_decodes_or_keeps() {
        assert_eq!(unescape("plain"), "plain");
        assert_eq!(unescape("a%20b%2Fc"), "a b/c");
        assert_eq!(unescape("%E2%82%AC"), "€");
        assert_eq!(unescape("bad%zz"), "bad%zz");
        assert_eq!(unescape("cut%2"), "cut%2");
        assert_eq!(unescape("%FF"), "%FF", "not UTF-8: kept");
    }

    #[test]
    fn first_segment_splits() {
        assert_eq!(first_segment("/a/b"), ("a", "/b"));
        assert_eq!(first_segment("/a"), ("a", ""));
        assert_eq!(first_segment("//b"), ("", "/b"));
    }

    #[test]
    fn strip_port_as_go() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("[::1]"), "[::1]");
        assert_eq!(strip_port("::1"), "::1");
    }
}
