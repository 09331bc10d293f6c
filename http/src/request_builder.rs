//! `Request::builder()`: a request for the client, built the way the
//! `http` crate builds one (errors kept until the end), plus the request's
//! [`Context`] and a body streamed from any `Read`.

use std::any::Any;
use std::io::{self, Read};

use gort_runtime::context::Context;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Uri};

use crate::body::Body;
use crate::request::Request;

/// Builds a [`Request`]; see [`Request::builder`].
#[derive(Debug, Default)]
pub struct RequestBuilder {
    inner: http::request::Builder,
    ctx: Option<Context>,
}

impl Request {
    /// A builder for a client request: `GET` unless `method` says
    /// otherwise, with no body unless `body` gives one.
    ///
    /// ```no_run
    /// use gort::context::Context;
    /// use std::time::Duration;
    /// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_secs(5));
    /// let file = std::fs::File::open("upload.bin")?;
    /// let req = gort::http::Request::builder()
    ///     .method("PUT")
    ///     .uri("http://127.0.0.1:8080/upload")
    ///     .header("content-type", "application/octet-stream")
    ///     .context(&ctx)
    ///     .body(file)?; // streamed, chunked: its length is not known up front
    /// let resp = gort::http::Client::new().send(req)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> RequestBuilder {
        RequestBuilder::default()
    }
}

impl RequestBuilder {
    /// The method (`"PUT"`, `Method::PUT`…).
    pub fn method<T>(self, method: T) -> RequestBuilder
    where
        Method: TryFrom<T>,
        <Method as TryFrom<T>>::Error: Into<http::Error>,
    {
        RequestBuilder { inner: self.inner.method(method), ..self }
    }

    /// The absolute URL to send to (`http://host:port/path?query`).
    pub fn uri<T>(self, uri: T) -> RequestBuilder
    where
        Uri: TryFrom<T>,
        <Uri as TryFrom<T>>::Error: Into<http::Error>,
    {
        RequestBuilder { inner: self.inner.uri(uri), ..self }
    }

    /// Appends a header field.
    pub fn header<K, V>(self, name: K, value: V) -> RequestBuilder
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        RequestBuilder { inner: self.inner.header(name, value), ..self }
    }

    /// Sets `Authorization` to Basic credentials (Go's `SetBasicAuth`),
    /// marked sensitive. The pair is sent as it is: over plain `http://`
    /// anyone on the path reads it. A URL's own `user:password@` does the
    /// same when no `Authorization` is set.
    pub fn basic_auth(self, user: &str, password: &str) -> RequestBuilder {
        let v = crate::auth::header_value(user, password);
        RequestBuilder { inner: self.inner.header(http::header::AUTHORIZATION, v), ..self }
    }

    /// Adds `c`'s name and value to the request's `Cookie` header (Go's
    /// `AddCookie`: one header, pairs joined by `; `); a cookie that cannot
    /// be sent is dropped.
    pub fn cookie(mut self, c: &crate::Cookie<'_>) -> RequestBuilder {
        let (Some(h), Some(c)) = (self.inner.headers_mut(), crate::cookies::sanitized(c)) else {
            return self;
        };
        let pair = c.stripped().to_string();
        let text = match h.get(http::header::COOKIE).and_then(|v| v.to_str().ok()) {
            Some(old) => format!("{old}; {pair}"),
            None => pair,
        };
        if let Ok(v) = HeaderValue::try_from(text) {
            h.insert(http::header::COOKIE, v);
        }
        self
    }

    /// The context whose end aborts the request: the dial, the write, the
    /// wait for the head, and a body read in progress.
    pub fn context(self, ctx: &Context) -> RequestBuilder {
        RequestBuilder { ctx: Some(ctx.clone()), ..self }
    }

    /// The request with a body read from `body` as it is sent. As Go's
    /// `NewRequest` does, a body whose length is known ([`Body`] from bytes,
    /// `&'static [u8]`, `io::Cursor<Vec<u8>>`, `io::Empty`) is sent with
    /// `Content-Length` and can be replayed for a retry or a 307/308
    /// redirect; any other reader is sent chunked, unless a
    /// `Content-Length` header says how long it is.
    ///
    /// # Errors
    /// `InvalidInput` when the method, URL or a header was invalid.
    pub fn body(self, body: impl Read + Send + 'static) -> io::Result<Request> {
        self.finish(into_body(body))
    }

    /// The request with no body.
    ///
    /// # Errors
    /// As [`body`](Self::body).
    pub fn build(self) -> io::Result<Request> {
        self.finish(Body::empty())
    }

    fn finish(self, body: Body) -> io::Result<Request> {
        let r = self.inner.body(body).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut r = Request::from(r);
        if let Some(ctx) = self.ctx {
            r.set_context(ctx);
        }
        Ok(r)
    }
}

/// The readers whose length is known become byte bodies; see
/// [`RequestBuilder::body`].
fn into_body<R: Read + Send + 'static>(r: R) -> Body {
    let mut slot = Some(r);
    let any: &mut dyn Any = &mut slot;
    if let Some(b) = any.downcast_mut::<Option<Body>>() {
        return b.take().unwrap_or_default();
    }
    if let Some(s) = any.downcast_mut::<Option<&'static [u8]>>() {
        return s.take().map_or_else(Body::empty, Body::from);
    }
    if let Some(c) = any.downcast_mut::<Option<io::Cursor<Vec<u8>>>>().and_then(Option::take) {
        return match c.position() {
            0 => Body::from(c.into_inner()),
            _ => Body::from_reader(c),
        };
    }
    if any.is::<Option<io::Empty>>() {
        return Body::empty();
    }
    slot.map_or_else(Body::empty, Body::from_reader)
}
