//! Unbuffered channel ping-pong: one round trip = a value to the echoing
//! goroutine and back, between two goroutines on one P (`GORT_PROCS=1`),
//! beside the same with two OS threads over std mpsc in the same run. The
//! loops are the switch lab's own (`examples/switchlab/switches.rs`), which
//! count a round trip as two switches.
//!
//! `cargo bench --bench chan`

use std::time::Instant;

use criterion::{criterion_group, Criterion};

// The lab's other loops (futex, pipe, coroutine rows) are not used here.
#[allow(dead_code)]
#[path = "../examples/switchlab/switches.rs"]
mod switches;

fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("chan_ping_pong");
    g.bench_function("gort_unbuffered_1p", |b| b.iter_custom(|n| switches::gort_chan::<Instant>(2 * n)));
    g.bench_function("os_thread_mpsc", |b| b.iter_custom(|n| switches::thread_mpsc::<Instant>(2 * n)));
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
