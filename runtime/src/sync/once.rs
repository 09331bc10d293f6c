//! `Once`: run an initialiser exactly once (Go's `sync.Once`): a flag for
//! the fast path, and a gort mutex so latecomers park until it is done.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::sync::mutex::RawMutex;

/// Runs a closure once, however many goroutines call it; the others wait
/// (parked) until it has finished.
///
/// ```
/// static INIT: gort::sync::Once = gort::sync::Once::new();
/// let hs: Vec<_> = (0..10).map(|_| gort::go!(|| INIT.call_once(|| println!("once")))).collect();
/// hs.into_iter().for_each(|h| h.join().unwrap());
/// assert!(INIT.is_completed());
/// ```
pub struct Once {
    done: AtomicBool,
    lock: RawMutex,
}

/// Unlocks on drop, so a panicking initialiser releases the waiters (who
/// then run their own, since `done` stayed false).
struct Unlock<'a>(&'a RawMutex);

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        // SAFETY: built right after locking.
        unsafe { self.0.unlock() }
    }
}

impl Once {
    /// A `Once` that has not run.
    pub const fn new() -> Once {
        Once { done: AtomicBool::new(false), lock: RawMutex::new() }
    }

    /// Runs `f` if no call has completed yet; returns once one has. If `f`
    /// panics, the `Once` is not complete and the next call runs its own.
    #[inline]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        // Acquire: pairs with the Release in `call_slow`.
        if !self.done.load(Ordering::Acquire) {
            self.call_slow(f);
        }
    }

    #[cold]
    fn call_slow<F: FnOnce()>(&self, f: F) {
        self.lock.lock();
        let _unlock = Unlock(&self.lock);
        // Relaxed: the lock orders us after the previous holder.
        if !self.done.load(Ordering::Relaxed) {
            f();
            // Release: pairs with the Acquire in `call_once`.
            self.done.store(true, Ordering::Release);
        }
    }

    /// Whether a call has completed.
    pub fn is_completed(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

impl Default for Once {
    fn default() -> Self {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").field("done", &self.is_completed()).finish()
    }
}
