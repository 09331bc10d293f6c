//! Unbuffered channel ping-pong: one round trip = a value to the echoing
//! goroutine and back, between two goroutines on one P (`GORT_PROCS=1`),
//! beside the same with two OS threads over std mpsc in the same run.
//!
//! `cargo bench --bench chan`

use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use gort::chan;

/// One iteration = one round trip over two rendezvous channels.
fn gort_ping_pong(iters: u64) -> Duration {
    gort::go!(move || {
        let (ping_tx, ping_rx) = chan::bounded::<u64>(0);
        let (pong_tx, pong_rx) = chan::bounded::<u64>(0);
        let echo = gort::go!(move || {
            for v in &ping_rx {
                pong_tx.send(v).unwrap();
            }
        });
        let start = Instant::now();
        for i in 0..iters {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap();
        }
        let t = start.elapsed();
        drop(ping_tx);
        echo.join().unwrap();
        t
    })
    .join()
    .unwrap()
}

/// One iteration = one round trip between two OS threads.
fn thread_mpsc_ping_pong(iters: u64) -> Duration {
    let (ping_tx, ping_rx) = mpsc::channel::<u64>();
    let (pong_tx, pong_rx) = mpsc::channel::<u64>();
    let echo = std::thread::spawn(move || {
        for v in ping_rx {
            pong_tx.send(v).unwrap();
        }
    });
    let start = Instant::now();
    for i in 0..iters {
        ping_tx.send(i).unwrap();
        pong_rx.recv().unwrap();
    }
    let t = start.elapsed();
    drop(ping_tx);
    echo.join().unwrap();
    t
}

fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("chan_ping_pong");
    g.bench_function("gort_unbuffered_1p", |b| b.iter_custom(gort_ping_pong));
    g.bench_function("os_thread_mpsc", |b| b.iter_custom(thread_mpsc_ping_pong));
    g.finish();
}

criterion_group!(benches, ping_pong);

fn main() {
    if std::env::var_os("GORT_PROCS").is_none() {
        // Before the runtime starts: both goroutines on one P.
        std::env::set_var("GORT_PROCS", "1");
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
