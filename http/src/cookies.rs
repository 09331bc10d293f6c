//! Cookies as Go's `net/http` has them, in the `cookie` crate's
//! [`Cookie`]: a server request's `Cookie` headers read
//! ([`Request::cookies`], [`Request::cookie`]) and `Set-Cookie` written
//! ([`set_cookie`], Go's `SetCookie`); on the client, cookies sent
//! ([`RequestBuilder::cookie`](crate::RequestBuilder::cookie), Go's
//! `AddCookie`) and a response's `Set-Cookie`s read
//! ([`Response::cookies`](crate::Response::cookies)). There is no jar, as
//! Go's `Client` has none unless given one.
//!
//! A bad cookie is skipped, never an error, as in Go: a pair that does not
//! parse on reading; on writing, a cookie whose name is not a token. What
//! is written is sanitized as Go's `sanitizeCookieValue` and
//! `sanitizeCookiePath` do, so no value can add an attribute: bytes a
//! cookie value may not hold are dropped (a value with a space or a comma
//! is quoted), only visible ASCII and space but `;` stay in the path, and
//! a domain of anything but letters, digits, `-` and `.` is left out.

use cookie::Cookie;
use http::header::{HeaderMap, HeaderValue, COOKIE, SET_COOKIE};

use crate::request::Request;
use crate::response::ResponseWriter;

/// Adds a `Set-Cookie` for `c` (Go's `SetCookie`); an invalid cookie is
/// dropped, as Go drops it.
///
/// ```
/// use gort::http::{set_cookie, Cookie, Request, ResponseWriter};
/// let h = |w: &mut ResponseWriter, _: &mut Request| {
///     set_cookie(w, &Cookie::build(("session", "abc")).path("/").http_only(true).build());
///     Ok(())
/// };
/// let out = gort::http::test::serve_raw(&h, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
/// assert!(String::from_utf8(out).unwrap().contains("\r\nSet-Cookie: session=abc; HttpOnly; Path=/\r\n"));
/// ```
pub fn set_cookie(w: &mut ResponseWriter, c: &Cookie<'_>) {
    if let Some(v) = sanitized(c).and_then(|c| HeaderValue::try_from(c.to_string()).ok()) {
        w.headers_mut().append(SET_COOKIE, v);
    }
}

/// `c` as it may be written (see the module doc); `None` when its name is
/// not a token.
pub(crate) fn sanitized(c: &Cookie<'_>) -> Option<Cookie<'static>> {
    let name = c.name();
    let token = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && !SEPARATORS.contains(&b));
    if !token {
        return None;
    }
    let mut c = c.clone().into_owned();
    let kept: String = c.value().chars().filter(|&ch| ch == ' ' || ch == ',' || cookie_octet(ch)).collect();
    let value = match kept.contains([' ', ',']) {
        true => format!("\"{kept}\""),
        false => kept,
    };
    c.set_value(value);
    let path_char = |ch: char| (' '..='~').contains(&ch) && ch != ';';
    if let Some(p) = c.path().filter(|p| !p.chars().all(path_char)) {
        let p: String = p.chars().filter(|&ch| path_char(ch)).collect();
        c.set_path(p);
    }
    let domain_char = |ch: char| ch.is_ascii_alphanumeric() || ch == '-' || ch == '.';
    if c.domain().is_some_and(|d| d.is_empty() || d.len() > 255 || !d.chars().all(domain_char)) {
        c.unset_domain();
    }
    Some(c)
}

/// The bytes a name may not hold besides controls and space (RFC 9110's
/// `tchar` is the rest of the visible ASCII).
const SEPARATORS: &[u8] = b"()<>@,;:\\\"/[]?={}";

/// RFC 6265's `cookie-octet`: visible ASCII but `"` `,` `;` and a backslash.
fn cookie_octet(ch: char) -> bool {
    ch.is_ascii_graphic() && !matches!(ch, '"' | ',' | ';' | '\\')
}

/// The cookies of every `Cookie` header in `headers`, in order; pairs that
/// do not parse, or are not UTF-8, are skipped one by one (a browser's
/// UTF-8 value from script costs that pair, not the header's others).
pub(crate) fn sent(headers: &HeaderMap) -> impl Iterator<Item = Cookie<'_>> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b';'))
        .filter_map(|pair| std::str::from_utf8(pair).ok())
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| Cookie::parse(pair).ok())
}

/// The cookies a response sets, one per `Set-Cookie` that parses.
pub(crate) fn set_by(headers: &HeaderMap) -> impl Iterator<Item = Cookie<'_>> {
    headers.get_all(SET_COOKIE).iter().filter_map(|v| Cookie::parse(v.to_str().ok()?).ok())
}

impl Request {
    /// The cookies the request sent (Go's `Cookies`), from every `Cookie`
    /// header, in order.
    pub fn cookies(&self) -> impl Iterator<Item = Cookie<'_>> {
        sent(self.headers())
    }

    /// The first cookie named `name` (Go's `Cookie`; `None` is its
    /// `ErrNoCookie`).
    ///
    /// ```
    /// let r = gort::http::Request::from(
    ///     http::Request::get("http://h/").header("cookie", "a=1; session=abc").body(()).unwrap(),
    /// );
    /// assert_eq!(r.cookie("session").map(|c| c.value().to_owned()), Some("abc".to_owned()));
    /// ```
    pub fn cookie(&self, name: &str) -> Option<Cookie<'_>> {
        self.cookies().find(|c| c.name() == name)
    }
}
