//! `WaitGroup`: wait for a set of goroutines to finish. Both shapes work on
//! one atomic word with two counts: crossbeam's (every handle counts one in
//! the low half — clone adds one, drop takes it away, `wait(self)` drops
//! its own and waits for zero) and Go's (`add(n)` / `done()` in the high
//! half). The halves are apart so that one `done` too many is caught
//! (Go's "negative counter") instead of taking a live handle's count.
//!
//! The waiters' queue lock is taken by the decrement that reaches zero, and
//! a waiter checks the word under that lock before queueing, so a waiter
//! either sees zero or is found by the final decrement.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex as Lock;

use crate::sched::g::WaitReason;
use crate::sched::waitq::{wait, Publish, Sudog, WaitQueue};

/// One `add` in the word's high half; handles count in the low half.
const ADD: u64 = 1 << 32;

struct Inner {
    /// `add`s not yet `done` (high half) and live handles (low half).
    count: AtomicU64,
    waiters: Lock<WaitQueue<()>>,
}

/// Waits until a group of goroutines is done.
///
/// ```
/// let wg = gort::sync::WaitGroup::new();
/// for _ in 0..8 {
///     let wg = wg.clone(); // one more to wait for
///     gort::go!(move || {
///         // work…
///         drop(wg); // done
///     });
/// }
/// wg.wait(); // drops this handle's count, waits for the others
/// ```
///
/// Go's shape works too: `add(n)` before starting work, `done()` after.
///
/// ```
/// let wg = gort::sync::WaitGroup::new();
/// wg.add(2);
/// for _ in 0..2 {
///     let wg = wg.clone();
///     gort::go!(move || wg.done());
/// }
/// wg.wait();
/// ```
pub struct WaitGroup {
    inner: Arc<Inner>,
}

impl WaitGroup {
    /// A group counting this one handle.
    pub fn new() -> WaitGroup {
        WaitGroup {
            inner: Arc::new(Inner { count: AtomicU64::new(1), waiters: Lock::new(WaitQueue::new()) }),
        }
    }

    /// Adds `n` to the count (Go's `Add`): `n` more `done` calls to wait for.
    ///
    /// # Panics
    /// When the `add`s pending would pass `u32::MAX` (Go's counter is
    /// 32 bits too).
    pub fn add(&self, n: usize) {
        let overflow = || panic!("gort::sync::WaitGroup: counter overflow");
        let n = u32::try_from(n).map_or_else(|_| overflow(), |n| u64::from(n) * ADD);
        // Relaxed: the count is ordered by the AcqRel decrements.
        if self.inner.count.fetch_add(n, Ordering::Relaxed).checked_add(n).is_none() {
            overflow();
        }
    }

    /// Takes one from the count (Go's `Done`).
    ///
    /// # Panics
    /// When the count would drop below zero (more `done` than `add`).
    pub fn done(&self) {
        self.inner.release(ADD);
    }

    /// Drops this handle's count and waits until the count reaches zero:
    /// every clone dropped and every `add` matched by a `done`.
    pub fn wait(self) {
        let inner = self.inner.clone();
        drop(self);
        // Acquire: pairs with the AcqRel decrement that reached zero.
        if inner.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let node = Sudog::new(None);
        wait(
            WaitReason::WaitGroup,
            None,
            |parker| {
                let mut q = inner.waiters.lock();
                // Acquire: as above; read under the lock the final decrement takes.
                if inner.count.load(Ordering::Acquire) == 0 {
                    return Publish::Done(0);
                }
                node.bind(parker, 0);
                q.push(&node, false);
                Publish::Queued
            },
            // Untimed: never called.
            || {},
        );
    }
}

impl Inner {
    /// Takes `one` (an `add`'s `ADD`, or a handle's 1) from the word.
    fn release(&self, one: u64) {
        // AcqRel: Release publishes this party's work to the waiter;
        // Acquire lets the last one see everyone's.
        let before = self.count.fetch_sub(one, Ordering::AcqRel);
        if before < one {
            // Only an `add`'s share can run out (a handle's is its own):
            // put the word back as it was, then fail as Go does.
            self.count.fetch_add(one, Ordering::Relaxed);
            panic!("gort::sync::WaitGroup: negative counter (more done than add)");
        }
        if before == one {
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
}

impl Clone for WaitGroup {
    /// Another handle, counting one more.
    fn clone(&self) -> Self {
        // Relaxed: as in `add`.
        self.inner.count.fetch_add(1, Ordering::Relaxed);
        WaitGroup { inner: self.inner.clone() }
    }
}

impl Drop for WaitGroup {
    fn drop(&mut self) {
        self.inner.release(1);
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Relaxed: a snapshot for display.
        let count = self.inner.count.load(Ordering::Relaxed);
        f.debug_struct("WaitGroup").field("adds", &(count >> 32)).field("handles", &(count as u32)).finish()
    }
}
