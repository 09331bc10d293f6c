//! The Transport's pool: reuse, the per-host limit and its queue, idle
//! expiry, connections the server closed while idle, what may go back
//! to the pool, the idle limits, and the response head's size limit.

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

/// A handler that answers once `n` requests are in at once (or after 10 s),
/// so a client making `n` concurrent requests opens `n` connections.
fn all_at_once(n: usize) -> impl gort::http::Handler {
    let arrived = Arc::new(AtomicUsize::new(0));
    move |w: &mut ResponseWriter, _: &mut Request| {
        arrived.fetch_add(1, Ordering::SeqCst);
        let start = std::time::Instant::now();
        while !arrived.load(Ordering::SeqCst).is_multiple_of(n) && start.elapsed() < Duration::from_secs(10) {
            gort::time::sleep(Duration::from_millis(1));
        }
        w.write_all(b"ok")
    }
}

/// `n` concurrent GETs of `url` on `client`, each read to its end.
fn concurrent_gets(client: &Client, url: &str, n: usize) {
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let (c, u) = (client.clone(), url.to_owned());
            gort::go!(move || read_all(c.get(&u)?.body()))
        })
        .collect();
    for h in hs {
        assert_eq!(h.join().unwrap().unwrap(), "ok");
    }
}

/// Five connections at once to one host, then all idle: the pool keeps
/// `max_idle_conns_per_host` of them, and the next five requests at once
/// reuse those and dial the rest.
#[test]
fn max_idle_conns_per_host_bounds_what_one_host_keeps() {
    let srv = Counted::new(all_at_once(5));
    let client = Client::builder().max_idle_conns_per_host(2).build().unwrap();
    concurrent_gets(&client, &srv.url("/"), 5);
    assert_eq!(srv.conns(), 5);
    assert_eq!(client.transport().idle_connections(), 2);
    concurrent_gets(&client, &srv.url("/"), 5);
    assert_eq!(srv.conns(), 8, "two of the five were reused");
    assert_eq!(client.transport().idle_connections(), 2);
}

/// Three connections at once to each of two hosts (`127.0.0.1` and
/// `localhost` are two hosts to the pool): `max_idle_conns` bounds the
/// idle connections of all hosts together.
#[test]
fn max_idle_conns_bounds_all_hosts_together() {
    let srv = Counted::new(all_at_once(3));
    let client = Client::builder().max_idle_conns(4).build().unwrap();
    concurrent_gets(&client, &srv.url("/"), 3);
    let by_name = format!("http://localhost:{}/", srv.srv.addr().port());
    concurrent_gets(&client, &by_name, 3);
    assert_eq!(srv.conns(), 6);
    assert_eq!(client.transport().idle_connections(), 4);
}

/// A response head over `max_response_header_bytes` is an error; the
/// default (10 MiB) takes it.
#[test]
fn max_response_header_bytes_rejects_a_larger_head() {
    let srv = Counted::new(|w: &mut ResponseWriter, _: &mut Request| {
        w.headers_mut().insert("x-pad", "p".repeat(8 << 10).parse().unwrap());
        w.write_all(b"ok")
    });
    let small = Client::builder().max_response_header_bytes(4096).build().unwrap();
    let err = small.get(&srv.url("/")).map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(err.to_string(), "server response headers exceeded 4096 bytes");
    let mut r = Client::new().get(&srv.url("/")).unwrap();
    assert_eq!(r.header("x-pad").map(str::len), Some(8 << 10));
    assert_eq!(read_all(r.body()).unwrap(), "ok");
}
