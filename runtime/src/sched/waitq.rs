//! Wait queues: how a G waits on one or several things at once (a channel
//! op, a `select`, a mutex, a condition variable), built on [`park`].
//!
//! The pieces are Go's: a [`Sudog`] is one pending operation of one waiting
//! party (a G or a plain thread) and sits in the [`WaitQueue`] of the thing it
//! waits on; a [`Parker`] is shared by all the sudogs of one wait (a select
//! enqueues one sudog per arm) and holds the party's [`Waiter`]. Whoever
//! *claims* the parker first — a channel peer, a mutex unlock, a timeout —
//! takes the waiter, records which sudog fired, and wakes it. Every other
//! claimant fails and just drops the stale sudog from its queue. So a party
//! is woken exactly once however many queues it sits in (Go's `selectDone`).
//!
//! Invariants:
//! - A sudog is in a queue only while its parker holds a waiter or has just
//!   been claimed; queues are only touched under their owner's lock.
//! - Sudogs and (untimed) parkers live on the waiting G's stack. After being
//!   woken, the party removes its remaining sudogs from every queue (under
//!   each lock) while its parker is still alive (`wait`'s `dequeue`,
//!   `wait_any`'s `leave`), so no queue keeps a pointer to a dead sudog,
//!   and no claimer reads a dead parker through a sudog not yet removed. A
//!   timed wait's parker is in an `Arc` shared with the timer callback,
//!   which may still run after the party has left.
//! - The claimer writes the sudog's slot (the value handed over) before
//!   waking; the woken party reads it after. `Waiter::wake` orders the two.

use std::cell::{Cell, UnsafeCell};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::sched::g::WaitReason;
use crate::sched::park::{park, Waiter};
use crate::sched::sched;
use crate::timer::{Fire, TimerId};

/// `Parker::fired` after a timeout.
pub(crate) const TIMED_OUT: usize = usize::MAX;

const OPEN: u8 = 0;
const CLAIMED: u8 = 1;

/// No timer id published yet (`Parker::timer`).
const NO_TIMER: u64 = 0;
/// The woken party got to `Parker::timer` first: whoever adds the timer
/// later must cancel it itself.
const TIMER_UNWANTED: u64 = u64::MAX;

/// The wake-up right of one waiting party, shared by its sudogs.
pub struct Parker {
    /// OPEN until claimed; CLAIMED by exactly one claimant.
    state: AtomicU8,
    /// All claimants hold one queue's lock (one queue, no timer), so a
    /// claim needs no read-modify-write.
    serialized: bool,
    /// Written by `wait` before any sudog is published; taken by the claimant.
    waiter: UnsafeCell<Option<Waiter>>,
    /// Which sudog fired (its `arm`), or `TIMED_OUT`. Written by the
    /// claimant, read by the woken party.
    fired: AtomicUsize,
    /// Timed waits: the pending timer's id, handed between the parking M and
    /// the woken party (see `wait_timed`).
    timer: AtomicU64,
}

// SAFETY: `waiter` is written before the parker is published (publication is
// a lock release or the timer lock) and taken only by the single claimant
// that moved `state` from OPEN to CLAIMED (by CAS, or, when serialized, by a
// load and store under the one queue lock every claimant holds); the other
// fields are atomics. (`Send` follows from the fields: a `Waiter` is Send.)
unsafe impl Sync for Parker {}

impl Parker {
    fn new(serialized: bool) -> Parker {
        Parker {
            state: AtomicU8::new(OPEN),
            serialized,
            waiter: UnsafeCell::new(None),
            fired: AtomicUsize::new(TIMED_OUT),
            timer: AtomicU64::new(NO_TIMER),
        }
    }

    /// Takes the waiter if nobody claimed it yet, recording `arm` as fired.
    pub(crate) fn claim(&self, arm: usize) -> Option<Waiter> {
        if self.serialized {
            // Relaxed: every claimant holds the one queue's lock, which
            // orders them and publishes `waiter` to them.
            if self.state.load(Ordering::Relaxed) != OPEN {
                return None;
            }
            self.state.store(CLAIMED, Ordering::Relaxed);
        } else if self.state.compare_exchange(OPEN, CLAIMED, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            // AcqRel: Acquire pairs with the publication of `waiter` (a lock
            // release or the timers lock); the CAS decides the one claimant.
            return None;
        }
        // Relaxed: the woken party reads it after `Waiter::wake`, which orders it.
        self.fired.store(arm, Ordering::Relaxed);
        // SAFETY: we moved `state` to CLAIMED (by the CAS, or serialized under
        // the queue lock all claimants hold), so we are the only one to touch
        // `waiter` after its publication.
        let w = unsafe { (*self.waiter.get()).take() };
        Some(w.expect("Parker::claim: claimed parker had no waiter"))
    }

    /// Which arm fired, read by the woken party.
    pub(crate) fn fired(&self) -> usize {
        self.fired.load(Ordering::Relaxed)
    }
}

/// One pending operation of a waiting party: its parker, which arm of the
/// wait it is, and the slot a value crosses in (a receiver's empty slot
/// that a sender fills, or a sender's value that a receiver takes).
pub(crate) struct Sudog<T> {
    parker: Cell<*const Parker>,
    arm: Cell<usize>,
    slot: UnsafeCell<Option<T>>,
    /// The queue's links (Go's `sudog.prev`/`next`), touched only under
    /// the lock of the one queue the sudog is in.
    prev: Cell<*const Sudog<T>>,
    next: Cell<*const Sudog<T>>,
    queued: Cell<bool>,
}

impl<T> Sudog<T> {
    /// A sudog carrying `slot` (`None` for a receive, `Some(v)` for a send).
    pub(crate) fn new(slot: Option<T>) -> Sudog<T> {
        Sudog {
            parker: Cell::new(ptr::null()),
            arm: Cell::new(0),
            slot: UnsafeCell::new(slot),
            prev: Cell::new(ptr::null()),
            next: Cell::new(ptr::null()),
            queued: Cell::new(false),
        }
    }

    /// Binds the sudog to `parker` as arm `arm`, before it is queued.
    pub(crate) fn bind(&self, parker: &Parker, arm: usize) {
        self.parker.set(parker);
        self.arm.set(arm);
    }

    /// The slot, for its owner while no claimant can touch it (before it is
    /// queued, or after the wait ended).
    pub(crate) fn slot(&mut self) -> &mut Option<T> {
        self.slot.get_mut()
    }

    /// The slot through a shared reference.
    ///
    /// # Safety
    /// The caller is the owner outside a wait (not queued, or already
    /// dequeued and woken), or a claimant that won this sudog's parker; no
    /// other reference to the slot is alive.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slot_mut(&self) -> &mut Option<T> {
        // SAFETY: exclusive access is guaranteed by the caller.
        unsafe { &mut *self.slot.get() }
    }
}

/// A sudog whose parker was claimed: fill or empty its slot, then `wake`.
pub(crate) struct Claimed<T> {
    sudog: NonNull<Sudog<T>>,
    waiter: Waiter,
}

impl<T> Claimed<T> {
    /// The claimed sudog's slot. Only valid before `wake`.
    pub(crate) fn slot(&mut self) -> &mut Option<T> {
        // SAFETY: we claimed the parker, so the owner stays parked (its
        // frame alive, its slot untouched) until we call `wake`, which
        // consumes `self`; `&mut self` makes this borrow unique.
        unsafe { (*self.sudog.as_ptr()).slot.get_mut() }
    }

    /// The owner's waiter: wake it after dropping the queue's lock.
    pub(crate) fn into_waiter(self) -> Waiter {
        self.waiter
    }
}

/// A FIFO of sudogs, linked through the sudogs themselves (Go's `waitq`):
/// queueing allocates nothing and a woken select leaves its other queues in
/// O(1). The owner (a channel, a semaphore) keeps it under its lock, which
/// is what makes the raw pointers inside safe to follow.
pub(crate) struct WaitQueue<T> {
    first: *const Sudog<T>,
    last: *const Sudog<T>,
}

// SAFETY: the queue only stores pointers; they are followed under the
// owner's lock while the sudogs' owners are parked (module invariants).
unsafe impl<T: Send> Send for WaitQueue<T> {}

impl<T> WaitQueue<T> {
    pub(crate) const fn new() -> WaitQueue<T> {
        WaitQueue { first: ptr::null(), last: ptr::null() }
    }

    /// Queues `s` at the back (or the front, for Go's LIFO re-queue of a
    /// woken mutex waiter that lost the race).
    pub(crate) fn push(&mut self, s: &Sudog<T>, front: bool) {
        debug_assert!(!s.queued.get(), "WaitQueue::push: sudog already queued");
        s.queued.set(true);
        let (prev, next) = if front { (ptr::null(), self.first) } else { (self.last, ptr::null()) };
        s.prev.set(prev);
        s.next.set(next);
        self.set_after(prev, s);
        self.set_before(next, s);
    }

    /// Removes `s` if it is still queued.
    pub(crate) fn remove(&mut self, s: &Sudog<T>) {
        if !s.queued.replace(false) {
            return;
        }
        let (prev, next) = (s.prev.get(), s.next.get());
        self.set_after(prev, next);
        self.set_before(next, prev);
    }

    /// Makes `to` follow `prev` (be `first`, when `prev` is null).
    fn set_after(&mut self, prev: *const Sudog<T>, to: *const Sudog<T>) {
        // SAFETY: `prev` is null or queued, so alive (module invariants), and
        // its links are ours under the owner's lock.
        match unsafe { prev.as_ref() } {
            Some(p) => p.next.set(to),
            None => self.first = to,
        }
    }

    /// Makes `to` precede `next` (be `last`, when `next` is null).
    fn set_before(&mut self, next: *const Sudog<T>, to: *const Sudog<T>) {
        // SAFETY: as in `set_after`.
        match unsafe { next.as_ref() } {
            Some(n) => n.prev.set(to),
            None => self.last = to,
        }
    }

    /// Takes the first sudog off the queue.
    fn pop_front(&mut self) -> Option<NonNull<Sudog<T>>> {
        let first = NonNull::new(self.first.cast_mut())?;
        // SAFETY: a queued sudog is alive (module invariants).
        self.remove(unsafe { first.as_ref() });
        Some(first)
    }

    /// Pops sudogs until one can be claimed, dropping stale ones (their
    /// party was woken through another queue).
    pub(crate) fn claim_front(&mut self) -> Option<Claimed<T>> {
        while let Some(p) = self.pop_front() {
            // SAFETY: a queued sudog's owner is parked or busy dequeuing (which
            // needs our lock), so the sudog and its parker are alive.
            let s = unsafe { p.as_ref() };
            // SAFETY: `bind` set the parker before the sudog was queued.
            let parker = unsafe { &*s.parker.get() };
            if let Some(waiter) = parker.claim(s.arm.get()) {
                return Some(Claimed { sudog: p, waiter });
            }
        }
        None
    }
}

/// Wakes the waiter a locked operation found, once the lock is released.
#[inline]
pub(crate) fn wake(w: Option<Waiter>) {
    if let Some(w) = w {
        w.wake();
    }
}

/// What `wait`'s publish callback decided.
pub(crate) enum Publish {
    /// Sudogs are queued; park until one is claimed.
    Queued,
    /// The condition already holds: arm `usize` completed without waiting.
    Done(usize),
}

/// Parks the caller until its sudog is claimed (`true`) or `deadline`
/// passes (`false`). The sudog goes into one queue (a channel's, a
/// semaphore's).
///
/// `publish` runs from the park callback (off the G's stack, after it
/// switched out): it must bind and queue the sudog under its queue's lock,
/// or complete at once (`Done`). After it returns `Queued` it must not
/// touch the G's frame again except to release the last of its locks.
///
/// `dequeue` runs only on a timeout, the one case in which the sudog is
/// still queued (a claimer pops it), and must remove it under the queue's
/// lock. It runs while the parker is still alive, which matters: until the
/// sudog is removed, a claimer may pop it and read its parker.
#[inline(always)]
pub(crate) fn wait<F, D>(reason: WaitReason, deadline: Option<Instant>, publish: F, dequeue: D) -> bool
where
    F: FnOnce(&Parker) -> Publish,
    D: FnOnce(),
{
    let fired = wait_in(reason, deadline, true, publish, |fired| {
        if fired == TIMED_OUT {
            dequeue();
        }
    });
    fired != TIMED_OUT
}

/// [`wait`] with sudogs in several queues (a select): returns the arm that
/// fired (`TIMED_OUT` on timeout). `leave(fired)` runs once the party is
/// awake, while the parker is alive, and must remove under their queues'
/// locks the sudogs still queued: those of the arms that did not fire, or
/// all of them on a timeout.
#[inline(always)]
pub(crate) fn wait_any<F, L>(reason: WaitReason, deadline: Option<Instant>, publish: F, leave: L) -> usize
where
    F: FnOnce(&Parker) -> Publish,
    L: FnOnce(usize),
{
    wait_in(reason, deadline, false, publish, leave)
}

#[inline(always)]
fn wait_in<F, L>(
    reason: WaitReason,
    deadline: Option<Instant>,
    one_queue: bool,
    publish: F,
    leave: L,
) -> usize
where
    F: FnOnce(&Parker) -> Publish,
    L: FnOnce(usize),
{
    match deadline {
        None => {
            let p = Parker::new(one_queue);
            park(reason, |w| register(&p, w, publish));
            let fired = p.fired();
            leave(fired);
            fired
        }
        Some(d) => wait_timed(reason, d, publish, leave),
    }
}

/// Stores the waiter, then lets `publish` queue the sudogs (or decline).
fn register<F>(p: &Parker, w: Waiter, publish: F) -> Result<(), Waiter>
where
    F: FnOnce(&Parker) -> Publish,
{
    // SAFETY: the parker is not yet published: nobody else can touch it.
    unsafe { *p.waiter.get() = Some(w) };
    match publish(p) {
        Publish::Queued => Ok(()),
        Publish::Done(arm) => {
            // Relaxed: read by this same thread or G once `park` returns.
            p.fired.store(arm, Ordering::Relaxed);
            // SAFETY: publish queued nothing, so the parker is still ours.
            Err(unsafe { (*p.waiter.get()).take() }.expect("wait: waiter vanished"))
        }
    }
}

/// A wait with a deadline. The timer is added after the sudogs are queued,
/// so it never sees a parker without a waiter. Its id then races the woken
/// party on `Parker::timer`: the party swaps in `TIMER_UNWANTED` and
/// cancels any id it finds; the parking side swaps in the id and cancels it
/// itself if it finds `TIMER_UNWANTED`. Exactly one side cancels.
fn wait_timed<F, L>(reason: WaitReason, deadline: Instant, publish: F, leave: L) -> usize
where
    F: FnOnce(&Parker) -> Publish,
    L: FnOnce(usize),
{
    let p = Arc::new(Parker::new(false));
    let mine = p.clone();
    park(reason, move |w| {
        register(&mine, w, publish)?;
        let theirs = mine.clone();
        let fire = Fire::Call(Box::new(move || {
            if let Some(w) = theirs.claim(TIMED_OUT) {
                w.wake();
            }
        }));
        let id = sched().timers.add(deadline, fire);
        // AcqRel: pairs with the swap in the woken party below.
        if mine.timer.swap(id.raw(), Ordering::AcqRel) == TIMER_UNWANTED {
            sched().timers.cancel(id);
        }
        Ok(())
    });
    // AcqRel: pairs with the swap in the park callback above.
    let id = p.timer.swap(TIMER_UNWANTED, Ordering::AcqRel);
    let fired = p.fired();
    if id != NO_TIMER && fired != TIMED_OUT {
        sched().timers.cancel(TimerId::from_raw(id));
    }
    // `p` keeps the parker alive through `leave` (the timer's clone may be gone).
    leave(fired);
    fired
}
