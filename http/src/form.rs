//! Go's form values on a request (`ParseForm`, `FormValue`,
//! `PostFormValue`): the query's pairs and, for a `POST`, `PUT` or `PATCH`
//! with `Content-Type: application/x-www-form-urlencoded`, the body's.
//!
//! # Invariants
//! - Parsed once, on first use, and kept in the request's extensions (which
//!   the server clears between requests); a failed parse keeps what it
//!   read, and only the first call reports the error, as in Go.
//! - A body is read to its end, at most [`MAX_FORM`] bytes (Go's
//!   `maxFormSize`); past that the form is refused (and the server then
//!   closes the connection, as for any body left unread).
//! - A body value comes before a query value of the same name, as in Go.
//! - A pair holding a raw `;` is skipped and reported, as Go 1.17 does
//!   (`;` is no separator).
//! - A query or a body of more than [`MAX_PAIRS`] pairs is refused whole,
//!   as Go 1.27 refuses it, before any pair is decoded.
//! - `multipart/form-data` is not parsed; its body is left to the handler.

use std::io::{self, Read};

use http::header::CONTENT_TYPE;
use http::Method;

use crate::request::Request;

/// The most body bytes a form reads (Go's `maxFormSize`: 10 MiB).
pub(crate) const MAX_FORM: u64 = 10 << 20;
/// The most pairs a query or a body may hold (Go 1.27's limit): past it
/// none is parsed, so a 10 MiB body of `a&a&…` cannot cost a pair each.
pub(crate) const MAX_PAIRS: usize = 10_000;

/// A request's parsed form, in its extensions.
#[derive(Clone, Default)]
pub(crate) struct Form {
    pub(crate) post: Vec<(String, String)>,
    pub(crate) query: Vec<(String, String)>,
}

impl Form {
    /// The first value of `name`: the body's, else the query's.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        first(&self.post, name).or_else(|| first(&self.query, name))
    }

    /// The first value of `name` in the body.
    pub(crate) fn post_value(&self, name: &str) -> Option<&str> {
        first(&self.post, name)
    }
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Parses `req`'s form unless it was already; the error of this parse.
pub(crate) fn parse(req: &mut Request) -> io::Result<()> {
    if req.extensions().get::<Form>().is_some() {
        return Ok(());
    }
    let mut form = Form::default();
    let mut result = Ok(());
    if let Some(q) = req.query() {
        result = pairs(q.as_bytes(), &mut form.query);
    }
    if wants_body(req) {
        let mut raw = Vec::new();
        let read = req.body().take(MAX_FORM + 1).read_to_end(&mut raw);
        let body = match read {
            Ok(_) if raw.len() as u64 > MAX_FORM => {
                Err(io::Error::new(io::ErrorKind::InvalidData, "http: POST too large"))
            }
            Ok(_) => pairs(&raw, &mut form.post),
            Err(e) => Err(e),
        };
        result = body.and(result);
    }
    req.extensions_mut().insert(form);
    result
}

/// Whether the body holds a form to parse (Go's `parsePostForm` rule).
fn wants_body(req: &Request) -> bool {
    let method = req.method();
    let ct = req.headers().get(CONTENT_TYPE).map_or(&b""[..], |v| v.as_bytes());
    let media = ct.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
    [Method::POST, Method::PUT, Method::PATCH].contains(method)
        && media.eq_ignore_ascii_case(b"application/x-www-form-urlencoded")
}

/// Appends the `&`-separated pairs of `raw` to `out`, decoded; a pair with
/// a raw `;` is skipped, and reported once the rest are in.
fn pairs(raw: &[u8], out: &mut Vec<(String, String)>) -> io::Result<()> {
    if raw.split(|&b| b == b'&').filter(|p| !p.is_empty()).nth(MAX_PAIRS).is_some() {
        let msg = format!("number of URL query parameters exceeded limit of {MAX_PAIRS}");
        return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
    }
    let mut semicolon = false;
    for pair in raw.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        if pair.contains(&b';') {
            semicolon = true;
            continue;
        }
        out.extend(form_urlencoded::parse(pair).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }
    match semicolon {
        true => Err(io::Error::new(io::ErrorKind::InvalidData, "invalid semicolon separator in query")),
        false => Ok(()),
    }
}
