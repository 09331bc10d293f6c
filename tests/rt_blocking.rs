//! `gort::blocking`: a goroutine stuck in a blocking call does not stall
//! the others, even on a one-P runtime (run as a child with GORT_PROCS=1);
//! `gort::fs` goes through it.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn one_p_child() {
    assert_eq!(gort::stats().ps, 1);
    let ticks = Arc::new(AtomicU64::new(0));
    let t2 = ticks.clone();
    let ticker = gort::go!(move || {
        let end = Instant::now() + Duration::from_millis(300);
        while Instant::now() < end {
            t2.fetch_add(1, Ordering::Relaxed);
            gort::yield_now();
        }
    });
    let blocker = gort::go!(|| {
        gort::blocking(|| std::thread::sleep(Duration::from_millis(200)));
        gort::current().is_some()
    });
    gort::time::sleep(Duration::from_millis(100));
    // The blocker holds its thread for 200 ms; the ticker must have run meanwhile.
    let during = ticks.load(Ordering::Relaxed);
    assert!(during > 100, "the ticker stalled while the only P's M was blocked: {during} ticks");
    assert!(blocker.join().unwrap(), "the goroutine is itself again after the call");
    ticker.join().unwrap();
    // Many concurrent blocking calls each get a thread: they overlap.
    let t = Instant::now();
    let hs: Vec<_> = (0..20)
        .map(|_| gort::go!(|| gort::blocking(|| std::thread::sleep(Duration::from_millis(100)))))
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "blocking calls ran one after another: {:?}",
        t.elapsed()
    );
    println!("blocking ok");
}

#[test]
fn blocking_keeps_other_goroutines_running_on_one_p() {
    if common::is_child() {
        return one_p_child();
    }
    let out = common::run_child("blocking_keeps_other_goroutines_running_on_one_p", &[("GORT_PROCS", "1")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("blocking ok"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn short_blocking_calls_return_their_values() {
    let sum: u64 = (0..200u64)
        .map(|i| gort::go!(move || gort::blocking(|| i * 2)))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(sum, 199 * 200);
    assert_eq!(gort::blocking(|| 5), 5, "on a plain thread it just calls f");
}

#[test]
fn fs_helpers_round_trip() {
    let p = std::env::temp_dir().join(format!("gort-rt-blocking-{}", std::process::id()));
    let p2 = p.clone();
    gort::go!(move || {
        gort::fs::write(&p2, b"hello fs").unwrap();
        assert_eq!(gort::fs::read(&p2).unwrap(), b"hello fs");
        assert_eq!(gort::fs::read_to_string(&p2).unwrap(), "hello fs");
    })
    .join()
    .unwrap();
    std::fs::remove_file(p).unwrap();
}

/// More blocking calls at once than Go's 10,000-thread limit: each needs
/// its own M, so the runtime must stop with a message that names the limit
/// and the likely cause, not hang or die of a bare resource error.
fn m_cap_child() {
    let hs: Vec<_> = (0..10_100)
        .map(|_| gort::go!(|| gort::blocking(|| std::thread::sleep(Duration::from_secs(20)))))
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    println!("all blocking calls returned");
}

#[test]
fn too_many_blocked_threads_abort_with_a_clear_message() {
    if common::is_child() {
        return m_cap_child();
    }
    let out =
        common::run_child("too_many_blocked_threads_abort_with_a_clear_message", &[("GORT_PROCS", "2")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child should have stopped at the thread limit");
    assert!(stderr.contains("10000-thread limit") && stderr.contains("blocking"), "{stderr}");
}
