//! `gort::context` beside Go's `context` (benches/go/context, run in the
//! same sitting): `with_cancel` + cancel (under `background()` and under a
//! cancellable parent), `with_timeout` + drop before it fires, a value
//! lookup five deep, and the cancel of a parent with 10,000 children.
//!
//! `cargo bench --bench context`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use gort::context::Context;

/// Runs `f(iters)` on a goroutine, as the runtime's users do.
fn on_goroutine(iters: u64, f: fn(u64) -> Duration) -> Duration {
    gort::go!(move || f(iters)).join().unwrap()
}

fn cancel_under(parent: &Context, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let (ctx, cancel) = black_box(parent).with_cancel();
        cancel.cancel();
        black_box(ctx);
    }
    start.elapsed()
}

fn with_cancel_cancel(iters: u64) -> Duration {
    cancel_under(&Context::background(), iters)
}

fn with_cancel_cancel_under_parent(iters: u64) -> Duration {
    let (parent, _cancel) = Context::background().with_cancel();
    cancel_under(&parent, iters)
}

fn with_timeout_drop(iters: u64) -> Duration {
    let bg = Context::background();
    let start = Instant::now();
    for _ in 0..iters {
        let (ctx, cancel) = black_box(&bg).with_timeout(Duration::from_secs(10));
        drop(black_box((ctx, cancel)));
    }
    start.elapsed()
}

fn value_5_deep(iters: u64) -> Duration {
    struct K0(u64);
    struct K1;
    struct K2;
    struct K3;
    struct K4;
    let ctx =
        Context::background().with_value(K0(7)).with_value(K1).with_value(K2).with_value(K3).with_value(K4);
    let start = Instant::now();
    for _ in 0..iters {
        black_box(black_box(&ctx).value::<K0>().map(|k| k.0));
    }
    start.elapsed()
}

fn cancel_10k_children(iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let (parent, cancel) = Context::background().with_cancel();
        let children: Vec<_> = (0..10_000).map(|_| parent.with_cancel()).collect();
        let start = Instant::now();
        cancel.cancel();
        total += start.elapsed();
        assert!(children[9_999].0.err().is_some());
    }
    total
}

fn context(c: &mut Criterion) {
    let mut g = c.benchmark_group("context");
    g.bench_function("with_cancel_cancel", |b| b.iter_custom(|n| on_goroutine(n, with_cancel_cancel)));
    g.bench_function("with_cancel_cancel_under_parent", |b| {
        b.iter_custom(|n| on_goroutine(n, with_cancel_cancel_under_parent))
    });
    g.bench_function("with_timeout_drop", |b| b.iter_custom(|n| on_goroutine(n, with_timeout_drop)));
    g.bench_function("value_5_deep", |b| b.iter_custom(|n| on_goroutine(n, value_5_deep)));
    g.bench_function("cancel_10k_children", |b| b.iter_custom(|n| on_goroutine(n, cancel_10k_children)));
    g.finish();
}

criterion_group!(benches, context);
criterion_main!(benches);
