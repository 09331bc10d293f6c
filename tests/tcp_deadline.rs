//! Deadlines and timeouts wake exactly the waiting goroutine with
//! `TimedOut`; extending a deadline before it fires works; connect errors
//! map to std's kinds.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gort::net::{TcpListener, TcpStream};

#[test]
fn read_deadline_expires_with_timed_out() {
    let (c, _s) = common::tcp_pair();
    let h = gort::go!(move || {
        let t = Instant::now();
        c.set_read_deadline(Some(t + Duration::from_millis(50)));
        let e = (&c).read(&mut [0; 8]).unwrap_err();
        (e.kind(), t.elapsed())
    });
    let (kind, took) = h.join().unwrap();
    assert_eq!(kind, ErrorKind::TimedOut);
    assert!(took >= Duration::from_millis(50) && took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn extending_a_parked_readers_deadline_lets_data_arrive() {
    let (c, s) = common::tcp_pair();
    let c = std::sync::Arc::new(c);
    let reader = {
        let c = c.clone();
        gort::go!(move || {
            c.set_read_deadline(Some(Instant::now() + Duration::from_millis(100)));
            let mut b = [0; 4];
            (&*c).read_exact(&mut b).map(|()| b)
        })
    };
    gort::time::sleep(Duration::from_millis(30));
    c.set_read_deadline(Some(Instant::now() + Duration::from_secs(10)));
    gort::time::sleep(Duration::from_millis(150));
    (&s).write_all(b"late").unwrap();
    assert_eq!(&reader.join().unwrap().unwrap(), b"late");
}

/// The timer armed for a read that data then woke stays armed (it is
/// re-armed lazily): when it fires during a later read with a later
/// deadline, that read must go on waiting, and still time out at its own
/// deadline, as the server's idle loop relies on.
#[test]
fn an_earlier_reads_timer_firing_keeps_a_later_deadline() {
    let (c, s) = common::tcp_pair();
    let h = gort::go!(move || {
        c.set_read_deadline(Some(Instant::now() + Duration::from_millis(40)));
        let mut b = [0; 1];
        (&c).read_exact(&mut b).unwrap();
        let t = Instant::now();
        c.set_read_deadline(Some(t + Duration::from_millis(300)));
        let e = (&c).read(&mut b).unwrap_err();
        (b[0], e.kind(), t.elapsed())
    });
    gort::time::sleep(Duration::from_millis(10));
    (&s).write_all(b"x").unwrap();
    let (byte, kind, took) = h.join().unwrap();
    assert_eq!((byte, kind), (b'x', ErrorKind::TimedOut));
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn a_deadline_only_wakes_its_own_socket() {
    let (a, _a2) = common::tcp_pair();
    let (b, b2) = common::tcp_pair();
    let timed = gort::go!(move || {
        a.set_read_deadline(Some(Instant::now() + Duration::from_millis(20)));
        (&a).read(&mut [0; 1]).unwrap_err().kind()
    });
    let waiting = gort::go!(move || {
        let mut x = [0; 1];
        (&b).read_exact(&mut x).map(|()| x[0])
    });
    assert_eq!(timed.join().unwrap(), ErrorKind::TimedOut);
    gort::time::sleep(Duration::from_millis(50));
    assert!(!waiting.is_finished(), "the other socket's reader woke");
    (&b2).write_all(&[42]).unwrap();
    assert_eq!(waiting.join().unwrap().unwrap(), 42);
}

#[test]
fn past_deadline_fails_at_once_and_clearing_it_restores_io() {
    let (c, s) = common::tcp_pair();
    c.set_deadline(Some(Instant::now() - Duration::from_millis(1)));
    (&s).write_all(b"z").unwrap();
    // A passed deadline fails a call that must wait; one that finds data
    // still completes (Go would fail it too: `net`'s `set_deadline` doc).
    std::thread::sleep(Duration::from_millis(20));
    let mut b = [0; 1];
    assert_eq!((&c).read(&mut b).unwrap(), 1, "a ready socket still reads");
    assert_eq!((&c).read(&mut b).unwrap_err().kind(), ErrorKind::TimedOut);
    c.set_deadline(None);
    (&s).write_all(b"y").unwrap();
    (&c).read_exact(&mut b).unwrap();
    assert_eq!(&b, b"y");
}

#[test]
fn std_timeouts_apply_per_call() {
    let (c, _s) = common::tcp_pair();
    assert_eq!(c.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(), ErrorKind::InvalidInput);
    c.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
    assert_eq!(c.read_timeout().unwrap(), Some(Duration::from_millis(30)));
    for _ in 0..2 {
        let t = Instant::now();
        assert_eq!((&c).read(&mut [0; 1]).unwrap_err().kind(), ErrorKind::TimedOut);
        assert!(t.elapsed() >= Duration::from_millis(30));
    }
}

#[test]
fn write_deadline_fires_when_the_peer_does_not_read() {
    let (c, _s) = common::tcp_pair();
    let h = gort::go!(move || {
        c.set_write_timeout(Some(Duration::from_millis(50))).unwrap();
        let chunk = vec![0u8; 1 << 16];
        loop {
            if let Err(e) = (&c).write(&chunk) {
                return e.kind();
            }
        }
    });
    assert_eq!(h.join().unwrap(), ErrorKind::TimedOut);
}

/// A write deadline stops a write parked on a full send buffer, and leaves
/// reads alone: a read deadline is its own.
#[test]
fn write_deadline_is_the_writers_alone() {
    let (c, s) = common::tcp_pair();
    let c = std::sync::Arc::new(c);
    c.set_write_deadline(Some(Instant::now() + Duration::from_millis(50)));
    let reader = {
        let c = c.clone();
        gort::go!(move || {
            let mut b = [0u8; 4];
            (&*c).read_exact(&mut b).map(|()| b)
        })
    };
    let writer = gort::go!(move || {
        let chunk = vec![0u8; 1 << 16];
        loop {
            if let Err(e) = (&*c).write(&chunk) {
                return e.kind();
            }
        }
    });
    assert_eq!(writer.join().unwrap(), ErrorKind::TimedOut);
    (&s).write_all(b"ping").unwrap();
    assert_eq!(reader.join().unwrap().unwrap(), *b"ping");
}

#[test]
fn default_backlog_is_the_kernels_somaxconn() {
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn").expect("somaxconn");
    assert_eq!(gort::net::default_backlog(), somaxconn.trim().parse::<i32>().unwrap());
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let addr = {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        ln.local_addr().unwrap()
    };
    let e = gort::go!(move || TcpStream::connect(addr).unwrap_err()).join().unwrap();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn bind_twice_is_addr_in_use() {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let e = TcpListener::bind(ln.local_addr().unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse);
}

/// A listener with backlog 0 that never accepts: once its queue is full,
/// Linux drops further SYNs, so a connect hangs until its timeout.
#[test]
fn connect_timeout_to_a_full_backlog_times_out() {
    let ln = TcpListener::bind_with_backlog("127.0.0.1:0", 0).unwrap();
    let addr: SocketAddr = ln.local_addr().unwrap();
    let mut held = Vec::new();
    let (kind, took) = loop {
        let t = Instant::now();
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(c) => held.push(c),
            Err(e) => break (e.kind(), t.elapsed()),
        }
        assert!(held.len() < 64, "the backlog never filled");
    };
    assert_eq!(kind, ErrorKind::TimedOut);
    // The failing connect alone waited its whole timeout.
    assert!(took >= Duration::from_millis(200));
}

/// `connect_timeout`'s edges as std has them: zero is `InvalidInput`, and
/// a timeout too far away to add to the clock is no limit (it connects).
#[test]
fn connect_timeout_of_zero_is_invalid_and_of_max_connects() {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = ln.local_addr().unwrap();
    let e = TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let c = TcpStream::connect_timeout(&addr, Duration::MAX).unwrap();
    assert_eq!(c.peer_addr().unwrap(), addr);
}
