//! `local!`: one value per goroutine, kept across switches and thread
//! migration, dropped when the goroutine ends; per thread on plain threads.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};

static DROPS: AtomicUsize = AtomicUsize::new(0);

struct Noisy(u64);

impl Drop for Noisy {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

gort::local! {
    static COUNTER: Cell<u64> = Cell::new(0);
    static NOISY: RefCell<Noisy> = RefCell::new(Noisy(0));
    /// Its initialiser reads another key.
    static DERIVED: u64 = COUNTER.with(|c| c.get() + 100);
}

#[test]
fn each_goroutine_has_its_own_value_across_switches() {
    let hs: Vec<_> = (0..200u64)
        .map(|i| {
            gort::go!(move || {
                for _ in 0..50 {
                    COUNTER.with(|c| c.set(c.get() + i));
                    gort::yield_now(); // may resume on another M
                }
                COUNTER.with(|c| c.get())
            })
        })
        .collect();
    for (i, h) in hs.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), 50 * i as u64);
    }
    assert_eq!(COUNTER.with(|c| c.get()), 0, "the plain thread has its own");
}

#[test]
fn values_drop_when_the_goroutine_ends() {
    let before = DROPS.load(Ordering::SeqCst);
    let hs: Vec<_> = (0..10u64).map(|i| gort::go!(move || NOISY.with(|n| n.borrow_mut().0 = i))).collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(DROPS.load(Ordering::SeqCst) - before, 10, "dropped before join returned");
    gort::go!(|| ()).join().unwrap();
    assert_eq!(DROPS.load(Ordering::SeqCst) - before, 10, "untouched keys cost nothing");
}

#[test]
fn initialisers_may_use_other_keys() {
    let v = gort::go!(|| {
        COUNTER.with(|c| c.set(5));
        DERIVED.with(|d| *d)
    })
    .join()
    .unwrap();
    assert_eq!(v, 105);
    let t = std::thread::spawn(|| DERIVED.with(|d| *d)).join().unwrap();
    assert_eq!(t, 100);
}
