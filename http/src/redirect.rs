//! What a client does with a redirect: which method and body the next
//! request gets (RFC 9110 §15.4, as Go applies it), where a `Location`
//! points once resolved against the URL it came from (RFC 3986 §5.2), and
//! which headers must not follow the request to another host or from
//! `https` down to `http`, and the `Referer` the next request carries.

use std::io;

use http::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HOST, PROXY_AUTHORIZATION,
    TRANSFER_ENCODING, WWW_AUTHENTICATE,
};
use http::{Method, StatusCode, Uri};
use percent_encoding::{percent_encode, AsciiSet, CONTROLS};

/// How to follow a redirect response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Follow {
    pub(crate) method: Method,
    /// The next request carries the same body (307, 308).
    pub(crate) keep_body: bool,
}

/// How a `status` answer to a `method` request is followed; `None` when it
/// is not a redirect. 301, 302 and 303 turn everything but `GET` and
/// `HEAD` into a bodiless `GET` (what browsers do, and Go); 307 and 308
/// repeat the request as it was.
pub(crate) fn follow(status: StatusCode, method: &Method) -> Option<Follow> {
    match status.as_u16() {
        301..=303 => {
            let keep = method == Method::GET || method == Method::HEAD;
            Some(Follow { method: if keep { method.clone() } else { Method::GET }, keep_body: false })
        }
        307 | 308 => Some(Follow { method: method.clone(), keep_body: true }),
        _ => None,
    }
}

/// The headers the next request keeps: all of them, less the body's when
/// the body is dropped, and less credentials (`Authorization`,
/// `Proxy-Authorization`, `WWW-Authenticate`, `Cookie`) when `to` is
/// neither `from`'s host nor one of its subdomains (Go's rule, which
/// compares host names, not ports) or when it leaves `https` for `http`,
/// where anyone on the path would read them.
pub(crate) fn carry_headers(headers: &mut HeaderMap, from: &Uri, to: &Uri, keep_body: bool) {
    if !keep_body {
        for h in [CONTENT_TYPE, CONTENT_LENGTH, TRANSFER_ENCODING] {
            headers.remove(h);
        }
    }
    if from.authority() != to.authority() {
        headers.remove(HOST);
    }
    let (src, dst) = (from.host().unwrap_or_default(), to.host().unwrap_or_default());
    let downgrade = from.scheme_str() == Some("https") && to.scheme_str() != Some("https");
    if downgrade || !is_domain_or_subdomain(&dst.to_ascii_lowercase(), &src.to_ascii_lowercase()) {
        for h in [AUTHORIZATION, PROXY_AUTHORIZATION, WWW_AUTHENTICATE, COOKIE] {
            headers.remove(h);
        }
        headers.remove("cookie2");
    }
}

/// The `Referer` of the request a redirect leads to (Go's
/// `refererForURL`): one the caller set, else the URL redirected from,
/// without user info; none where the redirect leaves `https` for `http`
/// (unless the caller set it).
pub(crate) fn referer(explicit: Option<&HeaderValue>, from: &Uri, to: &Uri) -> Option<HeaderValue> {
    if let Some(r) = explicit {
        return Some(r.clone());
    }
    if from.scheme_str() == Some("https") && to.scheme_str() != Some("https") {
        return None;
    }
    let host = from.authority().map_or("", |a| a.as_str().rsplit('@').next().unwrap_or_default());
    let rest = from.path_and_query().map_or("/", |p| p.as_str());
    HeaderValue::try_from(format!("{}://{host}{rest}", from.scheme_str().unwrap_or("http"))).ok()
}

/// `sub` is `parent` or ends in `.parent` (IP literals only match exactly).
fn is_domain_or_subdomain(sub: &str, parent: &str) -> bool {
    if sub == parent {
        return true;
    }
    let ip = |h: &str| h.starts_with('[') || h.parse::<std::net::Ipv4Addr>().is_ok();
    !ip(sub) && !ip(parent) && sub.strip_suffix(parent).is_some_and(|s| s.ends_with('.'))
}

/// `location` resolved against `base` (RFC 3986 §5.2; the fragment is
/// dropped, as it never goes on the wire). Bytes a URI may not hold, such
/// as raw UTF-8 or a space, are percent-encoded first, as Go's client
/// escapes the reference it parsed.
///
/// # Errors
/// `InvalidData` when the result is not a valid absolute URL.
pub(crate) fn resolve(base: &Uri, location: &[u8]) -> io::Result<Uri> {
    let location = uri_text(location);
    let loc = location.split('#').next().unwrap_or_default();
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map_or("", |a| a.as_str());
    let base_path = base.path();
    let joined = if has_scheme(loc) {
        loc.to_owned()
    } else if let Some(rest) = loc.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if loc.starts_with('/') {
        let (path, query) = split_query(loc);
        format!("{scheme}://{authority}{}{query}", remove_dot_segments(path))
    } else if loc.is_empty() || loc.starts_with('?') {
        let query = if loc.is_empty() {
            base.query().map(|q| format!("?{q}")).unwrap_or_default()
        } else {
            loc.to_owned()
        };
        format!("{scheme}://{authority}{base_path}{query}")
    } else {
        let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        let (path, query) = split_query(loc);
        format!(
            "{scheme}://{authority}{}{query}",
            remove_dot_segments(&format!("/{}{path}", dir.trim_start_matches('/')))
        )
    };
    Uri::try_from(joined.as_str()).ok().filter(|u| u.scheme().is_some() && u.host().is_some()).ok_or_else(
        || io::Error::new(io::ErrorKind::InvalidData, format!("invalid redirect Location {location:?}")),
    )
}

/// The bytes that are not URI characters (RFC 3986's unreserved and
/// reserved ones, and `%`): controls, non-ASCII, and these.
const NOT_URI: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `b` as URI text: every byte that is not a URI character as `%XX`.
fn uri_text(b: &[u8]) -> String {
    percent_encode(b, NOT_URI).to_string()
}

/// Whether a reference starts with `scheme:` (RFC 3986 §3.1).
fn has_scheme(r: &str) -> bool {
    let Some((scheme, _)) = r.split_once(':') else { return false };
    let mut b = scheme.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
}

fn split_query(r: &str) -> (&str, &str) {
    r.find('?').map_or((r, ""), |i| r.split_at(i))
}

/// RFC 3986 §5.2.4 for an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let mut out: Vec<&str> = Vec::with_capacity(segs.len());
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        match *seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
        if last && (*seg == "." || *seg == "..") {
            out.push("");
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_references_as_rfc_3986_does() {
        let base: Uri = "http://a/b/c/d;p?q".parse().unwrap();
        for (r, want) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("http://other:81/x?z", "http://other:81/x?z"),
            ("/café", "http://a/caf%C3%A9"),
            ("a b?c d", "http://a/b/c/a%20b?c%20d"),
        ] {
            assert_eq!(resolve(&base, r.as_bytes()).unwrap().to_string(), want, "{r:?}");
        }
        assert!(resolve(&base, b"http://[bad").is_err());
    }

    #[test]
    fn method_rules() {
        let f = |s: u16, m: Method| follow(StatusCode::from_u16(s).unwrap(), &m);
        assert_eq!(f(302, Method::POST), Some(Follow { method: Method::GET, keep_body: false }));
        assert_eq!(f(303, Method::HEAD), Some(Follow { method: Method::HEAD, keep_body: false }));
        assert_eq!(f(307, Method::POST), Some(Follow { method: Method::POST, keep_body: true }));
        assert_eq!(f(308, Method::PUT), Some(Follow { method: Method::PUT, keep_body: true }));
        assert_eq!(f(304, Method::GET), None);
    }

    #[test]
    fn credentials_stay_with_their_host() {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, "x".parse().unwrap());
        h.insert(COOKIE, "c".parse().unwrap());
        let (a, sub, other): (Uri, Uri, Uri) = (
            "http://example.com/".parse().unwrap(),
            "http://api.example.com:81/".parse().unwrap(),
            "http://evil.com/".parse().unwrap(),
        );
        carry_headers(&mut h, &a, &sub, true);
        assert!(h.contains_key(AUTHORIZATION) && h.contains_key(COOKIE));
        carry_headers(&mut h, &a, &other, true);
        assert!(!h.contains_key(AUTHORIZATION) && !h.contains_key(COOKIE));
        assert!(!is_domain_or_subdomain("1.127.0.0.1", "127.0.0.1"));
    }

    #[test]
    fn credentials_stay_off_plain_http() {
        let creds = || {
            let mut h = HeaderMap::new();
            for n in [AUTHORIZATION, PROXY_AUTHORIZATION, WWW_AUTHENTICATE, COOKIE] {
                h.insert(n, "x".parse().unwrap());
            }
            h
        };
        let (tls, tls2, plain): (Uri, Uri, Uri) = (
            "https://example.com/".parse().unwrap(),
            "https://example.com:8443/x".parse().unwrap(),
            "http://example.com/".parse().unwrap(),
        );
        let mut h = creds();
        carry_headers(&mut h, &tls, &tls2, true);
        assert_eq!(h.len(), 4, "https to https on the same host keeps them");
        carry_headers(&mut h, &plain, &tls, true);
        assert_eq!(h.len(), 4, "an upgrade keeps them");
        carry_headers(&mut h, &tls, &plain, true);
        assert!(h.is_empty(), "a downgrade drops them all: {h:?}");
    }

    #[test]
    fn referer_drops_user_info_and_is_not_sent_down_to_http() {
        let u = |s: &str| s.parse::<Uri>().unwrap();
        let from = u("https://user:pw@example.com:8443/a/b?q=1");
        let r = referer(None, &from, &u("https://other.com/")).unwrap();
        assert_eq!(r, "https://example.com:8443/a/b?q=1");
        assert_eq!(referer(None, &from, &u("http://example.com/")), None);
        let set = HeaderValue::from_static("https://set.example/");
        assert_eq!(referer(Some(&set), &from, &u("http://example.com/")), Some(set));
    }
}
