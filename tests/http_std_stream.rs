//! `serve_conn` over std's blocking `TcpStream`, one OS thread per
//! connection (what `thread_per_conn_http` runs): deadlines reach std's
//! per-call timeouts, and a deadline reads as `TimedOut` there as on
//! gort's streams.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort::http::{serve_conn, Config, Conn, Request, ResponseWriter};

/// Serves every connection of a fresh listener on a thread of its own,
/// with the default settings as `set` changes them; returns a client
/// connected to it.
fn thread_server(set: impl FnOnce(&mut Config)) -> TcpStream {
    let mut config = Config::default();
    set(&mut config);
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let config = Arc::new(config);
    std::thread::spawn(move || {
        for c in ln.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let hello = |w: &mut ResponseWriter, r: &mut Request| write!(w, "hi {}", r.url_path());
                serve_conn(c, &hello, &config);
            });
        }
    });
    TcpStream::connect(addr).unwrap()
}

/// Reads until EOF, failing the test if that takes 10 s.
fn read_to_close(c: &mut TcpStream) -> String {
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).expect("the server closes the connection");
    String::from_utf8(out).unwrap()
}

fn pair() -> (TcpStream, TcpStream) {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    (ln.accept().unwrap().0, client)
}

#[test]
fn a_passed_read_deadline_is_set_and_times_the_next_read_out() {
    let (server, _client) = pair();
    let past = Instant::now() - Duration::from_millis(1);
    Conn::set_read_deadline(&server, Some(past)).expect("a passed deadline is a deadline, not an error");
    let err = Conn::read(&server, &mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
}

#[test]
fn a_read_past_its_deadline_fails_with_timed_out_not_would_block() {
    let (server, client) = pair();
    Conn::set_read_deadline(&server, Some(Instant::now() + Duration::from_millis(50))).unwrap();
    let err = Conn::read(&server, &mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    // With the deadline cleared, reads are plain reads again.
    Conn::set_read_deadline(&server, None).unwrap();
    client.write_all(b"x").unwrap();
    assert_eq!(Conn::read(&server, &mut [0; 8]).unwrap(), 1);
}

#[test]
fn a_trickled_head_gets_408_at_the_header_timeout_on_a_std_stream() {
    let mut c = thread_server(|c| c.read_header_timeout = Some(Duration::from_millis(300)));
    c.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n").unwrap();
    let out = read_to_close(&mut c);
    assert!(out.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{out:?}");
    assert!(out.contains("\r\nConnection: close\r\n"), "{out:?}");
}

#[test]
fn keep_alive_requests_are_served_and_the_idle_timeout_closes() {
    let mut c = thread_server(|c| c.idle_timeout = Some(Duration::from_millis(1500)));
    c.write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut first = [0u8; 256];
    let n = c.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).ends_with("\r\n\r\nhi /a"));
    // Idle past the stack-shrink wait (1 s), still within the idle timeout.
    std::thread::sleep(Duration::from_millis(1100));
    c.write_all(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let out = read_to_close(&mut c);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("\r\n\r\nhi /b"), "{out:?}");
}
