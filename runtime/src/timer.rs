//! Timers: one min-heap of deadlines serving `sleep`, timeouts and (later)
//! socket deadlines. The sysmon thread sleeps on a condition variable until
//! the earliest deadline and fires the timers that are due, outside the lock:
//! a timer either wakes a parked waiter or calls a short callback. Adding a
//! timer earlier than sysmon's planned wake-up notifies it so it sleeps
//! less; any other add needs no notify, since sysmon looks at the heap
//! again before it next waits. (Notifying on every add that was earliest
//! in the heap cost a futex wake per `with_timeout` + drop, which leaves
//! the heap empty each time: 1.9 µs per pair, against 1.2–1.4 µs without,
//! on the loaded 2-core development machine.)
//!
//! Timers can be cancelled by id. The heap holds `(when, id)` pairs and the
//! live timers sit in a map by id, so cancelling is a map removal; the stale
//! heap entry is skipped when it surfaces, and the heap is rebuilt when stale
//! entries outnumber live ones (a server that re-arms a 120 s idle deadline on
//! every request would otherwise grow the heap without bound).
//!
//! Invariant: sysmon only waits on `cv` while holding `heap`'s lock between
//! its last look at the heap and the wait, so an `add` (which needs the lock)
//! cannot slip in unseen: it either comes before that look, or finds
//! `sleeping_until` set and notifies if it is earlier. Only sysmon calls
//! `run`, so there is one such wait at a time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::sched::park::Waiter;

/// What a timer does when it fires. Callbacks run on the sysmon thread: they
/// must not block, and should only take short locks.
pub(crate) enum Fire {
    /// Make a parked G or blocked thread runnable.
    Wake(Waiter),
    /// Run a callback (a timeout that must first unlink a waiter, say).
    Call(Box<dyn FnOnce() + Send>),
}

impl Fire {
    fn fire(self) {
        match self {
            Fire::Wake(w) => w.wake(),
            Fire::Call(f) => f(),
        }
    }
}

/// Identifies a pending timer for [`Timers::cancel`]. Ids are never reused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct TimerId(u64);

impl TimerId {
    /// The id as a number (never 0 or `u64::MAX`), for storing in an atomic.
    pub(crate) fn raw(self) -> u64 {
        self.0
    }

    /// Rebuilds an id from [`TimerId::raw`].
    pub(crate) fn from_raw(raw: u64) -> TimerId {
        TimerId(raw)
    }
}

/// Timer room below which `Heap::shrink` keeps the capacity.
const SHRINK_ABOVE: usize = 4096;

struct Heap {
    /// Deadlines, earliest on top; ids equal on `when` fire in add order.
    order: BinaryHeap<Reverse<(Instant, u64)>>,
    live: HashMap<u64, Fire>,
    next_id: u64,
    /// Set by `kick`, cleared by `run`, which returns early when it sees it.
    kicked: bool,
    /// When sysmon, waiting on `cv`, will wake up by itself; `None` while it
    /// is not waiting. Set and cleared by `run` under the lock.
    sleeping_until: Option<Instant>,
}

impl Heap {
    /// Drops heap entries of cancelled timers once they dominate.
    fn compact(&mut self) {
        if self.order.len() > 64 && self.order.len() > 2 * self.live.len() {
            let live = &self.live;
            self.order.retain(|Reverse((_, id))| live.contains_key(id));
        }
    }

    /// Gives back the room a burst of timers left behind, once it is mostly
    /// empty (a rehash of what is left, rare).
    fn shrink(&mut self) {
        let len = self.live.len();
        if self.live.capacity() > SHRINK_ABOVE && self.live.capacity() > 8 * len {
            self.live.shrink_to(2 * len);
            self.order.shrink_to(2 * self.order.len());
        }
    }

    /// The earliest live deadline, skipping (and dropping) cancelled ones.
    fn peek(&mut self) -> Option<Instant> {
        while let Some(&Reverse((when, id))) = self.order.peek() {
            if self.live.contains_key(&id) {
                return Some(when);
            }
            self.order.pop();
        }
        None
    }
}

pub(crate) struct Timers {
    heap: Mutex<Heap>,
    cv: Condvar,
}

impl Timers {
    pub(crate) fn new() -> Timers {
        let heap = Heap {
            order: BinaryHeap::new(),
            live: HashMap::new(),
            next_id: 0,
            kicked: false,
            sleeping_until: None,
        };
        Timers { heap: Mutex::new(heap), cv: Condvar::new() }
    }

    /// Fires `fire` at `when` unless cancelled first.
    pub(crate) fn add(&self, when: Instant, fire: Fire) -> TimerId {
        let mut h = self.heap.lock();
        let earlier = h.sleeping_until.is_some_and(|t| when < t);
        h.next_id += 1;
        let id = h.next_id;
        h.order.push(Reverse((when, id)));
        h.live.insert(id, fire);
        drop(h);
        if earlier {
            self.cv.notify_one();
        }
        TimerId(id)
    }

    /// Cancels a pending timer. Returns what it would have fired, or `None`
    /// when it has already fired (or is firing right now).
    pub(crate) fn cancel(&self, id: TimerId) -> Option<Fire> {
        let mut h = self.heap.lock();
        let fire = h.live.remove(&id.0);
        h.compact();
        fire
    }

    /// Sleeps until a timer is due or `until` passes, then fires every due
    /// timer (outside the lock). Called by sysmon in a loop.
    pub(crate) fn run(&self, until: Instant) {
        let mut due = Vec::new();
        let mut h = self.heap.lock();
        loop {
            let now = Instant::now();
            while let Some(when) = h.peek().filter(|&t| t <= now) {
                let Some(Reverse((_, id))) = h.order.pop() else {
                    unreachable!("Timers::run: peeked {when:?} vanished")
                };
                due.extend(h.live.remove(&id));
            }
            if !due.is_empty() || now >= until || std::mem::take(&mut h.kicked) {
                h.shrink();
                break;
            }
            let wake_at = h.peek().map_or(until, |t| t.min(until));
            h.sleeping_until = Some(wake_at);
            self.cv.wait_until(&mut h, wake_at);
            h.sleeping_until = None;
        }
        drop(h);
        due.into_iter().for_each(Fire::fire);
    }

    /// Makes a sleeping (or the next) `run` return now: sysmon has work
    /// besides timers (a blocking call began). Setting the flag under the
    /// lock means a `run` about to wait cannot miss it.
    pub(crate) fn kick(&self) {
        self.heap.lock().kicked = true;
        self.cv.notify_one();
    }

    /// Timers pending, for stats.
    pub(crate) fn len(&self) -> usize {
        self.heap.lock().live.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Fire, Timers};

    fn counter(timers: &Timers, n: &Arc<AtomicUsize>, when: std::time::Instant) -> super::TimerId {
        let n = n.clone();
        timers.add(when, Fire::Call(Box::new(move || _ = n.fetch_add(1, Ordering::SeqCst))))
    }

    #[test]
    fn cancelled_timers_do_not_fire_and_are_compacted() {
        let timers = Timers::new();
        let fired = Arc::new(AtomicUsize::new(0));
        let now = std::time::Instant::now();
        let ids: Vec<_> =
            (0..1000).map(|i| counter(&timers, &fired, now + Duration::from_millis(i % 3))).collect();
        for id in &ids[..900] {
            assert!(timers.cancel(*id).is_some());
        }
        assert!(timers.cancel(ids[0]).is_none(), "a timer cancels once");
        assert!(timers.heap.lock().order.len() < 300, "stale entries were dropped");
        while timers.len() > 0 {
            timers.run(now + Duration::from_millis(10));
        }
        assert_eq!(fired.load(Ordering::SeqCst), 100);
        assert_eq!(timers.len(), 0);
        assert!(timers.cancel(ids[999]).is_none(), "a fired timer cannot be cancelled");
    }
}
