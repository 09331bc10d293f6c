//! `WaitGroup`: wait for a set of goroutines to finish. Both shapes work on
//! one atomic word with two counts: crossbeam's (every handle counts one in
//! the low half — clone adds one, drop takes it away, `wait(self)` drops
//! its own and waits for zero) and Go's (`add(n)` / `done()` in the high
//! half). The halves are apart so that one `done` too many is caught
//! (Go's "negative counter") instead of taking a live handle's count.
//!
//! A change that can fail (an `add` past the limit, a `done` with no `add`
//! pending) is one compare-and-swap that checks first, so a failing one
//! leaves the word as it was, and no other party ever sees it out of range.
//!
//! The waiters' queue lock is taken by the decrement that reaches zero, and
//! a waiter checks the word under that lock before queueing, so a waiter
//! either sees zero or is found by the final decrement.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::Mutex as Lock;

use crate::loom::sync::atomic::AtomicU64;
use crate::sched::g::WaitReason;
use crate::sched::waitq::{wait, Publish, Sudog, WaitQueue};

/// One `add` in the word's high half; handles count in the low half.
const ADD: u64 = 1 << 32;

/// The word: `add`s not yet `done` (high half) and live handles (low half).
struct Count(AtomicU64);

impl Count {
    /// The word of a group with one handle.
    fn new() -> Count {
        Count(AtomicU64::new(1))
    }

    /// Adds `n` pending `add`s; `false`, changing nothing, when they would
    /// pass `u32::MAX`.
    fn add(&self, n: u32) -> bool {
        let n = u64::from(n) * ADD;
        // Relaxed: the count is ordered by the AcqRel decrements.
        self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| c.checked_add(n)).is_ok()
    }

    /// One handle more.
    fn add_handle(&self) {
        // Relaxed: as in `add`.
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes one pending `add` away. `None`, changing nothing, when none is
    /// pending; else whether the word reached zero.
    fn done(&self) -> Option<bool> {
        // AcqRel: Release publishes this party's work to the waiter;
        // Acquire lets the last one see everyone's.
        let before = self.0.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |c| c.checked_sub(ADD)).ok()?;
        Some(before == ADD)
    }

    /// Takes a handle's one away (its own, so always there); whether the
    /// word reached zero.
    fn drop_handle(&self) -> bool {
        // AcqRel: as in `done`.
        self.0.fetch_sub(1, Ordering::AcqRel) == 1
    }

    fn is_zero(&self) -> bool {
        // Acquire: pairs with the AcqRel decrement that reached zero.
        self.0.load(Ordering::Acquire) == 0
    }

    /// `(adds pending, live handles)`, for display.
    fn snapshot(&self) -> (u64, u32) {
        // Relaxed: a snapshot for display.
        let w = self.0.load(Ordering::Relaxed);
        (w >> 32, w as u32)
    }
}

struct Inner {
    count: Count,
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
        WaitGroup { inner: Arc::new(Inner { count: Count::new(), waiters: Lock::new(WaitQueue::new()) }) }
    }

    /// Adds `n` to the count (Go's `Add`): `n` more `done` calls to wait for.
    ///
    /// # Panics
    /// When the `add`s pending would pass `u32::MAX` (Go's counter is
    /// 32 bits too).
    pub fn add(&self, n: usize) {
        if !u32::try_from(n).is_ok_and(|n| self.inner.count.add(n)) {
            panic!("gort::sync::WaitGroup: counter overflow");
        }
    }

    /// Takes one from the count (Go's `Done`).
    ///
    /// # Panics
    /// When the count would drop below zero (more `done` than `add`).
    pub fn done(&self) {
        match self.inner.count.done() {
            None => panic!("gort::sync::WaitGroup: negative counter (more done than add)"),
            Some(true) => self.inner.wake_all(),
            Some(false) => {}
        }
    }

    /// Drops this handle's count and waits until the count reaches zero:
    /// every clone dropped and every `add` matched by a `done`.
    pub fn wait(self) {
        let inner = self.inner.clone();
        drop(self);
        if inner.count.is_zero() {
            return;
        }
        let node = Sudog::new(None);
        wait(
            WaitReason::WaitGroup,
            None,
            |parker| {
                let mut q = inner.waiters.lock();
                // Read under the lock the final decrement takes.
                if inner.count.is_zero() {
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
    /// Wakes every waiter: the word reached zero.
    fn wake_all(&self) {
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

impl Clone for WaitGroup {
    /// Another handle, counting one more.
    fn clone(&self) -> Self {
        self.inner.count.add_handle();
        WaitGroup { inner: self.inner.clone() }
    }
}

impl Drop for WaitGroup {
    fn drop(&mut self) {
        if self.inner.count.drop_handle() {
            self.inner.wake_all();
        }
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (adds, handles) = self.inner.count.snapshot();
        f.debug_struct("WaitGroup").field("adds", &adds).field("handles", &handles).finish()
    }
}

#[cfg(all(test, loom))]
mod loom_waitgroup;
