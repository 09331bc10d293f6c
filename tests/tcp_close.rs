//! Closing: `close` wakes a goroutine parked on the socket with an error; a
//! peer reset arrives as `ConnectionReset`; and closing then reopening
//! sockets (same fd numbers) never delivers a stale wake-up or byte.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use gort::net::{TcpListener, UnixStream};

#[test]
fn close_wakes_a_parked_reader_with_an_error() {
    let (c, _s) = common::tcp_pair();
    let c = Arc::new(c);
    let reader = {
        let c = c.clone();
        gort::go!(move || (&*c).read(&mut [0; 16]))
    };
    gort::time::sleep(Duration::from_millis(30));
    assert!(!reader.is_finished());
    c.close();
    let e = reader.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionAborted);
    assert_eq!((&*c).write(b"x").unwrap_err().kind(), ErrorKind::ConnectionAborted);
}

#[test]
fn close_wakes_a_parked_accept() {
    let ln = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
    let acceptor = {
        let ln = ln.clone();
        gort::go!(move || ln.accept().map(drop))
    };
    gort::time::sleep(Duration::from_millis(20));
    ln.close();
    assert_eq!(acceptor.join().unwrap().unwrap_err().kind(), ErrorKind::ConnectionAborted);
}

#[test]
fn peer_reset_mid_read_is_connection_reset() {
    let (c, s) = common::tcp_pair();
    let reader = gort::go!(move || {
        let mut b = [0; 4];
        (&c).read_exact(&mut b).unwrap();
        assert_eq!(&b, b"half");
        (&c).read(&mut b)
    });
    (&s).write_all(b"half").unwrap();
    gort::time::sleep(Duration::from_millis(20));
    s.set_linger(Some(Duration::ZERO)).unwrap();
    drop(s);
    assert_eq!(reader.join().unwrap().unwrap_err().kind(), ErrorKind::ConnectionReset);
}

/// Each round leaves a readiness event (and a deadline timer) in flight for
/// a socket that is then dropped; the next round's sockets usually get the
/// same fd numbers. A stale wake-up would show as a reader returning before
/// its peer wrote, or a byte from the wrong round.
#[test]
fn fd_reuse_never_crosses_wakeups() {
    const ROUNDS: u32 = 10_000;
    let h = gort::go!(|| {
        let mut reused = 0;
        let mut last_fd = None;
        for round in 0..ROUNDS {
            let (a, b) = UnixStream::pair().unwrap();
            let fd = std::os::fd::AsRawFd::as_raw_fd(&a);
            reused += u32::from(last_fd == Some(fd));
            last_fd = Some(fd);
            a.set_read_deadline(Some(std::time::Instant::now() + Duration::from_secs(30)));
            let tag = round.to_le_bytes();
            let reader = gort::go!(move || {
                let mut got = [0; 4];
                (&a).read_exact(&mut got).map(|()| got)
            });
            if round % 2 == 0 {
                gort::yield_now();
            }
            (&b).write_all(&tag).unwrap();
            assert_eq!(reader.join().unwrap().unwrap(), tag, "round {round} read another round's bytes");
            // Make `d` readable then drop it (and `b`) at once: its event may
            // still be on its way when the next pair reuses the number.
            let (c, d) = UnixStream::pair().unwrap();
            (&c).write_all(b"!").unwrap();
            drop((c, d, b));
        }
        reused
    });
    assert!(h.join().unwrap() > ROUNDS / 2, "fd numbers were not reused: the test proved nothing");
}
