//! The poll descriptor's protocol core: one [`Slot`] per descriptor, whose
//! methods are the whole protocol (wait, readiness, deadlines, eviction).
//! A slot reaches the clock, the timer heap and the poller only through
//! its [`Env`], so the loom models (`loom_pd.rs`) run these same methods on
//! a model clock and timers.
//!
//! # States, per direction (read, write), under the slot's lock
//!
//! | `ready` | `waits`   | meaning                                        |
//! |---------|-----------|------------------------------------------------|
//! | false   | empty     | idle: the next `EAGAIN` parks                  |
//! | true    | empty     | an event arrived since the last park: retry    |
//! | false   | non-empty | goroutines (or threads) are parked; an event   |
//! |         |           | wakes them all and they retry                  |
//!
//! (`ready` and `waits` are never both set: an event hands itself to the
//! waiters instead.) Apart from these, `hup` is sticky for the descriptor's
//! life: an event said the direction will never block again (the socket
//! hung up, or for reads the peer shut down its writing half), and every
//! wait on it returns at once. One event brings a FIN or an error, but every
//! goroutine reading the socket must see the EOF: were it consumed like
//! `ready`, a second reader that parked after it would wait forever.
//!
//! That also makes waiting before reading safe (`net`'s drained hint): a
//! stream reader whose last read came back short knows the receive queue
//! was empty then, and every later arrival raises a new edge-triggered
//! event, which sets `ready` or wakes a waiter; a FIN or error queued right
//! behind the data that read returned left `hup` set.
//!
//! Several waits per direction are allowed, because two goroutines may
//! read one `&TcpStream`. Whoever wakes a wait removes it from the list;
//! the woken caller then decides *why* from the state alone: closing →
//! error, a deadline that has passed → `TimedOut`, otherwise retry. So a
//! late or spurious wake-up can never produce a wrong result, only a retry.
//!
//! # Deadline timers: one per direction, re-armed lazily
//!
//! A direction has at most one armed timer (`Dir::timer`), and the
//! invariant is: while a wait with a deadline is parked, the armed timer
//! fires no later than that deadline. A wait that parks arms a timer only
//! when none is armed or the armed one fires later than it needs; a wake-up
//! by readiness leaves the timer armed. When the timer fires it wakes the
//! waits whose deadline has passed and arms again for the earliest one
//! still parked, if any (Go's "modified later" timers take the same
//! shortcut). So a server that parks with a deadline moved a little later
//! on every request (an idle timeout, say) pays a timer add and cancel
//! once per timeout period, not once per request. Dropping the descriptor
//! cancels what is still armed (`release`).
//!
//! The lock is held for field updates and the timer adds and cancels they
//! need (the timer heap's lock nests inside it; timers fire outside
//! theirs), never while waking.

use std::io;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use smallvec::SmallVec;

use super::Interest;
use crate::loom::sync::atomic::AtomicBool;
use crate::loom::sync::Mutex;
use crate::netpoll::{self, Event};
use crate::sched::coarse;
use crate::sched::g::WaitReason;
use crate::sched::park::{self, Waiter};
use crate::sched::sched;
use crate::timer::{Fire, TimerId};

/// How far past the coarse clock a deadline must lie for `surely_ahead`.
const COARSE_SLACK: Duration = Duration::from_millis(100);

/// One parked caller.
pub(super) struct Wait {
    waiter: Waiter,
    /// std-style per-call deadline of this wait.
    op_deadline: Option<Instant>,
}

/// The timer armed for a direction: it fires at `when`; `seq` tells its
/// firing from a timer it replaced.
#[derive(Clone, Copy)]
pub(super) struct Armed {
    when: Instant,
    id: TimerId,
    seq: u32,
}

/// In declaration order (`repr(C)`, see `Slot`): the flags every event
/// touches first, the inline wait last.
#[derive(Default)]
#[repr(C)]
pub(super) struct Dir {
    pub(super) ready: bool,
    /// Sticky: an event said this direction will never block again.
    pub(super) hup: bool,
    /// Go-style absolute deadline, kept until changed.
    pub(super) deadline: Option<Instant>,
    /// The one armed deadline timer (see the module comment).
    pub(super) timer: Option<Armed>,
    /// Inline for one wait, the usual case (a socket read by one
    /// goroutine): a separate buffer would be one more cache line touched
    /// per park and per wake-up, with 10,000 connections each its own.
    pub(super) waits: SmallVec<[Wait; 1]>,
}

#[derive(Default)]
#[repr(C)]
pub(super) struct State {
    pub(super) gen: u32,
    /// Names the next armed timer (unique per slot generation).
    next_seq: u32,
    pub(super) dirs: [Dir; 2],
}

/// What a slot needs from outside its lock: the runtime's clock, timers
/// and poller ([`Runtime`]), or a model's.
pub(crate) trait Env: Sized + 'static {
    /// The time deadlines are compared with.
    fn now() -> Instant;
    /// Whether `t` is surely still to come, without reading the clock (false
    /// when in doubt: then `now` decides).
    fn surely_ahead(_t: Instant) -> bool {
        false
    }
    /// Arms a timer that calls `fire` (outside any slot lock) at `when`.
    fn add_timer(when: Instant, fire: Box<dyn FnOnce() + Send>) -> TimerId;
    /// Cancels a timer; a no-op once it fired.
    fn cancel_timer(id: TimerId);
    /// A plain thread parked: makes sure someone polls (a G's own M does).
    fn ensure_poller();
}

/// The runtime's environment: the wall clock, sysmon's timer heap and the
/// netpoller.
pub(crate) struct Runtime;

impl Env for Runtime {
    fn now() -> Instant {
        Instant::now()
    }

    /// The coarse clock is never ahead of the real one and, while anything
    /// runs, at most about 10 ms behind it (sysmon's looks): a deadline
    /// past it by more than [`COARSE_SLACK`] has not passed. A waiting
    /// socket mostly has such a deadline (a server's idle timeout, say),
    /// and the check before every park then reads no clock (`check`).
    fn surely_ahead(t: Instant) -> bool {
        t > coarse::now_instant() + COARSE_SLACK
    }

    fn add_timer(when: Instant, fire: Box<dyn FnOnce() + Send>) -> TimerId {
        sched().timers.add(when, Fire::Call(fire))
    }

    fn cancel_timer(id: TimerId) {
        drop(sched().timers.cancel(id));
    }

    fn ensure_poller() {
        netpoll::ensure_poller();
    }
}

/// One slab slot. Shared by the owning `PollDesc`, the poller (events) and
/// sysmon (deadline timers); everything but the flags is behind the lock,
/// and the flags are only stored under it.
///
/// Laid out for the c10k path, where every request of each of 10,000
/// connections meets its slot cold: aligned to a cache line, the flags
/// first, then the lock and the state in declaration order, so that a
/// park, its wake-up and the event between touch two lines (the read
/// direction's wait ends in the second, next to the write direction's
/// flags), not the three or four of the compiler's order.
#[repr(C, align(64))]
pub(crate) struct Slot<E: Env = Runtime> {
    /// Set by `evict` (under the lock, so waits see it there too); read
    /// without the lock by the check before every call.
    pub(super) evicted: AtomicBool,
    /// Per direction: a deadline timer woke waits, so a woken wait must
    /// look under the lock for a deadline that passed. Set by `expire`,
    /// cleared by the look; a hint either way (see `woken`).
    expired: [AtomicBool; 2],
    /// Per direction: whether `Dir::deadline` is set. Stored under the
    /// lock; read without it by `set_deadline`, so that clearing a
    /// deadline that is not set (a server's per-response write deadline,
    /// when it has none) takes no lock.
    timed: [AtomicBool; 2],
    /// An event reported urgent data (`Event::urgent`); sticky for the
    /// descriptor's life. Stored under the lock before the event wakes
    /// anyone; read without it (`PollDesc::urgent`).
    pub(super) urgent: AtomicBool,
    pub(super) st: Mutex<State>,
    env: PhantomData<fn() -> E>,
}

impl<E: Env> Default for Slot<E> {
    fn default() -> Self {
        let expired = [AtomicBool::new(false), AtomicBool::new(false)];
        let timed = [AtomicBool::new(false), AtomicBool::new(false)];
        let urgent = AtomicBool::new(false);
        Slot {
            st: Mutex::default(),
            evicted: AtomicBool::new(false),
            expired,
            timed,
            urgent,
            env: PhantomData,
        }
    }
}

pub(super) fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "use of closed network connection")
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl<E: Env> Slot<E> {
    /// Readies a slot for a new descriptor; the generation to register it
    /// with.
    pub(super) fn reset(&self) -> u32 {
        let mut st = self.st.lock();
        for d in &mut st.dirs {
            debug_assert!(d.waits.is_empty(), "Slot::reset: a reused slot still has waiters");
            debug_assert!(d.timer.is_none(), "Slot::reset: a reused slot still has a timer");
            (d.ready, d.hup, d.deadline) = (false, false, None);
        }
        // Relaxed: the slot's lock (held here) orders them before any use.
        self.evicted.store(false, Ordering::Relaxed);
        self.urgent.store(false, Ordering::Relaxed);
        self.expired.iter().chain(&self.timed).for_each(|t| t.store(false, Ordering::Relaxed));
        st.gen
    }

    /// The descriptor is gone: bump the generation first, so in-flight
    /// events and timers miss, and cancel the timers still armed.
    pub(super) fn release(&self) {
        let mut st = self.st.lock();
        debug_assert!(st.dirs.iter().all(|d| d.waits.is_empty()), "Slot::release: waiter still parked");
        st.gen = st.gen.wrapping_add(1);
        for d in &mut st.dirs {
            if let Some(t) = d.timer.take() {
                E::cancel_timer(t.id);
            }
        }
    }

    /// `PollDesc::wait`: parks, unless `register` finds an event pending or
    /// a check failing.
    ///
    /// One lock per wait in the common case: `register` does the checks and
    /// takes a pending event under the lock it needs anyway, and says what
    /// the wait returns when it declines (a pending event then costs a
    /// switch out and straight back in, which a wait that follows a drained
    /// read rarely meets); after a wake-up the reason is read without the
    /// lock unless a deadline timer woke someone (`woken`). `reason` is what the goroutine dump shows while it waits.
    pub(crate) fn wait(
        &'static self,
        dir: Interest,
        op_deadline: Option<Instant>,
        reason: WaitReason,
    ) -> io::Result<()> {
        let d = dir as usize;
        let mut declined = None;
        park::park(reason, |w| {
            self.register(d, op_deadline, w).map_err(|(w, why)| {
                declined = Some(why);
                w
            })
        });
        declined.unwrap_or_else(|| self.woken(d, op_deadline))
    }

    /// After a waker removed our wait: says why.
    /// Without a deadline on this wait, and with no timer having woken a
    /// wait of this direction, only eviction fails it, which the flag says
    /// without the lock. The `expired` hint may be stale either way: set,
    /// it costs the look under the lock; cleared by another woken wait's
    /// look, it turns a timeout into a retry, whose next wait fails in
    /// `register`'s check.
    fn woken(&self, d: usize, op_deadline: Option<Instant>) -> io::Result<()> {
        // Relaxed: `expire` stores it before the wake-up that let us run,
        // which orders it.
        if op_deadline.is_none() && !self.expired[d].load(Ordering::Relaxed) {
            // Acquire: pairs with the Release in `evict`.
            return match self.evicted.load(Ordering::Acquire) {
                true => Err(closed()),
                false => Ok(()),
            };
        }
        let st = self.st.lock();
        // Relaxed: under the lock `expire` stores it under.
        self.expired[d].store(false, Ordering::Relaxed);
        self.check(&st, d, op_deadline, false)
    }

    /// The park callback: publish the waiter unless readiness, a deadline
    /// or eviction already came in; declining, it hands back the waiter
    /// and what the wait returns.
    fn register(
        &'static self,
        d: usize,
        op_deadline: Option<Instant>,
        w: Waiter,
    ) -> Result<(), (Waiter, io::Result<()>)> {
        let mut st = self.st.lock();
        if let Err(e) = self.check(&st, d, op_deadline, true) {
            return Err((w, Err(e)));
        }
        if st.dirs[d].take_ready() {
            return Err((w, Ok(())));
        }
        let on_thread = matches!(w, Waiter::Thread(_));
        let when = earliest(st.dirs[d].deadline, op_deadline);
        self.cover(&mut st, d, when);
        st.dirs[d].waits.push(Wait { waiter: w, op_deadline });
        // Relaxed: a hint for `any_parked`; the slot lock orders the wait.
        PARKED.fetch_add(1, Ordering::Relaxed);
        drop(st);
        if on_thread {
            // A parked G's own M goes on to poll; a plain thread has none.
            E::ensure_poller();
        } else {
            // Our M goes on to the next G of a netpoll batch, most likely;
            // the one after it gets its lines asked for now (`runq.rs`).
            park::prefetch_upcoming();
        }
        Ok(())
    }

    /// Keeps the invariant for a wait that must wake by `when`: arms a
    /// timer unless the armed one fires no later (replacing it otherwise).
    fn cover(&'static self, st: &mut State, d: usize, when: Option<Instant>) {
        let Some(when) = when else { return };
        if st.dirs[d].timer.is_some_and(|t| t.when <= when) {
            return;
        }
        let (gen, seq) = (st.gen, st.next_seq);
        st.next_seq = seq.wrapping_add(1);
        let id = E::add_timer(when, Box::new(move || self.expire(gen, d, seq)));
        if let Some(old) = st.dirs[d].timer.replace(Armed { when, id, seq }) {
            E::cancel_timer(old.id);
        }
    }

    /// `PollDesc::set_deadline`: stores it, and arms for parked waits if
    /// the armed timer would fire too late for the new deadline.
    pub(crate) fn set_deadline(&'static self, dir: Interest, deadline: Option<Instant>) {
        let d = dir as usize;
        // Relaxed: concurrent setters race whatever the order; this load
        // only lets a clear that finds none set skip the lock.
        if deadline.is_none() && !self.timed[d].load(Ordering::Relaxed) {
            return;
        }
        let mut st = self.st.lock();
        if st.dirs[d].deadline == deadline {
            return; // a server re-arming the same deadline re-times nothing
        }
        st.dirs[d].deadline = deadline;
        // Relaxed: see above.
        self.timed[d].store(deadline.is_some(), Ordering::Relaxed);
        let when = st.dirs[d].next_deadline();
        self.cover(&mut st, d, when);
    }

    /// `PollDesc::evict`: fails every wait, now and later; with `gen`, only
    /// while the slot still holds that generation's descriptor (`Evictor`).
    pub(crate) fn evict(&self, gen: Option<u32>) {
        let mut st = self.st.lock();
        if gen.is_some_and(|g| g != st.gen) {
            return;
        }
        // Release: pairs with the Acquire in `check_open`.
        self.evicted.store(true, Ordering::Release);
        let mut woken = Vec::new();
        st.dirs.iter_mut().for_each(|d| take_all(d, &mut woken));
        drop(st);
        woken.into_iter().for_each(Waiter::wake);
    }

    /// Fails fast when the descriptor was evicted or a deadline already
    /// passed. Called with `st`, this slot's state, locked. Before a park
    /// (`parking`), a deadline surely ahead (`Env::surely_ahead`) is not
    /// compared with the clock: had it passed after all, the timer the wait
    /// arms would meet it. After a wake-up, the clock decides.
    fn check(&self, st: &State, d: usize, op_deadline: Option<Instant>, parking: bool) -> io::Result<()> {
        // Relaxed: `evict` stores it under the lock we hold.
        if self.evicted.load(Ordering::Relaxed) {
            return Err(closed());
        }
        match earliest(st.dirs[d].deadline, op_deadline) {
            Some(t) if !(parking && E::surely_ahead(t)) && t <= E::now() => {
                Err(io::ErrorKind::TimedOut.into())
            }
            _ => Ok(()),
        }
    }

    /// Timer `seq` fired: wake the waits whose deadline passed, and arm
    /// again for the earliest one left. A timer that was replaced, or that
    /// outlived its descriptor, finds another `seq` or `gen`.
    fn expire(&'static self, gen: u32, d: usize, seq: u32) {
        let mut st = self.st.lock();
        if st.gen != gen || st.dirs[d].timer.is_none_or(|t| t.seq != seq) {
            return;
        }
        st.dirs[d].timer = None;
        let now = E::now();
        let dir = &mut st.dirs[d];
        let mut woken = SmallVec::<[Waiter; 1]>::new();
        let mut i = 0;
        while i < dir.waits.len() {
            match dir.waits[i].deadline(dir.deadline) {
                Some(t) if t <= now => woken.push(dir.waits.swap_remove(i).waiter),
                _ => i += 1,
            }
        }
        let next = dir.next_deadline();
        self.cover(&mut st, d, next);
        if !woken.is_empty() {
            // Relaxed: see `register` and `woken`.
            PARKED.fetch_sub(woken.len(), Ordering::Relaxed);
            self.expired[d].store(true, Ordering::Relaxed);
        }
        drop(st);
        woken.into_iter().for_each(Waiter::wake);
    }

    /// Applies readiness event `ev` (for generation `gen`); the waiters it
    /// woke are pushed to `out`.
    pub(super) fn notify(&self, gen: u32, ev: &Event, out: &mut Vec<Waiter>) {
        let mut st = self.st.lock();
        if st.gen != gen {
            return;
        }
        if ev.urgent {
            // Release: a reader that loads it set without the wake-up
            // (Acquire, `PollDesc::urgent`) sees it all the same.
            self.urgent.store(true, Ordering::Release);
        }
        for (d, hit) in [ev.readable, ev.writable].into_iter().enumerate() {
            let dir = &mut st.dirs[d];
            if !hit {
                continue;
            }
            dir.hup |= ev.hup[d];
            if dir.waits.is_empty() {
                dir.ready = true;
            } else {
                take_all(dir, out);
            }
        }
    }
}

impl Wait {
    /// When this wait times out, under the direction's `deadline`.
    fn deadline(&self, deadline: Option<Instant>) -> Option<Instant> {
        earliest(deadline, self.op_deadline)
    }
}

impl Dir {
    /// The earliest deadline of a parked wait: what the armed timer must
    /// fire by.
    fn next_deadline(&self) -> Option<Instant> {
        self.waits.iter().filter_map(|w| w.deadline(self.deadline)).min()
    }

    /// Whether a wait may return at once: an event arrived since the last
    /// park (consumed here), or the direction hung up for good (kept: each
    /// reader of a shared socket must see its EOF, but the event that
    /// brought it comes once).
    fn take_ready(&mut self) -> bool {
        std::mem::take(&mut self.ready) || self.hup
    }
}

/// Removes every wait of `dir` into `out`; the armed timer stays (see the
/// module comment).
fn take_all(dir: &mut Dir, out: &mut Vec<Waiter>) {
    // Relaxed: see `register`.
    PARKED.fetch_sub(dir.waits.len(), Ordering::Relaxed);
    out.extend(dir.waits.drain(..).map(|w| w.waiter));
}

/// Waits parked on any descriptor, so that an M looking for work need not
/// pay an `epoll_wait` when nobody could be woken (Go's `netpollAnyWaiters`).
static PARKED: AtomicUsize = AtomicUsize::new(0);

/// Whether any goroutine or thread is parked on a descriptor. A hint: a
/// stale answer costs one skipped or one empty non-blocking poll, never an
/// event, since events stay queued in the kernel until some poll takes them.
pub(crate) fn any_parked() -> bool {
    // Relaxed: see above.
    PARKED.load(Ordering::Relaxed) != 0
}
