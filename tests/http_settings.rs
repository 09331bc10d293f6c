//! Server settings and entry points over real loopback sockets:
//! `write_timeout` ends a response to a client that stops reading,
//! `max_header_bytes` moves the 431 limit, `Request::remote_addr` is the
//! client's address (`accept`'s, even for a client that reset first), and
//! `listen_and_serve` serves, reports a taken
//! address, and returns Go's `Server closed` error after `close`.

mod common;
#[path = "common/http_conn.rs"]
mod http_conn;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use gort::http::{test, Request, ResponseWriter, Server};
use http_conn::{app, connect, get, read_response};

/// Bounds every wait, so a hang fails instead.
const NO_HANG: Duration = Duration::from_secs(20);

/// A handler writing far more than loopback buffers, to a client that does
/// not read, gets a write error once `write_timeout` passes (its write
/// waits no longer), and the connection is closed.
#[test]
fn write_timeout_fails_a_write_to_a_client_that_does_not_read() {
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let h = move |w: &mut ResponseWriter, _: &mut Request| {
        let chunk = [b'w'; 64 << 10];
        let res = (0..(1 << 30) / chunk.len()).try_for_each(|_| w.write_all(&chunk)).map_err(|e| e.kind());
        let _ = tx.lock().unwrap().send(res);
        Ok(())
    };
    let srv = test::Server::with(Server::new(h).write_timeout(Duration::from_millis(300)).error_log(|_| {}));
    let mut c = TcpStream::connect(srv.addr()).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let res = rx.recv_timeout(NO_HANG).expect("the handler's write never gave up");
    assert_eq!(res, Err(std::io::ErrorKind::TimedOut));
    // What was sent arrives, then the close (EOF, or a reset for the rest).
    c.set_read_timeout(Some(NO_HANG)).unwrap();
    let mut buf = vec![0; 1 << 20];
    loop {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// `max_header_bytes` is the 431 limit, with Go's 4 KiB of slack on top:
/// 1 KiB lets a 3 KiB head in and rejects a 10 KiB one, which the default
/// (1 MiB) lets in.
#[test]
fn max_header_bytes_moves_the_431_limit() {
    let request = |n: usize| format!("GET / HTTP/1.1\r\nHost: t\r\nX-Pad: {}\r\n\r\n", "p".repeat(n));
    let small = test::Server::with(Server::new(app).max_header_bytes(1024).error_log(|_| {}));
    let mut c = connect(&small);
    c.get_mut().write_all(request(3 << 10).as_bytes()).unwrap();
    assert_eq!(read_response(&mut c).0, "HTTP/1.1 200 OK");
    c.get_mut().write_all(request(10 << 10).as_bytes()).unwrap();
    assert_eq!(read_response(&mut c).0, "HTTP/1.1 431 Request Header Fields Too Large");

    let default = test::Server::new(app);
    let mut c = connect(&default);
    c.get_mut().write_all(request(10 << 10).as_bytes()).unwrap();
    assert_eq!(read_response(&mut c).0, "HTTP/1.1 200 OK");
}

#[test]
fn remote_addr_is_the_clients_address() {
    let srv = test::Server::new(|w: &mut ResponseWriter, r: &mut Request| write!(w, "{:?}", r.remote_addr()));
    let mut c = connect(&srv);
    let mine = c.get_ref().local_addr().unwrap();
    assert_eq!(get(&mut c, "/"), ("HTTP/1.1 200 OK".to_owned(), format!("Some({mine})")));
}

/// A free loopback port (bound, then let go).
/// The address a connection is reported with comes from `accept`: a
/// client that reset its connection before the server took it off the
/// listen queue (so `getpeername` fails on it) is still named.
#[test]
fn a_connection_reset_before_it_was_accepted_keeps_its_address() {
    let ln = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let c = socket2::Socket::from(TcpStream::connect(addr).unwrap());
    let client = c.local_addr().unwrap().as_socket().unwrap();
    c.set_linger(Some(Duration::ZERO)).unwrap();
    drop(c); // a reset, while the connection waits in the listen queue
    let (tx, rx) = gort::chan::unbounded();
    let srv = Server::new(app).conn_state(move |remote, state| {
        let _ = tx.send((remote, state));
    });
    let serving = srv.clone();
    let h = gort::go!(move || serving.serve(ln));
    let (remote, state) = rx.recv_timeout(Duration::from_secs(10)).expect("the connection's first state");
    assert_eq!((remote, state), (Some(client), gort::http::ConnState::New));
    srv.close();
    assert!(h.join().unwrap().is_err(), "serve returns once closed");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn listen_and_serve_serves_until_closed_and_reports_a_taken_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = Server::new(app).listen_and_serve(taken.local_addr().unwrap()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);

    let addr = format!("127.0.0.1:{}", free_port());
    let server = Server::new(app);
    let serving = {
        let (s, addr) = (server.clone(), addr.clone());
        gort::go!(move || s.listen_and_serve(addr))
    };
    let mut c = None;
    assert!(
        common::wait_until(NO_HANG, || {
            c = TcpStream::connect(&addr).ok();
            c.is_some()
        }),
        "listen_and_serve never listened on {addr}"
    );
    let mut c = std::io::BufReader::new(c.unwrap());
    c.get_ref().set_read_timeout(Some(NO_HANG)).unwrap();
    assert_eq!(get(&mut c, "/"), ("HTTP/1.1 200 OK".to_owned(), "Hello, World!".to_owned()));
    server.close();
    let err = serving.join().unwrap().unwrap_err();
    assert_eq!(err.to_string(), "http: Server closed");
}
