//! The gort client against HTTPS servers that are wrong: a certificate for
//! another name, an expired one, one from an untrusted root, a server that
//! accepts and says nothing, and one that answers the ClientHello with
//! plain bytes. Each gets an error that names the host and the reason, and
//! leaves no descriptor open (counted in a child process of its own, so
//! other tests' sockets do not blur the count). And a dial whose only
//! waiter gave up is cut, not left to run to its timeout (issue #15).

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
