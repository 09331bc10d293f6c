//! What a switch costs: gort `yield_now` between two goroutines on one P,
//! beside an OS-thread switch (two threads handing a token over std mpsc) in
//! the same run. Runs with `GORT_PROCS=1` so both goroutines share a P.
//!
//! `cargo bench --bench switch`

use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};

/// One iteration = one switch: two goroutines each yield `iters / 2` times.
fn gort_yield(iters: u64) -> Duration {
    let half = iters.div_ceil(2);
    gort::go!(move || {
        let start = Instant::now();
        let other = gort::go!(move || (0..half).for_each(|_| gort::yield_now()));
        (0..half).for_each(|_| gort::yield_now());
        other.join().unwrap();
        start.elapsed()
    })
    .join()
    .unwrap()
}

/// One iteration = one switch: a token crosses between two OS threads.
fn thread_mpsc(iters: u64) -> Duration {
    let (to_b, b_rx) = mpsc::channel::<u64>();
    let (to_a, a_rx) = mpsc::channel::<u64>();
    let half = iters.div_ceil(2);
    let b = std::thread::spawn(move || {
        for v in b_rx.iter().take(half as usize) {
            to_a.send(v).unwrap();
        }
    });
    let start = Instant::now();
    for i in 0..half {
        to_b.send(i).unwrap();
        a_rx.recv().unwrap();
    }
    let t = start.elapsed();
    b.join().unwrap();
    t
}

fn switch(c: &mut Criterion) {
    let mut g = c.benchmark_group("switch");
    g.bench_function("gort_yield_1p", |b| b.iter_custom(gort_yield));
    g.bench_function("os_thread_mpsc", |b| b.iter_custom(thread_mpsc));
    g.finish();
}

criterion_group!(benches, switch);

fn main() {
    if std::env::var_os("GORT_PROCS").is_none() {
        // Before the runtime starts: both goroutines on one P.
        std::env::set_var("GORT_PROCS", "1");
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
