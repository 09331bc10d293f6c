//! A lingering close over real sockets: when the server closes with the
//! client still sending (a body the handler left unread past what the
//! server drains, or a request rejected before its body), it keeps reading
//! until the client closes, so the client's writes complete and it reads
//! the whole response instead of a reset. The client here writes its whole
//! request before it reads, as `ab` does, with a body far larger than the
//! sockets' buffers.

#[path = "common/http_conn.rs"]
mod http_conn;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use gort::http::{test, Server};
use http_conn::app;

/// Well past the loopback socket buffers and the server's 256 KiB drain.
const BODY: usize = 16 << 20;

/// Sends `head` and then `BODY` bytes, all of it before reading, then
/// reads to EOF. Returns the response; fails on a reset or a short write.
fn send_all_then_read(srv: &test::Server, head: &str) -> String {
    let mut c = TcpStream::connect(srv.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b'z'; 64 << 10];
    for sent in (0..BODY).step_by(chunk.len()) {
        if let Err(e) = c.write_all(&chunk) {
            panic!("the server cut the body off after {sent} bytes: {e}");
        }
    }
    let mut resp = String::new();
    c.read_to_string(&mut resp).expect("the response, then EOF (not a reset)");
    resp
}

#[test]
fn an_unread_body_past_the_drain_limit_is_read_until_the_client_closes() {
    let srv = test::Server::with(Server::new(app).error_log(|_| {}));
    let head = format!("POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: {BODY}\r\n\r\n");
    let resp = send_all_then_read(&srv, &head);
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.contains("\r\nConnection: close\r\n"), "{resp}");
    assert!(resp.ends_with("\r\n\r\nHello, World!"), "{resp}");
}

#[test]
fn a_rejected_head_with_a_body_behind_it_is_read_until_the_client_closes() {
    let srv = test::Server::with(Server::new(app).error_log(|_| {}));
    let head = "POST /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    let resp = send_all_then_read(&srv, head);
    assert!(resp.starts_with("HTTP/1.1 501 Not Implemented\r\n"), "{resp}");
    assert!(resp.contains("\r\nConnection: close\r\n"), "{resp}");
}
