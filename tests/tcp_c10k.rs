//! 10,000 concurrent connections in one server process: one goroutine per
//! connection, the clients in a child process (each process may hold
//! 20,000 fds). Every client holds its connection open until all have
//! echoed once, so the server holds all 10,000 at the same time.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gort::net::{TcpListener, TcpStream};

const CONNS: usize = 10_000;
const ADDR_ENV: &str = "GORT_TEST_C10K_ADDR";

fn clients(addr: &str) {
    let conns: Vec<TcpStream> = (0..CONNS).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let conns = Arc::new(conns);
    // Echo on every connection from a few goroutines, all still open.
    let hs: Vec<_> = (0..8)
        .map(|w| {
            let conns = conns.clone();
            gort::go!(move || {
                for c in conns.iter().skip(w).step_by(8) {
                    let mut b = [0u8; 8];
                    (&*c).write_all(b"c10k-ok!").unwrap();
                    (&*c).read_exact(&mut b).unwrap();
                    assert_eq!(&b, b"c10k-ok!");
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    for c in conns.iter() {
        // Reset instead of FIN: leaves no TIME_WAIT ports behind.
        c.set_linger(Some(Duration::ZERO)).unwrap();
    }
    println!("clients done");
}

#[test]
fn ten_thousand_concurrent_connections() {
    if common::is_child() {
        return clients(&std::env::var(ADDR_ENV).unwrap());
    }
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap().to_string();
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (l2, p2) = (live.clone(), peak.clone());
    gort::go!(move || {
        for c in ln.incoming() {
            let c = c.unwrap();
            let (live, peak) = (l2.clone(), p2.clone());
            gort::go!(move || {
                peak.fetch_max(live.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                let mut buf = [0u8; 64];
                while let Ok(n @ 1..) = (&c).read(&mut buf) {
                    if (&c).write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                live.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    let out = common::run_child("ten_thousand_concurrent_connections", &[(ADDR_ENV, &addr)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("clients done"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(peak.load(Ordering::SeqCst), CONNS, "the server never held every connection at once");
    assert!(
        common::wait_until(Duration::from_secs(20), || live.load(Ordering::SeqCst) == 0),
        "connections leaked"
    );
}
