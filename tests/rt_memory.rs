//! Memory coming back: the stacks, dead Gs and heap that a burst of
//! goroutines used go back to the kernel once they stay unused through two
//! of sysmon's sweeps, and a plain thread that spawned gives its spawn cache
//! back when it exits.

mod common;

use std::time::{Duration, Instant};

/// Resident set size of this process.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize
}

/// The program: 200,000 goroutines each sleeping a second, all
/// parked at once (they first wait on a gate), joined, then the process
/// idles. Run in a child process, so that no other test's memory moves the
/// figures: the child prints a marker with them, and fails on its own if
/// the resident set does not fall to a tenth of the parked peak.
#[test]
fn memory_comes_back_after_a_burst() {
    if !common::is_child() {
        let out = common::run_child("memory_comes_back_after_a_burst", &[("GORT_PROCS", "2")]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("memory came back:"), "{stdout}");
        return;
    }
    const N: u64 = 200_000;
    let (gate, wait) = gort::chan::bounded::<()>(0);
    let parks = gort::stats().parks;
    let hs: Vec<_> = (0..N)
        .map(|_| {
            let wait = wait.clone();
            gort::go!(move || {
                let _ = wait.recv();
                gort::time::sleep(Duration::from_secs(1));
            })
        })
        .collect();
    let parked = || gort::stats().parks - parks >= N;
    assert!(common::wait_until(Duration::from_secs(120), parked), "{:?}", gort::stats());
    let peak = rss();
    drop(gate);
    hs.into_iter().for_each(|h| h.join().unwrap());
    let idle = Instant::now();
    let back = common::wait_until(Duration::from_secs(30), || rss() <= peak / 10);
    let (now, after) = (rss(), idle.elapsed());
    assert!(back, "RSS {} MiB parked, still {} MiB after {after:?} idle", peak >> 20, now >> 20);
    println!("memory came back: {} MiB parked, {} MiB after {after:?} idle", peak >> 20, now >> 20);
}

/// A plain thread's first spawn fills its cache with a batch of stacks from
/// the global pool; the thread's exit must return the unused ones. Run in a
/// child so that no other test's goroutines move the pool's count.
#[test]
fn a_spawning_thread_gives_its_cache_back() {
    if !common::is_child() {
        let out = common::run_child("a_spawning_thread_gives_its_cache_back", &[("GORT_PROCS", "1")]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("cache given back:"), "{stdout}");
        return;
    }
    gort::go!(|| ()).join().unwrap();
    let before = std::thread::spawn(|| {
        gort::go!(|| ()).join().unwrap();
        gort::stats().free_stacks
    })
    .join()
    .unwrap();
    let after = gort::stats().free_stacks;
    assert!(after > before, "the thread exited holding its stacks: {before} free before, {after} after");
    println!("cache given back: {} stacks", after - before);
}
