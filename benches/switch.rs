//! What a switch costs, under criterion: the rows of the `switchlab`
//! example, from a raw corosensei resume/yield through gort `yield_now`,
//! unbuffered channel and TCP loopback ping-pong on one P to OS threads
//! (futex pinned to one or two cores, std mpsc) and two processes over a
//! pipe, all in the same run. The loops are the example's own
//! (`examples/switchlab/switches.rs`), timed here with `Instant`; one
//! criterion iteration is one switch (a round trip is two). Runs with
//! `GORT_PROCS=1` so both goroutines share a P.
//!
//! `cargo bench --bench switch`

use std::time::Instant;

use criterion::{criterion_group, Criterion};

#[path = "../examples/switchlab/switches.rs"]
mod switches;

fn switch(c: &mut Criterion) {
    let mut g = c.benchmark_group("switch");
    g.bench_function("coro_resume_yield", |b| b.iter_custom(switches::coro::<Instant>));
    g.bench_function("gort_yield_1p", |b| b.iter_custom(switches::gort_yield::<Instant>));
    g.bench_function("gort_chan_1p", |b| b.iter_custom(switches::gort_chan::<Instant>));
    g.bench_function("gort_tcp_1p", |b| b.iter_custom(switches::gort_tcp::<Instant>));
    g.bench_function("os_thread_futex_same_core", |b| b.iter_custom(switches::futex_same_core::<Instant>));
    g.bench_function("os_thread_futex_two_cores", |b| b.iter_custom(switches::futex_two_cores::<Instant>));
    g.bench_function("os_thread_mpsc", |b| b.iter_custom(switches::thread_mpsc::<Instant>));
    g.bench_function("process_pipe", |b| b.iter_custom(switches::pipe::<Instant>));
    g.finish();
}

criterion_group!(benches, switch);

fn main() {
    switches::serve_pipe_echo();
    if std::env::var_os("GORT_PROCS").is_none() {
        // Before the runtime starts: both goroutines on one P.
        std::env::set_var("GORT_PROCS", "1");
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
