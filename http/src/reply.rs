//! Ready-made replies (Go's `http.Error`, `NotFound`, `Redirect`).

use std::io::{self, Write};

use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{Method, StatusCode};

use crate::request::Request;
use crate::response::ResponseWriter;

/// Go's `http.Error`: replies with `status` and `msg` as plain text.
///
/// # Errors
/// The write's error.
pub fn error(w: &mut ResponseWriter, msg: &str, status: StatusCode) -> io::Result<()> {
    let h = w.headers_mut();
    h.remove(CONTENT_LENGTH);
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    w.write_header(status);
    writeln!(w, "{msg}")
}

/// Go's `http.NotFound`: 404 with `404 page not found`.
///
/// # Errors
/// The write's error.
pub fn not_found(w: &mut ResponseWriter, _r: &mut Request) -> io::Result<()> {
    error(w, "404 page not found", StatusCode::NOT_FOUND)
}

/// Go's `http.Redirect`: `Location: url` with `status` (a 3xx), and for
/// GET and HEAD a short HTML body with the link.
///
/// # Errors
/// The write's error; `InvalidInput` for a `url` that is not a valid
/// header value.
pub fn redirect(w: &mut ResponseWriter, r: &Request, url: &str, status: StatusCode) -> io::Result<()> {
    let loc = HeaderValue::from_str(url).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let h = w.headers_mut();
    h.insert(LOCATION, loc);
    let html = r.method() == Method::GET || r.method() == Method::HEAD;
    if html {
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    }
    w.write_header(status);
    if html {
        let reason = status.canonical_reason().unwrap_or("Redirect");
        writeln!(w, "<a href=\"{}\">{reason}</a>.", html_escape(url))?;
    }
    Ok(())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}
