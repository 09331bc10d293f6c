//! The channel itself (Go's `hchan`): a buffer, a closed flag and two wait
//! queues, under one short spin lock (`spin.rs`) that is never held across
//! a park.
//!
//! Invariants, all under the lock:
//! - `recvq` holds receivers only while the buffer is empty; `sendq` holds
//!   senders only while the buffer is full (for `cap == 0`, always). Stale
//!   sudogs (of a select woken elsewhere) may linger until popped.
//! - Once `closed`, nothing is queued: closing claims every waiter, whose
//!   untouched slot tells it the operation failed (a receiver finds `None`,
//!   a sender finds its value still there).
//! - A value crosses either through the buffer or straight from one
//!   sudog's slot to the peer (Go's direct send), never both.
//!
//! Waiters found under the lock are woken after it is released, and no
//! value of `T` is dropped under it: a panicking `Drop` cannot leave the
//! lock held or the state half-updated.
//!
//! An unbounded buffer gives memory back: once a receive leaves it below a
//! quarter of its capacity it is halved (`shrink_if_sparse`), so after a
//! burst an idle channel keeps a few pages, not the burst's peak. Halving
//! rather than fitting leaves room for the next burst, and the cost stays
//! amortised O(1) per value.

use std::any::Any;
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::sched::park::Waiter;
use crate::sched::waitq::WaitQueue;
use crate::spin::SpinLock;

/// An unbounded buffer is never shrunk below this many values.
const MIN_KEEP: usize = 64;

/// A channel's lock-protected state.
pub(crate) struct State<T> {
    buf: VecDeque<T>,
    /// `usize::MAX` for an unbounded channel.
    cap: usize,
    closed: bool,
    pub(crate) recvq: WaitQueue<T>,
    pub(crate) sendq: WaitQueue<T>,
}

/// What a send found.
pub(crate) enum Sent<T> {
    /// Delivered; wake this receiver (if one took it directly).
    Done(Option<Waiter>),
    /// Nowhere to put it: no receiver waits and the buffer is full.
    Full(T),
    /// The channel is closed; here is the value back.
    Closed(T),
}

/// What a receive found.
pub(crate) enum Recvd<T> {
    /// A value; wake this sender (whose value refilled the buffer or came
    /// straight from it).
    Got(T, Option<Waiter>),
    /// Nothing yet.
    Empty,
    /// Closed and drained.
    Closed,
}

impl<T> State<T> {
    /// Go's `chansend` under the lock, without blocking.
    pub(crate) fn send(&mut self, v: T) -> Sent<T> {
        if self.closed {
            return Sent::Closed(v);
        }
        if let Some(mut c) = self.recvq.claim_front() {
            *c.slot() = Some(v);
            return Sent::Done(Some(c.into_waiter()));
        }
        if self.buf.len() < self.cap {
            self.buf.push_back(v);
            return Sent::Done(None);
        }
        Sent::Full(v)
    }

    /// Go's `chanrecv` under the lock, without blocking.
    pub(crate) fn recv(&mut self) -> Recvd<T> {
        if let Some(v) = self.buf.pop_front() {
            self.shrink_if_sparse();
            // A full buffer with a waiting sender: its value takes the freed place.
            return match self.sendq.claim_front() {
                Some(mut c) => {
                    self.buf.push_back(c.slot().take().expect("chan: queued sender without a value"));
                    Recvd::Got(v, Some(c.into_waiter()))
                }
                None => Recvd::Got(v, None),
            };
        }
        if let Some(mut c) = self.sendq.claim_front() {
            let v = c.slot().take().expect("chan: queued sender without a value");
            return Recvd::Got(v, Some(c.into_waiter()));
        }
        if self.closed {
            Recvd::Closed
        } else {
            Recvd::Empty
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// An unbounded buffer below a quarter of its capacity is halved (see
    /// the module doc); a bounded one keeps what its bound allows.
    #[inline]
    fn shrink_if_sparse(&mut self) {
        let cap = self.buf.capacity();
        if self.cap == usize::MAX && cap > MIN_KEEP && self.buf.len() < cap / 4 {
            self.shrink();
        }
    }

    #[cold]
    fn shrink(&mut self) {
        self.buf.shrink_to(self.buf.capacity() / 2);
    }
}

/// Drops every value of `buf`, each on its own: when some `Drop` panics,
/// the rest are still dropped and the first panic then propagates, once
/// (dropping the deque whole would run the rest during that unwinding, and
/// a second panicking `Drop` would abort). During an unwind already under
/// way nothing propagates: the values are dropped and their panics
/// swallowed.
fn drop_each<T>(buf: VecDeque<T>) {
    let mut first: Option<Box<dyn Any + Send>> = None;
    for v in buf {
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| drop(v))) {
            first.get_or_insert(p);
        }
    }
    if let Some(p) = first.filter(|_| !std::thread::panicking()) {
        panic::resume_unwind(p);
    }
}

/// The shared channel: both ends hold it in an `Arc`.
pub(crate) struct Chan<T> {
    lock: SpinLock,
    /// Only touched while `lock` is held.
    state: UnsafeCell<State<T>>,
    /// Live `Sender`s; the last to drop closes the channel.
    pub(crate) senders: AtomicUsize,
    /// Live `Receiver`s; the last to drop closes the channel and drops
    /// what is buffered.
    pub(crate) receivers: AtomicUsize,
}

// SAFETY: `state` is only reached under `lock` (see `Locked`), and values of
// `T` cross threads through it, hence `T: Send`.
unsafe impl<T: Send> Sync for Chan<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Chan<T> {}

/// The held channel lock; unlocks on drop.
pub(crate) struct Locked<'a, T>(&'a Chan<T>);

impl<T> std::ops::Deref for Locked<'_, T> {
    type Target = State<T>;
    fn deref(&self) -> &State<T> {
        // SAFETY: we hold the lock, so nobody else touches the state.
        unsafe { &*self.0.state.get() }
    }
}

impl<T> std::ops::DerefMut for Locked<'_, T> {
    fn deref_mut(&mut self) -> &mut State<T> {
        // SAFETY: we hold the lock, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.0.state.get() }
    }
}

impl<T> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        // SAFETY: a `Locked` exists only while this thread holds the lock.
        unsafe { self.0.lock.unlock() }
    }
}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize) -> Chan<T> {
        Chan {
            lock: SpinLock::new(),
            state: UnsafeCell::new(State {
                buf: VecDeque::new(),
                cap,
                closed: false,
                recvq: WaitQueue::new(),
                sendq: WaitQueue::new(),
            }),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
        }
    }

    /// Takes the lock.
    #[inline]
    pub(crate) fn lock(&self) -> Locked<'_, T> {
        self.lock.lock();
        Locked(self)
    }

    /// Takes the lock without a guard, for `select`, which holds several.
    pub(crate) fn raw_lock(&self) {
        self.lock.lock();
    }

    /// Releases a lock taken by `raw_lock`.
    ///
    /// # Safety
    /// This thread holds the lock through `raw_lock`.
    pub(crate) unsafe fn raw_unlock(&self) {
        // SAFETY: guaranteed by the caller.
        unsafe { self.lock.unlock() }
    }

    /// The state while the lock is held through `raw_lock`.
    ///
    /// # Safety
    /// This thread holds the lock, and no other borrow of the state is alive.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn state(&self) -> &mut State<T> {
        // SAFETY: guaranteed by the caller.
        unsafe { &mut *self.state.get() }
    }

    /// Closes the channel (Go's `closechan`) and wakes every waiter, which
    /// finds its operation failed. Closing twice is a no-op. With
    /// `drop_buffered`, also discards what is buffered (no receiver is left).
    pub(crate) fn close(&self, drop_buffered: bool) {
        let mut woken = Vec::new();
        let buffered = {
            let mut s = self.lock();
            s.closed = true;
            while let Some(c) = s.recvq.claim_front() {
                woken.push(c.into_waiter());
            }
            while let Some(c) = s.sendq.claim_front() {
                woken.push(c.into_waiter());
            }
            if drop_buffered {
                std::mem::take(&mut s.buf)
            } else {
                VecDeque::new()
            }
        };
        woken.into_iter().for_each(Waiter::wake);
        drop_each(buffered);
    }

    /// Values buffered now.
    pub(crate) fn len(&self) -> usize {
        self.lock().buf.len()
    }

    /// The buffer's capacity; `None` when unbounded.
    pub(crate) fn capacity(&self) -> Option<usize> {
        let cap = self.lock().cap;
        (cap != usize::MAX).then_some(cap)
    }

    /// Drops one handle of the kind `count` counts; the last one closes.
    pub(crate) fn release(&self, count: &AtomicUsize, drop_buffered: bool) {
        // AcqRel: the last handle's decrement sees every other's.
        if count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close(drop_buffered);
        }
    }
}
