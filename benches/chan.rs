//! Unbuffered channel ping-pong: one round trip = a value to the echoing
//! goroutine and back, between two goroutines on one P (`GORT_PROCS=1`),
//! beside the same with two OS threads over std mpsc in the same run. The
//! loops are the switch lab's own (`examples/switchlab/switches.rs`), which
//! count a round trip as two switches. A third row makes both sides wait
//! in a two-arm `select!` instead (Go's `for { select { … } }`).
//!
//! The `chan_uncontended` group times the paths that never wait, on one
//! goroutine: a two-arm `select!` with one arm ready (a buffered send then
//! the select receiving it), a `select!` that takes its `default`, and a
//! `try_recv` on an empty channel. These never switch, so they are timed by
//! the thread's CPU clock: on a shared machine wall time also counts the
//! time the thread waited for a core, which swamped differences of a few ns.
//!
//! `cargo bench --bench chan`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};

// The lab's other loops (futex, pipe, coroutine rows) are not used here.
#[allow(dead_code)]
#[path = "../examples/switchlab/switches.rs"]
mod switches;

/// `rounds` round trips where each side waits in a `select!` over its value
/// channel and a quit channel that stays silent until the end.
fn gort_select(rounds: u64) -> Duration {
    gort::go!(move || {
        let (ping_tx, ping_rx) = gort::chan::bounded::<u64>(0);
        let (pong_tx, pong_rx) = gort::chan::bounded::<u64>(0);
        let (quit_tx, quit_rx) = gort::chan::bounded::<()>(0);
        let echo_quit = quit_rx.clone();
        let echo = gort::go!(move || loop {
            gort::select! {
                recv(ping_rx) -> v => match v {
                    Ok(v) => pong_tx.send(v).unwrap(),
                    Err(_) => return,
                },
                recv(echo_quit) -> _ => return,
            }
        });
        let round = |i| {
            ping_tx.send(i).unwrap();
            gort::select! {
                recv(pong_rx) -> v => assert_eq!(v, Ok(i)),
                recv(quit_rx) -> _ => unreachable!("the quit channel stays silent"),
            }
        };
        (0..switches::WARM).for_each(round);
        let t = Instant::now();
        (0..rounds).for_each(round);
        let elapsed = t.elapsed();
        drop(quit_tx);
        echo.join().unwrap();
        elapsed
    })
    .join()
    .unwrap()
}

/// Runs `f(iters)` on a goroutine, as the runtime's users do.
fn on_goroutine(iters: u64, f: fn(u64) -> Duration) -> Duration {
    gort::go!(move || f(iters)).join().unwrap()
}

/// CPU time of the calling thread (the M running the goroutine, which does
/// not switch during these rows).
fn cpu_now() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A buffered send, then a two-arm `select!` whose second arm is ready.
fn select_ready(iters: u64) -> Duration {
    let (tx, rx) = gort::chan::bounded::<u64>(1);
    let (_idle_tx, idle_rx) = gort::chan::bounded::<u64>(1);
    let start = cpu_now();
    for i in 0..iters {
        tx.send(i).unwrap();
        gort::select! {
            recv(idle_rx) -> _ => unreachable!("nothing is sent on it"),
            recv(rx) -> v => assert_eq!(v, Ok(i)),
        }
    }
    cpu_now() - start
}

/// A two-arm `select!` over empty channels that takes its `default`.
fn select_default(iters: u64) -> Duration {
    let (_tx1, rx1) = gort::chan::bounded::<u64>(1);
    let (_tx2, rx2) = gort::chan::bounded::<u64>(1);
    let start = cpu_now();
    for _ in 0..iters {
        gort::select! {
            recv(rx1) -> _ => unreachable!("empty"),
            recv(rx2) -> _ => unreachable!("empty"),
            default => {}
        }
    }
    cpu_now() - start
}

/// `try_recv` on an empty channel.
fn try_recv_empty(iters: u64) -> Duration {
    let (_tx, rx) = gort::chan::bounded::<u64>(1);
    let start = cpu_now();
    for _ in 0..iters {
        assert!(black_box(&rx).try_recv().is_err());
    }
    cpu_now() - start
}

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("chan_uncontended");
    g.bench_function("select_ready_2arm", |b| b.iter_custom(|n| on_goroutine(n, select_ready)));
    g.bench_function("select_default_2arm", |b| b.iter_custom(|n| on_goroutine(n, select_default)));
    g.bench_function("try_recv_empty", |b| b.iter_custom(|n| on_goroutine(n, try_recv_empty)));
    g.finish();
}

fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("chan_ping_pong");
    g.bench_function("gort_unbuffered_1p", |b| b.iter_custom(|n| switches::gort_chan::<Instant>(2 * n)));
    g.bench_function("gort_select_1p", |b| b.iter_custom(gort_select));
    g.bench_function("os_thread_mpsc", |b| b.iter_custom(|n| switches::thread_mpsc::<Instant>(2 * n)));
    g.finish();
}

criterion_group!(benches, ping_pong, uncontended);

fn main() {
    if std::env::var_os("GORT_PROCS").is_none() {
        // Before the runtime starts: both goroutines on one P.
        std::env::set_var("GORT_PROCS", "1");
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
