//! TCP round trips: 1 MiB payloads in random chunk sizes (partial reads
//! and writes), vectored I/O, split reader/writer, and plain-thread use.

mod common;

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;

use gort::net::{TcpListener, TcpStream};

const MIB: usize = 1 << 20;

/// xorshift: deterministic chunk sizes without a dependency.
fn rng(seed: u64) -> impl FnMut(usize) -> usize {
    let mut x = seed | 1;
    move |max| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        1 + (x % max as u64) as usize
    }
}

fn payload(seed: u8) -> Vec<u8> {
    (0..MIB).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// Echoes everything until EOF, reading and writing in random chunk sizes.
fn echo(c: TcpStream, seed: u64) -> usize {
    let mut next = rng(seed);
    let mut buf = vec![0; 64 << 10];
    let mut total = 0;
    loop {
        let want = next(buf.len());
        let n = (&c).read(&mut buf[..want]).unwrap();
        if n == 0 {
            c.shutdown(Shutdown::Write).unwrap();
            return total;
        }
        (&c).write_all(&buf[..n]).unwrap();
        total += n;
    }
}

/// Sends `data` in random chunks from one goroutine while reading the echo.
fn round_trip(addr: std::net::SocketAddr, data: Vec<u8>, seed: u64) -> Vec<u8> {
    let c = TcpStream::connect(addr).unwrap();
    let w = c.try_clone().unwrap();
    let writer = gort::go!(move || {
        let mut next = rng(seed ^ 0xabc);
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = next(rest.len().min(100_000));
            (&w).write_all(&rest[..n]).unwrap();
            rest = &rest[n..];
        }
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut got = Vec::with_capacity(MIB);
    let mut next = rng(seed ^ 0xdef);
    let mut buf = vec![0; 64 << 10];
    loop {
        let n = (&c).read(&mut buf[..next(64 << 10)]).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    writer.join().unwrap();
    got
}

#[test]
fn echo_one_mib_in_random_chunks_from_goroutines() {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    const CONNS: u64 = 8;
    let server = gort::go!(move || {
        let hs: Vec<_> = (0..CONNS)
            .map(|i| {
                let (c, _) = ln.accept().unwrap();
                gort::go!(move || echo(c, i + 1))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum::<usize>()
    });
    let clients: Vec<_> = (0..CONNS)
        .map(|i| gort::go!(move || round_trip(addr, payload(i as u8), 100 + i) == payload(i as u8)))
        .collect();
    assert!(clients.into_iter().all(|h| h.join().unwrap()), "an echo came back different");
    assert_eq!(server.join().unwrap(), CONNS as usize * MIB);
}

#[test]
fn plain_threads_use_the_same_sockets() {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let server = std::thread::spawn(move || echo(ln.accept().unwrap().0, 7));
    assert!(round_trip(addr, payload(9), 3) == payload(9));
    assert_eq!(server.join().unwrap(), MIB);
}

#[test]
fn vectored_io_and_addresses() {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let server = gort::go!(move || {
        let (c, peer) = ln.accept().unwrap();
        assert_eq!(peer, c.peer_addr().unwrap());
        let (mut a, mut b) = ([0u8; 3], [0u8; 2]);
        // One writev of 5 bytes over loopback arrives as one segment.
        let n = (&c).read_vectored(&mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)]).unwrap();
        assert_eq!(n, 5);
        (a, b)
    });
    let c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    assert_eq!(c.peer_addr().unwrap(), addr);
    let n = (&c).write_vectored(&[IoSlice::new(b"hel"), IoSlice::new(b"lo")]).unwrap();
    assert_eq!(n, 5);
    assert_eq!(server.join().unwrap(), (*b"hel", *b"lo"));
}

#[test]
fn std_conversions_round_trip() {
    let ln = TcpListener::from_std(std::net::TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
    let addr = ln.local_addr().unwrap();
    let c = TcpStream::connect(addr).unwrap();
    let (s, _) = ln.accept().unwrap();
    let mut std_s = s.into_std().unwrap();
    (&c).write_all(b"x").unwrap();
    let mut b = [0; 1];
    std_s.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"x");
    let back = TcpStream::from_std(std_s).unwrap();
    (&back).write_all(b"y").unwrap();
    (&c).read_exact(&mut b).unwrap();
    assert_eq!(&b, b"y");
    assert!(ln.into_std().is_ok());
}

/// Two goroutines parked reading the same `&TcpStream` at once: both are
/// served (a descriptor keeps every waiter, not just the last).
#[test]
fn two_readers_on_one_socket_both_get_served() {
    let (c, s) = common::tcp_pair();
    let c = std::sync::Arc::new(c);
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let c = c.clone();
            gort::go!(move || {
                let mut b = [0; 1];
                (&*c).read_exact(&mut b).map(|()| b[0])
            })
        })
        .collect();
    gort::time::sleep(std::time::Duration::from_millis(20));
    (&s).write_all(b"a").unwrap();
    gort::time::sleep(std::time::Duration::from_millis(20));
    (&s).write_all(b"b").unwrap();
    let mut got: Vec<u8> = readers.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
    got.sort();
    assert_eq!(got, b"ab");
}

/// Names resolve through `lookup_host` (getaddrinfo on a blocking call).
#[test]
fn connect_by_name_resolves_on_a_blocking_call() {
    let ln = TcpListener::bind("localhost:0").unwrap();
    let port = ln.local_addr().unwrap().port();
    let c = gort::go!(move || TcpStream::connect(("localhost", port)).map(|c| c.peer_addr().unwrap().port()));
    let _accepted = ln.accept().unwrap();
    assert_eq!(c.join().unwrap().unwrap(), port);
    assert!(gort::net::lookup_host("localhost:1").unwrap().any(|a| a.ip().is_loopback()));
}

/// Goroutines that only yield to each other keep every P busy; sockets must
/// still be served (by an M blocked in the poller, or on the fairness tick
/// when none is). The bound is a hang detector, not a speed claim: on a
/// loaded machine the 20 round trips took over 2 s (0.5 s alone).
#[test]
fn sockets_progress_while_goroutines_yield_loop() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..gort::stats().ps * 2)
        .map(|_| {
            let stop = stop.clone();
            gort::go!(move || {
                while !stop.load(Ordering::Relaxed) {
                    gort::yield_now();
                }
            })
        })
        .collect();
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let server = gort::go!(move || echo(ln.accept().unwrap().0, 5));
    let t = std::time::Instant::now();
    let rounds = gort::go!(move || {
        let c = TcpStream::connect(addr).unwrap();
        let mut b = [0u8; 1];
        for i in 0..20u8 {
            (&c).write_all(&[i]).unwrap();
            (&c).read_exact(&mut b).unwrap();
        }
        c.shutdown(Shutdown::Write).unwrap();
    });
    rounds.join().unwrap();
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    spinners.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(server.join().unwrap(), 20);
    assert!(took < std::time::Duration::from_secs(30), "20 round trips took {took:?} beside yielding loops");
}
