//! `Handler`: what serves a request (Go's `http.Handler`). Closures of the
//! right shape are handlers, and middleware is a handler that wraps one:
//! [`strip_prefix`] and [`max_bytes`] ship here, as Go's `StripPrefix` and
//! `MaxBytesHandler`.

use std::io;
use std::sync::Arc;

use crate::request::Request;
use crate::response::ResponseWriter;

/// Serves one request: read `r`, write the response to `w`.
///
/// Returning an error ends the exchange: the server answers 500 if
/// nothing was written yet and closes the connection. A panic is caught,
/// logged and handled the same way; the server keeps serving.
///
/// ```
/// use std::io::Write;
/// use gort::http::{Handler, Request, ResponseWriter};
/// struct Hello;
/// impl Handler for Hello {
///     fn serve_http(&self, w: &mut ResponseWriter, _r: &mut Request) -> std::io::Result<()> {
///         w.write_all(b"hello")
///     }
/// }
/// ```
pub trait Handler: Send + Sync + 'static {
    /// Serves `r` by writing to `w`.
    ///
    /// # Errors
    /// Any I/O error; the connection then closes.
    fn serve_http(&self, w: &mut ResponseWriter, r: &mut Request) -> io::Result<()>;
}

impl<F> Handler for F
where
    F: Fn(&mut ResponseWriter, &mut Request) -> io::Result<()> + Send + Sync + 'static,
{
    fn serve_http(&self, w: &mut ResponseWriter, r: &mut Request) -> io::Result<()> {
        self(w, r)
    }
}

impl<H: Handler + ?Sized> Handler for Arc<H> {
    fn serve_http(&self, w: &mut ResponseWriter, r: &mut Request) -> io::Result<()> {
        (**self).serve_http(w, r)
    }
}

/// Go's `StripPrefix`: serves requests whose path starts with `prefix`
/// through `h` with the prefix removed, and answers 404 otherwise.
///
/// `prefix` is matched against the path as sent, still percent-encoded
/// ([`Request::url_path`]). The rest keeps the query, and always starts
/// with `/`, since a [`Uri`](http::Uri) path cannot be relative: where Go
/// hands `foo` on for `/staticfoo`, this hands on `/foo`. The request's
/// target is the original again once `h` returns.
///
/// ```
/// use std::io::Write;
/// let files = |w: &mut gort::http::ResponseWriter, r: &mut gort::http::Request| {
///     write!(w, "file {}", r.url_path())
/// };
/// let h = gort::http::strip_prefix("/static", files);
/// let out = gort::http::test::serve_raw(&h, b"GET /static/app.css HTTP/1.1\r\nHost: x\r\n\r\n");
/// assert!(String::from_utf8(out).unwrap().ends_with("\r\n\r\nfile /app.css"));
/// ```
pub fn strip_prefix(prefix: &str, h: impl Handler) -> impl Handler {
    let prefix = prefix.to_owned();
    move |w: &mut ResponseWriter, r: &mut Request| {
        let path = r.url_path();
        let Some(rest) = path.strip_prefix(prefix.as_str()) else {
            return crate::reply::not_found(w, r);
        };
        let rest =
            if rest.is_empty() || !rest.starts_with('/') { format!("/{rest}") } else { rest.to_owned() };
        let rest = match r.query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest,
        };
        let uri: http::Uri = rest.parse().map_err(io::Error::other)?;
        let old = std::mem::replace(r.uri_mut(), uri);
        let res = h.serve_http(w, r);
        *r.uri_mut() = old;
        res
    }
}

/// Go's `MaxBytesHandler`: a request body longer than `n` bytes fails to
/// read past the limit, and the server answers 413 (when the handler has
/// written nothing) and closes the connection.
pub fn max_bytes(h: impl Handler, n: u64) -> impl Handler {
    move |w: &mut ResponseWriter, r: &mut Request| {
        r.body().limit(n);
        h.serve_http(w, r)
    }
}
