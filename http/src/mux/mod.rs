//! `ServeMux`: Go 1.22's request router. It owns the table of routes
//! (pattern, handler, where it was registered), refuses conflicting
//! patterns at registration, and on each request picks the most specific
//! match, or answers itself: a redirect to the clean path or the subtree,
//! 405 with `Allow`, or 404.
//!
//! # Files
//! - `pattern.rs`: parsing patterns, and how two relate (precedence,
//!   conflicts).
//! - `tree.rs`: the routing tree a request walks.
//! - `path.rs`: cleaning, decoding segments, stripping the port.
//!
//! # Invariants
//! - No two routes in the table conflict (same host, and equivalent or
//!   overlapping in method and path), so the most specific match is
//!   unique and the tree's first match is it (see `tree.rs`).
//! - The table is fixed once serving starts: registration takes
//!   `&mut self` and a `Server` owns its handler, so a lookup takes no lock.
//! - A lookup that finds a route allocates nothing but the decoded form of
//!   `%`-escaped segments: the path values, their names and the pattern
//!   are copied into the request's reused text buffer.

pub(crate) mod path;
mod pattern;
mod tree;

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::panic::Location;

use http::header::{HeaderValue, ALLOW};
use http::{Method, StatusCode};

use crate::handler::Handler;
use crate::reply;
use crate::request::Request;
use crate::response::ResponseWriter;
use pattern::{Cursor, Invalid, Pattern};
use tree::{RouteId, Tree};

/// Go's `ServeMux`: routes each request to the handler of the most
/// specific pattern that matches it.
///
/// A pattern is `[METHOD ][HOST]/PATH`:
/// - a method matches only that method (`GET` also serves `HEAD`); none
///   matches all;
/// - a host matches requests for that host, whatever the port;
/// - in the path, `{name}` matches one segment, `{name...}` (last only)
///   the rest of the path, `{$}` (last only) the end after a trailing
///   slash, and a trailing `/` the whole subtree. Handlers read wildcards
///   with [`Request::path_value`], decoded.
///
/// The most specific pattern wins: one with a host over one without, then
/// the one that matches a subset of the other's requests. Registering two
/// patterns that match some request with neither more specific panics
/// ([`try_handle`](Self::try_handle) returns the error instead).
///
/// A path with no matching pattern gets 404; one that matches for other
/// methods only, 405 with `Allow`. `/dir` is redirected to `/dir/` when
/// only the subtree matches it, and an unclean path (`//`, `.`, `..`) to
/// its clean form, both with 307.
///
/// ```
/// use std::io::Write;
/// use gort::http::{Request, ResponseWriter, ServeMux};
///
/// let mut mux = ServeMux::new();
/// mux.handle_func("GET /hello/{name}", |w: &mut ResponseWriter, r: &mut Request| {
///     write!(w, "Hello, {}!", r.path_value("name").unwrap_or("world"))
/// });
/// mux.handle_func("GET /{$}", |w: &mut ResponseWriter, _: &mut Request| w.write_all(b"home"));
/// mux.handle_func("/files/{path...}", |w: &mut ResponseWriter, r: &mut Request| {
///     write!(w, "{} {}", r.pattern().unwrap(), r.path_value("path").unwrap())
/// });
///
/// let get = |target: &str| {
///     let req = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
///     String::from_utf8(gort::http::test::serve_raw(&mux, req.as_bytes())).unwrap()
/// };
/// assert!(get("/hello/gopher").ends_with("\r\n\r\nHello, gopher!"));
/// assert!(get("/").ends_with("\r\n\r\nhome"));
/// assert!(get("/files/a%20b/c").ends_with("\r\n\r\n/files/{path...} a b/c"));
/// assert!(get("/nope").starts_with("HTTP/1.1 404 Not Found\r\n"));
///
/// let post = gort::http::test::serve_raw(&mux, b"POST /hello/x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
/// let post = String::from_utf8(post).unwrap();
/// assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
/// assert!(post.contains("\r\nAllow: GET, HEAD\r\n"));
/// ```
#[derive(Default)]
pub struct ServeMux {
    routes: Vec<Route>,
    tree: Tree,
}

/// One registration.
struct Route {
    pattern: Pattern,
    /// The pattern's text, copied into each request it serves.
    text: Box<str>,
    handler: Box<dyn Handler>,
    at: &'static Location<'static>,
}

/// What the mux does with a request.
enum Outcome<'m> {
    Serve(&'m Route),
    Redirect(String),
    /// 405, with the `Allow` value.
    NotAllowed(String),
    NotFound,
}

impl ServeMux {
    /// An empty mux: every request gets 404.
    pub fn new() -> ServeMux {
        ServeMux::default()
    }

    /// Registers `handler` for `pattern`.
    ///
    /// # Panics
    /// When `pattern` is invalid or conflicts with one registered before;
    /// the message names both patterns and where each was registered.
    #[track_caller]
    pub fn handle(&mut self, pattern: &str, handler: impl Handler) {
        if let Err(e) = self.try_handle(pattern, handler) {
            panic!("ServeMux::handle: {e}");
        }
    }

    /// Registers the function `f` for `pattern` (Go's `HandleFunc`).
    ///
    /// # Panics
    /// As [`handle`](Self::handle).
    #[track_caller]
    pub fn handle_func<F>(&mut self, pattern: &str, f: F)
    where
        F: Fn(&mut ResponseWriter, &mut Request) -> io::Result<()> + Send + Sync + 'static,
    {
        self.handle(pattern, f);
    }

    /// Registers `handler` for `pattern`, or says why not.
    ///
    /// ```
    /// let mut mux = gort::http::ServeMux::new();
    /// mux.try_handle("/a/{x}", gort::http::not_found).unwrap();
    /// let e = mux.try_handle("/{y}/b", gort::http::not_found).unwrap_err();
    /// let msg = e.to_string();
    /// assert!(msg.contains("\"/{y}/b\"") && msg.contains("conflicts with pattern \"/a/{x}\""), "{msg}");
    /// ```
    ///
    /// # Errors
    /// [`PatternError`] when `pattern` is invalid or conflicts with a
    /// registered one.
    #[track_caller]
    pub fn try_handle(&mut self, pattern: &str, handler: impl Handler) -> Result<(), PatternError> {
        let at = Location::caller();
        let parsed = Pattern::parse(pattern).map_err(|e| PatternError::invalid(pattern, e))?;
        if let Some(old) = self.routes.iter().find(|r| parsed.conflicts_with(&r.pattern)) {
            return Err(PatternError::conflict(&parsed, at, old));
        }
        let id: RouteId = self.routes.len();
        self.tree.insert(&parsed, id);
        let text = Box::from(pattern);
        self.routes.push(Route { pattern: parsed, text, handler: Box::new(handler), at });
        Ok(())
    }

    /// The handler and pattern that would serve `r` (Go's `Handler`), or
    /// `None` when the mux would answer itself: a redirect, 404 or 405.
    pub fn handler(&self, r: &Request) -> Option<(&dyn Handler, &str)> {
        match self.route(r) {
            Outcome::Serve(route) => Some((&*route.handler, &route.text)),
            _ => None,
        }
    }

    /// Decides what to do with `r` (Go's `findHandler`).
    fn route(&self, r: &Request) -> Outcome<'_> {
        let raw = r.url_path();
        // The host is only looked up (a header search) if a pattern names one.
        let host = if self.tree.has_hosts() { r.host().unwrap_or("") } else { "" };
        // CONNECT targets are neither cleaned nor stripped of their port.
        let (host, path) = if r.method() == Method::CONNECT {
            (host, Cow::Borrowed(raw))
        } else {
            (path::strip_port(host), path::clean(raw))
        };
        let found = self.tree.find(host, r.method(), &path, false);
        if !self.exact(found, &path, false) && !path.ends_with('/') {
            let with_slash = self.tree.find(host, r.method(), &path, true);
            if self.exact(with_slash, &path, true) {
                return Outcome::Redirect(with_query(format!("{path}/"), r.query()));
            }
        }
        if path != raw {
            return Outcome::Redirect(with_query(path.into_owned(), r.query()));
        }
        match found {
            Some(id) => Outcome::Serve(&self.routes[id]),
            None => self.unmatched(host, &path),
        }
    }

    /// Whether route `id` matches `path` (and a `/` when `slash`) exactly.
    fn exact(&self, id: Option<RouteId>, path: &str, slash: bool) -> bool {
        id.is_some_and(|id| self.routes[id].pattern.matches_exactly(path, slash))
    }

    /// 405 when patterns for other methods match the path (or the path and
    /// a `/`, which would redirect), else 404.
    #[cold]
    fn unmatched(&self, host: &str, path: &str) -> Outcome<'_> {
        let mut methods = Vec::new();
        self.tree.methods_for(host, path, false, &mut methods);
        if !path.ends_with('/') {
            self.tree.methods_for(host, path, true, &mut methods);
        }
        if methods.is_empty() {
            return Outcome::NotFound;
        }
        if methods.contains(&Method::GET) {
            methods.push(Method::HEAD);
        }
        let mut names: Vec<&str> = methods.iter().map(Method::as_str).collect();
        names.sort_unstable();
        names.dedup();
        Outcome::NotAllowed(names.join(", "))
    }
}

/// `path?query`, leaving out an empty query.
fn with_query(mut path: String, query: Option<&str>) -> String {
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        path.push('?');
        path.push_str(q);
    }
    path
}

impl Route {
    /// Records the wildcard values and the pattern on `r`, and serves it.
    fn serve(&self, w: &mut ResponseWriter, r: &mut Request) -> io::Result<()> {
        let mut cur = Cursor::default();
        while let Some((name, span)) = self.pattern.next_value(r.url_path(), &mut cur) {
            r.set_path_value_at(name, span);
        }
        r.set_pattern(&self.text);
        self.handler.serve_http(w, r)
    }
}

impl Handler for ServeMux {
    fn serve_http(&self, w: &mut ResponseWriter, r: &mut Request) -> io::Result<()> {
        // Routing is the deepest pure step of a request (the tree walk and
        // its byte searches): on the M's stack, its frames write lines that
        // are already in cache (see `gort::system_stack`). The closure
        // takes the request as `&mut`: a `Request` is `Send` but not `Sync`.
        let req = &mut *r;
        let outcome = gort_runtime::system_stack(move || self.route(req));
        match outcome {
            Outcome::Serve(route) => route.serve(w, r),
            Outcome::Redirect(to) => reply::redirect(w, r, &to, StatusCode::TEMPORARY_REDIRECT),
            Outcome::NotAllowed(allow) => {
                let allow =
                    HeaderValue::from_str(&allow).expect("ServeMux: method names are header-safe tokens");
                w.headers_mut().insert(ALLOW, allow);
                reply::error(w, "Method Not Allowed", StatusCode::METHOD_NOT_ALLOWED)
            }
            Outcome::NotFound => reply::not_found(w, r),
        }
    }
}

impl fmt::Debug for ServeMux {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.routes.iter().map(|r| &r.text)).finish()
    }
}

/// Why a pattern could not be registered: it does not parse, or it
/// conflicts with a registered one (the message names both, and where
/// each was registered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(Repr);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    Invalid { pattern: String, why: Invalid },
    Conflict { new: String, new_at: String, old: String, old_at: String, why: String },
}

impl PatternError {
    fn invalid(pattern: &str, why: Invalid) -> PatternError {
        PatternError(Repr::Invalid { pattern: pattern.to_owned(), why })
    }

    fn conflict(new: &Pattern, new_at: &Location<'_>, old: &Route) -> PatternError {
        PatternError(Repr::Conflict {
            new: new.to_string(),
            new_at: new_at.to_string(),
            old: old.pattern.to_string(),
            old_at: old.at.to_string(),
            why: new.describe_conflict(&old.pattern),
        })
    }

    /// Whether the pattern was refused for a conflict (rather than for not
    /// parsing).
    pub fn is_conflict(&self) -> bool {
        matches!(self.0, Repr::Conflict { .. })
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Invalid { pattern, why } => write!(f, "parsing {pattern:?}: at offset {}: {}", why.offset, why.reason),
            Repr::Conflict { new, new_at, old, old_at, why } => write!(
                f,
                "pattern {new:?} (registered at {new_at}) conflicts with pattern {old:?} (registered at {old_at}): {why}"
            ),
        }
    }
}

impl std::error::Error for PatternError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(mux: &ServeMux, r: http::Request<()>) -> Option<&str> {
        mux.handler(&Request::from(r)).map(|(_, p)| p)
    }

    fn mux(patterns: &[&str]) -> ServeMux {
        let mut mux = ServeMux::new();
        for p in patterns {
            mux.handle(p, crate::reply::not_found);
        }
        mux
    }

    #[test]
    fn connect_paths_are_not_cleaned() {
        let mux = mux(&["CONNECT /a//b", "/"]);
        assert_eq!(lookup(&mux, http::Request::connect("/a//b").body(()).unwrap()), Some("CONNECT /a//b"));
        assert_eq!(lookup(&mux, http::Request::connect("/a/b").body(()).unwrap()), Some("/"));
        assert_eq!(lookup(&mux, http::Request::get("/a//b").body(()).unwrap()), None, "a GET is redirected");
    }

    #[test]
    fn handler_finds_what_would_serve() {
        let mux = mux(&["GET /both", "HEAD /both", "/x/"]);
        assert_eq!(lookup(&mux, http::Request::head("/both").body(()).unwrap()), Some("HEAD /both"));
        assert_eq!(lookup(&mux, http::Request::get("/both").body(()).unwrap()), Some("GET /both"));
        assert_eq!(lookup(&mux, http::Request::post("/both").body(()).unwrap()), None, "405");
        assert_eq!(lookup(&mux, http::Request::get("/x").body(()).unwrap()), None, "redirect");
        assert_eq!(lookup(&mux, http::Request::get("/x/y").body(()).unwrap()), Some("/x/"));
        assert_eq!(lookup(&mux, http::Request::get("http://h:1/x/y").body(()).unwrap()), Some("/x/"));
    }
}
