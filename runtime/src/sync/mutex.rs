//! `Mutex`: Go's `sync.Mutex` — one CAS to lock when free, a short spin
//! when another P holds it, then park on the runtime semaphore — with Go's
//! starvation mode.
//!
//! State word (`RawMutex::state`):
//!
//! | bits | name     | meaning                                            |
//! |------|----------|----------------------------------------------------|
//! | 0    | LOCKED   | someone owns the lock                              |
//! | 1    | WOKEN    | a waiter is awake and competing: unlock need not wake another |
//! | 2    | STARVING | hand-off mode: unlock gives the lock to the first waiter |
//! | 3..  | waiters  | goroutines parked (or about to park) on the semaphore |
//!
//! Normal mode is unfair and fast: a woken waiter competes with newcomers,
//! who usually win (they are running). A waiter that lost for more than
//! 1 ms switches the lock to starvation mode: unlock then hands it straight
//! to the first waiter, newcomers queue at the back, and the last waiter
//! (or one that waited under 1 ms) switches back to normal.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::sched::g::{current_p, WaitReason};
use crate::sched::preempt::preempt_check;
use crate::sched::sched;
use crate::sync::sema::Sema;

const LOCKED: u32 = 1;
const WOKEN: u32 = 2;
const STARVING: u32 = 4;
const WAITER_SHIFT: u32 = 3;
const WAITER: u32 = 1 << WAITER_SHIFT;

/// A waiter that waited longer than this switches the lock to starvation mode.
const STARVATION_THRESHOLD: Duration = Duration::from_millis(1);

/// The lock without data: shared by `Mutex`, `RwLock` and `Once`.
pub(crate) struct RawMutex {
    state: AtomicU32,
    sema: Sema,
}

impl RawMutex {
    pub(crate) const fn new() -> RawMutex {
        RawMutex { state: AtomicU32::new(0), sema: Sema::new(0) }
    }

    #[inline]
    pub(crate) fn lock(&self) {
        // An uncontended lock is a runtime entry like any other (`preempt.rs`).
        preempt_check();
        // Acquire: pairs with the Release in `unlock`.
        if self.state.compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_slow();
        }
    }

    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        // Relaxed: a guess for the CAS, which decides.
        let old = self.state.load(Ordering::Relaxed);
        // Acquire: pairs with the Release in `unlock`.
        old & (LOCKED | STARVING) == 0
            && self.state.compare_exchange(old, old | LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Go's `lockSlow`.
    #[cold]
    fn lock_slow(&self) {
        let mut wait_start: Option<Instant> = None;
        let mut starving = false;
        let mut awoke = false;
        let mut spins = 0;
        // Relaxed throughout the loop: state words are guesses for the next
        // CAS; only a CAS that takes the lock needs Acquire (below).
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            // Spin while another running G holds it in normal mode; tell
            // unlock not to wake anyone meanwhile.
            if old & (LOCKED | STARVING) == LOCKED && can_spin(spins) {
                if !awoke && old & WOKEN == 0 && old >> WAITER_SHIFT != 0 {
                    // Relaxed: WOKEN only tells unlock not to wake anyone.
                    awoke = self
                        .state
                        .compare_exchange(old, old | WOKEN, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok();
                }
                (0..30).for_each(|_| std::hint::spin_loop());
                spins += 1;
                // Relaxed: a guess, as above.
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            let mut new = old;
            if old & STARVING == 0 {
                new |= LOCKED; // newcomers do not take a starving lock
            }
            if old & (LOCKED | STARVING) != 0 {
                new += WAITER;
            }
            if starving && old & LOCKED != 0 {
                new |= STARVING;
            }
            if awoke {
                new &= !WOKEN;
            }
            // Acquire: pairs with the Release in `unlock` when this takes the lock.
            match self.state.compare_exchange(old, new, Ordering::Acquire, Ordering::Relaxed) {
                Err(cur) => old = cur,
                Ok(_) if old & (LOCKED | STARVING) == 0 => return,
                Ok(_) => {
                    let lifo = wait_start.is_some();
                    let start = *wait_start.get_or_insert_with(Instant::now);
                    self.sema.acquire(lifo, WaitReason::Mutex);
                    starving = starving || start.elapsed() > STARVATION_THRESHOLD;
                    // Relaxed: the sema hand-off ordered us after the unlock;
                    // STARVING here means the lock was handed to us.
                    old = self.state.load(Ordering::Relaxed);
                    if old & STARVING != 0 {
                        self.take_handoff(old, starving);
                        return;
                    }
                    awoke = true;
                    spins = 0;
                }
            }
        }
    }

    /// In starvation mode unlock handed us the lock: it left LOCKED clear
    /// and counted us as a waiter. Take it, and leave starvation mode if we
    /// did not really starve or were the last waiter.
    fn take_handoff(&self, old: u32, starving: bool) {
        let mut delta = LOCKED.wrapping_sub(WAITER);
        if !starving || old >> WAITER_SHIFT == 1 {
            delta = delta.wrapping_sub(STARVING);
        }
        // Acquire: pairs with the Release in `unlock` that handed the lock over.
        self.state.fetch_add(delta, Ordering::Acquire);
    }

    /// # Safety
    /// The caller holds the lock.
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        // Release: pairs with the Acquire in `lock`/`lock_slow`/`take_handoff`.
        let new = self.state.fetch_sub(LOCKED, Ordering::Release).wrapping_sub(LOCKED);
        if new != 0 {
            self.unlock_slow(new);
        }
    }

    /// Go's `unlockSlow`: wake one waiter unless someone already competes.
    #[cold]
    fn unlock_slow(&self, new: u32) {
        debug_assert!(new.wrapping_add(LOCKED) & LOCKED != 0, "RawMutex::unlock: unlock of unlocked mutex");
        if new & STARVING != 0 {
            // Hand-off: the first waiter owns the lock as soon as it runs.
            self.sema.release();
            return;
        }
        let mut old = new;
        loop {
            if old >> WAITER_SHIFT == 0 || old & (LOCKED | WOKEN | STARVING) != 0 {
                return;
            }
            let woken = (old - WAITER) | WOKEN;
            // Release: pairs with the Acquire CAS of the waiter we wake.
            match self.state.compare_exchange(old, woken, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return self.sema.release(),
                Err(cur) => old = cur,
            }
        }
    }

    /// Whether the lock is in starvation (hand-off) mode: for tests.
    pub(crate) fn is_starving(&self) -> bool {
        self.state.load(Ordering::Relaxed) & STARVING != 0
    }
}

/// Go's `sync_runtime_canSpin`: a few rounds, only with other Ps to make
/// progress and nothing else waiting to run here.
fn can_spin(spins: u32) -> bool {
    spins < 4 && sched().procs() > 1 && current_p().is_some_and(|p| p.runq.is_empty())
}

/// A mutual-exclusion lock that parks goroutines (and blocks plain
/// threads), with Go's starvation mode: a waiter that waited over 1 ms gets
/// the lock handed to it directly, so a hot lock stays fair.
///
/// Holding a gort `Mutex` across a blocking call (channel operation, sleep,
/// socket I/O) is fine: waiters park. Holding a `std` or `parking_lot` lock
/// across one is not: a goroutine waiting on it blocks its whole M, and if
/// the holder is parked behind that M, nothing runs again. Use gort's locks
/// in goroutines.
///
/// There is no poisoning: a panic while locked just unlocks.
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(gort::sync::Mutex::new(0));
/// let hs: Vec<_> = (0..100)
///     .map(|_| {
///         let m = m.clone();
///         gort::go!(move || *m.lock() += 1)
///     })
///     .collect();
/// hs.into_iter().for_each(|h| h.join().unwrap());
/// assert_eq!(*m.lock(), 100);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the lock gives one owner at a time access to `data`, which may
// cross threads, hence `T: Send` for both.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Access to a locked [`Mutex`]; unlocks on drop. Not `Send`: unlock
/// happens where the lock was taken (the goroutine may have moved threads,
/// which is fine: the guard follows the goroutine, not the thread).
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    pub(crate) mutex: &'a Mutex<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing the guard only shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex { raw: RawMutex::new(), data: UnsafeCell::new(value) }
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, parking the goroutine while another holds it.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock();
        MutexGuard { mutex: self, _not_send: PhantomData }
    }

    /// Locks if free now.
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then(|| MutexGuard { mutex: self, _not_send: PhantomData })
    }

    /// The value, through exclusive access (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Whether the lock is in starvation (hand-off) mode; for tests.
    #[doc(hidden)]
    pub fn is_starving(&self) -> bool {
        self.raw.is_starving()
    }

    /// The raw lock, for `Condvar`.
    pub(crate) fn raw(&self) -> &RawMutex {
        &self.raw
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            None => f.debug_struct("Mutex").field("data", &format_args!("<locked>")).finish(),
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves we hold the lock.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves we hold the lock; `&mut self` makes it unique.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard proves we hold the lock.
        unsafe { self.mutex.raw.unlock() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
