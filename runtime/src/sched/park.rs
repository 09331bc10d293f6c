//! Park/ready: the one mechanism by which anything in gort blocks.
//!
//! A blocking primitive (join, sleep, channels, mutexes, the netpoller) calls
//! [`park`] with a `register` callback. On a goroutine the callback runs on the
//! M *after* the G has switched out (Go's `gopark` with its unlock function),
//! and is handed the G's [`Waiter`]. It must either store the waiter where the
//! waker will find it and return `Ok` — from then on the G belongs to that
//! structure — or return it with `Err` when the awaited condition already
//! holds, and the G is resumed at once. Because the G is published only by
//! the callback, a waker that arrives between "decided to park" and "parked"
//! either finds the waiter or finds the condition set before the callback
//! looked: the wakeup cannot be lost, and the G cannot be resumed twice.
//!
//! On a plain OS thread the same callback runs before the thread blocks, and
//! the waiter wakes the thread instead of readying a G.
//!
//! The callback runs on the M's own stack while the M holds its P: it must not
//! block, and should only take short locks.

use std::sync::atomic::{fence, Ordering};

use crate::coro::{ParkReq, Req};
use crate::loom::sync::atomic::AtomicBool;
use crate::loom::sync::Arc;
use crate::loom::thread::{self, Thread};
use crate::sched::deadlock::ThreadWait;
use crate::sched::g::{current_g, current_p, Status, WaitReason, G};
use crate::sched::sched;

/// The right to wake one blocked goroutine or thread. Waking consumes it.
pub(crate) enum Waiter {
    /// A parked G: waking it makes it runnable.
    G(Box<G>),
    /// A blocked plain thread.
    Thread(Arc<ThreadWaiter>),
}

/// How a plain thread waits: a flag and its handle.
pub(crate) struct ThreadWaiter {
    thread: Thread,
    woken: AtomicBool,
    /// The deadlock check's count of blocked threads, ended by the waker.
    counted: ThreadWait,
}

impl Waiter {
    /// Makes the waiting party runnable again.
    pub(crate) fn wake(self) {
        match self {
            Waiter::G(g) => ready(g),
            Waiter::Thread(t) => {
                t.counted.end();
                // Release: pairs with the Acquire in `park_thread`.
                t.woken.store(true, Ordering::Release);
                t.thread.unpark();
            }
        }
    }
}

/// Blocks the caller until the waiter given to `register` is woken; see the
/// module doc for the contract of `register`.
#[inline(always)]
pub(crate) fn park<F>(reason: WaitReason, register: F)
where
    F: FnOnce(Waiter) -> Result<(), Waiter>,
{
    match current_g() {
        Some(g) => park_g(g, reason, register),
        None => park_thread(reason, register),
    }
}

#[inline(always)]
fn park_g<F>(g: &G, reason: WaitReason, register: F)
where
    F: FnOnce(Waiter) -> Result<(), Waiter>,
{
    let mut cb = Some(move |g: Box<G>| {
        g.set_status(Status::Waiting(reason));
        match register(Waiter::G(g)) {
            Ok(()) => None,
            Err(Waiter::G(g)) => {
                g.set_status(Status::Runnable);
                Some(g)
            }
            Err(Waiter::Thread(_)) => unreachable!("park: a G's waiter came back as a thread"),
        }
    });
    g.suspend(Req::Park(ParkReq::new(&mut cb)));
}

fn park_thread<F>(reason: WaitReason, register: F)
where
    F: FnOnce(Waiter) -> Result<(), Waiter>,
{
    let counted = ThreadWait::begin(reason);
    let tw = Arc::new(ThreadWaiter { thread: thread::current(), woken: AtomicBool::new(false), counted });
    if register(Waiter::Thread(tw.clone())).is_err() {
        tw.counted.end();
        return;
    }
    // Acquire: pairs with the Release in `Waiter::wake`.
    while !tw.woken.load(Ordering::Acquire) {
        thread::park();
    }
}

/// Makes `g` runnable (Go's `goready`): into the current P's `runnext` when
/// called on an M, so a readied G runs next and inherits the time slice;
/// into the global queue from any other thread. Then wakes an idle P if
/// nobody is looking for work.
pub(crate) fn ready(g: Box<G>) {
    g.set_status(Status::Runnable);
    let s = sched();
    match current_p() {
        // The SeqCst swap into `runnext` is the publication `wakep` needs.
        Some(p) => p.runq.push_next(g, |batch| s.global.push_batch(batch)),
        None => {
            s.global.push(g);
            // SeqCst: the publication `wakep` needs (see `Idle::wakep`).
            fence(Ordering::SeqCst);
        }
    }
    s.idle.wakep();
}

/// Where [`ready_batch`] puts the goroutines it readies.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Inject {
    /// The current P's local queue on an M (overflow to global), else global.
    Local,
    /// The back of the global queue, behind every G already waiting there,
    /// for a poll made while the local queue still has work (`M::find_runnable`'s
    /// fairness tick): put locally, each such batch would run before the Gs
    /// that earlier batches overflowed to the global queue, which then wait
    /// until the local queue runs dry — seconds, under load.
    Global,
}

/// Makes a batch of waiters runnable at once (Go's `injectglist`), as the
/// netpoller does: goroutines go where `to` says, with one fence and one
/// `wakep` for the lot; threads are unparked one by one. An M holding a P
/// runs the first G it put locally itself, so it wakes another M only for
/// a second one: a ping-pong over one socket then never pays a thread
/// wake-up.
pub(crate) fn ready_batch(ws: Vec<Waiter>, to: Inject) {
    let s = sched();
    let local = current_p().filter(|_| to == Inject::Local);
    // Gs readied onto this M's queue run here soon: ask for all their
    // lines before the first is read, then for each one's stack top as it
    // is readied (`prefetch.rs`).
    let n = ws
        .iter()
        .filter(|w| match w {
            Waiter::G(g) => {
                if local.is_some() {
                    g.prefetch();
                }
                true
            }
            Waiter::Thread(_) => false,
        })
        .count();
    let mut gs = ws.into_iter().filter_map(|w| match w {
        Waiter::G(g) => {
            g.set_status(Status::Runnable);
            if local.is_some() {
                g.prefetch_stack();
            }
            Some(g)
        }
        t @ Waiter::Thread(_) => {
            t.wake();
            None
        }
    });
    match local {
        Some(p) => p.runq.push_batch(&mut gs, |rest| s.global.push_batch(rest)),
        None => s.global.push_batch(&mut gs),
    }
    if n > usize::from(local.is_some()) {
        // SeqCst: the publication `wakep` needs (see `Idle::wakep`).
        fence(Ordering::SeqCst);
        s.idle.wakep();
    }
}

/// On an M about to take its next G: asks for the lines of the G after
/// that one (`RunQueue::prefetch_upcoming`).
pub(crate) fn prefetch_upcoming() {
    if let Some(p) = current_p() {
        p.runq.prefetch_upcoming();
    }
}

#[cfg(all(test, loom))]
mod loom_park;
