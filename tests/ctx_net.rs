//! Contexts and sockets: `connect_context` gives up on a peer that never
//! answers when the context ends, with the context's error, and a read
//! parked on a socket is ended by `after_func` + `close`.

use std::io::{self, ErrorKind, Read};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort::context::{Context, Error};
use gort::net::{TcpListener, TcpStream};

/// A listener whose accept queue is full, so the kernel drops new SYNs
/// and a connect to it hangs (a blackholed address), with the
/// connections that filled it.
fn blackhole() -> (TcpListener, SocketAddr, Vec<TcpStream>) {
    let ln = TcpListener::bind_with_backlog("127.0.0.1:0", 0).unwrap();
    let addr = ln.local_addr().unwrap();
    let mut filled = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => filled.push(s),
            Err(e) if e.kind() == ErrorKind::TimedOut => return (ln, addr, filled),
            Err(e) => panic!("filling the backlog: {e}"),
        }
    }
    panic!("the accept queue never filled");
}

fn context_error(e: &io::Error) -> Option<Error> {
    e.get_ref().and_then(|i| i.downcast_ref::<Error>()).copied()
}

#[test]
fn connect_context_gives_up_on_a_full_backlog_at_the_deadline() {
    let (_ln, addr, _filled) = blackhole();
    let timeout = Duration::from_millis(100);
    let (ctx, _cancel) = Context::background().with_timeout(timeout);
    let start = Instant::now();
    let e = TcpStream::connect_context(addr, &ctx).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert_eq!(context_error(&e), Some(Error::DeadlineExceeded));
    assert!(start.elapsed() >= timeout);
    // The kernel alone would retry the SYN for about two minutes.
    assert!(start.elapsed() < Duration::from_secs(20), "gave up after {:?}", start.elapsed());
}

#[test]
fn connect_context_gives_up_on_a_full_backlog_when_cancelled() {
    let (_ln, addr, _filled) = blackhole();
    let (ctx, cancel) = Context::background().with_cancel();
    let dialer = gort::go!(move || TcpStream::connect_context(addr, &ctx));
    gort::time::sleep(Duration::from_millis(30));
    assert!(!dialer.is_finished(), "the connect hangs");
    cancel.cancel();
    let e = dialer.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Other);
    assert_eq!(context_error(&e), Some(Error::Canceled));
}

#[test]
fn connect_context_on_an_ended_context_fails_at_once() {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let (ctx, cancel) = Context::background().with_cancel();
    assert!(TcpStream::connect_context(ln.local_addr().unwrap(), &ctx).is_ok());
    cancel.cancel();
    let e = TcpStream::connect_context(ln.local_addr().unwrap(), &ctx).unwrap_err();
    assert_eq!(context_error(&e), Some(Error::Canceled));
}

#[test]
fn after_func_with_close_ends_a_read_parked_on_a_socket() {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let conn = Arc::new(TcpStream::connect(ln.local_addr().unwrap()).unwrap());
    let _peer = ln.accept().unwrap();
    let (ctx, cancel) = Context::background().with_cancel();
    let stream = conn.clone();
    ctx.after_func(move || stream.close());
    let reader = gort::go!(move || (&*conn).read(&mut [0; 64]));
    gort::time::sleep(Duration::from_millis(20));
    assert!(!reader.is_finished(), "the read is parked");
    cancel.cancel();
    assert_eq!(reader.join().unwrap().unwrap_err().kind(), ErrorKind::ConnectionAborted);
}
