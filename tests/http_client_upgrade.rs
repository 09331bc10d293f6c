//! `Response::upgrade`: a `101 Switching Protocols` and a 2xx to
//! `CONNECT` hand the client's connection over, both ways, with the bytes
//! the server sent behind the head; anything else refuses; the handed-over
//! connection leaves the pool and frees its host's slot when dropped.

#[path = "common/http_servers.rs"]
mod servers;

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use gort::http::{header, Client, Method, Request, ResponseWriter, StatusCode};
use servers::{read_all, read_request, send, text, Counted, Raw};

/// A handler that switches to an echo protocol: it hijacks, sends the
/// 101 head with `greeting` in the same write, then echoes until EOF.
fn echo_upgrade(greeting: &'static [u8]) -> impl gort::http::Handler {
    move |w: &mut ResponseWriter, r: &mut Request| {
        if r.headers().get(header::UPGRADE).map(|v| v.as_bytes()) != Some(b"echo") {
            return w.write_all(b"no upgrade asked");
        }
        let (mut tcp, _) = w.hijack()?;
        let mut head =
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n".to_vec();
        head.extend_from_slice(greeting);
        tcp.write_all(&head)?;
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf)? {
                0 => return Ok(()),
                n => tcp.write_all(&buf[..n])?,
            }
        }
    }
}

fn upgrade_request(url: &str) -> Request {
    Request::builder()
        .uri(url)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "echo")
        .build()
        .unwrap()
}

#[test]
fn a_101_hands_the_connection_over_with_the_bytes_behind_its_head() {
    let srv = gort::http::test::Server::new(echo_upgrade(b"hello"));
    let mut resp = Client::new().send(upgrade_request(&srv.url("/chat"))).unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(resp.header("upgrade"), Some("echo"));
    // The body reads the new protocol's bytes; the upgrade takes the rest.
    let mut he = [0u8; 2];
    resp.body().read_exact(&mut he).unwrap();
    assert_eq!(&he, b"he");
    let mut conn = resp.upgrade().unwrap();
    let mut llo = [0u8; 3];
    conn.read_exact(&mut llo).unwrap();
    assert_eq!(&llo, b"llo", "the greeting the server sent behind the head");
    for msg in [&b"ping"[..], b"a longer message, twice", b"x"] {
        conn.write_all(msg).unwrap();
        let mut back = vec![0u8; msg.len()];
        conn.read_exact(&mut back).unwrap();
        assert_eq!(back, msg);
    }
    conn.shutdown_write();
    assert_eq!(conn.read(&mut [0u8; 8]).unwrap(), 0, "the server's EOF after ours");
}

#[test]
fn a_reader_and_a_writer_goroutine_share_an_upgraded_connection() {
    const MSGS: usize = 2_000;
    let srv = gort::http::test::Server::new(echo_upgrade(b""));
    for round in 0..5 {
        let resp = Client::new().send(upgrade_request(&srv.url("/"))).unwrap();
        let conn = Arc::new(resp.upgrade().unwrap());
        let writer = {
            let conn = Arc::clone(&conn);
            gort::go!(move || {
                for i in 0..MSGS {
                    (&*conn).write_all(format!("{i:05}\n").as_bytes()).unwrap();
                }
                conn.shutdown_write();
            })
        };
        let mut got = String::new();
        (&*conn).read_to_string(&mut got).unwrap();
        writer.join().unwrap();
        let want: String = (0..MSGS).map(|i| format!("{i:05}\n")).collect();
        assert!(got == want, "round {round}: {} bytes back of {}", got.len(), want.len());
    }
}

#[test]
fn a_connect_tunnel_is_handed_over_and_names_its_host() {
    let srv = Raw::new(|mut s, _| {
        let Some((head, _)) = read_request(&mut s) else { return };
        let line = head.lines().next().unwrap_or("").to_owned();
        send(&mut s, b"HTTP/1.1 200 Connection Established\r\n\r\n");
        send(&mut s, format!("{line}\n").as_bytes());
        let mut buf = [0u8; 64];
        while let Ok(n @ 1..) = s.read(&mut buf) {
            send(&mut s, &buf[..n]);
        }
    });
    let req = Request::builder().method(Method::CONNECT).uri(srv.url("")).build().unwrap();
    let resp = Client::new().send(req).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    assert_eq!(resp.status(), StatusCode::OK);
    let mut conn = resp.upgrade().unwrap();
    conn.set_read_deadline(Some(deadline));
    let want = format!("CONNECT {} HTTP/1.1\n", srv.addr());
    let mut line = vec![0u8; want.len()];
    conn.read_exact(&mut line).unwrap();
    assert_eq!(String::from_utf8(line).unwrap(), want, "authority-form target");
    conn.write_all(b"through the tunnel").unwrap();
    let mut back = [0u8; 18];
    conn.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"through the tunnel");
}

#[test]
fn an_ordinary_response_refuses_to_upgrade_and_keeps_its_connection_pooled() {
    let srv = Counted::new(text("plain"));
    let client = Client::new();
    let e = client.get(&srv.url("/")).unwrap().upgrade().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("101 Switching Protocols"), "{e}");
    // The refused response's body was dropped unread and drained: the
    // connection went back and serves the next request.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(read_all(client.get(&srv.url("/")).unwrap().body()).unwrap(), "plain");
    assert_eq!(srv.conns(), 1);
}

#[test]
fn a_dropped_upgraded_connection_closes_and_frees_its_hosts_slot() {
    let srv = gort::http::test::Server::new(echo_upgrade(b""));
    let client = Client::builder().max_conns_per_host(1).timeout(Duration::from_secs(10)).build().unwrap();
    let conn = client.send(upgrade_request(&srv.url("/"))).unwrap().upgrade().unwrap();
    drop(conn);
    // With the only slot still taken this would wait for the timeout.
    let r = client.get(&srv.url("/")).unwrap();
    assert_eq!(read_all(r.into_body()).unwrap(), "no upgrade asked");
}

#[test]
fn an_upgrade_after_the_server_closed_the_tunnel_is_not_connected() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        send(&mut s, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nbye");
    });
    let mut resp = Client::new().send(upgrade_request(&srv.url("/"))).unwrap();
    assert_eq!(read_all(resp.body()).unwrap(), "bye", "the body reads the tunnel to the server's close");
    let e = resp.upgrade().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotConnected, "{e}");
}

#[test]
fn a_tunnel_is_never_gunzipped() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        send(
            &mut s,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nContent-Encoding: gzip\r\n\r\nplain",
        );
    });
    let mut resp = Client::new().send(upgrade_request(&srv.url("/"))).unwrap();
    assert!(!resp.uncompressed());
    assert_eq!(read_all(resp.body()).unwrap(), "plain", "the new protocol's bytes as they came");
}
