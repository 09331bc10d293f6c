//! Scheduling: work spreads over Ps, yielding loops cannot starve the global
//! queue, ping-pong across Ps, and the same suite under other P counts.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn flood_from_one_goroutine_spreads_over_ps() {
    let ps = gort::stats().ps;
    let before = gort::stats().switches_per_p;
    let threads = gort::go!(|| {
        let hs: Vec<_> = (0..4_000u64)
            .map(|i| {
                gort::go!(move || {
                    // Enough work that the flood outlasts the spawning loop,
                    // so every P (the spawner's too) ends up running some.
                    std::hint::black_box((0..50_000u64).fold(i, |a, b| a ^ b.wrapping_mul(31)));
                    std::thread::current().id()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect::<std::collections::HashSet<_>>()
    })
    .join()
    .unwrap();
    let after = gort::stats();
    if ps > 1 {
        assert!(threads.len() > 1, "all Gs ran on one M");
        let grew = before.iter().zip(&after.switches_per_p).filter(|(b, a)| a > b).count();
        assert!(grew > 1, "only {grew} P(s) ran Gs: {:?} -> {:?}", before, after.switches_per_p);
    }
}

#[test]
fn yielding_loops_cannot_starve_the_global_queue() {
    let ps = gort::stats().ps;
    let go_on = Arc::new(AtomicBool::new(true));
    let spinners: Vec<_> = (0..ps * 2)
        .map(|_| {
            let go_on = go_on.clone();
            gort::go!(move || {
                let mut n = 0u64;
                while go_on.load(Ordering::Relaxed) {
                    n += 1;
                    gort::yield_now();
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    // Spawned from a plain thread: it lands in the global queue.
    let stopper = {
        let go_on = go_on.clone();
        gort::go!(move || go_on.store(false, Ordering::Relaxed))
    };
    assert!(common::wait_until(Duration::from_secs(20), || !go_on.load(Ordering::Relaxed)), "starved");
    stopper.join().unwrap();
    assert!(spinners.into_iter().map(|h| h.join().unwrap()).all(|n| n > 0));
}

/// Two goroutines hand a token back and forth 1,000,000 times.
#[test]
fn ping_pong_million_rounds() {
    const ROUNDS: u64 = 1_000_000;
    let turn = Arc::new(AtomicU64::new(0));
    let player = |me: u64| {
        let turn = turn.clone();
        gort::go!(move || {
            let mut seen = 0;
            loop {
                let t = turn.load(Ordering::Acquire);
                if t >= 2 * ROUNDS {
                    return seen;
                }
                if t % 2 == me {
                    seen += 1;
                    turn.store(t + 1, Ordering::Release);
                } else {
                    gort::yield_now();
                }
            }
        })
    };
    let (a, b) = (player(0), player(1));
    assert_eq!(a.join().unwrap(), ROUNDS);
    assert_eq!(b.join().unwrap(), ROUNDS);
}

#[test]
fn idle_runtime_parks_its_ms() {
    gort::go!(|| ()).join().unwrap();
    let ps = gort::stats().ps;
    // With nothing to run, every P is released and no M spins.
    assert!(common::wait_until(Duration::from_secs(10), || {
        let s = gort::stats();
        s.idle_ps == ps && s.spinning == 0
    }));
}

/// The whole scheduler suite again with 1 and 4 Ps, each in a child process
/// (the P count is fixed when the runtime starts).
#[test]
fn suite_passes_with_1_and_4_procs() {
    if common::is_child() {
        return;
    }
    for procs in ["1", "4"] {
        for test in [
            "flood_from_one_goroutine_spreads_over_ps",
            "yielding_loops_cannot_starve_the_global_queue",
            "ping_pong_million_rounds",
            "idle_runtime_parks_its_ms",
        ] {
            let out = common::run_child(test, &[("GORT_PROCS", procs)]);
            assert!(
                out.status.success(),
                "{test} with GORT_PROCS={procs}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
