//! `Semaphore`: a counting semaphore whose permits are guards, on the
//! runtime semaphore that the locks use.

use std::fmt;

use crate::sched::g::WaitReason;
use crate::sync::sema::Sema;

/// A counting semaphore: `acquire` parks while no permit is free; a permit
/// goes back when its guard drops. Waiters are served in order.
///
/// ```
/// let s = std::sync::Arc::new(gort::sync::Semaphore::new(2));
/// let a = s.acquire();
/// let _b = s.acquire();
/// assert!(s.try_acquire().is_none());
/// assert_eq!(s.available_permits(), 0);
/// drop(a);
/// assert!(s.try_acquire().is_some());
/// ```
pub struct Semaphore {
    sema: Sema,
}

/// A permit of a [`Semaphore`], returned on drop.
#[must_use = "the permit is returned at once if dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
}

impl Semaphore {
    /// A semaphore with `permits` free permits.
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore { sema: Sema::new(permits) }
    }

    /// Takes a permit, parking until one is free.
    pub fn acquire(&self) -> SemaphorePermit<'_> {
        self.sema.acquire(false, WaitReason::Sema);
        SemaphorePermit { sem: self }
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.sema.try_acquire().then(|| SemaphorePermit { sem: self })
    }

    /// Adds `n` permits.
    pub fn add_permits(&self, n: usize) {
        (0..n).for_each(|_| self.sema.release());
    }

    /// Free permits now.
    pub fn available_permits(&self) -> usize {
        self.sema.available()
    }
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken for good (it is not returned on drop).
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.sema.release();
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore").field("available", &self.available_permits()).finish()
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}
