//! Servers that misbehave on purpose get clear errors, never a hang:
//! a garbage status line, a truncated body, a wrong `Content-Length`,
//! oversized headers, silence (`response_header_timeout`), a dial that
//! cannot complete, and a body slower than the whole-exchange timeout.

#[path = "common/http_servers.rs"]
mod servers;

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use gort::http::Client;
use servers::{read_all, read_request, send, Raw};

/// A server that answers every request with `reply`, then waits for the
/// next one.
fn replying(reply: &'static [u8]) -> Raw {
    Raw::new(move |mut s, _| {
        while read_request(&mut s).is_some() {
            send(&mut s, reply);
        }
    })
}

#[test]
fn a_garbage_status_line_is_an_error_that_quotes_it() {
    let srv = replying(b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
    let e = Client::new().get(&srv.url("/")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(e.to_string().contains("malformed HTTP response \"SSH-2.0-OpenSSH_9.6\""), "{e}");
}

#[test]
fn a_truncated_body_is_an_unexpected_eof() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        send(&mut s, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    });
    let mut r = Client::new().get(&srv.url("/")).unwrap();
    let e = read_all(r.body()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{e}");
}

#[test]
fn a_truncated_chunked_body_is_an_unexpected_eof() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        send(&mut s, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
    });
    let e = read_all(Client::new().get(&srv.url("/")).unwrap().body()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{e}");
}

#[test]
fn bytes_past_the_content_length_keep_the_connection_out_of_the_pool() {
    let srv = replying(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA");
    let client = Client::new();
    assert_eq!(read_all(client.get(&srv.url("/")).unwrap().body()).unwrap(), "abc");
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(read_all(client.get(&srv.url("/")).unwrap().body()).unwrap(), "abc");
    assert_eq!(srv.accepted(), 2, "the connection with stray bytes was not reused");
}

#[test]
fn content_length_with_transfer_encoding_is_refused() {
    let srv = replying(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    let e = Client::new().get(&srv.url("/")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(e.to_string().contains("both Transfer-Encoding and Content-Length"), "{e}");
}

#[test]
fn a_head_past_the_limit_is_refused_not_buffered() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        send(&mut s, b"HTTP/1.1 200 OK\r\n");
        let line = format!("X-Big: {}\r\n", "y".repeat(110_000));
        for _ in 0..100 {
            send(&mut s, line.as_bytes()); // 11 MB of headers
        }
    });
    let e = Client::new().get(&srv.url("/")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(e.to_string().contains("exceeded 10485760 bytes"), "{e}");
}

#[test]
fn a_server_that_never_answers_meets_the_response_header_timeout() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        std::thread::sleep(Duration::from_secs(3));
    });
    let client = Client::builder().response_header_timeout(Duration::from_millis(100)).build().unwrap();
    let t = Instant::now();
    let e = client.get(&srv.url("/")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(e.to_string().contains("awaiting response headers"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3), "not a hang");
}

/// Reads a byte every 200 ms: a request body that takes a second to send.
struct Slow(u8);

impl std::io::Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 || buf.is_empty() {
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(200));
        self.0 -= 1;
        buf[0] = b'x';
        Ok(1)
    }
}

/// The response header timeout counts from the end of the request body, as
/// Go's `ResponseHeaderTimeout` does: a body slower to send than the
/// timeout is not cut off by it.
#[test]
fn the_response_header_timeout_starts_once_the_body_is_sent() {
    let srv = Raw::new(|mut s, _| {
        let mut got = Vec::new();
        let mut b = [0u8; 256];
        while !got.ends_with(b"0\r\n\r\n") {
            match s.read(&mut b) {
                Ok(n @ 1..) => got.extend_from_slice(&b[..n]),
                _ => return,
            }
        }
        send(&mut s, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
    });
    let client = Client::builder().response_header_timeout(Duration::from_millis(500)).build().unwrap();
    let r = client.post(&srv.url("/"), "text/plain", gort::http::Body::from_reader(Slow(5)));
    assert_eq!(read_all(r.unwrap().body()).unwrap(), "done");
}

#[test]
fn the_whole_exchange_timeout_covers_the_body() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        send(&mut s, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nslow");
        std::thread::sleep(Duration::from_secs(3));
    });
    let client = Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let mut r = client.get(&srv.url("/")).unwrap();
    let mut b = [0u8; 4];
    r.body().read_exact(&mut b).unwrap();
    let e = read_all(r.body()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(e.to_string().contains("Client::timeout exceeded while reading the body"), "{e}");
}

/// A listener whose accept queue is full and never drained, so a connect
/// to it waits in SYN_SENT: the dial that cannot complete. Returns the
/// listener and the connections that filled its queue.
pub fn unanswering_listener() -> (socket2::Socket, Vec<std::net::TcpStream>) {
    use socket2::{Domain, Socket, Type};
    let ln = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    ln.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    ln.listen(0).unwrap();
    let addr = ln.local_addr().unwrap().as_socket().unwrap();
    let mut fill = Vec::new();
    for _ in 0..4 {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        fill.push(s.into());
    }
    std::thread::sleep(Duration::from_millis(50));
    (ln, fill)
}

#[test]
fn a_dial_that_cannot_complete_meets_the_dial_timeout() {
    let (ln, _fill) = unanswering_listener();
    let url = format!("http://{}/", ln.local_addr().unwrap().as_socket().unwrap());
    let client = Client::builder().dial_timeout(Duration::from_millis(200)).build().unwrap();
    let t = Instant::now();
    let e = client.get(&url).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(e.to_string().starts_with("dial tcp"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3), "not a hang");
}

#[test]
fn a_refused_dial_says_so() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let e = Client::new().get(&format!("http://{addr}/")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
}
