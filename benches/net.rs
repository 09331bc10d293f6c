//! TCP echo round trip of 64 bytes on one loopback connection: a gort
//! goroutine client and a goroutine echo server, beside the same loop on
//! blocking std sockets with two OS threads, in the same run. The issue's
//! target is gort within 10% of the threads.
//!
//! UDP sends of 64 bytes from a goroutine: `send` on a connected socket is
//! the floor that `send_to` is read against, once with a `SocketAddr` and
//! once with an IP literal string (both convert inline, with no resolver
//! call; issue 11 part 4). The `addr_convert` rows time that conversion
//! alone (`lookup_host` on an address and on an IP literal), which the
//! kernel's send cost would otherwise hide on a loaded machine.
//!
//! `cargo bench --bench net` (`GORT_NETPOLL=thread` for the other poller).

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};

const MSG: usize = 64;

fn ping(c: &mut (impl Read + Write), iters: u64) -> Duration {
    let mut buf = [1u8; MSG];
    let start = Instant::now();
    for _ in 0..iters {
        c.write_all(&buf).unwrap();
        c.read_exact(&mut buf).unwrap();
    }
    start.elapsed()
}

fn echo(mut c: impl Read + Write) {
    let mut buf = [0u8; MSG];
    while c.read_exact(&mut buf).is_ok() && c.write_all(&buf).is_ok() {}
}

/// One iteration = one 64-byte round trip, goroutine to goroutine.
fn gort_rtt(iters: u64) -> Duration {
    let ln = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let server = gort::go!(move || {
        let (s, _) = ln.accept().unwrap();
        s.set_nodelay(true).unwrap();
        echo(s);
    });
    let t = gort::go!(move || {
        let mut c = gort::net::TcpStream::connect(addr).unwrap();
        c.set_nodelay(true).unwrap();
        ping(&mut c, iters)
    })
    .join()
    .unwrap();
    server.join().unwrap();
    t
}

/// One iteration = one 64-byte round trip between two OS threads.
fn std_rtt(iters: u64) -> Duration {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (s, _) = ln.accept().unwrap();
        s.set_nodelay(true).unwrap();
        echo(s);
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    let t = ping(&mut c, iters);
    drop(c);
    server.join().unwrap();
    t
}

/// How a UDP row names the peer.
#[derive(Clone, Copy)]
enum Peer {
    Connected,
    Addr,
    Literal,
}

/// One iteration = one 64-byte datagram sent from a goroutine to a socket
/// that never reads (loopback drops what overflows its buffer).
fn udp_send(peer: Peer, iters: u64) -> Duration {
    gort::go!(move || {
        let sink = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = sink.local_addr().unwrap();
        let literal = to.to_string();
        let s = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        if let Peer::Connected = peer {
            s.connect(to).unwrap();
        }
        let buf = [1u8; MSG];
        let start = Instant::now();
        for _ in 0..iters {
            match peer {
                Peer::Connected => s.send(&buf),
                Peer::Addr => s.send_to(&buf, to),
                Peer::Literal => s.send_to(&buf, literal.as_str()),
            }
            .unwrap();
        }
        start.elapsed()
    })
    .join()
    .unwrap()
}

/// One iteration = one `lookup_host` of a resolved address (or of its IP
/// literal string) from a goroutine.
fn convert(peer: Peer, iters: u64) -> Duration {
    gort::go!(move || {
        let to = SocketAddr::from(([127, 0, 0, 1], 9));
        let literal = to.to_string();
        let start = Instant::now();
        for _ in 0..iters {
            let first = match peer {
                Peer::Literal => gort::net::lookup_host(black_box(literal.as_str())).unwrap().next(),
                _ => gort::net::lookup_host(black_box(to)).unwrap().next(),
            };
            black_box(first);
        }
        start.elapsed()
    })
    .join()
    .unwrap()
}

fn net(c: &mut Criterion) {
    let mut g = c.benchmark_group("tcp_echo_64b_rtt");
    g.bench_function("gort_goroutines", |b| b.iter_custom(gort_rtt));
    g.bench_function("std_threads", |b| b.iter_custom(std_rtt));
    g.finish();
    let mut g = c.benchmark_group("udp_send_64b");
    g.bench_function("send_connected", |b| b.iter_custom(|n| udp_send(Peer::Connected, n)));
    g.bench_function("send_to_socketaddr", |b| b.iter_custom(|n| udp_send(Peer::Addr, n)));
    g.bench_function("send_to_ip_literal", |b| b.iter_custom(|n| udp_send(Peer::Literal, n)));
    g.finish();
    let mut g = c.benchmark_group("addr_convert");
    g.bench_function("socketaddr", |b| b.iter_custom(|n| convert(Peer::Addr, n)));
    g.bench_function("ip_literal", |b| b.iter_custom(|n| convert(Peer::Literal, n)));
    g.finish();
}

criterion_group!(benches, net);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
