//! The gort client against HTTPS servers that are wrong: a certificate for
//! another name, an expired one, one from an untrusted root, a server that
//! accepts and says nothing, and one that answers the ClientHello with
//! plain bytes. Each gets an error that names the host and the reason, and
//! leaves no descriptor open (counted in a child process of its own, so
//! other tests' sockets do not blur the count). And a dial whose only
//! waiter gave up is cut, not left to run to its timeout, while one whose
//! request another connection served runs on into the pool (issue #15).

mod common;
#[path = "common/pki.rs"]
mod pki;
#[path = "common/http_servers.rs"]
mod servers;

use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gort::context::Context;
use gort::http::{Client, Request};
use pki::{open_fds, Ca, TlsServer};
use servers::Raw;

const MARKER: &str = "BAD-TLS-CASES-OK";

/// Runs `get` and checks its error; then that every descriptor it and the
/// server's side of it opened is closed again.
fn case(name: &str, url: &str, client: &Client, kind: ErrorKind, text: &[&str]) {
    let base = open_fds();
    let e = client.get(url).expect_err(name);
    let msg = e.to_string();
    assert_eq!(e.kind(), kind, "{name}: {msg}");
    for t in text {
        assert!(msg.contains(t), "{name}: {msg:?} lacks {t:?}");
    }
    assert_eq!(client.transport().idle_connections(), 0, "{name}");
    assert!(common::wait_until(Duration::from_secs(10), || open_fds() <= base), "{name}: an fd leaked");
    println!("{name}: {msg}");
}

/// A server that accepts and never says a word, until the client goes.
fn silent() -> Raw {
    Raw::new(|mut s, _| {
        let _ = s.read_to_end(&mut Vec::new());
    })
}

/// A server that answers the ClientHello with plain HTTP.
fn plain_answer() -> Raw {
    Raw::new(|mut s, _| {
        let _ = s.read(&mut [0u8; 512]);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        let _ = s.read_to_end(&mut Vec::new());
    })
}

#[test]
fn bad_servers_fail_clearly_and_leak_no_fd() {
    if !common::is_child() {
        let out = common::run_child("bad_servers_fail_clearly_and_leak_no_fd", &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(MARKER), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    let (ca, other) = (Ca::new(), Ca::new());
    let wrong = TlsServer::new(servers::text("x"), &ca.leaf(&["wrong.example"]));
    let expired = TlsServer::new(servers::text("x"), &ca.expired_leaf(&["127.0.0.1"]));
    let untrusted = TlsServer::new(servers::text("x"), &other.leaf(&["127.0.0.1"]));
    let good = TlsServer::new(servers::text("fine"), &ca.leaf(&["127.0.0.1"]));
    let (stall, garbage) = (silent(), plain_answer());
    let client = Client::builder()
        .root_certificates_pem(ca.pem().as_bytes())
        .dial_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    // Warm up what stays open for the process (the runtime's poller…).
    assert_eq!(servers::read_all(client.get(&good.url("/")).unwrap().body()).unwrap(), "fine");
    client.transport().close_idle_connections();

    let bad = ErrorKind::InvalidData;
    let not_for = ["tls: 127.0.0.1: certificate is not valid for 127.0.0.1", "wrong.example"];
    case("wrong hostname", &wrong.url("/"), &client, bad, &not_for);
    case("expired", &expired.url("/"), &client, bad, &["tls: 127.0.0.1: certificate has expired"]);
    let unknown = ["tls: 127.0.0.1: certificate signed by unknown authority"];
    case("untrusted root", &untrusted.url("/"), &client, bad, &unknown);
    let stalled = format!("tls: handshake with {}: timed out", stall.addr());
    case("stalled handshake", &https(&stall), &client, ErrorKind::TimedOut, &[&stalled]);
    let corrupt = ["tls: handshake with 127.0.0.1: ", "corrupt message"];
    case("plain bytes for a ServerHello", &https(&garbage), &client, bad, &corrupt);
    println!("{MARKER}");
}

fn https(raw: &Raw) -> String {
    format!("https://{}/", raw.addr())
}

#[test]
fn a_dial_whose_waiter_gave_up_is_cut() {
    let closed = Arc::new(AtomicBool::new(false));
    let c = Arc::clone(&closed);
    let stall = Raw::new(move |mut s, _| {
        let _ = s.read_to_end(&mut Vec::new());
        c.store(true, Ordering::SeqCst);
    });
    let client = Client::builder().dial_timeout(Duration::from_secs(30)).build().unwrap();
    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(200));
    let req = Request::builder().uri(https(&stall)).context(&ctx).build().unwrap();
    let e = client.send(req).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    // The server sees the client's socket close long before the 30 s dial
    // timeout: the dial was cut when its one waiter gave up.
    let cut = common::wait_until(Duration::from_secs(10), || closed.load(Ordering::SeqCst));
    assert!(cut, "the abandoned dial still holds its connection");
}

/// A TCP proxy to `to` that holds every connection after the first for
/// `delay` before passing bytes: a slow handshake for the later dials.
fn delaying_proxy(to: std::net::SocketAddr, delay: Duration) -> Raw {
    Raw::new(move |client, n| {
        if n > 0 {
            std::thread::sleep(delay);
        }
        let Ok(server) = std::net::TcpStream::connect(to) else { return };
        let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        let up = std::thread::spawn(move || std::io::copy(&mut c2, &mut s2));
        let _ = std::io::copy(&mut &server, &mut &client);
        let _ = client.shutdown(std::net::Shutdown::Both);
        let _ = up.join();
    })
}

#[test]
fn a_dial_whose_request_was_served_elsewhere_runs_on_into_the_pool() {
    let ca = Ca::new();
    let slow = |w: &mut gort::http::ResponseWriter, r: &mut Request| {
        let ms = r.url_path().trim_start_matches('/').parse().unwrap_or(0);
        gort::time::sleep(Duration::from_millis(ms));
        w.write_all(b"done")
    };
    let srv = TlsServer::new(slow, &ca.leaf(&["127.0.0.1"]));
    let proxy = delaying_proxy(srv.addr, Duration::from_millis(1200));
    let client = Client::builder().root_certificates_pem(ca.pem().as_bytes()).build().unwrap();
    let url = |ms: u64| format!("https://{}/{ms}", proxy.addr());
    let get = |c: Client, u: String| gort::go!(move || servers::read_all(c.get(&u).unwrap().body()).unwrap());
    // A holds connection 0 for 500 ms; B, 100 ms in, dials (held 1.2 s by
    // the proxy) and is served on connection 0 at 500 ms, for 1 s.
    let a = get(client.clone(), url(500));
    std::thread::sleep(Duration::from_millis(100));
    let b = get(client.clone(), url(1000));
    std::thread::sleep(Duration::from_millis(600));
    // C, at 700 ms, dials too and gives up at 900 ms with nobody waiting:
    // its dial is cut, B's (served elsewhere) is not.
    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(200));
    let c = client.send(Request::builder().uri(url(0)).context(&ctx).build().unwrap());
    assert_eq!(c.unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!((a.join().unwrap(), b.join().unwrap()), ("done".to_owned(), "done".to_owned()));
    let two = common::wait_until(Duration::from_secs(10), || client.transport().idle_connections() == 2);
    assert!(two, "connection 0 and B's dial: {} idle", client.transport().idle_connections());
    assert_eq!(proxy.accepted(), 3, "A's, B's and C's dials");
}
