//! `Client`: Go's `http.Client` — requests by URL, redirects (at most 10,
//! the method rules of `redirect.rs`, a `check_redirect` hook), and a
//! timeout over the whole exchange, on top of a [`Transport`] that clones
//! share. [`Response`] is what comes back.
//!
//! The client is plain blocking code: call it from a goroutine (a wait
//! parks the goroutine) or from a plain thread (it blocks the thread).

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, LOCATION, REFERER};
use http::response::Parts;
use http::{HeaderMap, Method, StatusCode, Uri, Version};

use crate::body::Body;
use crate::client_builder::ClientBuilder;
use crate::request::Request;
use crate::transport::Transport;
use crate::{auth, redirect};

/// The most requests a redirect chain makes by default: the tenth
/// response's redirect is an error (Go's `defaultCheckRedirect`).
const MAX_REDIRECTS: usize = 10;

/// An HTTP client: see the module doc.
///
/// ```no_run
/// use std::io::Read;
/// let client = gort::http::Client::new();
/// let mut resp = client.get("http://127.0.0.1:8080/hello/gopher")?;
/// let code: u16 = resp.status().into();
/// let mut body = String::new();
/// resp.body().read_to_string(&mut body)?; // at its end the connection goes back to the pool
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    transport: Transport,
    policy: Arc<Policy>,
}

/// A `check_redirect` hook: the next request and the URLs so far.
pub(crate) type CheckRedirect = dyn Fn(&Request, &[Uri]) -> io::Result<()> + Send + Sync;

/// What the client adds to its transport.
pub(crate) struct Policy {
    pub(crate) timeout: Option<Duration>,
    pub(crate) check_redirect: Option<Box<CheckRedirect>>,
}

impl Client {
    /// A client with the default settings and a pool of its own, which its
    /// clones share.
    pub fn new() -> Client {
        Client::builder().build().expect("Client::new: the default settings have no PEM to reject")
    }

    pub(crate) fn with(transport: Transport, policy: Policy) -> Client {
        Client { transport, policy: Arc::new(policy) }
    }

    /// A builder to set timeouts, pool limits and TLS roots.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// `GET url`.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn get(&self, url: &str) -> io::Result<Response> {
        self.send(Request::builder().uri(url).build()?)
    }

    /// `HEAD url`.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn head(&self, url: &str) -> io::Result<Response> {
        self.send(Request::builder().method(Method::HEAD).uri(url).build()?)
    }

    /// `POST url` with `body` streamed as it is read (see
    /// [`RequestBuilder::body`](crate::RequestBuilder::body) for when it is
    /// sent with `Content-Length` and when chunked).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn post(
        &self,
        url: &str,
        content_type: &str,
        body: impl Read + Send + 'static,
    ) -> io::Result<Response> {
        self.send(
            Request::builder().method(Method::POST).uri(url).header(CONTENT_TYPE, content_type).body(body)?,
        )
    }

    /// Sends `req`, following redirects, and returns the final response
    /// once its head has arrived; read its body to its end (or drop it) to
    /// give the connection back. A redirected request carries `Referer`
    /// as Go sets it (the URL it came from, never down from `https` to
    /// `http`; one `req` set stays). A URL's `user:password@` is sent as
    /// Basic credentials when `req` sets no `Authorization` (Go's rule).
    ///
    /// # Errors
    /// The request's context's error when it ended (see
    /// [`gort::context::Error`](gort_runtime::context::Error)); `TimedOut`
    /// past a timeout; `InvalidData` for a response that breaks HTTP/1.1
    /// (the message says how); a dial or socket error; the error of the
    /// `check_redirect` hook.
    pub fn send(&self, req: Request) -> io::Result<Response> {
        let deadline = self.policy.timeout.map(|t| Instant::now() + t);
        let ctx = req.context().clone();
        let (mut head, mut body) = req.into_head_body();
        let initial = head.uri.clone();
        let explicit_referer = head.headers.get(REFERER).cloned();
        let mut via: Vec<Uri> = Vec::new();
        loop {
            let replay = body.replay();
            let added = auth::add_from_userinfo(&head.uri, &mut head.headers);
            let resp = self.transport.exchange(&head, body, &ctx, deadline);
            if added {
                head.headers.remove(AUTHORIZATION);
            }
            let resp = resp?;
            let Some(f) = redirect::follow(resp.status(), &head.method) else { return Ok(resp) };
            let next_body = if f.keep_body { replay } else { Some(Body::empty()) };
            // A 3xx without a Location (or with an empty one) is the answer, as in Go.
            let loc = resp.headers().get(LOCATION).filter(|l| !l.is_empty());
            let (Some(loc), Some(next_body)) = (loc, next_body) else {
                return Ok(resp);
            };
            let to = redirect::resolve(&head.uri, loc.as_bytes())?;
            let from = std::mem::replace(&mut head.uri, to);
            head.method = f.method;
            redirect::carry_headers(&mut head.headers, &initial, &head.uri, f.keep_body);
            match redirect::referer(explicit_referer.as_ref(), &from, &head.uri) {
                Some(r) => head.headers.insert(REFERER, r),
                None => head.headers.remove(REFERER),
            };
            via.push(from);
            let next = Request::from_parts(head, next_body, None);
            match self.check(&next, &via) {
                Ok(()) => {}
                Err(e) if e.get_ref().is_some_and(|e| e.is::<UseLastResponse>()) => return Ok(resp),
                Err(e) => return Err(e),
            }
            drop(resp);
            (head, body) = next.into_head_body();
        }
    }

    /// The redirect policy: the hook if set, else at most 10 requests in
    /// all (`via` holds those made so far).
    fn check(&self, next: &Request, via: &[Uri]) -> io::Result<()> {
        match &self.policy.check_redirect {
            Some(f) => f(next, via),
            None if via.len() >= MAX_REDIRECTS => {
                Err(io::Error::other(format!("stopped after {MAX_REDIRECTS} redirects")))
            }
            None => Ok(()),
        }
    }

    /// The transport the client's requests go through.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("timeout", &self.policy.timeout).finish_non_exhaustive()
    }
}

/// Returned from a `check_redirect` hook, stops following and returns the
/// redirect response itself, body unread (Go's `ErrUseLastResponse`).
///
/// ```
/// let client = gort::http::Client::builder()
///     .check_redirect(|_next, _via| Err(gort::http::use_last_response()))
///     .build()?;
/// # drop(client);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn use_last_response() -> io::Error {
    io::Error::other(UseLastResponse)
}

#[derive(Debug)]
struct UseLastResponse;

impl fmt::Display for UseLastResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("use last response")
    }
}

impl std::error::Error for UseLastResponse {}

/// A response as the client received it; its body reads off the
/// connection.
///
/// Read the body to its end to give the connection back to the pool;
/// dropped earlier, the rest is drained if it is short (≤ 256 KiB, read
/// within 50 ms), else the connection closes.
pub struct Response {
    head: Parts,
    body: Body,
    uncompressed: bool,
}

impl Response {
    pub(crate) fn new(
        status: StatusCode,
        version: Version,
        headers: HeaderMap,
        body: Body,
        uncompressed: bool,
    ) -> Response {
        let (mut head, ()) = http::Response::new(()).into_parts();
        (head.status, head.version, head.headers) = (status, version, headers);
        Response { head, body, uncompressed }
    }

    /// The status (`u16::from(resp.status())` for the number).
    pub fn status(&self) -> StatusCode {
        self.head.status
    }

    /// The header fields.
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// The protocol version the server answered with.
    pub fn version(&self) -> Version {
        self.head.version
    }

    /// Whether the server sent the body in gzip, which the transport asked
    /// for and now decodes as the body is read (Go's `Uncompressed`; see
    /// [`ClientBuilder::disable_compression`](crate::ClientBuilder::disable_compression)).
    /// The headers then hold no `Content-Encoding` or `Content-Length`.
    pub fn uncompressed(&self) -> bool {
        self.uncompressed
    }

    /// The body, to read.
    pub fn body(&mut self) -> &mut Body {
        &mut self.body
    }

    /// The body, taken out.
    pub fn into_body(self) -> Body {
        self.body
    }

    /// Takes the connection over after a `101 Switching Protocols` (a
    /// WebSocket, say) or a 2xx to `CONNECT`, for the new protocol's
    /// bytes both ways; until then the body reads the server's side of it.
    /// See [`Upgraded`](crate::Upgraded), which has an example.
    ///
    /// # Errors
    /// `InvalidInput` for any other response; `NotConnected` when the
    /// body was read to the server's close; the request context's error
    /// when it ended and closed the connection.
    pub fn upgrade(self) -> io::Result<crate::Upgraded> {
        self.body.upgrade()
    }

    /// The cookies the response sets, one per `Set-Cookie` that parses
    /// (Go's `Response.Cookies`).
    pub fn cookies(&self) -> impl Iterator<Item = crate::Cookie<'_>> {
        crate::cookies::set_by(&self.head.headers)
    }

    /// A header's value as text, if present and UTF-8 (Go's `Header.Get`;
    /// a value in another encoding is in [`headers`](Self::headers), as
    /// bytes).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.headers.get(name).and_then(|v: &HeaderValue| std::str::from_utf8(v.as_bytes()).ok())
    }
}

impl From<Response> for http::Response<Body> {
    fn from(r: Response) -> http::Response<Body> {
        http::Response::from_parts(r.head, r.body)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.head.status)
            .field("version", &self.head.version)
            .field("headers", &self.head.headers)
            .finish_non_exhaustive()
    }
}
