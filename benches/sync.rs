//! Uncontended lock + unlock of gort's `Mutex` beside std's, and a `Pool`
//! get + put on the fast path (the P's private slot), on a goroutine.
//!
//! `cargo bench --bench sync`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

/// Runs `f(iters)` on a goroutine, as the runtime's users do.
fn on_goroutine(iters: u64, f: fn(u64) -> Duration) -> Duration {
    gort::go!(move || f(iters)).join().unwrap()
}

fn gort_mutex(iters: u64) -> Duration {
    let m = gort::sync::Mutex::new(0u64);
    let start = Instant::now();
    for _ in 0..iters {
        *black_box(&m).lock() += 1;
    }
    start.elapsed()
}

fn std_mutex(iters: u64) -> Duration {
    let m = std::sync::Mutex::new(0u64);
    let start = Instant::now();
    for _ in 0..iters {
        *black_box(&m).lock().unwrap() += 1;
    }
    start.elapsed()
}

fn pool_get_put(iters: u64) -> Duration {
    let pool = gort::sync::Pool::new(|| Vec::<u8>::with_capacity(64));
    pool.put(pool.get());
    let start = Instant::now();
    for _ in 0..iters {
        let v = black_box(&pool).get();
        pool.put(v);
    }
    start.elapsed()
}

fn sync(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync");
    g.bench_function("gort_mutex_lock_unlock", |b| b.iter_custom(|n| on_goroutine(n, gort_mutex)));
    g.bench_function("std_mutex_lock_unlock", |b| b.iter_custom(|n| on_goroutine(n, std_mutex)));
    g.bench_function("gort_pool_get_put", |b| b.iter_custom(|n| on_goroutine(n, pool_get_put)));
    g.finish();
}

criterion_group!(benches, sync);
criterion_main!(benches);
