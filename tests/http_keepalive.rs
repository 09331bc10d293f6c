//! A keep-alive connection over time, on real loopback sockets: an idle
//! connection waits under `idle_timeout`, not the header timeout, and
//! serves on after it gives back its stack pages at one second idle; the
//! idle timeout holds across that shrink, and a kept shrink deadline
//! neither closes the connection nor cuts its idle timeout; and the `Date`
//! header follows the clock from one second to the next.

#[path = "common/http_conn.rs"]
mod http_conn;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use gort::http::{test, Server};
use http_conn::{app, connect, get};

/// An idle keep-alive connection waits under `idle_timeout`, not under
/// `read_header_timeout`, however its first request arrived: the readiness
/// the netpoller reports for a request that came with the connection is
/// stale once the request was read, and the wait must not then fall into
/// a read that runs on the header deadline (and holds the read buffer).
/// The wait also outlasts the moment an idle connection gives back its
/// deep stack pages (one second), and the connection serves on after it.
#[test]
fn idle_connections_wait_under_the_idle_timeout_and_serve_after_shrinking() {
    let srv = test::Server::with(
        Server::new(app)
            .read_header_timeout(Duration::from_millis(1000))
            .idle_timeout(Duration::from_secs(30))
            .error_log(|_| {}),
    );
    let mut conns: Vec<_> = (0..20)
        .map(|_| {
            let mut c = connect(&srv);
            assert_eq!(get(&mut c, "/"), ("HTTP/1.1 200 OK".to_owned(), "Hello, World!".to_owned()));
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(2500));
    for c in &mut conns {
        assert_eq!(get(c, "/"), ("HTTP/1.1 200 OK".to_owned(), "Hello, World!".to_owned()));
    }
}

/// Past the stack shrink (at one second idle), the idle deadline is still
/// the one `idle_timeout` set when the connection went idle: a request
/// after the shrink is served, and the connection is closed (EOF) once the
/// deadline passes, not at the shrink's.
#[test]
fn the_idle_timeout_holds_across_the_stack_shrink() {
    let srv = test::Server::with(Server::new(app).idle_timeout(Duration::from_secs(6)).error_log(|_| {}));
    let mut c = connect(&srv);
    get(&mut c, "/");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(get(&mut c, "/").1, "Hello, World!", "closed before the idle timeout");
    let idle = Instant::now();
    assert_eq!(c.read(&mut [0; 1]).unwrap(), 0, "the server closes an idle connection");
    assert!(idle.elapsed() >= Duration::from_secs(3), "closed after {:?} idle", idle.elapsed());
}

/// An idle wait that starts soon after the last one keeps the stack-shrink
/// deadline that wait set (half a second or more away) instead of moving
/// it: when that kept deadline passes inside a wait, the wait shrinks and
/// goes on under the idle timeout taken when it began, so the requests
/// spaced either side of it are served, and the connection closes at the
/// idle timeout, not at a shrink deadline.
#[test]
fn a_kept_shrink_deadline_neither_closes_nor_cuts_the_idle_timeout() {
    let srv =
        test::Server::with(Server::new(app).idle_timeout(Duration::from_millis(1500)).error_log(|_| {}));
    let mut c = connect(&srv);
    get(&mut c, "/");
    for pause in [400, 700, 400, 700, 400] {
        std::thread::sleep(Duration::from_millis(pause));
        assert_eq!(get(&mut c, "/").1, "Hello, World!", "closed after a {pause} ms pause");
    }
    let idle = Instant::now();
    assert_eq!(c.get_mut().read(&mut [0; 1]).unwrap(), 0, "the server closes an idle connection");
    assert!(idle.elapsed() >= Duration::from_millis(1200), "closed after {:?} idle", idle.elapsed());
}

/// Sends a GET on `c` and returns its `Date` header, parsed.
fn date_of(c: &mut BufReader<TcpStream>) -> std::time::SystemTime {
    c.get_mut().write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let (mut date, mut len) = (None, 0);
    loop {
        let mut line = String::new();
        assert!(c.read_line(&mut line).unwrap() > 0, "the server closed the connection inside the head");
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.strip_prefix("Date: ") {
            date = Some(httpdate::parse_http_date(v.trim_end()).unwrap());
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length: ") {
            len = v.trim().parse().unwrap();
        }
    }
    c.read_exact(&mut vec![0; len]).unwrap();
    date.expect("the response has no Date")
}

#[test]
fn the_date_header_follows_the_clock_from_one_second_to_the_next() {
    // The text is cached per thread and kept, on the coarse clock, until
    // its second ends: each response's date is the real second (or, for the
    // coarse clock's ~10 ms lag after a boundary, the one before).
    let srv = test::Server::new(app);
    let (mut a, mut b) = (connect(&srv), connect(&srv));
    let mut last = std::time::UNIX_EPOCH;
    for _ in 0..4 {
        for c in [&mut a, &mut b] {
            // Behind is measured from when the request was sent, ahead from
            // when the answer was read: a test thread descheduled between
            // the two (CI runs this binary's tests side by side on two
            // CPUs) is not the server's lag.
            let sent = std::time::SystemTime::now();
            let date = date_of(c);
            let now = std::time::SystemTime::now();
            if let Err(e) = now.duration_since(date) {
                panic!("Date is {:?} ahead", e.duration());
            }
            let behind = sent.duration_since(date).unwrap_or_default();
            assert!(behind < Duration::from_millis(1500), "Date is {behind:?} behind the clock");
            assert!(date >= last, "Date went back");
            last = date;
        }
        let before = last;
        std::thread::sleep(Duration::from_millis(1100));
        assert!(date_of(&mut a) > before, "Date did not move on after 1.1 s");
    }
}
