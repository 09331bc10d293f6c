//! The only file that touches corosensei: a goroutine's coroutine and the
//! requests a goroutine makes of its M when it switches out.
//!
//! A coroutine is resumed only by the M that owns its G (the `Box<G>`), so it is
//! never resumed by two threads at once; it may be resumed by a different thread
//! each time, which is the migration the safety model of `spawn` accepts.
//! The coroutine body is handed the address of its `Yielder` (which lives at
//! the base of the coroutine's own stack, so it never moves); the G keeps it,
//! and `suspend` uses it to switch back to whichever M resumed it last.
//!
//! The switch path is `#[inline]` on both sides (`yield_now`, `park`,
//! `G::suspend`, `G::resume`): every call frame between user code and the
//! stack switch is a return the CPU's return-stack predictor gets wrong once
//! the stacks change under it. Flattening the chain took `yield_now` from 41
//! to 14 ns on the development machine, and the same for the blocking path
//! of a channel operation (`chan`) took a ping-pong round trip from 134 to
//! 70 ns.

use std::ptr;

use corosensei::{Coroutine, CoroutineResult, Yielder};

use crate::sched::g::G;
use crate::stack::Stack;

/// What a G asks of its M when it switches out.
pub(crate) enum Req {
    /// Put me at the back of the run queue.
    Yield,
    /// Put me at the back of the global queue: sysmon found I had run for
    /// too long (`sched/preempt.rs`).
    Preempt,
    /// Run this callback on the M, off my stack; it decides where I wait.
    Park(ParkReq),
}

/// A park callback that lives on the parking G's stack. Its memory stays
/// valid until the G is resumed, which cannot happen before `run` returns:
/// the G is only published to a waker by the callback itself.
pub(crate) struct ParkReq {
    data: *mut (),
    call: unsafe fn(*mut (), Box<G>) -> Option<Box<G>>,
}

impl ParkReq {
    /// Wraps `slot`, which must stay in place until `run` has been called.
    pub(crate) fn new<F>(slot: &mut Option<F>) -> Self
    where
        F: FnOnce(Box<G>) -> Option<Box<G>>,
    {
        /// # Safety
        /// `data` points to a live `Option<F>` that nobody else touches.
        unsafe fn call<F: FnOnce(Box<G>) -> Option<Box<G>>>(data: *mut (), g: Box<G>) -> Option<Box<G>> {
            // SAFETY: the caller guarantees `data` is the `Option<F>` that
            // `ParkReq::new` was given and that it is still alive and unaliased.
            let slot = unsafe { &mut *data.cast::<Option<F>>() };
            let f = slot.take().expect("ParkReq: callback run twice");
            f(g)
        }
        ParkReq { data: ptr::from_mut(slot).cast(), call: call::<F> }
    }

    /// Runs the callback with the parked G.
    pub(crate) fn run(self, g: Box<G>) -> Option<Box<G>> {
        // SAFETY: the G that built this request is suspended (we hold its Box),
        // so its stack, where the callback lives, is intact and nobody else
        // can reach the callback; `ParkReq` is consumed, so it runs once.
        unsafe { (self.call)(self.data, g) }
    }
}

type Inner = Coroutine<(), Req, (), Stack>;

/// Where a running coroutine finds its way back to its M: the address of its
/// `Yielder`, which sits at the base of the coroutine's own stack.
pub(crate) type YielderPtr = *const Yielder<(), Req>;

/// A goroutine's coroutine on a pooled stack.
pub(crate) struct Coro(Inner);

impl Coro {
    /// Builds a coroutine that will run `body` on `stack`; the body receives
    /// its yielder address, which it must keep for `suspend`.
    pub(crate) fn new<F>(stack: Stack, body: F) -> Self
    where
        F: FnOnce(YielderPtr) + 'static,
    {
        Coro(Coroutine::with_stack(stack, move |y: &Yielder<(), Req>, ()| body(y)))
    }

    /// Runs the coroutine until it suspends (`Some(req)`) or finishes (`None`).
    #[inline]
    pub(crate) fn resume(&mut self) -> Option<Req> {
        match self.0.resume(()) {
            CoroutineResult::Yield(req) => Some(req),
            CoroutineResult::Return(()) => None,
        }
    }

    /// Takes the stack back from a finished coroutine.
    pub(crate) fn into_stack(self) -> Stack {
        self.0.into_stack()
    }

    /// Whether the body has returned.
    pub(crate) fn done(&self) -> bool {
        self.0.done()
    }
}

/// Runs `f` on the stack of the M that resumed the running coroutine
/// (`sched/system_stack.rs`); a panic in `f` continues on the caller's.
///
/// # Safety
/// As for [`suspend`]; and nothing may use `y` until `f` returns (the
/// caller hides it meanwhile).
#[inline]
pub(crate) unsafe fn on_m_stack<R>(y: YielderPtr, f: impl FnOnce() -> R + Send) -> R {
    // SAFETY: as for `suspend`: `y` is the running coroutine's own yielder,
    // at the base of its stack, and we run on that stack.
    unsafe { (*y).on_parent_stack(f) }
}

/// Runs `f` on `stack` (`sched/warm_stack.rs`): the running coroutine's
/// frames go on there until `f` returns, and a `suspend` inside it saves
/// and later resumes them there, whichever M resumes it. A panic in `f`
/// continues on the caller's stack. `stack` must stay unused by anyone
/// else until this returns.
#[inline]
pub(crate) fn on_stack<R>(stack: &mut Stack, f: impl FnOnce() -> R) -> R {
    corosensei::on_stack(stack, f)
}

/// Switches back to the M that resumed the running coroutine.
///
/// # Safety
/// `y` must be the yielder handed to the body of the coroutine the caller is
/// running on.
#[inline(always)]
pub(crate) unsafe fn suspend(y: YielderPtr, req: Req) {
    debug_assert!(!y.is_null(), "coro::suspend: no yielder");
    // SAFETY: the caller guarantees `y` is its own coroutine's yielder, which
    // lives at the base of that coroutine's stack for its whole life, and that
    // it runs on that stack, which is what `Yielder::suspend` requires.
    unsafe { (*y).suspend(req) }
}
