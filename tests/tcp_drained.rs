//! A stream read that follows a short read waits for readiness before it
//! tries (`net/src/drained.rs`). These are the ways that could hang or lose
//! bytes: a FIN or reset queued right behind the data a short read
//! returned, many small writes each read short, several readers of one
//! socket, and urgent data, which stops a read short with bytes queued.
//! Every test runs under a watchdog or a read timeout, so a lost wake-up
//! fails the test instead of hanging it.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use gort::net::TcpStream;

const WATCHDOG: Duration = Duration::from_secs(10);

/// Runs `f` on a plain thread; fails the test if it does not return in time.
fn within_watchdog<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()));
    rx.recv_timeout(WATCHDOG).unwrap_or_else(|e| match e {
        mpsc::RecvTimeoutError::Timeout => panic!("{what}: no result within {WATCHDOG:?} (a lost wake-up?)"),
        mpsc::RecvTimeoutError::Disconnected => panic!("{what}: panicked (see its message above)"),
    })
}

/// Reads until EOF or an error into a roomy buffer (so every read is short).
fn read_to_end(c: &TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match (&*c).read(&mut buf) {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Err(e)),
        }
    }
}

/// How the writing peer ends the stream.
#[derive(Clone, Copy, Debug)]
enum End {
    Shutdown,
    Drop,
    Reset,
}

/// One round: the reader is parked (or not yet, when `pause` is zero) when
/// the peer writes `msg` and ends the stream at once, so data and FIN (or
/// reset) often arrive under one event.
fn data_then_end(end: End, pause: Duration) {
    let (c, s) = common::tcp_pair();
    let reader = gort::go!(move || read_to_end(&c));
    gort::time::sleep(pause);
    (&s).write_all(b"last words").unwrap();
    match end {
        End::Shutdown => s.shutdown(Shutdown::Write).unwrap(),
        End::Drop => drop(s),
        End::Reset => {
            gort::time::sleep(Duration::from_millis(1));
            s.set_linger(Some(Duration::ZERO)).unwrap();
            drop(s);
        }
    }
    let (got, r) = reader.join().unwrap();
    assert_eq!(got, b"last words", "{end:?}");
    match end {
        End::Reset => assert_eq!(r.unwrap_err().kind(), ErrorKind::ConnectionReset),
        _ => r.unwrap(),
    }
}

#[test]
fn data_then_fin_is_read_then_eof() {
    within_watchdog("data then FIN", || {
        for round in 0..300 {
            let end = if round % 2 == 0 { End::Shutdown } else { End::Drop };
            data_then_end(end, Duration::from_micros(round % 3 * 200));
        }
    });
}

#[test]
fn data_then_reset_is_read_then_connection_reset() {
    within_watchdog("data then reset", || {
        for round in 0..100 {
            data_then_end(End::Reset, Duration::from_micros(round % 3 * 200));
        }
    });
}

/// Request/response: each read returns the whole short message, the next
/// one waits first; a lost wake-up would stall the ping-pong.
#[test]
fn short_read_ping_pong_then_eof() {
    within_watchdog("ping-pong", || {
        let (c, s) = common::tcp_pair();
        let echo = gort::go!(move || {
            let mut buf = [0u8; 4096];
            let mut n_msgs = 0;
            while let Ok(n @ 1..) = (&s).read(&mut buf) {
                (&s).write_all(&buf[..n]).unwrap();
                n_msgs += 1;
            }
            n_msgs
        });
        let mut buf = [0u8; 64];
        for i in 0..2000u32 {
            let msg = i.to_le_bytes();
            (&c).write_all(&msg).unwrap();
            (&c).read_exact(&mut buf[..4]).unwrap();
            assert_eq!(buf[..4], msg);
        }
        c.shutdown(Shutdown::Write).unwrap();
        assert!(echo.join().unwrap() >= 1);
    });
}

/// Many tiny writes, some with pauses between them, read back whole.
#[test]
fn many_small_writes_arrive_whole() {
    within_watchdog("small writes", || {
        let (c, s) = common::tcp_pair();
        let want: Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();
        let sent = want.clone();
        let writer = gort::go!(move || {
            for (i, piece) in sent.chunks(5).enumerate() {
                (&s).write_all(piece).unwrap();
                if i % 64 == 0 {
                    gort::time::sleep(Duration::from_micros(50));
                } else if i % 8 == 0 {
                    gort::yield_now();
                }
            }
        });
        let (got, r) = gort::go!(move || read_to_end(&c)).join().unwrap();
        writer.join().unwrap();
        r.unwrap();
        assert_eq!(got, want);
    });
}

/// Two readers of one socket: between them they read every byte and both
/// see EOF, whatever the interleaving of their short reads.
#[test]
fn two_readers_share_every_byte_then_eof() {
    within_watchdog("two readers", || {
        for _ in 0..20 {
            let (c, s) = common::tcp_pair();
            let c = Arc::new(c);
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let c = c.clone();
                    gort::go!(move || read_to_end(&c))
                })
                .collect();
            for i in 0..500u32 {
                (&s).write_all(&[i as u8; 3]).unwrap();
                if i % 16 == 0 {
                    gort::yield_now();
                }
            }
            drop(s);
            let total: usize = readers
                .into_iter()
                .map(|h| h.join().unwrap())
                .map(|(got, r)| {
                    r.unwrap();
                    got.len()
                })
                .sum();
            assert_eq!(total, 1500);
        }
    });
}

/// `try_read` finding nothing sets the hint as a short read does, so the
/// `wait_readable` after it parks: the pattern of a server waiting for a
/// request holding no buffer. Bytes written in small pieces, with and
/// without pauses, all arrive, and EOF ends it; a wait that parked with
/// data already queued would hang (the watchdog fails it instead).
#[test]
fn try_read_then_wait_readable_loses_nothing() {
    let mut waits = 0;
    for round in 0..200u32 {
        let (c, s) = common::tcp_pair();
        let reader = gort::go!(move || {
            let (mut got, mut empty) = (Vec::new(), 0u32);
            let mut buf = [0u8; 64];
            loop {
                match c.try_read(&mut buf) {
                    Ok(0) => return (got, empty),
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        empty += 1;
                        c.wait_readable().unwrap();
                    }
                    Err(e) => panic!("try_read: {e}"),
                }
            }
        });
        let want: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
        for (i, piece) in want.chunks(100).enumerate() {
            (&s).write_all(piece).unwrap();
            if (i as u32 + round).is_multiple_of(4) {
                gort::time::sleep(Duration::from_millis(1));
            }
        }
        drop(s);
        let (got, empty) = within_watchdog("try_read loop", move || reader.join().unwrap());
        assert_eq!(got, want, "round {round}");
        waits += empty;
    }
    assert!(waits > 0, "the reader never found the socket empty: the pattern went untested");
}

/// Urgent data stops a read short at its mark with data still queued, so
/// that short read proves nothing: once it has arrived (EPOLLPRI), the
/// next read tries before it waits. Here the data lands all at once while
/// the reader is parked, and the read after the short one must return the
/// rest, not wait for readiness that already came. A connection per round:
/// the urgent mark turns the hint off for the socket's life.
#[test]
fn urgent_data_does_not_strand_the_bytes_behind_its_mark() {
    let ln = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    for round in 0..20 {
        let peer = std::net::TcpStream::connect(ln.local_addr().unwrap()).unwrap();
        let (c, _) = ln.accept().unwrap();
        c.set_read_timeout(Some(WATCHDOG / 2)).unwrap();
        let reader = std::thread::spawn(move || common::read_n_in_pieces(&c, 10, &format!("round {round}")));
        std::thread::sleep(Duration::from_millis(20)); // the reader is parked
        let sock = socket2::SockRef::from(&peer);
        (&peer).write_all(b"hello").unwrap();
        sock.send_out_of_band(b"!").unwrap();
        (&peer).write_all(b"world").unwrap();
        assert_eq!(reader.join().unwrap(), b"helloworld", "round {round}");
    }
}
