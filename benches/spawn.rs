//! Spawn + run + join of an empty goroutine, amortised over a batch, beside
//! the same with OS threads (`std::thread::spawn` + `join`) in the same run.
//!
//! `cargo bench --bench spawn`

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

/// From inside a goroutine, as a server's accept loop would: spawn the
/// whole batch, then join it. Many goroutines are alive at once, so this
/// includes carving and first-touching fresh stacks.
fn gort_spawn_join(iters: u64) -> Duration {
    gort::go!(move || {
        let start = Instant::now();
        let hs: Vec<_> = (0..iters).map(|_| gort::go!(|| ())).collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        start.elapsed()
    })
    .join()
    .unwrap()
}

/// From inside a goroutine in batches of 1,000: spawn a batch, join it,
/// repeat. The batch's stacks come back to the pools between batches, so
/// this is the steady state of a server spawning per request.
fn gort_spawn_join_batches(iters: u64) -> Duration {
    gort::go!(move || {
        let start = Instant::now();
        let mut left = iters;
        while left > 0 {
            let n = left.min(1_000);
            let hs: Vec<_> = (0..n).map(|_| gort::go!(|| ())).collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
            left -= n;
        }
        start.elapsed()
    })
    .join()
    .unwrap()
}

/// One at a time from a goroutine: spawn, then join at once. The child runs
/// from `runnext` on the same P with a stack from the P's cache: the hot path.
fn gort_spawn_join_one_by_one(iters: u64) -> Duration {
    gort::go!(move || {
        let start = Instant::now();
        (0..iters).for_each(|_| gort::go!(|| ()).join().unwrap());
        start.elapsed()
    })
    .join()
    .unwrap()
}

/// From the main thread: every goroutine goes through the global queue.
fn gort_spawn_join_from_thread(iters: u64) -> Duration {
    let start = Instant::now();
    let hs: Vec<_> = (0..iters).map(|_| gort::go!(|| ())).collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    start.elapsed()
}

/// OS threads, in batches of 1,000 live at once.
fn thread_spawn_join(iters: u64) -> Duration {
    let start = Instant::now();
    let mut left = iters;
    while left > 0 {
        let n = left.min(1_000);
        let hs: Vec<_> = (0..n).map(|_| std::thread::spawn(|| ())).collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        left -= n;
    }
    start.elapsed()
}

fn spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_join");
    g.bench_function("gort_one_by_one", |b| b.iter_custom(gort_spawn_join_one_by_one));
    g.bench_function("gort_from_goroutine", |b| b.iter_custom(gort_spawn_join));
    g.bench_function("gort_batches_of_1000", |b| b.iter_custom(gort_spawn_join_batches));
    g.bench_function("gort_from_thread", |b| b.iter_custom(gort_spawn_join_from_thread));
    g.bench_function("os_thread", |b| b.iter_custom(thread_spawn_join));
    g.finish();
}

criterion_group!(benches, spawn);
criterion_main!(benches);
