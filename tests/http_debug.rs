//! `gort::http::debug::handler()` over real sockets, in raw bytes: the
//! stats and history JSON parse and carry the runtime's figures, the
//! goroutine dump is text and `?reason=` keeps only the matching blocks,
//! unknown paths get 404 and other methods 405 with `Allow`; many clients
//! at once all get whole answers.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use gort::http::{test, ServeMux};
use serde_json::Value;

/// Goroutines the tests park on a channel, so the figures have something
/// to show.
const PARKED: usize = 64;

fn server() -> test::Server {
    let mut mux = ServeMux::new();
    mux.handle("/debug/gort/", gort::http::debug::handler());
    test::Server::new(mux)
}

/// A response: the status line, the header lines, the body.
struct Reply {
    status: String,
    headers: Vec<String>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{}: ", name.to_ascii_lowercase());
        self.headers.iter().find(|h| h.to_ascii_lowercase().starts_with(&prefix)).map(|h| &h[prefix.len()..])
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("a UTF-8 body")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends `METHOD target HTTP/1.0` and reads the response to EOF (HTTP/1.0:
/// the body is never chunked).
fn exchange(srv: &test::Server, method: &str, target: &str) -> Reply {
    exchange_at(srv.addr(), method, target)
}

fn exchange_at(addr: SocketAddr, method: &str, target: &str) -> Reply {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(c, "{method} {target} HTTP/1.0\r\nHost: t\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8(raw[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n").map(str::to_owned);
    let status = lines.next().unwrap();
    Reply { status, headers: lines.collect(), body: raw[end + 4..].to_vec() }
}

fn get(srv: &test::Server, target: &str) -> Reply {
    let r = exchange(srv, "GET", target);
    assert_eq!(r.status, "HTTP/1.0 200 OK", "GET {target}: {}", r.text());
    r
}

/// Starts [`PARKED`] goroutines and returns once `gort::dump` shows them
/// blocked in a channel receive; dropping the sender ends them.
fn park_some() -> (gort::chan::Sender<()>, Vec<gort::JoinHandle<()>>) {
    let (tx, rx) = gort::chan::bounded::<()>(0);
    let hs = (0..PARKED)
        .map(|_| {
            let rx = rx.clone();
            gort::go!(move || {
                let _ = rx.recv();
            })
        })
        .collect();
    let parked = common::wait_until(Duration::from_secs(10), || {
        let mut dump = Vec::new();
        gort::dump(&mut dump).unwrap();
        String::from_utf8_lossy(&dump).matches("[chan receive").count() >= PARKED
    });
    assert!(parked, "{PARKED} goroutines never all parked");
    (tx, hs)
}

fn release((tx, hs): (gort::chan::Sender<()>, Vec<gort::JoinHandle<()>>)) {
    drop(tx);
    hs.into_iter().for_each(|h| h.join().unwrap());
}

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no number {key:?} in {v}"))
}

#[test]
fn stats_are_json_with_the_runtime_figures() {
    let srv = server();
    let parked = park_some();
    let r = get(&srv, "/debug/gort/stats");
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(r.header("Content-Length"), Some(r.body.len().to_string().as_str()));
    let v = r.json();
    let ps = gort::stats().ps;
    assert_eq!(num(&v, "ps"), ps as u64);
    assert!(num(&v, "gs") >= PARKED as u64, "{v}");
    assert!(num(&v, "spawned") >= num(&v, "gs"), "{v}");
    assert!(num(&v, "switches") >= PARKED as u64, "{v}");
    assert!(num(&v, "ms") >= 1 && num(&v, "unix_ms") > 1_700_000_000_000, "{v}");
    for per_p in ["switches_per_p", "local_queue_per_p"] {
        assert_eq!(v[per_p].as_array().map(Vec::len), Some(ps), "{per_p} in {v}");
    }
    for key in ["idle_ps", "spinning", "steals", "parks", "global_queue", "local_queues", "netpoll_wakes"] {
        num(&v, key);
    }
    release(parked);
}

#[test]
fn history_gathers_a_sample_a_second() {
    let srv = server();
    let mut v = Value::Null;
    let filled = common::wait_until(Duration::from_secs(10), || {
        v = get(&srv, "/debug/gort/history").json();
        v["samples"].as_array().is_some_and(|s| s.len() >= 3)
    });
    assert!(filled, "fewer than 3 samples after 10 s: {v}");
    assert_eq!(num(&v, "interval_ms"), 1000);
    let t: Vec<u64> = v["samples"].as_array().unwrap().iter().map(|s| num(s, "unix_ms")).collect();
    assert!(t.windows(2).all(|w| w[1] > w[0]), "samples out of order: {t:?}");
    assert!(t.len() <= 300, "{} samples", t.len());
    let last = &v["samples"][t.len() - 1];
    assert!(num(last, "gs") >= 1 && num(last, "ps") >= 1, "{last}");
}

#[test]
fn goroutines_are_the_dump_as_text() {
    let srv = server();
    let parked = park_some();
    let r = get(&srv, "/debug/gort/goroutines");
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    let text = r.text();
    let headers = || text.lines().filter(|l| l.starts_with("goroutine "));
    assert!(headers().filter(|l| l.contains("[chan receive")).count() >= PARKED, "{text}");
    assert!(headers().any(|l| l.contains("\"gort debug sampler\" [sleep")), "no sampler: {text}");
    assert!(headers().any(|l| l.contains("[running on M")), "the serving goroutine runs: {text}");
    release(parked);
}

#[test]
fn reason_keeps_only_the_matching_goroutines() {
    let srv = server();
    let parked = park_some();
    let text = get(&srv, "/debug/gort/goroutines?reason=chan+receive").text();
    let headers: Vec<_> = text.lines().filter(|l| l.starts_with("goroutine ")).collect();
    assert!(headers.len() >= PARKED, "{text}");
    assert!(headers.iter().all(|l| l.contains("[chan receive")), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("  spawned at ")).count(), headers.len(), "{text}");
    let sleeping = get(&srv, "/debug/gort/goroutines?reason=sle%65p").text();
    assert!(sleeping.contains("\"gort debug sampler\" [sleep"), "{sleeping}");
    assert!(!sleeping.contains("[chan receive"), "{sleeping}");
    assert_eq!(get(&srv, "/debug/gort/goroutines?reason=no+such+state").body, b"");
    release(parked);
}

#[test]
fn the_page_is_html_with_its_script_inline() {
    let srv = server();
    let r = get(&srv, "/debug/gort/");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    let html = r.text();
    assert!(html.contains("<canvas") && html.contains("fetch(\"stats\""), "{html}");
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "an external asset: {html}");
    let head = exchange(&srv, "HEAD", "/debug/gort/");
    assert_eq!(head.status, "HTTP/1.0 200 OK");
    assert!(head.body.is_empty(), "HEAD got a body");
}

#[test]
fn unknown_paths_are_404() {
    let srv = server();
    for target in ["/debug/gort/nope", "/debug/gort/stats/", "/debug/gort/stats/x", "/debug/gort/page.html"] {
        let r = exchange(&srv, "GET", target);
        assert_eq!(r.status, "HTTP/1.0 404 Not Found", "{target}");
        assert_eq!(r.text(), "404 page not found\n", "{target}");
    }
}

#[test]
fn other_methods_are_405_with_allow() {
    let srv = server();
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        for target in ["/debug/gort/", "/debug/gort/stats", "/debug/gort/goroutines"] {
            let r = exchange(&srv, method, target);
            assert_eq!(r.status, "HTTP/1.0 405 Method Not Allowed", "{method} {target}");
            assert_eq!(r.header("Allow"), Some("GET, HEAD"), "{method} {target}");
        }
    }
}

#[test]
fn many_clients_at_once_get_whole_answers() {
    const CLIENTS: usize = 16;
    const ROUNDS: usize = 20;
    let srv = server();
    let parked = park_some();
    let addr = srv.addr();
    std::thread::scope(|s| {
        for i in 0..CLIENTS {
            s.spawn(move || {
                for j in 0..ROUNDS {
                    let target =
                        ["/debug/gort/stats", "/debug/gort/history", "/debug/gort/goroutines?reason=chan"]
                            [(i + j) % 3];
                    let r = exchange_at(addr, "GET", target);
                    assert_eq!(r.status, "HTTP/1.0 200 OK", "{target}");
                    if target.contains("goroutines") {
                        assert!(r.text().matches("[chan receive").count() >= PARKED, "{target}");
                    } else {
                        assert!(r.json().is_object(), "{target}");
                    }
                }
            });
        }
    });
    release(parked);
}
