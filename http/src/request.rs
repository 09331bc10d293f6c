//! `Request`: an HTTP request as a handler sees it, Go-shaped (`method`,
//! `url_path`, `path_value`, `remote_addr`, a `Read` body) over the `http`
//! crate's types, and convertible to and from `http::Request<B>` so code
//! from that ecosystem carries over. On the server the target and header
//! values share the connection's read buffer instead of copying it.

use std::cell::OnceCell;
use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use gort_runtime::context::{Cancel, Context};

use http::header::{AUTHORIZATION, HOST};
use http::request::Parts;
use http::{HeaderMap, Method, Uri, Version};

use crate::auth;
use crate::body::Body;
use crate::form::{self, Form};
use crate::mux::path::unescape;
use crate::wire::Wire;

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
    /// Wildcard values set by the mux: where the name and where the value
    /// are in `path_text`.
    path_values: Vec<(Range<usize>, Range<usize>)>,
    /// The names, values and pattern, one after the other. Kept, with its
    /// room, from request to request, so that routing allocates nothing
    /// and takes no reference count on the mux's table (copying a few
    /// bytes costs less than a locked increment and decrement).
    path_text: String,
    /// The mux pattern that matched, in `path_text`.
    pattern: Option<Range<usize>>,
    /// The request's context, made on first use (`context`). A cell, not
    /// a lock: a `Request` is not `Sync` (its body is not), so no second
    /// party can wait on the first's initialiser, which spawns and may yield.
    ctx: OnceCell<ReqCtx>,
    /// The connection a server request came on, for its context.
    wire: Option<Arc<Wire>>,
    /// The read deadline the connection should have while this request is
    /// served, when the server left it unset because nothing was to read
    /// (a request with no body): the context's watcher, the only reader
    /// then, sets it before it peeks.
    deferred_read_deadline: Option<Option<Instant>>,
}

/// A request's context, and on a server what ends it early.
struct ReqCtx {
    ctx: Context,
    cancel: Option<Cancel>,
    /// The goroutine that watches the connection for the client going away.
    watcher: Option<gort_runtime::JoinHandle<()>>,
}

impl Request {
    /// A request from its parts, as the server and conversions build it.
    pub(crate) fn from_parts(head: Parts, body: Body, remote_addr: Option<SocketAddr>) -> Request {
        Request {
            head,
            body,
            remote_addr,
            path_values: Vec::new(),
            path_text: String::new(),
            pattern: None,
            ctx: OnceCell::new(),
            wire: None,
            deferred_read_deadline: None,
        }
    }

    /// A connection's request slot: the server fills it in place for each
    /// request it reads off `wire` (`Parts` through [`parts_mut`], the
    /// body through [`set_body`]) and [`recycle`]s it after, so a request
    /// costs no move of this struct and keeps its header map's room.
    ///
    /// [`parts_mut`]: Self::parts_mut
    /// [`set_body`]: Self::set_body
    /// [`recycle`]: Self::recycle
    pub(crate) fn slot(remote_addr: Option<SocketAddr>, wire: Arc<Wire>) -> Request {
        let (head, ()) = http::Request::new(()).into_parts();
        Request { wire: Some(wire), ..Request::from_parts(head, Body::empty(), remote_addr) }
    }

    /// The head, for the server's parser to fill in place.
    pub(crate) fn parts_mut(&mut self) -> &mut Parts {
        &mut self.head
    }

    /// The server is done with the request in this slot (its context
    /// ended): everything it carried goes, except the room of its header
    /// map and path-value list; whatever a handler swapped in is replaced
    /// by the connection's own `remote_addr` and `wire`.
    pub(crate) fn recycle(&mut self, remote_addr: Option<SocketAddr>, wire: &Arc<Wire>) {
        // The target and header values are slices of the connection's read
        // buffer, which is reused only once none is left.
        self.head.uri = Uri::default();
        crate::header_pool::clear(&mut self.head.headers);
        self.head.extensions.clear();
        self.body = Body::empty();
        self.remote_addr = remote_addr;
        self.path_values.clear();
        self.path_text.clear();
        self.pattern = None;
        self.ctx = OnceCell::new();
        self.deferred_read_deadline = None;
        if !self.wire.as_ref().is_some_and(|w| Arc::ptr_eq(w, wire)) {
            self.wire = Some(Arc::clone(wire));
        }
    }

    /// Gives the header map back to the pool, for a connection about to
    /// wait holding nothing, or to end.
    pub(crate) fn release_room(&mut self) {
        crate::header_pool::MAPS.put(std::mem::take(&mut self.head.headers));
    }

    /// The request's context (Go's `r.Context()`). On a server it ends when
    /// the client's connection closes, when the handler returns, or when
    /// the server shuts down; elsewhere it is the one set with
    /// [`set_context`](Self::set_context), else `background()`.
    ///
    /// A server notices the client going away by a goroutine that peeks at
    /// the connection, started on the first call; it stops watching once
    /// the client sends more (a pipelined request, or body the handler has
    /// not read yet), as Go's background read does.
    pub fn context(&self) -> &Context {
        &self
            .ctx
            .get_or_init(|| match &self.wire {
                Some(wire) => watch(wire, self.deferred_read_deadline),
                None => ReqCtx { ctx: Context::background(), cancel: None, watcher: None },
            })
            .ctx
    }

    /// Sets the request's context (Go's `WithContext`); a client request
    /// is cancelled through it.
    pub fn set_context(&mut self, ctx: Context) {
        self.ctx = OnceCell::from(ReqCtx { ctx, cancel: None, watcher: None });
    }

    /// The server did not set the connection's read deadline for this
    /// request (it has no body to read); `deadline` is the one it should
    /// have, which the context's watcher applies if it starts.
    pub(crate) fn defer_read_deadline(&mut self, deadline: Option<Instant>) {
        self.deferred_read_deadline = Some(deadline);
    }

    /// The server is done with the request: end its context and stop the
    /// watcher, if one was made, before the connection reads again.
    /// Returns whether the connection's read deadline may have changed
    /// (the watcher sets it).
    pub(crate) fn end_context(&mut self) -> bool {
        let Some(rc) = self.ctx.take() else { return false };
        if let Some(c) = &rc.cancel {
            c.cancel();
        }
        let Some(wire) = &self.wire else { return false };
        if let Some(w) = rc.watcher {
            let _ = wire.conn.set_read_deadline(Some(Instant::now()));
            let _ = w.join();
        }
        true
    }

    /// What the TLS handshake negotiated, on a server request that came
    /// over HTTPS (Go's `r.TLS`); `None` otherwise.
    pub fn tls(&self) -> Option<&crate::TlsInfo> {
        self.wire.as_ref()?.conn.tls()
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
    /// is decoded; `url_path` keeps the bytes the client sent, except the
    /// few a `Uri` cannot hold, `"` `<` `>` `` ` ``, which arrive encoded).
    pub fn url_path(&self) -> &str {
        self.head.uri.path()
    }

    /// The query string without the `?`, if any, as the client sent it
    /// (with the bytes [`url_path`](Self::url_path) names encoded).
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

    /// Go's `ParseForm`: reads the form once, the query's pairs and, for a
    /// `POST`, `PUT` or `PATCH` with `Content-Type:
    /// application/x-www-form-urlencoded`, the body's (read to its end, at
    /// most 10 MiB). [`form_value`](Self::form_value) calls it.
    /// `multipart/form-data` is not parsed.
    ///
    /// # Errors
    /// `InvalidData` for a body past 10 MiB (`http: POST too large`) or a
    /// pair whose name holds a `;`; the body's read error. What parsed
    /// before the error is kept, and a second call reports nothing.
    pub fn parse_form(&mut self) -> io::Result<()> {
        form::parse(self)
    }

    /// Go's `FormValue`: the first value of `name`, the body's before the
    /// query's, parsing the form first if needed and ignoring its errors
    /// as Go does.
    ///
    /// ```
    /// let mut r = gort::http::Request::from(
    ///     http::Request::post("http://h/?a=query&b=2")
    ///         .header("content-type", "application/x-www-form-urlencoded")
    ///         .body("a=body+text&c=%E2%9C%93")
    ///         .unwrap(),
    /// );
    /// assert_eq!(r.form_value("a").as_deref(), Some("body text"));
    /// assert_eq!(r.form_value("b").as_deref(), Some("2"));
    /// assert_eq!(r.post_form_value("c").as_deref(), Some("✓"));
    /// assert_eq!(r.post_form_value("b"), None);
    /// ```
    pub fn form_value(&mut self, name: &str) -> Option<String> {
        let _ = self.parse_form();
        self.extensions().get::<Form>()?.value(name).map(str::to_owned)
    }

    /// Go's `PostFormValue`: the first value of `name` in the body's form.
    pub fn post_form_value(&mut self, name: &str) -> Option<String> {
        let _ = self.parse_form();
        self.extensions().get::<Form>()?.post_value(name).map(str::to_owned)
    }

    /// Go's `BasicAuth`: the user and password of an `Authorization: Basic`
    /// header; `None` without one, or when it does not decode.
    ///
    /// ```
    /// let r = gort::http::Request::from(
    ///     http::Request::get("http://h/").header("authorization", "Basic dXNlcjpwYXNz").body(()).unwrap(),
    /// );
    /// assert_eq!(r.basic_auth(), Some(("user".to_owned(), "pass".to_owned())));
    /// ```
    pub fn basic_auth(&self) -> Option<(String, String)> {
        auth::parse(self.head.headers.get(AUTHORIZATION)?)
    }

    /// The client's address, on a server.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The value a `ServeMux` pattern's `{name}` or `{name...}` wildcard
    /// matched (Go 1.22's `PathValue`).
    pub fn path_value(&self, name: &str) -> Option<&str> {
        let text = &self.path_text;
        self.path_values.iter().find(|(n, _)| text[n.clone()] == *name).map(|(_, at)| &text[at.clone()])
    }

    /// Sets what [`path_value`](Self::path_value) returns for `name`.
    pub fn set_path_value(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        put_path_value(&mut self.path_values, &mut self.path_text, name.as_ref(), value.as_ref());
    }

    /// Records the wildcard value at `span` of the path for `name`,
    /// unescaped: the mux calls this.
    pub(crate) fn set_path_value_at(&mut self, name: &str, span: Range<usize>) {
        let value = unescape(&self.head.uri.path()[span]);
        put_path_value(&mut self.path_values, &mut self.path_text, name, &value);
    }

    /// The `ServeMux` pattern that matched, if a mux routed this request.
    pub fn pattern(&self) -> Option<&str> {
        self.pattern.clone().map(|at| &self.path_text[at])
    }

    /// Records the pattern that matched (the mux calls this).
    pub fn set_pattern(&mut self, pattern: impl AsRef<str>) {
        self.pattern = Some(push_text(&mut self.path_text, pattern.as_ref()));
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

    /// The head and body apart.
    pub(crate) fn into_head_body(self) -> (Parts, Body) {
        (self.head, self.body)
    }
}

/// A server request's context: a child of the server's, ended by a
/// goroutine that sees the client close the connection (see `context`).
/// `deadline`: the read deadline the server deferred, which the watcher's
/// peek must run under.
fn watch(wire: &Arc<Wire>, deadline: Option<Option<Instant>>) -> ReqCtx {
    if let Some(d) = deadline {
        if wire.conn.set_read_deadline(d).is_err() {
            return ReqCtx { ctx: Context::background(), cancel: None, watcher: None };
        }
    }
    let (ctx, cancel) = wire.base.with_cancel();
    let (w, c) = (Arc::clone(wire), cancel.clone());
    let watcher = gort_runtime::go!(move || match w.conn.peek(&mut [0]) {
        // More bytes from the client: it is still there, and the watch ends.
        Ok(1..) => {}
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {}
        // EOF, a reset, or the deadline `end_context` sets to stop us.
        _ => c.cancel(),
    });
    ReqCtx { ctx, cancel: Some(cancel), watcher: Some(watcher) }
}

impl<B: Into<Body>> From<http::Request<B>> for Request {
    fn from(r: http::Request<B>) -> Request {
        let (head, body) = r.into_parts();
        Request::from_parts(head, body.into(), None)
    }
}

/// Appends `value` to `text` and points `name` at it in `values` (fields
/// of a `Request`, passed apart so the value may borrow its path); a name
/// seen for the first time is appended too.
fn put_path_value(
    values: &mut Vec<(Range<usize>, Range<usize>)>,
    text: &mut String,
    name: &str,
    value: &str,
) {
    match values.iter().position(|(n, _)| text[n.clone()] == *name) {
        Some(i) => values[i].1 = push_text(text, value),
        None => {
            let name_at = push_text(text, name);
            values.push((name_at, push_text(text, value)));
        }
    }
}

/// Appends `s` to `text`; returns where it is.
fn push_text(text: &mut String, s: &str) -> Range<usize> {
    let start = text.len();
    text.push_str(s);
    start..text.len()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_values_and_the_pattern_share_one_text_and_a_name_set_again_takes_its_new_value() {
        let mut r = Request::from(http::Request::get("/a%20b/c").body(()).unwrap());
        r.set_path_value("first", "1");
        r.set_path_value_at("second", 1..6);
        r.set_pattern("GET /{first}/{second}");
        r.set_path_value(String::from("first"), "one");
        assert_eq!(r.path_value("first"), Some("one"));
        assert_eq!(r.path_value("second"), Some("a b"));
        assert_eq!(r.path_value("third"), None);
        assert_eq!(r.pattern(), Some("GET /{first}/{second}"));
        assert_eq!(r.path_values.len(), 2);
        let (conn, _) = crate::test::MemConn::new([]);
        r.recycle(None, &Arc::new(Wire::new(Box::new(conn), 4096, None, Context::background())));
        assert_eq!((r.path_value("first"), r.pattern()), (None, None));
    }
}
