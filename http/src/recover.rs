//! Running a handler the way the server does (Go's `conn.serve` with its
//! deferred `recover`): an error or a panic ends the exchange, becomes a
//! 500 when nothing was written yet (Go sends nothing; a client reads a
//! status instead of a cut connection), and is logged with the request
//! line and the goroutine's name (an error only when no write to the
//! client failed before it: that failure is the client's doing).
//! `OPTIONS *` is answered here, before any handler, as Go's
//! `serverHandler` does.

use std::panic::{catch_unwind, AssertUnwindSafe};

use http::{Method, StatusCode};

use crate::request::Request;
use crate::response::ResponseWriter;
use crate::server::Config;
use crate::wire::Wire;
use crate::Handler;

/// Calls the handler, turning an error or a panic into a 500 (when
/// nothing was written yet) and a log line. True when it returned Ok.
pub(crate) fn run_handler(
    handler: &dyn Handler,
    config: &Config,
    wire: &Wire,
    remote: Option<std::net::SocketAddr>,
    w: &mut ResponseWriter,
    req: &mut Request,
) -> bool {
    if req.method() == Method::OPTIONS && req.uri() == "*" {
        w.headers_mut().insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_static("0"));
        return true;
    }
    let line = |r: &Request| format!("{} {} {:?}", r.method(), r.uri(), r.version());
    let failure = match catch_unwind(AssertUnwindSafe(|| handler.serve_http(w, req))) {
        Ok(Ok(())) => return true,
        // A handler that fails because a write to its client failed (the
        // client went away, or the write deadline passed) reports the
        // client's doing, which Go does not log either: only its own
        // errors are logged, so aborted downloads cannot flood the log.
        Ok(Err(_)) if w.broken() => None,
        Ok(Err(e)) => {
            config.log(&format!("http: handler error serving {}: {e}", line(req)));
            None
        }
        Err(p) => Some(panic_message(&*p)),
    };
    if let Some(msg) = failure {
        let who = match gort_runtime::current() {
            Some(g) => format!("goroutine {} {:?}", g.id(), g.name().unwrap_or("")),
            None => "a plain thread".to_owned(),
        };
        config.log(&format!("http: panic serving {} ({}) in {who}: {msg}", peer(remote), line(req)));
    }
    if w.committed() {
        w.abort();
    } else if !wire.hijacked() {
        w.fail(StatusCode::INTERNAL_SERVER_ERROR, "500 Internal Server Error\n");
    }
    false
}

/// The client's address for a log line (`-` when the stream has none).
pub(crate) fn peer(remote: Option<std::net::SocketAddr>) -> String {
    remote.map_or_else(|| "-".to_owned(), |a| a.to_string())
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}
