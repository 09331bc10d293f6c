//! `Pool`: Go's `sync.Pool` — a cache of reusable objects, per P.
//!
//! Each pool owns one cache-line-aligned [`Slot`] per P, indexed by the P's
//! place in `sched().ps`. A slot has:
//! - `private`: up to [`PRIVATE`] objects, touched only by the M holding
//!   that P, so the fast path (`get`/`put` with room or an object there)
//!   takes no lock and makes no atomic read-modify-write. Go keeps one;
//!   two let a user that takes two objects before giving either back (an
//!   HTTP request's read and write buffers, both from one `BufPool`
//!   class) stay on the fast path. It is sound because `get`/`put`
//!   never block: a G cannot switch (and so cannot move to another M, or let
//!   another G of this P run) between reading its P and using the slot.
//! - `shared`: a small locked list that other Ps steal from when their own
//!   slot is empty (and plain threads use, having no P);
//! - `victim`: what `shared` held at the last sweep.
//!
//! There is no GC to clear pools, so sysmon sweeps every live pool about
//! once a second ([`sweep_all`], found through a registry of weak
//! references): `victim` is dropped and `shared` becomes the new `victim`.
//! An object that is not taken back within two sweeps is freed, so an idle
//! server shrinks back. Sysmon cannot touch a `private` slot (only the P
//! holder may); instead each sweep bumps the pool's epoch, and the holder,
//! at its next use of the pool, moves private objects one sweep old to
//! `victim` and drops those two sweeps old. So at most [`PRIVATE`] objects
//! per P and pool outlive the sweeps until that P uses the pool again.

use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::mem;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex as Lock;

use crate::sched::g::current_p;
use crate::sched::p::P;
use crate::sched::preempt::preempt_check;
use crate::sched::sched;

/// Objects a P's `shared` list keeps; more are dropped on `put`.
const SHARED_MAX: usize = 64;

/// Objects a P's `private` slot holds.
const PRIVATE: usize = 2;

/// One P's share of a pool.
#[repr(align(128))]
struct Slot<T> {
    /// Touched only by the M holding this slot's P; filled from the front.
    private: UnsafeCell<[Option<T>; PRIVATE]>,
    /// The pool epoch `private` was last checked at; holder-only.
    seen: Cell<u64>,
    /// Any thread, under the lock.
    shared: Lock<Vec<T>>,
    /// Any thread, under the lock; replaced by each sweep.
    victim: Lock<Vec<T>>,
}

// SAFETY: `private` and `seen` are only touched by the holder of the slot's
// P (the P's holder changes under the idle lists' lock, which orders the
// accesses); the rest is locked. Objects move between threads: `T: Send`.
unsafe impl<T: Send> Sync for Slot<T> {}

struct Shared<T> {
    new: Box<dyn Fn() -> T + Send + Sync>,
    /// Address of `sched().ps[0]`: a P's slot index is its offset from it.
    ps_base: usize,
    slots: Box<[Slot<T>]>,
    /// Sweeps so far. Written by sysmon, read by holders.
    epoch: AtomicU64,
}

/// What the sweeper needs of a pool, whatever its `T`.
trait Sweep: Send + Sync {
    fn sweep(&self);
}

/// Live pools, for the sweeper. Dead entries are pruned by each sweep.
static REGISTRY: Lock<Vec<Weak<dyn Sweep>>> = Lock::new(Vec::new());

/// A cache of reusable objects (Go's `sync.Pool`): `get` returns a cached
/// object or makes one with the pool's `new`; `put` offers one back. The
/// pool may drop any object at any time (an object unused for two sweeps of
/// the runtime, about two seconds, is dropped), so it holds only what can
/// be rebuilt: buffers, scratch space, encoders.
///
/// `get` hands out the object by value; reset it before use or before
/// `put`, as the pool does not. Aged-out objects are dropped on the
/// runtime's background thread, so `T`'s `Drop` must not block (no gort
/// lock or channel send in it).
///
/// ```
/// let pool = gort::sync::Pool::new(|| Vec::<u8>::with_capacity(1024));
/// gort::go!(move || {
///     let mut buf = pool.get();
///     buf.extend_from_slice(b"hello");
///     buf.clear();
///     pool.put(buf);
///     assert!(pool.get().capacity() >= 1024); // the same buffer, from this P's slot
/// })
/// .join()
/// .unwrap();
/// ```
pub struct Pool<T: Send + 'static> {
    shared: Arc<Shared<T>>,
}

impl<T: Send + 'static> Pool<T> {
    /// A pool that makes new objects with `new`.
    pub fn new<F>(new: F) -> Pool<T>
    where
        F: Fn() -> T + Send + Sync + 'static,
    {
        let slots = (0..sched().procs())
            .map(|_| Slot {
                private: UnsafeCell::new([const { None }; PRIVATE]),
                seen: Cell::new(0),
                shared: Lock::new(Vec::new()),
                victim: Lock::new(Vec::new()),
            })
            .collect();
        let ps_base = sched().ps.as_ptr().addr();
        let shared = Arc::new(Shared { new: Box::new(new), ps_base, slots, epoch: AtomicU64::new(0) });
        let weak: Weak<dyn Sweep> = Arc::downgrade(&shared) as Weak<dyn Sweep>;
        REGISTRY.lock().push(weak);
        Pool { shared }
    }

    /// A cached object, or a new one.
    #[inline]
    pub fn get(&self) -> T {
        // Before reading the P: a yield may move the G to another.
        preempt_check();
        if let Some(p) = current_p() {
            let slot = self.slot(p);
            // Relaxed: the epoch only says "a sweep happened"; no data rides on it.
            if slot.seen.get() == self.shared.epoch.load(Ordering::Relaxed) {
                // SAFETY: this thread's M holds `p` and no switch happens
                // before the borrow ends (module doc).
                if let Some(v) = take_private(unsafe { &mut *slot.private.get() }) {
                    return v;
                }
            }
        }
        self.get_slow()
    }

    /// Offers `v` back for reuse.
    #[inline]
    pub fn put(&self, v: T) {
        // As in `get`.
        preempt_check();
        if let Some(p) = current_p() {
            let slot = self.slot(p);
            // Relaxed: as in `get`.
            if slot.seen.get() == self.shared.epoch.load(Ordering::Relaxed) {
                // SAFETY: as in `get`.
                let Err(v) = put_private(unsafe { &mut *slot.private.get() }, v) else { return };
                return self.put_slow(v);
            }
        }
        self.put_slow(v);
    }

    /// This P's slot.
    #[inline]
    fn slot(&self, p: &P) -> &Slot<T> {
        &self.shared.slots[self.index(p)]
    }

    #[inline]
    fn index(&self, p: &P) -> usize {
        (std::ptr::from_ref(p).addr() - self.shared.ps_base) / mem::size_of::<P>()
    }

    #[cold]
    fn get_slow(&self) -> T {
        let slots = &self.shared.slots;
        let mine = current_p().map(|p| self.index(p));
        if let Some(slot) = mine.map(|i| &slots[i]) {
            let stale = self.age_private(slot);
            // SAFETY: as in `get`; `age_private` ended its borrow.
            let private = take_private(unsafe { &mut *slot.private.get() });
            drop(stale);
            if let Some(v) = private {
                return v;
            }
        }
        // Every slot once, our own first: shared lists, then victims.
        let start = mine.unwrap_or(0);
        let each = || (0..slots.len()).map(|k| &slots[(start + k) % slots.len()]);
        let found =
            each().find_map(|s| s.shared.lock().pop()).or_else(|| each().find_map(|s| s.victim.lock().pop()));
        found.unwrap_or_else(|| (self.shared.new)())
    }

    #[cold]
    fn put_slow(&self, v: T) {
        let (slot, v) = match current_p() {
            Some(p) => {
                let slot = self.slot(p);
                let stale = self.age_private(slot);
                // SAFETY: as in `get`; `age_private` ended its borrow.
                let left = put_private(unsafe { &mut *slot.private.get() }, v);
                drop(stale);
                let Err(v) = left else { return };
                (slot, v)
            }
            None => (&self.shared.slots[0], v),
        };
        let mut shared = slot.shared.lock();
        if shared.len() < SHARED_MAX {
            shared.push(v);
            return;
        }
        drop(shared);
        drop(v);
    }

    /// Catches the holder's private slot up with the sweeps it missed, and
    /// returns what is to be dropped. The caller drops it once done with the
    /// slot: a `Drop` may block, and the G could then move to another P.
    fn age_private(&self, slot: &Slot<T>) -> [Option<T>; PRIVATE] {
        // Relaxed: as in `get`.
        let epoch = self.shared.epoch.load(Ordering::Relaxed);
        let missed = epoch - slot.seen.get();
        if missed == 0 {
            return [const { None }; PRIVATE];
        }
        slot.seen.set(epoch);
        // SAFETY: the caller holds the slot's P; the borrow ends here.
        let stale = mem::replace(unsafe { &mut *slot.private.get() }, [const { None }; PRIVATE]);
        if missed == 1 {
            slot.victim.lock().extend(stale.into_iter().flatten());
            return [const { None }; PRIVATE];
        }
        stale
    }
}

/// The newest private object, if any.
#[inline]
fn take_private<T>(private: &mut [Option<T>; PRIVATE]) -> Option<T> {
    private.iter_mut().rev().find_map(Option::take)
}

/// Puts `v` in the first free private place; `Err(v)` when all are full.
#[inline]
fn put_private<T>(private: &mut [Option<T>; PRIVATE], v: T) -> Result<(), T> {
    match private.iter_mut().find(|o| o.is_none()) {
        Some(free) => {
            *free = Some(v);
            Ok(())
        }
        None => Err(v),
    }
}

impl<T: Send + 'static> Sweep for Shared<T> {
    fn sweep(&self) {
        // Relaxed: holders only compare it; objects move under the locks.
        self.epoch.fetch_add(1, Ordering::Relaxed);
        for slot in self.slots.iter() {
            let fresh = mem::take(&mut *slot.shared.lock());
            let old = mem::replace(&mut *slot.victim.lock(), fresh);
            drop(old);
        }
    }
}

/// Sweeps every live pool: sysmon calls it about once a second, and drops
/// the objects that aged out there (see the `Pool` docs on `Drop`).
pub(crate) fn sweep_all() {
    let live: Vec<Arc<dyn Sweep>> = {
        let mut reg = REGISTRY.lock();
        reg.retain(|w| w.strong_count() > 0);
        reg.iter().filter_map(Weak::upgrade).collect()
    };
    live.iter().for_each(|p| p.sweep());
}

/// Runs a pool sweep now, as sysmon does about once a second; for tests.
#[doc(hidden)]
pub fn sweep_pools_now() {
    sweep_all();
}

impl<T: Send + 'static> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}
