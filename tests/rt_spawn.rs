//! Spawning and joining goroutines: volume, nesting, and from many threads.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[test]
fn million_spawn_join() {
    let hs: Vec<_> = (0..1_000_000u64).map(|i| gort::go!(move || i * 2)).collect();
    let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, 999_999 * 1_000_000);
}

#[test]
fn spawn_and_join_inside_goroutines() {
    let h = gort::go!(|| {
        let hs: Vec<_> = (0..10_000u64).map(|i| gort::go!(move || i)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
    });
    assert_eq!(h.join().unwrap(), 9_999 * 10_000 / 2);
}

fn tree(depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let l = gort::go!(move || tree(depth - 1));
    let r = gort::go!(move || tree(depth - 1));
    l.join().unwrap() + r.join().unwrap()
}

#[test]
fn fan_out_fan_in_tree() {
    for _ in 0..3 {
        assert_eq!(gort::go!(|| tree(15)).join().unwrap(), 1 << 15);
    }
}

#[test]
fn spawn_from_many_threads_at_once() {
    let ran = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let ran = ran.clone();
            std::thread::spawn(move || {
                let hs: Vec<_> = (0..5_000u64)
                    .map(|i| {
                        let ran = ran.clone();
                        gort::go!(move || {
                            ran.fetch_add(1, Ordering::Relaxed);
                            t * 1_000_000 + i
                        })
                    })
                    .collect();
                hs.into_iter()
                    .enumerate()
                    .for_each(|(i, h)| assert_eq!(h.join().unwrap(), t * 1_000_000 + i as u64));
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(ran.load(Ordering::Relaxed), 16 * 5_000);
}

/// Threads that spawn and exit before their Gs are joined: each exiting
/// thread hands its stack, G and packet caches back to the shared pools
/// while its Gs may still be queued, and the next round's threads (and the
/// joiner) reuse what they gave. Every G still runs once, with its result.
#[test]
fn threads_exit_before_their_goroutines_are_joined() {
    let ran = Arc::new(AtomicU64::new(0));
    for round in 0..4u64 {
        let spawners: Vec<_> = (0..8u64)
            .map(|t| {
                let ran = ran.clone();
                std::thread::spawn(move || {
                    (0..3_000u64)
                        .map(|i| {
                            let ran = ran.clone();
                            gort::go!(move || {
                                ran.fetch_add(1, Ordering::Relaxed);
                                (round, t, i)
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for (t, s) in spawners.into_iter().enumerate() {
            for (i, h) in s.join().unwrap().into_iter().enumerate() {
                assert_eq!(h.join().unwrap(), (round, t as u64, i as u64));
            }
        }
    }
    assert_eq!(ran.load(Ordering::Relaxed), 4 * 8 * 3_000);
}

#[test]
fn join_from_goroutine_and_from_thread() {
    let slow = gort::go!(|| {
        gort::time::sleep(std::time::Duration::from_millis(20));
        7
    });
    let joiner = gort::go!(move || slow.join().unwrap() * 6);
    let from_thread = std::thread::spawn(move || joiner.join().unwrap());
    assert_eq!(from_thread.join().unwrap(), 42);
}

#[test]
fn handle_reports_id_and_finished() {
    let h = gort::go!(|| gort::current().unwrap().id());
    let id = h.id();
    assert!(id > 0);
    assert!(common::wait_until(std::time::Duration::from_secs(10), || h.is_finished()));
    assert_eq!(h.join().unwrap(), id);
}

#[test]
fn builder_names_and_sizes() {
    // SAFETY: the closure holds no thread-local borrow across a blocking call.
    let h = unsafe {
        gort::Builder::new().name("sized").stack_size(64 << 10).spawn(|| {
            // Use most of the 64 KiB stack to show it is really there.
            let buf = std::hint::black_box([1u8; 16 << 10]);
            (gort::current().unwrap().name().map(String::from), buf.iter().map(|&b| b as u64).sum::<u64>())
        })
    }
    .unwrap();
    assert_eq!(h.join().unwrap(), (Some("sized".to_string()), 16 << 10));
    assert!(gort::current().is_none());
}

/// Counts drops of goroutine results, to check each is freed exactly once.
struct Tally(Arc<AtomicU64>);

impl Drop for Tally {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn detached_results_are_dropped_once_whichever_side_finishes_last() {
    let drops = Arc::new(AtomicU64::new(0));
    let n = 20_000u64;
    let mut finished_first = Vec::new();
    for i in 0..n {
        let d = drops.clone();
        let h = gort::go!(move || {
            if i % 2 == 0 {
                gort::yield_now();
            }
            Tally(d)
        });
        match i % 4 {
            0 | 1 => drop(h), // detach, usually before the goroutine finished
            2 => finished_first.push(h),
            _ => drop(h.join().unwrap()),
        }
    }
    for h in &finished_first {
        assert!(common::wait_until(std::time::Duration::from_secs(10), || h.is_finished()));
    }
    drop(finished_first); // detach after finishing: the handle frees the result
    assert!(common::wait_until(std::time::Duration::from_secs(10), || drops.load(Ordering::SeqCst) == n));
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(drops.load(Ordering::SeqCst), n, "a result was dropped twice");
}
