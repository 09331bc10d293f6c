//! `Pool`: reuse on the same P, objects freed after two sweeps, stealing
//! between Ps and plain threads, and `BufPool`'s size classes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gort::sync::{BufPool, Pool};

/// Sweeps touch every pool in the process: tests that sweep must not run
/// beside tests that count reuse.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

struct Tracked {
    id: usize,
    dropped: Arc<AtomicUsize>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn tracked_pool() -> (Arc<Pool<Tracked>>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let made = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (m, d) = (made.clone(), dropped.clone());
    let pool = Pool::new(move || Tracked { id: m.fetch_add(1, Ordering::SeqCst), dropped: d.clone() });
    (Arc::new(pool), made, dropped)
}

#[test]
fn objects_are_reused_on_the_same_p() {
    let _serial = serial();
    let (pool, made, _) = tracked_pool();
    gort::go!(move || {
        let a = pool.get();
        let id = a.id;
        pool.put(a);
        // No blocking call in between: still on the same P, its private slot.
        for _ in 0..1000 {
            let b = pool.get();
            assert_eq!(b.id, id);
            pool.put(b);
        }
    })
    .join()
    .unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 1);
}

/// Go's victim cache without a GC: what sits in the pool through two sweeps
/// is dropped. The private slot is aged by its P at its next use.
#[test]
fn idle_objects_are_freed_after_two_sweeps() {
    let _serial = serial();
    let (pool, made, dropped) = tracked_pool();
    gort::go!(move || {
        let objs: Vec<_> = (0..10).map(|_| pool.get()).collect();
        objs.into_iter().for_each(|o| pool.put(o)); // 2 private, 8 shared
        gort::sync::sweep_pools_now(); // shared -> victim
        gort::sync::sweep_pools_now(); // victim dropped
                                       // A P's private slot holds two (a read and a write buffer per
                                       // request): those wait for the P's next use of the pool.
        assert_eq!(dropped.load(Ordering::SeqCst), 8, "the shared ones went, the two private ones stay");
        let fresh = pool.get(); // ages out the private objects too
        assert_eq!(dropped.load(Ordering::SeqCst), 10);
        assert_eq!(fresh.id, 10, "a new object: everything cached was freed");
        assert_eq!(made.load(Ordering::SeqCst), 11);
    })
    .join()
    .unwrap();
}

/// One sweep only demotes: the objects are still there to reuse.
#[test]
fn one_sweep_keeps_objects_for_reuse() {
    let _serial = serial();
    let (pool, made, _) = tracked_pool();
    gort::go!(move || {
        let objs: Vec<_> = (0..4).map(|_| pool.get()).collect();
        objs.into_iter().for_each(|o| pool.put(o));
        gort::sync::sweep_pools_now();
        let again: Vec<_> = (0..4).map(|_| pool.get()).collect();
        assert!(again.iter().all(|o| o.id < 4), "reused from the victim lists");
        assert_eq!(made.load(Ordering::SeqCst), 4);
    })
    .join()
    .unwrap();
}

#[test]
fn plain_threads_and_other_ps_share_objects() {
    let _serial = serial();
    let (pool, made, _) = tracked_pool();
    let objs: Vec<_> = (0..8).map(|_| pool.get()).collect();
    objs.into_iter().for_each(|o| pool.put(o)); // plain thread: shared lists
    let p = pool.clone();
    let ids = gort::go!(move || (0..8).map(|_| p.get().id).collect::<Vec<_>>()).join().unwrap();
    assert!(ids.iter().all(|&id| id < 8), "stolen, not made: {ids:?}");
    assert!(made.load(Ordering::SeqCst) <= 9);
}

#[test]
fn bufpool_size_classes() {
    let _serial = serial();
    for (want, class) in [(1, 4096), (4096, 4096), (4097, 16384), (65536, 65536)] {
        let b = BufPool::get(want);
        assert_eq!(b.len(), class, "BufPool::get({want})");
    }
    assert_eq!(BufPool::get(65537).len(), 65537);
    gort::go!(|| {
        let mut b = BufPool::get(100);
        b[..5].copy_from_slice(b"hello");
        let addr = b.as_ptr();
        drop(b);
        let again = BufPool::get(100);
        assert_eq!(again.as_ptr(), addr, "the same buffer came back");
        assert_eq!(&again[..5], b"hello", "contents are not cleared");
        assert_eq!(again.into_vec().len(), 4096);
    })
    .join()
    .unwrap();
}
