//! `Request`: an HTTP request as a handler sees it, Go-shaped (`method`,
//! `url_path`, `path_value`, `remote_addr`, a `Read` body) over the `http`
//! crate's types, and convertible to and from `http::Request<B>` so code
//! from that ecosystem carries over. On the server the target and header
//! values share the connection's read buffer instead of copying it.

use std::net::SocketAddr;

use gort_runtime::context::Context;
use http::header::HOST;
use http::request::Parts;
use http::{HeaderMap, Method, Uri, Version};

use crate::body::Body;

/// An HTTP request; see the module doc.
///
/// ```
/// let r = gort::http::Request::from(
///     http::Request::get("http://example.com/a/b?x=1").body(()).unwrap(),
/// );
/// assert_eq!(r.url_path(), "/a/b");
/// assert_eq!(r.query(), Some("x=1"));
/// assert_eq!(r.host(), Some("example.com"));
/// ```
pub struct Request {
    head: Parts,
    body: Body,
    remote_addr: Option<SocketAddr>,
    /// Wildcard values set by the mux: (name, value).
    path_values: Vec<(String, String)>,
    /// The mux pattern that matched.
    pattern: Option<String>,
}

impl Request {
    /// A request from its parts, as the server and conversions build it.
    pub(crate) fn from_parts(head: Parts, body: Body, remote_addr: Option<SocketAddr>) -> Request {
        Request { head, body, remote_addr, path_values: Vec::new(), pattern: None }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.head.method
    }

    /// The request target as sent (origin form `/p?q` on a server).
    pub fn uri(&self) -> &Uri {
        &self.head.uri
    }

    /// The target, to change (middleware such as `strip_prefix` does).
    pub fn uri_mut(&mut self) -> &mut Uri {
        &mut self.head.uri
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.head.version
    }

    /// The path of the target, still percent-encoded (Go's `r.URL.Path`
    /// is decoded; `url_path` keeps the bytes the client sent).
    pub fn url_path(&self) -> &str {
        self.head.uri.path()
    }

    /// The query string without the `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.head.uri.query()
    }

    /// The host the request is for: the target's authority, else the
    /// `Host` header (Go's `r.Host`).
    pub fn host(&self) -> Option<&str> {
        self.head.uri.authority().map(|a| a.as_str()).or_else(|| self.head.headers.get(HOST)?.to_str().ok())
    }

    /// The header fields.
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// The header fields, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.head.headers
    }

    /// The body, to read. On a server, reading it sends an owed
    /// `100 Continue`, and what the handler leaves unread is drained (up to
    /// 256 KiB) before the connection serves another request.
    pub fn body(&mut self) -> &mut Body {
        &mut self.body
    }

    /// Replaces the body, returning the old one.
    pub fn set_body(&mut self, body: Body) -> Body {
        std::mem::replace(&mut self.body, body)
    }

    /// The client's address, on a server.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The value a `ServeMux` pattern's `{name}` or `{name...}` wildcard
    /// matched (Go 1.22's `PathValue`).
    pub fn path_value(&self, name: &str) -> Option<&str> {
        self.path_values.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Sets what [`path_value`](Self::path_value) returns for `name`.
    pub fn set_path_value(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        match self.path_values.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.path_values.push((name, value)),
        }
    }

    /// The `ServeMux` pattern that matched, if a mux routed this request.
    pub fn pattern(&self) -> Option<&str> {
        self.pattern.as_deref()
    }

    /// Records the pattern that matched (the mux calls this).
    pub fn set_pattern(&mut self, pattern: impl Into<String>) {
        self.pattern = Some(pattern.into());
    }

    /// The `http` crate's extensions: typed values carried with the request.
    pub fn extensions(&self) -> &http::Extensions {
        &self.head.extensions
    }

    /// The extensions, to change.
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.head.extensions
    }

    /// Takes the body out, leaving an empty one: the server then closes the
    /// connection after the response unless the body is read to its end.
    pub fn take_body(&mut self) -> Body {
        std::mem::take(&mut self.body)
    }

    /// The request's context (Go's `r.Context()`): `background()` unless
    /// one was set.
    pub fn context(&self) -> Context {
        self.head.extensions.get::<RequestContext>().map_or_else(Context::background, |c| c.0.clone())
    }

    /// The request with `ctx` as its context (Go's `r.WithContext`).
    pub fn with_context(mut self, ctx: Context) -> Request {
        self.head.extensions.insert(RequestContext(ctx));
        self
    }

    /// The head and body apart.
    pub(crate) fn into_head_body(self) -> (Parts, Body) {
        (self.head, self.body)
    }
}

/// The context of a request, kept among its extensions.
#[derive(Clone)]
struct RequestContext(Context);

impl<B: Into<Body>> From<http::Request<B>> for Request {
    fn from(r: http::Request<B>) -> Request {
        let (head, body) = r.into_parts();
        Request::from_parts(head, body.into(), None)
    }
}

impl From<Request> for http::Request<Body> {
    fn from(r: Request) -> http::Request<Body> {
        let (head, body) = r.into_head_body();
        http::Request::from_parts(head, body)
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", self.method())
            .field("uri", self.uri())
            .field("version", &self.version())
            .field("headers", self.headers())
            .finish_non_exhaustive()
    }
}
