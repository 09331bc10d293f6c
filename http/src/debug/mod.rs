//! `/debug/gort/`: a look inside a running gort program over HTTP, in the
//! spirit of Go's `net/http/pprof` and expvar. [`handler`] serves
//!
//! | path | what |
//! |---|---|
//! | `/debug/gort/` | an HTML page charting goroutines, switches/s, run queues and netpoll wake-ups/s |
//! | `/debug/gort/stats` | `gort::stats()` as JSON, with the time it was read (`unix_ms`) |
//! | `/debug/gort/history` | the last five minutes of those, one a second |
//! | `/debug/gort/goroutines` | the goroutine dump as text; `?reason=chan+receive` keeps the goroutines whose state contains the text |
//!
//! Other paths get 404, methods other than GET and HEAD 405.
//!
//! # Files
//! - `history.rs`: the sampler goroutine and its ring of samples.
//! - `goroutines.rs`: the dump endpoint and its `?reason=` filter.
//! - `page.html`: the page, with its script and style inline, so it works
//!   offline. It draws on `<canvas>` from `history` and then polls
//!   `stats` every second, computing rates from the server's timestamps.
//!
//! # Choices
//! - JSON comes from `serde_json` rather than a hand-written writer:
//!   string escaping and number formatting are easy to get subtly wrong,
//!   and the crate was already in the build (criterion uses it).
//! - The samples hold cumulative counters; the page alone turns them into
//!   rates, so history and live polls go through one computation.

mod goroutines;
mod history;

use std::io;

use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::handler::Handler;
use crate::reply;
use crate::request::Request;
use crate::response::ResponseWriter;
use history::Sample;

/// Where [`handler`] expects to be mounted. Under another prefix, wrap it
/// in [`strip_prefix`](crate::strip_prefix): it then routes on the whole
/// path.
const PREFIX: &str = "/debug/gort";

/// The page, served at the prefix itself.
const PAGE: &str = include_str!("page.html");

/// The `/debug/gort/` handler; mount it with
/// `mux.handle("/debug/gort/", gort::http::debug::handler())`. The first
/// call starts the goroutine that samples the runtime once a second
/// (named "gort debug sampler"), so the page has five minutes of history
/// once the program has run that long. See the module doc for the paths.
///
/// ```
/// let mut mux = gort::http::ServeMux::new();
/// mux.handle("/debug/gort/", gort::http::debug::handler());
/// let out = gort::http::test::serve_raw(&mux, b"GET /debug/gort/stats HTTP/1.1\r\nHost: h\r\n\r\n");
/// let out = String::from_utf8(out).unwrap();
/// assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(out.contains("Content-Type: application/json\r\n") && out.contains("\"gs\":"));
/// ```
pub fn handler() -> impl Handler {
    history::start();
    serve
}

fn serve(w: &mut ResponseWriter, r: &mut Request) -> io::Result<()> {
    if r.method() != Method::GET && r.method() != Method::HEAD {
        w.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return reply::error(w, "Method Not Allowed", StatusCode::METHOD_NOT_ALLOWED);
    }
    let path = r.url_path();
    match path.strip_prefix(PREFIX).unwrap_or(path) {
        "/" => respond(w, "text/html; charset=utf-8", PAGE.as_bytes()),
        "/stats" => json(w, &sample_json(&Sample::now())),
        "/history" => json(w, &history_json(&history::samples())),
        "/goroutines" => goroutines::serve(w, r),
        _ => reply::not_found(w, r),
    }
}

fn json(w: &mut ResponseWriter, v: &Value) -> io::Result<()> {
    respond(w, "application/json", &serde_json::to_vec(v)?)
}

fn respond(w: &mut ResponseWriter, content_type: &'static str, body: &[u8]) -> io::Result<()> {
    let h = w.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    io::Write::write_all(w, body)
}

/// `{"interval_ms": 1000, "samples": [<sample_json>…]}`, oldest first.
fn history_json(samples: &[Sample]) -> Value {
    let samples: Vec<Value> = samples.iter().map(sample_json).collect();
    json!({ "interval_ms": history::INTERVAL.as_millis() as u64, "samples": samples })
}

/// Every field of `gort::Stats` under its own name, and `unix_ms`.
fn sample_json(s: &Sample) -> Value {
    let st = &s.stats;
    json!({
        "unix_ms": s.unix_ms,
        "gs": st.gs,
        "spawned": st.spawned,
        "ms": st.ms,
        "ps": st.ps,
        "idle_ps": st.idle_ps,
        "spinning": st.spinning,
        "switches": st.switches,
        "switches_per_p": st.switches_per_p,
        "steals": st.steals,
        "parks": st.parks,
        "global_queue": st.global_queue,
        "local_queues": st.local_queues,
        "local_queue_per_p": st.local_queue_per_p,
        "netpoll_wakes": st.netpoll_wakes,
        "timers": st.timers,
        "stacks": st.stacks,
        "free_stacks": st.free_stacks,
    })
}
