//! A request's context ending aborts it at each stage — waiting for a
//! dial, waiting for the response head, reading the body — returns the
//! context's error, and closes the connection (it never goes back to the
//! pool).

#[path = "common/http_servers.rs"]
mod servers;

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use gort::context::{Context, Error};
use gort::http::{Client, Request};
use servers::{read_request, send, Raw};

fn ctx_error(e: &std::io::Error) -> Option<Error> {
    e.get_ref().and_then(|i| i.downcast_ref::<Error>()).copied()
}

fn get_with(client: &Client, url: &str, ctx: &Context) -> std::io::Result<gort::http::Response> {
    client.send(Request::builder().uri(url).context(ctx).build()?)
}

#[test]
fn canceling_while_the_dial_hangs_returns_canceled() {
    use socket2::{Domain, Socket, Type};
    let ln = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    ln.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    ln.listen(0).unwrap();
    let addr = ln.local_addr().unwrap().as_socket().unwrap();
    let _fill: Vec<Socket> = (0..4)
        .map(|_| {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            s.set_nonblocking(true).unwrap();
            let _ = s.connect(&addr.into());
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let client = Client::builder().dial_timeout(Duration::from_secs(2)).build().unwrap();
    let (ctx, cancel) = Context::background().with_cancel();
    let canceller = gort::go!(move || {
        gort::time::sleep(Duration::from_millis(100));
        cancel.cancel();
    });
    let t = Instant::now();
    let e = get_with(&client, &format!("http://{addr}/"), &ctx).unwrap_err();
    assert_eq!(ctx_error(&e), Some(Error::Canceled), "{e}");
    assert!(t.elapsed() < Duration::from_secs(2), "returned before the dial timeout");
    canceller.join().unwrap();
}

#[test]
fn a_deadline_while_waiting_for_the_head_returns_deadline_exceeded() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        std::thread::sleep(Duration::from_secs(3));
    });
    let client = Client::new();
    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(100));
    let t = Instant::now();
    let e = get_with(&client, &srv.url("/"), &ctx).unwrap_err();
    assert_eq!(ctx_error(&e), Some(Error::DeadlineExceeded), "{e}");
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn canceling_during_a_body_read_aborts_it_and_closes_the_connection() {
    let srv = Raw::new(|mut s, _| {
        while read_request(&mut s).is_some() {
            send(&mut s, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        }
    });
    let client = Client::new();
    let (ctx, cancel) = Context::background().with_cancel();
    let mut r = get_with(&client, &srv.url("/"), &ctx).unwrap();
    let mut b = [0u8; 3];
    r.body().read_exact(&mut b).unwrap();
    let canceller = gort::go!(move || {
        gort::time::sleep(Duration::from_millis(50));
        cancel.cancel();
    });
    let e = r.body().read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(ctx_error(&e), Some(Error::Canceled), "{e}");
    drop(r);
    canceller.join().unwrap();
    assert_eq!(client.transport().idle_connections(), 0);
}

#[test]
fn a_context_that_already_ended_sends_nothing() {
    let srv = Raw::new(|mut s, _| drop(read_request(&mut s)));
    let (ctx, cancel) = Context::background().with_cancel();
    cancel.cancel();
    let e = get_with(&Client::new(), &srv.url("/"), &ctx).unwrap_err();
    assert_eq!(ctx_error(&e), Some(Error::Canceled), "{e}");
}

#[test]
fn a_finished_request_leaves_its_connection_pooled_despite_a_later_cancel() {
    let srv = Raw::new(|mut s, _| {
        while read_request(&mut s).is_some() {
            send(&mut s, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    let client = Client::new();
    let (ctx, cancel) = Context::background().with_cancel();
    servers::read_all(get_with(&client, &srv.url("/"), &ctx).unwrap().body()).unwrap();
    cancel.cancel();
    gort::time::sleep(Duration::from_millis(20));
    servers::read_all(client.get(&srv.url("/")).unwrap().body()).unwrap();
    assert_eq!(srv.accepted(), 1, "the hook was stopped before the connection went idle");
}

/// A body that never ends.
struct Endless;

impl Read for Endless {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        out.fill(b'x');
        Ok(out.len())
    }
}

#[test]
fn canceling_while_the_request_body_is_written_aborts_the_write() {
    // The server reads the head and nothing more, so the upload fills the
    // socket buffers and the write blocks.
    let srv = Raw::new(|mut s, _| {
        let mut b = [0u8; 1];
        while !matches!(std::io::Read::read(&mut s, &mut b), Ok(0) | Err(_)) && b[0] != b'\n' {}
        std::thread::sleep(Duration::from_secs(3));
    });
    let (ctx, cancel) = Context::background().with_cancel();
    let canceller = gort::go!(move || {
        gort::time::sleep(Duration::from_millis(100));
        cancel.cancel();
    });
    let req = Request::builder().method("POST").uri(srv.url("/")).context(&ctx).body(Endless).unwrap();
    let t = Instant::now();
    let e = Client::new().send(req).unwrap_err();
    assert_eq!(ctx_error(&e), Some(Error::Canceled), "{e}");
    assert!(t.elapsed() < Duration::from_secs(3));
    canceller.join().unwrap();
}
