//! The Transport's pool: reuse, the per-host limit and its queue, idle
//! expiry, connections the server closed while idle, and what may go
//! back to the pool.

#[path = "common/http_servers.rs"]
mod servers;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gort::http::{Body, Client, Request, ResponseWriter};
use servers::{read_all, read_request, send, Counted, Raw};

#[test]
fn a_thousand_sequential_requests_use_one_connection() {
    let srv = Counted::new(servers::text("hello"));
    let client = Client::new();
    for _ in 0..1000 {
        let mut r = client.get(&srv.url("/")).unwrap();
        assert_eq!(u16::from(r.status()), 200);
        assert_eq!(read_all(r.body()).unwrap(), "hello");
    }
    assert_eq!(srv.conns(), 1);
    assert_eq!(client.transport().idle_connections(), 1);
}

#[test]
fn clones_share_the_pool_and_plain_threads_work_too() {
    let srv = Counted::new(servers::text("hi"));
    let client = Client::new();
    let c2 = client.clone();
    let u = srv.url("/");
    std::thread::spawn(move || read_all(c2.get(&u).unwrap().body()).unwrap()).join().unwrap();
    assert_eq!(read_all(client.get(&srv.url("/")).unwrap().body()).unwrap(), "hi");
    assert_eq!(srv.conns(), 1);
}

#[test]
fn two_hundred_concurrent_requests_share_ten_connections() {
    let slow = |w: &mut ResponseWriter, _: &mut Request| {
        gort::time::sleep(Duration::from_millis(2));
        w.write_all(b"ok")
    };
    let srv = Counted::new(slow);
    let client = Client::builder().max_conns_per_host(10).build().unwrap();
    let hs: Vec<_> = (0..200)
        .map(|_| {
            let (c, u) = (client.clone(), srv.url("/"));
            gort::go!(move || read_all(c.get(&u)?.body()))
        })
        .collect();
    for h in hs {
        assert_eq!(h.join().unwrap().unwrap(), "ok");
    }
    assert!(srv.conns() <= 10, "{} connections", srv.conns());
    assert!(client.transport().idle_connections() <= 10);
}

#[test]
fn an_idle_connection_past_the_idle_timeout_is_not_reused() {
    let srv = Counted::new(servers::text("x"));
    let client = Client::builder().idle_conn_timeout(Duration::from_millis(50)).build().unwrap();
    read_all(client.get(&srv.url("/")).unwrap().body()).unwrap();
    read_all(client.get(&srv.url("/")).unwrap().body()).unwrap();
    assert_eq!(srv.conns(), 1, "reused within the timeout");
    gort::time::sleep(Duration::from_millis(120));
    read_all(client.get(&srv.url("/")).unwrap().body()).unwrap();
    assert_eq!(srv.conns(), 2, "a new connection after the timeout");
}

#[test]
fn a_body_left_unread_means_the_connection_is_not_reused() {
    let big = |w: &mut ResponseWriter, _: &mut Request| w.write_all(&vec![b'x'; 1 << 20]);
    let srv = Counted::new(big);
    let client = Client::new();
    let mut r = client.get(&srv.url("/")).unwrap();
    let mut first = [0u8; 10];
    r.body().read_exact(&mut first).unwrap();
    drop(r); // 1 MiB left: more than the drain allows
    assert_eq!(client.transport().idle_connections(), 0);
    read_all(client.get(&srv.url("/")).unwrap().body()).unwrap();
    assert_eq!(srv.conns(), 2);
}

#[test]
fn a_short_rest_is_drained_on_drop_and_the_connection_reused() {
    let srv = Counted::new(servers::text("a short body the caller did not read"));
    let client = Client::new();
    drop(client.get(&srv.url("/")).unwrap());
    assert_eq!(client.transport().idle_connections(), 1);
    read_all(client.get(&srv.url("/")).unwrap().body()).unwrap();
    assert_eq!(srv.conns(), 1);
}

/// Answers each request on a connection and then closes it, without
/// saying so (no `Connection: close`): the client sees an idle connection
/// the server has closed.
fn answer_once_then_close(mut s: std::net::TcpStream, _: usize) {
    if read_request(&mut s).is_some() {
        send(&mut s, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
}

#[test]
fn an_idle_connection_the_server_closed_is_noticed_before_reuse() {
    let srv = Raw::new(answer_once_then_close);
    let client = Client::new();
    read_all(client.get(&srv.url("/")).unwrap().body()).unwrap();
    std::thread::sleep(Duration::from_millis(50)); // the FIN reaches the client's socket
                                                   // A POST with a streamed body is never retried: it succeeds only
                                                   // because the closed connection was seen closed before it was used.
    let body = Body::from_reader(std::io::Cursor::new(b"payload".to_vec()));
    let r = client.post(&srv.url("/"), "text/plain", body);
    assert_eq!(read_all(r.unwrap().body()).unwrap(), "ok");
    assert_eq!(srv.accepted(), 2);
}

/// Answers the first request of each connection; reads the second and
/// closes without a word: the race a peek cannot see.
fn drop_the_second_request(mut s: std::net::TcpStream, _: usize) {
    if read_request(&mut s).is_some() {
        send(&mut s, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
    let _ = read_request(&mut s);
}

#[test]
fn a_get_that_meets_a_dead_reused_connection_is_retried_once_on_a_fresh_one() {
    let srv = Raw::new(drop_the_second_request);
    let client = Client::new();
    read_all(client.get(&srv.url("/")).unwrap().body()).unwrap();
    assert_eq!(read_all(client.get(&srv.url("/")).unwrap().body()).unwrap(), "ok");
    assert_eq!(srv.accepted(), 2);
}

#[test]
fn a_post_that_meets_a_dead_reused_connection_is_not_retried() {
    let srv = Raw::new(drop_the_second_request);
    let client = Client::new();
    read_all(client.get(&srv.url("/")).unwrap().body()).unwrap();
    let e = client.post(&srv.url("/"), "text/plain", &b"once only"[..]).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
    assert_eq!(srv.accepted(), 1);
}

/// A request that waits for the host's one connection gets it straight
/// from the request before it, and the server has closed it by then
/// (without saying so): the hand-over gets the idle list's check, and the
/// connection counts as reused, so a GET that still meets it dead is
/// retried on a fresh one (Go's `markReused` before a hand-over).
#[test]
fn a_connection_handed_to_a_waiting_request_is_checked_and_counted_reused() {
    let srv = Raw::new(|mut s, _| {
        if read_request(&mut s).is_some() {
            std::thread::sleep(Duration::from_millis(200));
            send(&mut s, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    let client = Client::builder().max_conns_per_host(1).build().unwrap();
    let (c2, url) = (client.clone(), srv.url("/"));
    let first = gort::go!(move || read_all(c2.get(&url).unwrap().body()).unwrap());
    std::thread::sleep(Duration::from_millis(50)); // the first holds the one connection
    assert_eq!(read_all(client.get(&srv.url("/")).unwrap().body()).unwrap(), "ok");
    assert_eq!(first.join().unwrap(), "ok");
    assert_eq!(srv.accepted(), 2);
}

#[test]
fn a_fresh_connection_is_never_retried() {
    let srv = Raw::new(|mut s, _| drop(read_request(&mut s)));
    let e = Client::new().get(&srv.url("/")).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
    assert_eq!(srv.accepted(), 1);
}

#[test]
fn disable_keep_alives_dials_every_time_and_says_close() {
    let seen = Arc::new(AtomicUsize::new(0));
    let s2 = seen.clone();
    let h = move |w: &mut ResponseWriter, r: &mut Request| {
        if r.headers().get("connection").is_some_and(|v| v == "close") {
            s2.fetch_add(1, Ordering::SeqCst);
        }
        w.write_all(b"x")
    };
    let srv = Counted::new(h);
    let client = Client::builder().disable_keep_alives(true).build().unwrap();
    for _ in 0..3 {
        read_all(client.get(&srv.url("/")).unwrap().body()).unwrap();
    }
    assert_eq!((srv.conns(), seen.load(Ordering::SeqCst)), (3, 3));
    assert_eq!(client.transport().idle_connections(), 0);
}
