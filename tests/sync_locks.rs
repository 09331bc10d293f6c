//! gort's locks: no lost update under 1,000 contending goroutines, Go's
//! starvation mode, reader/writer exclusion, condition variables, and each
//! used between plain threads and goroutines.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort::sync::{Condvar, Mutex, RwLock};

#[test]
fn mutex_no_lost_update_under_1000_goroutines() {
    let m = Arc::new(Mutex::new(0u64));
    let hs: Vec<_> = (0..1000)
        .map(|i| {
            let m = m.clone();
            gort::go!(move || {
                for j in 0..20 {
                    let mut g = m.lock();
                    let v = *g;
                    if (i + j) % 5 == 0 {
                        gort::yield_now(); // hold it across a switch
                    }
                    *g = v + 1;
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(*m.lock(), 20_000);
    assert!(m.try_lock().is_some());
}

/// Go's TestMutexFairness: a hog re-locks as soon as it unlocks, holding
/// the lock across a sleep; a waiter still gets it, because after 1 ms of
/// waiting the lock switches to hand-off. The hog sleeps 2 ms, so a waiter
/// woken by its unlock has waited past the threshold and marks the lock
/// starving while the hog sleeps again, where the hog sees it.
#[test]
fn mutex_starvation_mode_hands_the_lock_to_a_waiter() {
    let m = Arc::new(Mutex::new(()));
    let stop = Arc::new(AtomicBool::new(false));
    let saw_starving = Arc::new(AtomicBool::new(false));
    let hog = {
        let (m, stop, saw) = (m.clone(), stop.clone(), saw_starving.clone());
        gort::go!(move || {
            while !stop.load(Ordering::Relaxed) {
                let _g = m.lock();
                gort::time::sleep(Duration::from_millis(2));
                saw.fetch_or(m.is_starving(), Ordering::Relaxed);
            }
        })
    };
    // Until the hog has seen the mode once (each round is a chance; how many
    // it takes depends on how the Ps and the machine's CPUs interleave),
    // at most 500 rounds.
    let waiter = {
        let (m, saw) = (m.clone(), saw_starving.clone());
        gort::go!(move || {
            for _ in 0..500 {
                gort::time::sleep(Duration::from_micros(100));
                drop(m.lock());
                if saw.load(Ordering::Relaxed) {
                    break;
                }
            }
        })
    };
    let t = Instant::now();
    while !waiter.is_finished() {
        assert!(t.elapsed() < Duration::from_secs(20), "the waiter starved");
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, Ordering::Relaxed);
    hog.join().unwrap();
    waiter.join().unwrap();
    assert!(saw_starving.load(Ordering::Relaxed), "starvation mode never engaged");
}

/// A goroutine holds the lock across a blocking call while a plain thread
/// waits for it.
#[test]
fn mutex_between_thread_and_goroutines() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let g = m.lock();
    let hs: Vec<_> = (0..10)
        .map(|i| {
            let m = m.clone();
            gort::go!(move || {
                let mut v = m.lock();
                gort::time::sleep(Duration::from_micros(50));
                v.push(i);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(5));
    drop(g);
    let t = {
        let m = m.clone();
        std::thread::spawn(move || m.lock().push(99))
    };
    hs.into_iter().for_each(|h| h.join().unwrap());
    t.join().unwrap();
    let mut v = Arc::try_unwrap(m).unwrap().into_inner();
    v.sort();
    assert_eq!(v, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 99]);
}

#[test]
fn rwlock_readers_share_writers_exclude() {
    let l = Arc::new(RwLock::new(0i64));
    let inside = Arc::new(AtomicI64::new(0)); // readers inside, or -1 for a writer
    let max_readers = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..200)
        .map(|i| {
            let (l, inside, max_readers) = (l.clone(), inside.clone(), max_readers.clone());
            gort::go!(move || {
                for _ in 0..20 {
                    if i % 10 == 0 {
                        let mut w = l.write();
                        assert_eq!(inside.swap(-1, Ordering::SeqCst), 0, "writer not alone");
                        *w += 1;
                        gort::yield_now();
                        inside.store(0, Ordering::SeqCst);
                    } else {
                        let r = l.read();
                        let n = inside.fetch_add(1, Ordering::SeqCst);
                        assert!(n >= 0, "reader beside a writer");
                        max_readers.fetch_max(n as usize + 1, Ordering::Relaxed);
                        gort::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        drop(r);
                    }
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(*l.read(), 20 * 20);
    assert!(l.try_write().is_some());
    let r = l.try_read().unwrap();
    assert!(l.try_write().is_none());
    drop(r);
}

#[test]
fn condvar_wakes_waiters_across_threads_and_goroutines() {
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let waiters: Vec<_> = (0..20)
        .map(|_| {
            let pair = pair.clone();
            gort::go!(move || {
                let (m, cv) = &*pair;
                drop(cv.wait_while(m.lock(), |go| *go == 0));
            })
        })
        .collect();
    let thread_waiter = {
        let pair = pair.clone();
        std::thread::spawn(move || {
            let (m, cv) = &*pair;
            drop(cv.wait_while(m.lock(), |go| *go == 0));
        })
    };
    std::thread::sleep(Duration::from_millis(10));
    *pair.0.lock() = 1;
    pair.1.notify_all();
    waiters.into_iter().for_each(|h| h.join().unwrap());
    thread_waiter.join().unwrap();
    // One at a time: each notify_one releases one waiter.
    let (tx, rx) = gort::chan::unbounded();
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    for _ in 0..3 {
        let (pair, tx) = (pair.clone(), tx.clone());
        gort::go!(move || {
            let (m, cv) = &*pair;
            let mut g = m.lock();
            tx.send(()).unwrap();
            while *g == 0 {
                g = cv.wait(g);
            }
            *g -= 1;
        });
    }
    (0..3).for_each(|_| rx.recv().unwrap());
    for _ in 0..3 {
        *pair.0.lock() += 1;
        pair.1.notify_one();
    }
    assert!(gort_wait(|| *pair.0.lock() == 0));
    let (m, cv) = &*pair;
    let (_g, r) = cv.wait_timeout(m.lock(), Duration::from_millis(5));
    assert!(r.timed_out());
}

/// A bounded queue made of a `Mutex` and two `Condvar`s, hammered from
/// every P with timed and untimed waits, each round on a fresh pair that
/// the last party frees. The mutex is contended, so the waits' unlocks take
/// the slow path that wakes a mutex waiter while the woken condvar waiter
/// may already run elsewhere: every item must arrive once, and no party may
/// be left waiting.
#[test]
fn condvar_queue_under_contention_loses_nothing() {
    struct Queue {
        items: Mutex<Vec<u32>>,
        not_empty: Condvar,
        not_full: Condvar,
    }
    const PER: u32 = 2_000;
    for round in 0..20 {
        let q = Arc::new(Queue {
            items: Mutex::new(Vec::new()),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
        });
        let producers: Vec<_> = (0..4u32)
            .map(|p| {
                let q = q.clone();
                gort::go!(move || {
                    for i in 0..PER {
                        let mut items = q.items.lock();
                        while items.len() >= 4 {
                            items = if i % 2 == 0 {
                                q.not_full.wait(items)
                            } else {
                                q.not_full.wait_timeout(items, Duration::from_micros(50)).0
                            };
                        }
                        items.push(p * PER + i);
                        drop(items);
                        q.not_empty.notify_one();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..4)
            .map(|c| {
                let q = q.clone();
                gort::go!(move || {
                    let mut got = Vec::with_capacity(PER as usize);
                    while got.len() < PER as usize {
                        let mut items = q.items.lock();
                        while items.is_empty() {
                            items = if c % 2 == 0 {
                                q.not_empty.wait(items)
                            } else {
                                q.not_empty.wait_timeout(items, Duration::from_micros(50)).0
                            };
                        }
                        got.push(items.pop().unwrap());
                        drop(items);
                        q.not_full.notify_one();
                    }
                    got
                })
            })
            .collect();
        drop(q);
        producers.into_iter().for_each(|h| h.join().unwrap());
        let mut all: Vec<u32> = consumers.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_unstable();
        assert!(all.iter().copied().eq(0..4 * PER), "round {round}: an item was lost or doubled");
    }
}

fn gort_wait(mut cond: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(10) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// A plain thread writes while goroutines read, and the reverse.
#[test]
fn rwlock_between_thread_and_goroutines() {
    let l = Arc::new(RwLock::new(Vec::<u32>::new()));
    let w = l.write();
    let readers: Vec<_> = (0..10)
        .map(|_| {
            let l = l.clone();
            gort::go!(move || l.read().len())
        })
        .collect();
    std::thread::sleep(Duration::from_millis(5));
    drop(w);
    assert!(readers.into_iter().all(|h| h.join().unwrap() == 0));
    let r = l.read();
    let writer = {
        let l = l.clone();
        gort::go!(move || l.write().push(1))
    };
    let t = {
        let l = l.clone();
        std::thread::spawn(move || l.write().push(2))
    };
    std::thread::sleep(Duration::from_millis(5));
    assert!(r.is_empty(), "writers wait for the reader");
    drop(r);
    writer.join().unwrap();
    t.join().unwrap();
    assert_eq!(l.read().len(), 2);
}

/// Failed `try_read`s and `try_write`s leave an `RwLock` as it was, held
/// by its writer or its readers, as failed `try_lock`s must a `Mutex`.
#[test]
fn failed_rwlock_tries_leave_the_lock_as_it_was() {
    let l = RwLock::new(());
    let w = l.write();
    for _ in 0..2 {
        assert!(l.try_read().is_none());
        assert!(l.try_write().is_none());
    }
    drop(w);
    let r = l.read();
    assert!(l.try_write().is_none());
    assert!(l.try_write().is_none());
    let r2 = l.try_read().expect("readers share");
    drop((r, r2));
    assert!(l.try_write().is_some(), "free once every reader is gone");
}

/// A `try_lock` that fails leaves the holder's lock alone (it once built a
/// guard eagerly and dropped it, which unlocked the holder's lock), and so
/// does printing a locked mutex, which tries it.
#[test]
fn a_failed_try_lock_leaves_the_lock_held() {
    let m = Mutex::new(1);
    let held = m.lock();
    assert!(m.try_lock().is_none());
    assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
    assert!(m.try_lock().is_none(), "the failed tries unlocked the holder's lock");
    drop(held);
    assert_eq!(*m.try_lock().expect("free once dropped"), 1);
}

/// `try_lock` and `lock` mixed, on goroutines over every P and on a plain
/// thread, holders yielding or sleeping past the 1 ms that switches the
/// lock to hand-off: never two owners at once, and every section counted.
#[test]
fn try_lock_and_lock_mixed_never_admit_two_owners() {
    let m = Arc::new(Mutex::new(0u64));
    let inside = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let entered = Arc::new(AtomicI64::new(0));
    let enter = |inside: &AtomicUsize, entered: &AtomicI64, v: &mut u64| {
        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two owners at once");
        *v += 1;
        entered.fetch_add(1, Ordering::Relaxed);
    };
    let hs: Vec<_> = (0..16)
        .map(|i| {
            let (m, inside, stop, entered) = (m.clone(), inside.clone(), stop.clone(), entered.clone());
            gort::go!(move || {
                while !stop.load(Ordering::Relaxed) {
                    let g = if i % 2 == 0 { Some(m.lock()) } else { m.try_lock() };
                    if let Some(mut g) = g {
                        enter(&inside, &entered, &mut g);
                        if i % 4 == 0 {
                            gort::time::sleep(Duration::from_micros(1500));
                        } else {
                            gort::yield_now();
                        }
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                    gort::yield_now();
                }
            })
        })
        .collect();
    let thread = {
        let (m, inside, stop, entered) = (m.clone(), inside.clone(), stop.clone(), entered.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(mut g) = m.try_lock() {
                    enter(&inside, &entered, &mut g);
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
                std::thread::yield_now();
            }
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    hs.into_iter().for_each(|h| h.join().unwrap());
    thread.join().unwrap();
    assert_eq!(*m.lock(), entered.load(Ordering::Relaxed) as u64);
}
