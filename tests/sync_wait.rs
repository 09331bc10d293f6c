//! Once, WaitGroup (both the clone/drop shape and Go's add/done) and
//! Semaphore, between goroutines and plain threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gort::sync::{Once, Semaphore, WaitGroup};

#[test]
fn once_runs_exactly_once_and_latecomers_wait() {
    static ONCE: Once = Once::new();
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    fn init() {
        gort::time::sleep(Duration::from_millis(5)); // the others wait meanwhile
        RUNS.fetch_add(1, Ordering::SeqCst);
    }
    let hs: Vec<_> = (0..50)
        .map(|_| {
            gort::go!(|| {
                ONCE.call_once(init);
                assert_eq!(RUNS.load(Ordering::SeqCst), 1);
            })
        })
        .collect();
    ONCE.call_once(init); // a plain thread, first or a latecomer
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert!(ONCE.is_completed());
}

#[test]
fn waitgroup_clone_drop_shape_from_a_plain_thread() {
    let done = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    for _ in 0..100 {
        let (wg, done) = (wg.clone(), done.clone());
        gort::go!(move || {
            gort::time::sleep(Duration::from_millis(1));
            done.fetch_add(1, Ordering::SeqCst);
            drop(wg);
        });
    }
    wg.wait();
    assert_eq!(done.load(Ordering::SeqCst), 100);
}

#[test]
fn waitgroup_go_shape_inside_a_goroutine() {
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    gort::go!(move || {
        let wg = WaitGroup::new();
        wg.add(10);
        for _ in 0..10 {
            let (wg, d) = (wg.clone(), d.clone());
            gort::go!(move || {
                d.fetch_add(1, Ordering::SeqCst);
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(d.load(Ordering::SeqCst), 10);
    })
    .join()
    .unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 10);
    // Nothing to wait for: returns at once.
    WaitGroup::new().wait();
}

/// One `done` too many panics at that call, as Go's does, and leaves the
/// count as it was: it cannot use up a live handle's share, so `wait`
/// still waits for that handle.
#[test]
fn an_extra_done_panics_and_wait_still_waits_for_the_handles() {
    let wg = WaitGroup::new();
    wg.add(1);
    let worker = wg.clone();
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r = released.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        r.store(true, Ordering::SeqCst);
        drop(worker);
    });
    wg.done();
    let extra = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg.done()));
    assert!(extra.is_err(), "the extra done panicked");
    wg.wait();
    assert!(released.load(Ordering::SeqCst), "wait returned before the handle was dropped");
    t.join().unwrap();
}

/// Two extra `done`s at once, on two threads: each must fail on its own
/// and leave the group usable. When the check and its undo were two steps,
/// the second `done` could see the first one's wrapped word, pass, and
/// leave the group unable to reach zero. The window is nanoseconds wide,
/// so this stress run rarely finds it; `sync/waitgroup/loom_waitgroup.rs`
/// checks the word's every order.
#[test]
fn racing_extra_dones_both_panic_and_leave_the_group_usable() {
    let go = Arc::new(std::sync::Barrier::new(2));
    let (to_racer, racer_rx) = std::sync::mpsc::channel::<WaitGroup>();
    let (from_racer, racer_done) = std::sync::mpsc::channel::<bool>();
    let racer = {
        let go = go.clone();
        std::thread::spawn(move || {
            for wg in racer_rx {
                go.wait();
                let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg.done())).is_err();
                from_racer.send(failed).unwrap();
            }
        })
    };
    for round in 0..5_000 {
        let wg = WaitGroup::new();
        to_racer.send(wg.clone()).unwrap();
        go.wait();
        let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg.done())).is_err();
        let theirs = racer_done.recv().unwrap();
        assert!(mine && theirs, "round {round}: an extra done passed (here {mine}, there {theirs})");
        let usable = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wg.add(1);
            wg.done();
        }));
        assert!(usable.is_ok(), "round {round}: the group was left broken");
        wg.wait();
    }
    drop(to_racer);
    racer.join().unwrap();
}

#[test]
fn semaphore_bounds_concurrency() {
    let sem = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..60)
        .map(|_| {
            let (sem, inside, max) = (sem.clone(), inside.clone(), max.clone());
            gort::go!(move || {
                let _permit = sem.acquire();
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                gort::time::sleep(Duration::from_micros(200));
                inside.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    // A plain thread competes too.
    let t = {
        let sem = sem.clone();
        std::thread::spawn(move || drop(sem.acquire()))
    };
    hs.into_iter().for_each(|h| h.join().unwrap());
    t.join().unwrap();
    assert!(max.load(Ordering::SeqCst) <= 3);
    assert_eq!(sem.available_permits(), 3);
    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.available_permits(), 2);
    sem.add_permits(1);
    assert_eq!(sem.available_permits(), 3);
}

/// A `try_acquire` that finds no permit makes none (it once built a
/// permit eagerly and dropped it, which returned a permit never taken).
#[test]
fn a_failed_try_acquire_adds_no_permit() {
    let sem = Semaphore::new(1);
    let held = sem.acquire();
    assert!(sem.try_acquire().is_none());
    assert!(sem.try_acquire().is_none(), "the failed try returned a permit never taken");
    assert_eq!(sem.available_permits(), 0);
    drop(held);
    assert_eq!(sem.available_permits(), 1);
}
