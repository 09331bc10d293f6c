//! The runtime's semaphore (Go's `semacquire`/`semrelease`): a count and a
//! queue of parked waiters under one short lock. Every gort lock that has to
//! wait (`Mutex`, `RwLock`, `Semaphore`) waits here.
//!
//! Invariant: waiters are queued only while `count == 0`; a release with a
//! waiter queued hands its permit straight to the first waiter (the count
//! never sees it), so a newcomer cannot barge past a woken waiter.

use parking_lot::Mutex;

use crate::sched::g::WaitReason;
use crate::sched::waitq::{wait, wake, Publish, Sudog, WaitQueue};

struct State {
    count: usize,
    waiters: WaitQueue<()>,
}

/// A counting semaphore that parks goroutines.
pub(crate) struct Sema {
    state: Mutex<State>,
}

impl Sema {
    pub(crate) const fn new(count: usize) -> Sema {
        Sema { state: Mutex::new(State { count, waiters: WaitQueue::new() }) }
    }

    /// Takes a permit if one is free.
    pub(crate) fn try_acquire(&self) -> bool {
        let mut s = self.state.lock();
        let ok = s.count > 0;
        if ok {
            s.count -= 1;
        }
        ok
    }

    /// Takes a permit, waiting for one. `lifo` queues the caller first: Go's
    /// rule for a woken mutex waiter that lost the race and waits again.
    pub(crate) fn acquire(&self, lifo: bool, reason: WaitReason) {
        if self.try_acquire() {
            return;
        }
        let node = Sudog::new(None);
        wait(
            reason,
            None,
            |parker| {
                let mut s = self.state.lock();
                if s.count > 0 {
                    s.count -= 1;
                    return Publish::Done(0);
                }
                node.bind(parker, 0);
                s.waiters.push(&node, lifo);
                Publish::Queued
            },
            // Untimed: never called.
            || {},
        );
    }

    /// Returns a permit: to the first waiter if any, else to the count.
    pub(crate) fn release(&self) {
        let woken = {
            let mut s = self.state.lock();
            match s.waiters.claim_front() {
                Some(c) => Some(c.into_waiter()),
                None => {
                    s.count += 1;
                    None
                }
            }
        };
        wake(woken);
    }

    /// Free permits now.
    pub(crate) fn available(&self) -> usize {
        self.state.lock().count
    }
}
