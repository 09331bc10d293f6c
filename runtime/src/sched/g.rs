//! G: a goroutine. Its coroutine, id, name, status, and the thread-local
//! context that tells running code which G and P it is on.
//!
//! Ownership is the whole concurrency story of a G: exactly one `Box<G>`
//! exists, and whoever holds it is the only one who may touch the G's
//! coroutine — a run queue while it is runnable, the M while it runs, the
//! thing it waits on while it is parked. Resuming a G requires the box, so two
//! Ms can never run one G at once. Code running *on* the G reaches its own G
//! through the thread-local context (`current_g`), never through the box.
//! The one part other threads read is the G's `Record` (goid, status, spawn
//! site, name), all atomics or behind its own lock (`allgs.rs`); the owner
//! too reaches it only through shared references, and dropping the G
//! unlists it first.
//!
//! A G is built without its coroutine: it holds its closure (`body.rs`) and
//! the stack reserved for it, and the M that first runs it builds the
//! coroutine (`G::start`), on the warmest stack of its P's cache. So the
//! spawner never writes to stack memory, which another CPU last ran on.
//!
//! Thread-local reads go through `#[inline(never)]` functions: a goroutine can
//! resume on another thread, and the compiler may otherwise reuse a
//! thread-local address computed before the switch.

use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::mem;
use std::os::fd::RawFd;
use std::panic::Location;
use std::ptr;
use std::sync::Arc;

use crate::coro::{self, Coro, Req, YielderPtr};
use crate::local::LocalMap;
use crate::prefetch;
use crate::sched::allgs::{self, Record, RunningOn};
use crate::sched::body::Body;
use crate::sched::p::P;
use crate::sched::runq::Hint;
use crate::stack::{self, Stack, StackCache};

/// How much of a stack's top `prefetch_stack` asks for: the ten lines
/// c10k's echo goroutine touches in all, from its entry to the switch in
/// its socket wait. With 10,000 connections it took that loop's user time
/// per request from 0.47-0.64 to 0.29-0.38 µs (with the slot and G
/// prefetches, from 0.57-1.01); around the switch point instead, 512 or
/// 896 bytes did no better than 640.
const STACK_PREFETCH: usize = 640;

/// Why a G is waiting (Go's `waitReason`), for debugging and stats. The
/// discriminants are the codes the dump's state word stores (`allgs.rs`);
/// `u8` makes reading one a byte load.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum WaitReason {
    Join = 0,
    Sleep,
    ChanSend,
    ChanRecv,
    Select,
    Mutex,
    RwLock,
    Cond,
    Sema,
    WaitGroup,
    /// Parked on socket fd until it is readable.
    NetRead(RawFd),
    /// Parked on socket fd until it is writable.
    NetWrite(RawFd),
    /// Back from `blocking` with no P free: queued until an M takes it.
    Blocking,
}

/// The life of a G. Each state says who owns the `Box<G>` (and so the stack).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Status {
    /// In a run queue, which owns it; nobody is on its stack.
    Runnable,
    /// M number `m`, holding P number `p`, resumed it, owns it and is
    /// executing on its stack.
    Running { m: u32, p: u16 },
    /// Parked: the structure it waits on owns it through a `Waiter`; nobody
    /// may resume it until that waiter is woken.
    Waiting(WaitReason),
    /// Running inside `gort::blocking` (Go's `_Gsyscall`): its M owns it
    /// and is executing on its stack, while its P may go to another M.
    InBlocking,
    /// Finished: its box sits in a dead list (`gfree.rs`) for reuse; the
    /// list owns it and nothing runs on it.
    Dead,
}

/// How a resume ended.
pub(crate) enum Switch {
    /// The G switched out with a request for its M.
    Suspended(Req),
    /// The body returned; here is its stack for the pool.
    Finished(Stack),
}

/// A G's coroutine, by stage. Touched only by the holder of the `Box<G>`.
enum Stage {
    /// Not run yet: the stack reserved for it when it was spawned.
    Unstarted(Stack),
    /// Built by `G::start`; its body may have returned (`done`) if the G
    /// is being dropped.
    Started(Coro),
    /// The body returned and the stack went back to a pool.
    Finished,
}

/// A goroutine.
pub(crate) struct G {
    /// Its goid, spawn site (where `go!`, `spawn` or `Builder::spawn` was
    /// called) and status, which the dump and the deadlock check read from
    /// other threads (`allgs.rs`). Reached through shared references only.
    record: Record,
    /// Its name for its own use; the record keeps a copy for readers.
    name: Option<Arc<str>>,
    /// The lowest usable address of its stack (`shrink_stack`), set when
    /// it starts.
    stack_floor: usize,
    /// The top of its stack (`prefetch_stack`), set when it starts.
    stack_top: usize,
    /// Set by the body on first resume; read by the G itself when it suspends.
    yielder: Cell<YielderPtr>,
    /// Touched only by the holder of the `Box<G>` (see module doc).
    coro: UnsafeCell<Stage>,
    /// The closure to run: written by the spawner before the G is
    /// published, taken by the G itself as it starts (`body.rs`).
    body: UnsafeCell<Body>,
    /// Goroutine-local values (`local!`), allocated on first use; touched
    /// only by code running on the G.
    locals: UnsafeCell<Option<Box<LocalMap>>>,
}

// SAFETY: a G is only ever touched by one thread at a time: the holder of its
// unique `Box<G>`, or the code running on the G (on the M that holds the box).
// The coroutine inside may hold `!Send` data; that is the contract the caller
// of `spawn` accepted.
unsafe impl Send for G {}

impl G {
    /// Builds a runnable G that will run `f` on `stack` (or on a stack it
    /// trades it for: `start`), in the allocation of a dead G (see
    /// `gfree.rs`) when one is given.
    pub(crate) fn new<F>(
        dead: Option<Box<G>>,
        id: u64,
        name: Option<Arc<str>>,
        site: &'static Location<'static>,
        stack: Stack,
        f: F,
    ) -> Box<G>
    where
        F: FnOnce() + Send + 'static,
    {
        let (stack_floor, stack_top, coro) = (0, 0, Stage::Unstarted(stack));
        let Some(mut b) = dead else {
            let record = Record::new(id, name.clone(), site);
            let (yielder, coro, body, locals) = (
                Cell::new(ptr::null()),
                UnsafeCell::new(coro),
                UnsafeCell::new(Body::empty()),
                UnsafeCell::new(None),
            );
            let mut b = Box::new(G { record, name, stack_floor, stack_top, yielder, coro, body, locals });
            b.body.get_mut().set(f);
            // SAFETY: the record lives in the box, which `Drop` unlists
            // before it is freed.
            unsafe { allgs::register(&b.record) };
            return b;
        };
        // Field by field, not `*b = G { .. }`: that would write the record
        // while readers may be loading it, and drop (so unlist) the old G.
        // The pattern makes a new field a compile error here.
        let G { record: _, name: _, stack_floor: _, stack_top: _, yielder: _, coro: _, body: _, locals: _ } =
            &*b;
        b.record.rebuild(id, name.as_ref(), site);
        b.name = name;
        b.stack_floor = stack_floor;
        b.yielder.set(ptr::null());
        b.stack_top = stack_top;
        *b.coro.get_mut() = coro;
        b.body.get_mut().set(f);
        *b.locals.get_mut() = None;
        b
    }

    /// Whether the G has never run, so `start` must come before `resume`.
    #[inline]
    pub(crate) fn is_unstarted(self: &mut Box<G>) -> bool {
        matches!(self.coro.get_mut(), Stage::Unstarted(_))
    }

    /// Builds the coroutine of a G that never ran, for the M about to run
    /// it. The stack reserved at spawn goes into `stacks` (the running P's
    /// cache) in exchange for the one on top, which a G last exited on:
    /// its top is still in this CPU's caches and TLB, and a P running a
    /// batch of new Gs one after another keeps running them on one stack.
    pub(crate) fn start(self: &mut Box<G>, stacks: &mut StackCache) {
        let Stage::Unstarted(mut stack) = mem::replace(self.coro.get_mut(), Stage::Finished) else {
            unreachable!("G::start: G {} already started", self.id());
        };
        stacks.swap_warm(&mut stack);
        self.stack_floor = stack.floor();
        self.stack_top = stack.top();
        *self.coro.get_mut() = Stage::Started(Coro::new(stack, |y| {
            let g = current_g().expect("G body: not on a G");
            g.yielder.set(y);
            // SAFETY: the body is touched only by the spawner, before the
            // G was published, and by the G itself, here (module doc).
            unsafe { Body::run(g.body.get()) }
        }));
    }

    /// Empties a finished G for the dead list: its name goes now, not at
    /// reuse, and its record says it is dead.
    pub(crate) fn retire(mut self: Box<G>) -> Box<G> {
        debug_assert!(
            matches!(self.coro.get_mut(), Stage::Finished),
            "G::retire: G {} has not finished",
            self.id()
        );
        let named = self.name.take().is_some();
        self.record.retire(named);
        self
    }

    /// Asks for the G's own cache lines (`prefetch.rs`), reading none.
    #[inline]
    pub(crate) fn prefetch(&self) {
        prefetch_g(self);
    }

    /// Asks for the top of the stack a parked G will resume on, where its
    /// outermost frames are (and its coroutine's yielder): all a socket
    /// loop like c10k's echo touches. The G must not be running.
    #[inline]
    pub(crate) fn prefetch_stack(&self) {
        prefetch_stack_top(self.stack_top);
    }

    /// Its goid.
    #[inline]
    pub(crate) fn id(&self) -> u64 {
        self.record.goid()
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Its registry record (`allgs.rs`).
    pub(crate) fn record(&self) -> &Record {
        &self.record
    }

    pub(crate) fn stack_floor(&self) -> usize {
        self.stack_floor
    }

    /// Its own stack's reservation, guard page included.
    pub(crate) fn stack_size(&self) -> usize {
        self.stack_top - self.stack_floor + crate::sys::page_size()
    }

    /// Whether `addr` lies on its own stack (not a lent one, `warm_stack`,
    /// nor its M's).
    pub(crate) fn owns_stack_address(&self, addr: usize) -> bool {
        (self.stack_floor..self.stack_top).contains(&addr)
    }

    #[inline]
    pub(crate) fn status(&self) -> Status {
        self.record.status()
    }

    #[inline]
    pub(crate) fn set_status(&self, s: Status) {
        self.record.set_status(s);
    }

    /// Runs the G until it switches out; `on` names the caller's M and
    /// P for the dump. Taking the box
    /// proves the caller owns the G; the G itself is only reached through
    /// shared references, because code running on it reads it too.
    #[inline]
    pub(crate) fn resume(self: &mut Box<G>, on: RunningOn) -> Switch {
        let g: &G = self;
        debug_assert_eq!(g.status(), Status::Runnable, "G::resume: G {} not runnable", g.id());
        g.record.set_running(on);
        // SAFETY: only the holder of the unique `Box<G>` touches `coro`, and
        // code running on the G never does, so this is the only reference.
        let slot = unsafe { &mut *g.coro.get() };
        let Stage::Started(coro) = slot else {
            unreachable!("G::resume: G {} not started, or finished", g.id());
        };
        match coro.resume() {
            Some(req) => Switch::Suspended(req),
            None => match mem::replace(slot, Stage::Finished) {
                Stage::Started(coro) => Switch::Finished(coro.into_stack()),
                _ => unreachable!("G::resume: coroutine vanished"),
            },
        }
    }

    /// Switches from the running G (which must be `self`) back to its M.
    #[inline(always)]
    pub(crate) fn suspend(&self, req: Req) {
        let y = self.yielder.get();
        if y.is_null() {
            switch_on_m_stack();
        }
        // SAFETY: `self` is the G running on the current stack (callers get it
        // from `current_g`), so its yielder belongs to this coroutine; it is
        // not null, so the G is not inside `on_m_stack`.
        unsafe { coro::suspend(y, req) }
    }

    /// Runs `f` on the M's stack (`system_stack.rs`); `self` is the running
    /// G. Its yielder is hidden meanwhile, which is how a switch inside `f`
    /// is caught, and how a nested call knows it is there already.
    pub(crate) fn on_m_stack<R>(&self, f: impl FnOnce() -> R + Send) -> R {
        let y = self.yielder.replace(ptr::null());
        if y.is_null() {
            return f();
        }
        /// Puts the yielder back, on return or panic.
        struct Back<'a>(&'a Cell<YielderPtr>, YielderPtr);
        impl Drop for Back<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _back = Back(&self.yielder, y);
        // SAFETY: `self` runs on this stack, so `y` is its coroutine's
        // yielder; it is hidden from `suspend` until `f` returns.
        unsafe { coro::on_m_stack(y, f) }
    }

    /// Whether the G is inside `on_m_stack` (it runs: callers are on it).
    pub(crate) fn on_system_stack(&self) -> bool {
        self.yielder.get().is_null()
    }

    /// The G's local map, created on first use.
    ///
    /// # Safety
    /// The caller runs on this G and keeps no other borrow of the map.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn locals_mut(&self) -> &'static mut LocalMap {
        // SAFETY: only code running on the G touches `locals` (caller's
        // contract); the map lives until the G drops it, after its body.
        unsafe { (*self.locals.get()).get_or_insert_with(Box::default) }
    }

    /// The slot holding the G's local map.
    ///
    /// # Safety
    /// As for `locals_mut`.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn locals_mut_opt(&self) -> &mut Option<Box<LocalMap>> {
        // SAFETY: guaranteed by the caller.
        unsafe { &mut *self.locals.get() }
    }

    /// Writes `goroutine 17 ("name")` for messages.
    pub(crate) fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        write!(out, "goroutine {}", self.id())?;
        match &self.name {
            Some(n) => write!(out, " (\"{n}\")"),
            None => Ok(()),
        }
    }
}

impl Drop for G {
    fn drop(&mut self) {
        allgs::unregister(&self.record);
        // A G dropped before finishing was never woken (Go's leaked goroutine).
        // Unwinding it here would run its destructors on a foreign thread in the
        // middle of someone else's code, so its stack is leaked instead. One
        // that never ran has nothing on its stack, which goes back to the pool
        // (its body drops its closure).
        match mem::replace(self.coro.get_mut(), Stage::Finished) {
            Stage::Started(c) if !c.done() => mem::forget(c),
            Stage::Unstarted(s) => stack::free(s),
            Stage::Started(_) | Stage::Finished => {}
        }
    }
}

/// A goroutine tried to switch out inside `system_stack`.
#[cold]
#[inline(never)]
fn switch_on_m_stack() -> ! {
    crate::sched::m::fatal(format_args!(
        "gort::system_stack: a goroutine parked, yielded or blocked on its M's stack"
    ))
}

/// What the running code is on: set by the M around each resume.
struct Ctx {
    /// The G whose stack we are on; null on a plain thread or on an M's own stack.
    g: Cell<*const G>,
    /// The P held by this thread's M; null on a plain thread or an idle M.
    p: Cell<*const P>,
}

thread_local! {
    static CTX: Ctx = const { Ctx { g: Cell::new(ptr::null()), p: Cell::new(ptr::null()) } };
}

/// The G running on this thread, if any. The reference is valid while the
/// caller runs on that G: a G is freed only after its body returned.
#[inline(never)]
pub(crate) fn current_g() -> Option<&'static G> {
    // SAFETY: the M sets `g` to the G it is about to resume and clears it
    // after; code that sees it non-null runs on that G, which outlives it.
    CTX.with(|c| unsafe { c.g.get().as_ref() })
}

/// The P held by this thread, if it is an M with a P. Never keep it across a
/// switch: the G may resume on another M with another P.
#[inline(never)]
pub(crate) fn current_p() -> Option<&'static P> {
    // SAFETY: Ps live in the static scheduler for the whole process.
    CTX.with(|c| unsafe { c.p.get().as_ref() })
}

#[inline(never)]
pub(crate) fn set_current_g(g: *const G) {
    CTX.with(|c| c.g.set(g));
}

/// For the M once a G switched out: clears the running G and returns the P
/// this thread holds now (one thread-local access for both).
#[inline(never)]
pub(crate) fn switched_out() -> Option<&'static P> {
    CTX.with(|c| {
        c.g.set(ptr::null());
        // SAFETY: Ps live in the static scheduler for the whole process.
        unsafe { c.p.get().as_ref() }
    })
}

#[inline(never)]
pub(crate) fn set_current_p(p: Option<&'static P>) {
    CTX.with(|c| c.p.set(p.map_or(ptr::null(), ptr::from_ref)));
}

/// For the stack-overflow handler: describes the running G. Signal-safe: it
/// only reads a const-initialised thread-local and the G's plain fields.
pub(crate) fn describe_current_g(out: &mut dyn fmt::Write) -> fmt::Result {
    match current_g() {
        Some(g) => g.describe(out),
        None => out.write_str("a goroutine"),
    }
}

/// The lines of the G at `g`, which is not dereferenced.
fn prefetch_g(g: *const G) {
    prefetch::lines(g.addr(), mem::size_of::<G>());
}

fn prefetch_stack_top(top: usize) {
    if top != 0 {
        prefetch::lines(top - STACK_PREFETCH, STACK_PREFETCH);
    }
}

/// A G parking on a socket asks for the lines and stack top of the G after
/// the next one in its P's run queue (`runq.rs`): the next one runs first,
/// and the lines arrive before that G resumes, where the batch's prefetch
/// in `ready_batch` (for up to 128 Gs at once) may have been evicted again.
impl Hint for G {
    fn hint(&self) -> usize {
        self.stack_top
    }

    fn prefetch(g: *const G, stack_top: usize) {
        prefetch_g(g);
        prefetch_stack_top(stack_top);
    }
}
