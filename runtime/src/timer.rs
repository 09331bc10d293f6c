//! Timers: one min-heap of deadlines, each holding the waiter to wake.
//! `sleep` (and later deadlines and timeouts) add to it; the sysmon thread
//! sleeps on a condition variable until the earliest deadline and wakes the
//! waiters that are due, readying their Gs onto the global queue. Adding a
//! timer earlier than every other one notifies sysmon so it sleeps less.
//!
//! Invariant: sysmon only waits on `cv` while holding `heap`'s lock between
//! its last look at the heap and the wait, so an `add` (which needs the lock)
//! cannot slip in unseen.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::sched::park::Waiter;

struct Timer {
    when: Instant,
    /// Insertion order, so equal deadlines fire first-in first-out.
    seq: u64,
    waiter: Waiter,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.when, self.seq) == (other.when, other.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    /// Reversed: `BinaryHeap` is a max-heap and we want the earliest on top.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.when, other.seq).cmp(&(self.when, self.seq))
    }
}

struct Heap {
    timers: BinaryHeap<Timer>,
    seq: u64,
}

pub(crate) struct Timers {
    heap: Mutex<Heap>,
    cv: Condvar,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers { heap: Mutex::new(Heap { timers: BinaryHeap::new(), seq: 0 }), cv: Condvar::new() }
    }

    /// Wakes `waiter` at `when`.
    pub(crate) fn add(&self, when: Instant, waiter: Waiter) {
        let mut h = self.heap.lock();
        let earliest = h.timers.peek().is_none_or(|t| when < t.when);
        h.seq += 1;
        let seq = h.seq;
        h.timers.push(Timer { when, seq, waiter });
        drop(h);
        if earliest {
            self.cv.notify_one();
        }
    }

    /// Sleeps until a timer is due or `until` passes, then wakes every due
    /// timer's waiter (outside the lock). Called by sysmon in a loop.
    pub(crate) fn run(&self, until: Instant) {
        let mut due = Vec::new();
        let mut h = self.heap.lock();
        loop {
            let now = Instant::now();
            while h.timers.peek().is_some_and(|t| t.when <= now) {
                due.push(h.timers.pop().expect("Timers::run: peeked timer vanished").waiter);
            }
            if !due.is_empty() || now >= until {
                break;
            }
            let wake_at = h.timers.peek().map_or(until, |t| t.when.min(until));
            self.cv.wait_until(&mut h, wake_at);
        }
        drop(h);
        due.into_iter().for_each(Waiter::wake);
    }

    /// Timers pending, for stats.
    pub(crate) fn len(&self) -> usize {
        self.heap.lock().timers.len()
    }
}
