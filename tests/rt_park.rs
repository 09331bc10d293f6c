//! Parking and waking: sleep, timers, and the races between a wake-up and a
//! park (join racing the joined goroutine's exit).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Run alone in a child process: the other tests of this binary keep both
/// Ps busy with yielding loops, which (by the 61-tick rule, as in Go) lets
/// the global queue drain only slowly, so sleepers readied from this plain
/// thread could miss any fixed deadline.
#[test]
fn hundred_thousand_parked_then_woken() {
    if !common::is_child() {
        let out = common::run_child("hundred_thousand_parked_then_woken", &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    const N: u64 = 100_000;
    let woke = Arc::new(AtomicU64::new(0));
    // The deadline is chosen once every goroutine exists, and scaled by how
    // long spawning took, so a slow (debug, loaded) machine cannot let the
    // first sleepers wake before the last ones park.
    let (tx, rx) = gort::chan::bounded::<Instant>(N as usize);
    let spawning = Instant::now();
    let hs: Vec<_> = (0..N)
        .map(|i| {
            let (woke, rx) = (woke.clone(), rx.clone());
            gort::go!(move || {
                gort::time::sleep_until(rx.recv().unwrap());
                woke.fetch_add(1, Ordering::Relaxed);
                i
            })
        })
        .collect();
    let spawned = spawning.elapsed();
    let deadline = Instant::now() + Duration::from_secs(2) + 2 * spawned;
    (0..N).for_each(|_| tx.send(deadline).unwrap());
    // All of them are parked at once, each on its own timer.
    let parked = || gort::stats().timers as u64 >= N || Instant::now() >= deadline;
    assert!(common::wait_until(Duration::from_secs(60), parked));
    let woken_early = woke.load(Ordering::Relaxed);
    assert!(
        Instant::now() < deadline,
        "the deadline passed before every goroutine was parked (spawning took {spawned:?}): {:?}",
        gort::stats()
    );
    assert_eq!(woken_early, 0, "woken before the deadline");
    let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, N * (N - 1) / 2);
    assert_eq!(woke.load(Ordering::Relaxed), N);
    assert!(Instant::now() >= deadline);
}

#[test]
fn sleep_never_returns_early() {
    let hs: Vec<_> = (0..200u64)
        .map(|i| {
            gort::go!(move || {
                let d = Duration::from_micros(100 * (i % 50));
                let t = Instant::now();
                gort::time::sleep(d);
                t.elapsed() >= d
            })
        })
        .collect();
    assert!(hs.into_iter().all(|h| h.join().unwrap()));
}

#[test]
fn sleep_on_plain_thread_blocks_thread() {
    let t = Instant::now();
    gort::time::sleep(Duration::from_millis(10));
    assert!(t.elapsed() >= Duration::from_millis(10));
    assert!(gort::current().is_none());
}

/// Sleepers are woken while runnable goroutines keep every P busy: the
/// timers are run from the scheduler loop, not only when a P goes idle. Each
/// sleeper is done while the load still runs (the load stops only after all
/// of them were joined), and none wakes early. How late they wake is a
/// figure for `benches/`, not an assertion here.
#[test]
fn sleepers_wake_while_yielding_load_keeps_every_p_busy() {
    let stop = Arc::new(AtomicU64::new(0));
    let load: Vec<_> = (0..8)
        .map(|_| {
            let stop = stop.clone();
            gort::go!(move || {
                let mut rounds = 0u64;
                while stop.load(Ordering::Relaxed) == 0 {
                    std::hint::black_box((0..100).sum::<u64>());
                    gort::yield_now();
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    for _ in 0..10 {
        let slept = gort::go!(|| {
            let t = Instant::now();
            gort::time::sleep(Duration::from_millis(20));
            t.elapsed()
        })
        .join()
        .unwrap();
        assert!(slept >= Duration::from_millis(20), "a sleep of 20 ms ended after {slept:?}");
    }
    stop.store(1, Ordering::Relaxed);
    let rounds: Vec<u64> = load.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(rounds.iter().all(|&r| r > 0), "a load goroutine never ran: {rounds:?}");
}

/// The joined goroutine finishes at the same moment the joiner parks: the
/// wake-up must never be lost (the test would hang) nor delivered twice.
#[test]
fn join_racing_exit_never_loses_the_wakeup() {
    for round in 0..20 {
        let hs: Vec<_> = (0..5_000u64)
            .map(|i| {
                let target = gort::go!(move || i);
                gort::go!(move || {
                    if i % 2 == 0 {
                        gort::yield_now();
                    }
                    target.join().unwrap() + 1
                })
            })
            .collect();
        let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 5_000 * 4_999 / 2 + 5_000, "round {round}");
    }
}

/// Threads join goroutines that finish concurrently.
#[test]
fn thread_join_racing_exit() {
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| {
                for i in 0..2_000u64 {
                    assert_eq!(gort::go!(move || i).join().unwrap(), i);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
}
