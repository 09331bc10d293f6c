//! `select` (Go's `selectgo`), and every blocking channel operation: a
//! plain `send` or `recv` that cannot complete at once waits as a one-arm
//! select, with the same arms, sudogs and parker, so there is one way to
//! wait on channels.
//!
//! Each arm is a channel operation with its own [`Sudog`]. A select:
//!
//! 1. draws a random permutation of its arms (Go's `pollorder`), locks
//!    every distinct channel in address order (Go's `lockorder`, so two
//!    selects over the same channels cannot deadlock), and tries the arms
//!    in the permuted order: each ready arm is the first ready one tried
//!    with equal chance, so the choice among ready arms is uniform (a
//!    random start and a scan forward instead favoured an arm following
//!    k not-ready ones k+1 times over);
//! 2. if none was ready and it may block, parks with the locks still held
//!    (Go's `gopark` with `selparkcommit`): the park callback queues one
//!    sudog per arm, in the same permuted order, all sharing one `Parker`,
//!    and unlocks, so no peer can come between the try and the queueing.
//!    Queued in source order, arms on one channel would always fire first
//!    arm first; in the permuted order each is as likely to;
//! 3. once woken by the first peer to claim the parker (or the timeout),
//!    locks the channels and removes its other sudogs, before the parker
//!    goes away (`wait_any`'s `leave`): a peer may pop one of them until then.
//!
//! A plain send or receive is a one-arm select whose step 1 is its own
//! fast path ([`block_locked`]).
//!
//! `select` is inlined into its caller down to the switch, as a plain send
//! or receive is (see the `chan` module doc): a two-arm select ping-pong
//! went from 144 to 138 ns per round trip.
//!
//! After the park callback releases the last lock the G may already run on
//! another M, so the unlock loop goes in reverse and keeps the lowest
//! channel's lock for last: the woken G cannot finish its dequeue pass
//! (which needs that lock) while the loop still reads the arm list.

use std::cell::Cell;
use std::hash::RandomState;
use std::time::{Duration, Instant};

use crate::chan::core::{Chan, Locked, Recvd, Sent};
use crate::chan::{Receiver, RecvError, SendError, Sender};
use crate::sched::g::WaitReason;
use crate::sched::park::Waiter;
use crate::sched::waitq::{wait, wait_any, wake, Parker, Publish, Sudog, TIMED_OUT};

/// A waiter found by a locked attempt, to wake once the locks are released.
pub struct Wake(Option<Waiter>);

/// One arm of a select. Implemented by [`RecvArm`] and [`SendArm`]; used
/// by the `select!` macro, not meant to be implemented elsewhere.
#[doc(hidden)]
pub trait Arm {
    /// The channel's address: the lock order, and how duplicates are found.
    fn chan_addr(&self) -> usize;
    /// Locks the channel.
    fn lock(&self);
    /// Unlocks the channel.
    ///
    /// # Safety
    /// The caller holds the lock through `lock`.
    unsafe fn unlock(&self);
    /// With the lock held: completes the operation if it can.
    ///
    /// # Safety
    /// The caller holds the lock, and the arm is not queued.
    unsafe fn try_locked(&self) -> Option<Wake>;
    /// With the lock held: queues the arm's sudog.
    ///
    /// # Safety
    /// The caller holds the lock; the arm stays in place until dequeued.
    unsafe fn enqueue(&self, parker: &Parker, arm: usize);
    /// With the lock held: removes the arm's sudog if still queued.
    ///
    /// # Safety
    /// The caller holds the lock.
    unsafe fn dequeue(&self);
}

/// The `Arm` methods a receive and a send arm share: both lock their
/// channel and queue their sudog, on `recvq` or `sendq`.
macro_rules! arm_on_queue {
    ($queue:ident) => {
        fn chan_addr(&self) -> usize {
            std::ptr::from_ref(self.chan).addr()
        }
        fn lock(&self) {
            self.chan.raw_lock();
        }
        unsafe fn unlock(&self) {
            // SAFETY: the caller holds the lock.
            unsafe { self.chan.raw_unlock() }
        }
        unsafe fn enqueue(&self, parker: &Parker, arm: usize) {
            self.sudog.bind(parker, arm);
            // SAFETY: the caller holds the lock.
            unsafe { self.chan.state() }.$queue.push(&self.sudog, false);
        }
        unsafe fn dequeue(&self) {
            // SAFETY: the caller holds the lock.
            unsafe { self.chan.state() }.$queue.remove(&self.sudog);
        }
    };
}

/// A receive arm: `recv(rx) -> v`.
#[doc(hidden)]
pub struct RecvArm<'a, T> {
    chan: &'a Chan<T>,
    sudog: Sudog<T>,
}

impl<'a, T> RecvArm<'a, T> {
    /// An arm receiving from `rx`.
    pub fn new(rx: &'a Receiver<T>) -> Self {
        RecvArm { chan: &rx.chan, sudog: Sudog::new(None) }
    }

    /// What the arm received, once it fired.
    pub fn result(mut self) -> Result<T, RecvError> {
        self.sudog.slot().take().ok_or(RecvError)
    }
}

impl<T> Arm for RecvArm<'_, T> {
    arm_on_queue!(recvq);

    unsafe fn try_locked(&self) -> Option<Wake> {
        // SAFETY: the caller holds the lock.
        let state = unsafe { self.chan.state() };
        match state.recv() {
            Recvd::Got(v, w) => {
                // SAFETY: the arm is not queued, so its slot is ours.
                unsafe { *self.sudog.slot_mut() = Some(v) };
                Some(Wake(w))
            }
            Recvd::Closed => Some(Wake(None)),
            Recvd::Empty => None,
        }
    }
}

/// A send arm: `send(tx, v) -> res`.
#[doc(hidden)]
pub struct SendArm<'a, T> {
    chan: &'a Chan<T>,
    sudog: Sudog<T>,
}

impl<'a, T> SendArm<'a, T> {
    /// An arm sending `v` on `tx`.
    pub fn new(tx: &'a Sender<T>, v: T) -> Self {
        SendArm { chan: &tx.chan, sudog: Sudog::new(Some(v)) }
    }

    /// Whether the value went out, once the arm fired (else it comes back).
    pub fn result(mut self) -> Result<(), SendError<T>> {
        self.sudog.slot().take().map_or(Ok(()), |v| Err(SendError(v)))
    }
}

impl<T> Arm for SendArm<'_, T> {
    arm_on_queue!(sendq);

    unsafe fn try_locked(&self) -> Option<Wake> {
        // SAFETY: the arm is not queued, so its slot is ours.
        let slot = unsafe { self.sudog.slot_mut() };
        let v = slot.take().expect("SendArm: value already sent");
        // SAFETY: the caller holds the lock.
        match unsafe { self.chan.state() }.send(v) {
            Sent::Done(w) => Some(Wake(w)),
            Sent::Closed(v) => {
                *slot = Some(v);
                Some(Wake(None))
            }
            Sent::Full(v) => {
                *slot = Some(v);
                None
            }
        }
    }
}

/// How long a select may wait.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Timeout {
    /// Block until an arm fires.
    Never,
    /// Do not block (a `default` arm).
    Now,
    /// Block at most this long.
    After(Duration),
    /// Block until then.
    At(Instant),
}

/// Runs a select over `arms`; returns the arm that fired, or `None` when the
/// `default` (or timeout) arm should run.
#[doc(hidden)]
#[inline(always)]
pub fn select<const N: usize>(arms: [&dyn Arm; N], timeout: Timeout) -> Option<usize> {
    // `None`: it must not block; `Some(deadline)`: it may, until then
    // (`Some(None)`: untimed, also for a timeout past what `Instant` can
    // hold). Decided before any lock is taken.
    let wait = match timeout {
        Timeout::Now => None,
        Timeout::Never => Some(None),
        Timeout::After(d) => Some(Instant::now().checked_add(d)),
        Timeout::At(t) if t <= Instant::now() => None,
        Timeout::At(t) => Some(Some(t)),
    };
    let polls = poll_order::<N>();
    let order = lock_order(&arms);
    lock_all(&arms, &order);
    if let Some((i, Wake(w))) = try_all(&arms, &polls) {
        unlock_all(&arms, &order);
        wake(w);
        return Some(i);
    }
    match wait {
        Some(deadline) => block(&arms, &polls, &order, deadline),
        None => {
            unlock_all(&arms, &order);
            crate::sched::preempt::preempt_check();
            None
        }
    }
}

/// Waits on one arm whose fast path just failed under `held`, the arm's
/// channel lock, which stays held across the switch and is released by the
/// park callback once the sudog is queued (Go's `gopark` with
/// `chanparkcommit`): a blocking send or receive locks its channel twice,
/// not three times. Returns whether the arm fired before `deadline`.
#[inline(always)]
pub(crate) fn block_locked<T>(
    arm: &impl Arm,
    held: Locked<'_, T>,
    reason: WaitReason,
    deadline: Option<Instant>,
) -> bool {
    std::mem::forget(held);
    wait(
        reason,
        deadline,
        |parker| {
            // SAFETY: the forgotten guard holds the arm's channel lock, and the
            // arm is in the parked G's frame until it is dequeued or claimed.
            unsafe {
                arm.enqueue(parker, 0);
                arm.unlock();
            }
            Publish::Queued
        },
        || {
            arm.lock();
            // SAFETY: locked just above.
            unsafe {
                arm.dequeue();
                arm.unlock();
            }
        },
    )
}

/// `(channel address, arm index)` pairs sorted by address (Go's
/// `lockorder`); arms on one channel end up next to each other.
fn lock_order<const N: usize>(arms: &[&dyn Arm; N]) -> [(usize, usize); N] {
    let mut order: [(usize, usize); N] = std::array::from_fn(|i| (arms[i].chan_addr(), i));
    order.sort_unstable();
    order
}

fn lock_all(arms: &[&dyn Arm], order: &[(usize, usize)]) {
    for (k, &(addr, i)) in order.iter().enumerate() {
        if k == 0 || order[k - 1].0 != addr {
            arms[i].lock();
        }
    }
}

/// Unlocks in reverse, releasing the lowest channel last (see module doc):
/// nothing of `arms` is read after that final unlock.
fn unlock_all(arms: &[&dyn Arm], order: &[(usize, usize)]) {
    for k in (0..order.len()).rev() {
        let (addr, i) = order[k];
        if k > 0 && order[k - 1].0 == addr {
            continue;
        }
        // SAFETY: `lock_all` locked each distinct channel once, and this
        // loop unlocks each once.
        unsafe { arms[i].unlock() };
    }
}

/// A uniformly random permutation of `0..N` (Go's `pollorder`), by the
/// inside-out Fisher–Yates shuffle: one random draw per arm after the first.
#[inline]
fn poll_order<const N: usize>() -> [usize; N] {
    let mut order = [0; N];
    for i in 1..N {
        // Lemire's multiply-shift: uniform in `0..=i` up to a bias of
        // (i + 1) / 2^32, far below what any test can see.
        let j = ((u64::from(cheap_rand()) * (i as u64 + 1)) >> 32) as usize;
        order[i] = order[j];
        order[j] = i;
    }
    order
}

/// Tries the arms in poll order, with every lock held.
fn try_all(arms: &[&dyn Arm], polls: &[usize]) -> Option<(usize, Wake)> {
    polls.iter().find_map(|&i| {
        // SAFETY: the caller holds every lock and nothing is queued yet.
        unsafe { arms[i].try_locked() }.map(|w| (i, w))
    })
}

/// A per-thread xorshift, seeded from std's random hasher keys: enough to
/// shuffle a select's arms.
fn cheap_rand() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static RNG: Cell<u64> = Cell::new(RandomState::new().build_hasher().finish() | 1);
    }
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        (x >> 32) as u32
    })
}

/// Steps 2 and 3, entered with every lock held (step 1's).
#[inline(always)]
fn block(
    arms: &[&dyn Arm],
    polls: &[usize],
    order: &[(usize, usize)],
    deadline: Option<Instant>,
) -> Option<usize> {
    let fired = wait_any(
        WaitReason::Select,
        deadline,
        |parker| {
            for &i in polls {
                // SAFETY: every lock is held; the arms live in the parked G's
                // frame until step 3 dequeues them.
                unsafe { arms[i].enqueue(parker, i) };
            }
            unlock_all(arms, order);
            Publish::Queued
        },
        |fired| {
            if arms.len() > 1 || fired == TIMED_OUT {
                lock_all(arms, order);
                // SAFETY: every lock is held.
                arms.iter().for_each(|a| unsafe { a.dequeue() });
                unlock_all(arms, order);
            }
        },
    );
    (fired != TIMED_OUT).then_some(fired)
}
