//! `Condvar`: waiting for a condition under a gort [`Mutex`] (Go's
//! `sync.Cond`). A waiter is queued on the condition variable *before* the
//! mutex is released — both happen in the park callback, after the G has
//! switched out — so a `notify` that follows the unlock always finds it.
//! The callback holds the queue's lock until the unlock has returned, so
//! the woken G cannot free the mutex under an unlock still running.

use std::fmt;
use std::time::{Duration, Instant};

use parking_lot::Mutex as Lock;

use crate::sched::g::WaitReason;
use crate::sched::waitq::{wait, Publish, Sudog, WaitQueue};
use crate::sync::MutexGuard;

/// Whether `Condvar::wait_timeout` returned because time ran out.
#[derive(Debug, PartialEq, Eq, Copy, Clone)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True when the wait ended by timeout rather than a notification.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

/// A condition variable for gort's [`Mutex`](crate::sync::Mutex): waiting
/// parks the goroutine (or blocks the plain thread).
///
/// ```
/// use std::sync::Arc;
/// use gort::sync::{Condvar, Mutex};
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let theirs = pair.clone();
/// gort::go!(move || {
///     *theirs.0.lock() = true;
///     theirs.1.notify_one();
/// });
/// let (m, cv) = &*pair;
/// let mut ready = m.lock();
/// while !*ready {
///     ready = cv.wait(ready);
/// }
/// ```
pub struct Condvar {
    waiters: Lock<WaitQueue<()>>,
}

impl Condvar {
    /// A condition variable with no waiters.
    pub const fn new() -> Condvar {
        Condvar { waiters: Lock::new(WaitQueue::new()) }
    }

    /// Releases the lock, waits for a notification, and locks again.
    /// Spurious wake-ups do not happen, but another goroutine may have
    /// changed the condition before the lock is retaken: check it in a loop.
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait_until(guard, None).0
    }

    /// Waits while `cond` holds.
    pub fn wait_while<'a, T, F>(&self, mut guard: MutexGuard<'a, T>, mut cond: F) -> MutexGuard<'a, T>
    where
        F: FnMut(&mut T) -> bool,
    {
        while cond(&mut guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// Like [`wait`](Condvar::wait), giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let m = gort::sync::Mutex::new(());
    /// let cv = gort::sync::Condvar::new();
    /// let (_g, r) = cv.wait_timeout(m.lock(), Duration::from_millis(1));
    /// assert!(r.timed_out());
    /// ```
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, WaitTimeoutResult) {
        // A timeout past what `Instant` can hold waits untimed.
        let (g, timed_out) = self.wait_until(guard, Instant::now().checked_add(timeout));
        (g, WaitTimeoutResult(timed_out))
    }

    fn wait_until<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, T>, bool) {
        let mutex = guard.mutex;
        // The park callback unlocks instead of the guard.
        std::mem::forget(guard);
        let node = Sudog::new(None);
        let node = &node;
        let claimed = wait(
            WaitReason::Cond,
            deadline,
            move |parker| {
                let mut q = self.waiters.lock();
                node.bind(parker, 0);
                q.push(node, false);
                // SAFETY: the forgotten guard held the lock; we release it for it.
                // The queue's lock is held across the whole unlock, past the
                // moment the lock bit clears: until it is dropped no notify can
                // claim this G, and no timeout can dequeue it, so the G cannot
                // retake the mutex, return and free it while the unlock still
                // reads the mutex's state (its slow path does, to wake a waiter).
                unsafe { mutex.raw().unlock() };
                drop(q);
                Publish::Queued
            },
            || self.waiters.lock().remove(node),
        );
        (mutex.lock(), !claimed)
    }

    /// Wakes one waiter, if any.
    pub fn notify_one(&self) {
        let w = self.waiters.lock().claim_front();
        if let Some(c) = w {
            c.into_waiter().wake();
        }
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        let mut woken = Vec::new();
        {
            let mut q = self.waiters.lock();
            while let Some(c) = q.claim_front() {
                woken.push(c.into_waiter());
            }
        }
        woken.into_iter().for_each(|w| w.wake());
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
