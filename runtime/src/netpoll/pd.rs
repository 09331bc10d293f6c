//! Poll descriptors: what a parked reader or writer of one fd waits on
//! (Go's `pollDesc`), and the slab that names them in epoll.
//!
//! # Slots and tokens
//!
//! Slots live in a slab of lazily allocated chunks that are never freed, so a
//! `&'static Slot` stays valid forever and a slot is reused after its
//! descriptor is dropped. The token registered with the backend is
//! `index << 32 | generation`; dropping a descriptor bumps the generation
//! (before the fd can be closed and its number reused), so an event or a
//! timer that was already on its way for the old descriptor finds a
//! different generation and is ignored: no stale wake-up reaches a new socket.
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
//! Several waits per direction are allowed, because two
//! goroutines may read one `&TcpStream`. A parked wait is also woken by its
//! deadline timer and by `evict`. Whoever wakes a wait removes it from the
//! list; the woken caller then decides *why* from the state alone: closing →
//! error, a deadline that has passed → `TimedOut`, otherwise retry. So a late
//! or spurious wake-up can never produce a wrong result, only a retry. The
//! lock is held for field updates and the timer adds and cancels they
//! need (the timer heap's lock nests inside it; timers fire outside
//! theirs), never while waking.
//!
//! # The protocol core
//!
//! The states above live in [`Slot`], whose methods are the whole protocol:
//! wait, readiness, deadlines, eviction. A slot reaches the clock, the
//! timer heap and the poller only through its [`Env`], so the loom models
//! (`pd/loom_pd.rs`) run these same methods on a model clock and timers.
//! `PollDesc` adds the fd's registration and the slab around a slot.

use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

// The slab's free list is a const-built static outside the protocol the
// models check, so it keeps `parking_lot`'s lock in every build.
use parking_lot::Mutex as SlabLock;
use smallvec::SmallVec;

use crate::loom::sync::atomic::AtomicBool;
use crate::loom::sync::Mutex;
use crate::netpoll::{self, poller, Backend, Event};
use crate::sched::g::WaitReason;
use crate::sched::park::{self, Waiter};
use crate::sched::sched;
use crate::timer::{Fire, TimerId};

const CHUNK: usize = 1024;
const CHUNKS: usize = 1024;

/// Which half of a descriptor an operation waits on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Interest {
    /// Readable (or accept-able, or hung up).
    Read,
    /// Writable (or connected, or failed).
    Write,
}

/// One parked caller.
struct Wait {
    /// Names the wait for its deadline timer (unique per slot generation).
    seq: u32,
    waiter: Waiter,
    /// std-style per-call deadline of this wait.
    op_deadline: Option<Instant>,
    timer: Option<TimerId>,
}

/// In declaration order (`repr(C)`, see `Slot`): the flags every event
/// touches first, the inline wait last.
#[derive(Default)]
#[repr(C)]
struct Dir {
    ready: bool,
    /// Sticky: an event said this direction will never block again.
    hup: bool,
    /// Go-style absolute deadline, kept until changed.
    deadline: Option<Instant>,
    /// Inline for one wait, the usual case (a socket read by one
    /// goroutine): a separate buffer would be one more cache line touched
    /// per park and per wake-up, with 10,000 connections each its own.
    waits: SmallVec<[Wait; 1]>,
}

#[derive(Default)]
#[repr(C)]
struct State {
    gen: u32,
    next_seq: u32,
    dirs: [Dir; 2],
}

/// What a slot needs from outside its lock: the runtime's clock, timers
/// and poller ([`Runtime`]), or a model's.
pub(crate) trait Env: Sized + 'static {
    /// The time deadlines are compared with.
    fn now() -> Instant;
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
    evicted: AtomicBool,
    /// Per direction: whether a Go-style deadline is set (`Dir::deadline`
    /// is `Some`). Stored under the lock by `set_deadline`; read without
    /// it after a wake-up (`woken`).
    timed: [AtomicBool; 2],
    st: Mutex<State>,
    env: PhantomData<fn() -> E>,
}

impl<E: Env> Default for Slot<E> {
    fn default() -> Self {
        let timed = [AtomicBool::new(false), AtomicBool::new(false)];
        Slot { st: Mutex::default(), evicted: AtomicBool::new(false), timed, env: PhantomData }
    }
}

struct Slab {
    chunks: [OnceLock<Box<[Slot]>>; CHUNKS],
    /// Indices never handed out start here.
    next: AtomicUsize,
    free: SlabLock<Vec<u32>>,
}

static SLAB: Slab = Slab {
    chunks: [const { OnceLock::new() }; CHUNKS],
    next: AtomicUsize::new(0),
    free: SlabLock::new(Vec::new()),
};

impl Slab {
    fn get(&'static self, index: u32) -> Option<&'static Slot> {
        let i = index as usize;
        self.chunks[i / CHUNK].get().map(|c| &c[i % CHUNK])
    }

    fn alloc(&'static self) -> io::Result<(u32, &'static Slot)> {
        if let Some(i) = self.free.lock().pop() {
            return Ok((i, self.get(i).expect("Slab::alloc: freed index without a chunk")));
        }
        // Relaxed: only uniqueness matters; the chunk's OnceLock orders its init.
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= CHUNK * CHUNKS {
            return Err(io::Error::other("gort netpoll: more than 1,048,576 sockets open"));
        }
        let chunk = self.chunks[i / CHUNK].get_or_init(|| (0..CHUNK).map(|_| Slot::default()).collect());
        Ok((i as u32, &chunk[i % CHUNK]))
    }
}

/// A socket's registration with the netpoller: where goroutines that got
/// `WouldBlock` from it park until it is ready, with Go's deadlines.
///
/// Drop the `PollDesc` *before* closing its fd (declare it first in the
/// owning struct): dropping unregisters the fd, so its number can be reused
/// safely. `gort::net` builds every socket on it; use it directly only for
/// other pollable fds.
///
/// ```
/// use std::io::{ErrorKind, Read};
/// use std::os::fd::AsFd;
/// use std::time::{Duration, Instant};
/// use gort::netpoll::{Interest, PollDesc};
///
/// let (mut a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let pd = PollDesc::new(a.as_fd()).unwrap();
/// assert_eq!(a.read(&mut [0; 1]).unwrap_err().kind(), ErrorKind::WouldBlock);
/// let soon = Some(Instant::now() + Duration::from_millis(10));
/// assert_eq!(pd.wait(Interest::Read, soon).unwrap_err().kind(), ErrorKind::TimedOut);
/// drop(pd); // before `a` closes the fd
/// ```
pub struct PollDesc {
    slot: &'static Slot,
    index: u32,
    fd: RawFd,
}

impl std::fmt::Debug for PollDesc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollDesc").field("fd", &self.fd).field("index", &self.index).finish()
    }
}

impl PollDesc {
    /// Registers `fd` (which must be in non-blocking mode) with the
    /// netpoller, edge-triggered for read and write.
    ///
    /// # Errors
    /// When epoll refuses the fd (a regular file, say).
    pub fn new(fd: BorrowedFd<'_>) -> io::Result<PollDesc> {
        let (index, slot) = SLAB.alloc()?;
        let gen = {
            let mut st = slot.st.lock();
            for d in &mut st.dirs {
                debug_assert!(d.waits.is_empty(), "PollDesc::new: a reused slot still has waiters");
                (d.ready, d.hup, d.deadline) = (false, false, None);
            }
            // Relaxed: the slot's lock (held here) orders them before any use.
            slot.evicted.store(false, Ordering::Relaxed);
            slot.timed.iter().for_each(|t| t.store(false, Ordering::Relaxed));
            st.gen
        };
        if let Err(e) = poller().backend().register(fd.as_raw_fd(), token(index, gen)) {
            SLAB.free.lock().push(index);
            return Err(e);
        }
        Ok(PollDesc { slot, index, fd: fd.as_raw_fd() })
    }

    /// Fails with `ConnectionAborted` once [`evict`](Self::evict) was
    /// called, so every operation on a closed socket fails the same way (a
    /// lock-free load: callers check it before each operation).
    ///
    /// # Errors
    /// As described.
    #[inline]
    pub fn check_open(&self) -> io::Result<()> {
        // Acquire: pairs with the Release in `evict`.
        if self.slot.evicted.load(Ordering::Acquire) {
            return Err(closed());
        }
        Ok(())
    }

    /// Parks the caller until the descriptor may be ready for `dir`, then
    /// returns `Ok` so the caller retries its operation (readiness may be
    /// spurious; the retry sees `WouldBlock` again and parks again).
    ///
    /// `op_deadline` bounds this one wait (std's per-operation timeouts);
    /// the descriptor's own deadline ([`set_deadline`](Self::set_deadline))
    /// applies too, whichever is earlier.
    ///
    /// # Errors
    /// `TimedOut` when a deadline passes; `ConnectionAborted` after
    /// [`evict`](Self::evict).
    pub fn wait(&self, dir: Interest, op_deadline: Option<Instant>) -> io::Result<()> {
        let reason = match dir {
            Interest::Read => WaitReason::NetRead(self.fd),
            Interest::Write => WaitReason::NetWrite(self.fd),
        };
        self.slot.wait(dir, op_deadline, reason)
    }

    /// Sets Go's absolute deadline for `dir` (`None`: no deadline). A wait
    /// in progress is re-timed; a deadline in the past fails waits at once.
    pub fn set_deadline(&self, dir: Interest, deadline: Option<Instant>) {
        self.slot.set_deadline(dir, deadline);
    }

    /// Go's `Close` for a shared socket: wakes every goroutine parked on
    /// this descriptor with `ConnectionAborted` and fails later waits. The
    /// fd stays registered until the `PollDesc` is dropped.
    pub fn evict(&self) {
        self.slot.evict(None);
    }

    /// A handle that can [`evict`](Self::evict) this descriptor from
    /// anywhere (a context's `after_func`, say) for as long as it lives;
    /// once it is dropped, the handle does nothing.
    pub fn evictor(&self) -> Evictor {
        Evictor { slot: self.slot, gen: self.slot.st.lock().gen }
    }
}

/// What [`PollDesc::evictor`] returns: `Copy`, `Send`, `'static`.
#[derive(Clone, Copy)]
pub struct Evictor {
    slot: &'static Slot,
    /// The descriptor's generation: a slot reused by another descriptor
    /// has a newer one, and is left alone.
    gen: u32,
}

impl std::fmt::Debug for Evictor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evictor").field("gen", &self.gen).finish_non_exhaustive()
    }
}

impl Evictor {
    /// [`PollDesc::evict`], if the descriptor is still registered.
    pub fn evict(self) {
        self.slot.evict(Some(self.gen));
    }
}

impl Drop for PollDesc {
    fn drop(&mut self) {
        // No waiter can be parked: waiting borrows `self`. Bump the
        // generation first, so in-flight events and timers miss.
        {
            let mut st = self.slot.st.lock();
            debug_assert!(st.dirs.iter().all(|d| d.waits.is_empty()), "PollDesc::drop: waiter still parked");
            st.gen = st.gen.wrapping_add(1);
        }
        let r = poller().backend().deregister(self.fd);
        debug_assert!(r.is_ok(), "PollDesc::drop: EPOLL_CTL_DEL of fd {} failed: {r:?}", self.fd);
        SLAB.free.lock().push(self.index);
    }
}

fn token(index: u32, gen: u32) -> u64 {
    (u64::from(index) << 32) | u64::from(gen)
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "use of closed network connection")
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl<E: Env> Slot<E> {
    /// `PollDesc::wait`: parks, unless `register` finds an event pending or
    /// a check failing.
    ///
    /// One lock per wait in the common case: `register` does the checks and
    /// takes a pending event under the lock it needs anyway (a pending event
    /// then costs a switch out and straight back in, which a wait that
    /// follows a drained read rarely meets), and the reason for the wake-up
    /// is read without the lock when no deadline is set (`woken`).
    /// `reason` is what the goroutine dump shows while it waits.
    pub(crate) fn wait(
        &'static self,
        dir: Interest,
        op_deadline: Option<Instant>,
        reason: WaitReason,
    ) -> io::Result<()> {
        let d = dir as usize;
        park::park(reason, |w| self.register(d, op_deadline, w));
        self.woken(d, op_deadline)
    }

    /// After `register` declined or a waker removed our wait (and its
    /// timer): says why. Without a deadline on this wait or direction only
    /// eviction fails it, which the flag says without the lock.
    fn woken(&self, d: usize, op_deadline: Option<Instant>) -> io::Result<()> {
        // Relaxed: `set_deadline` stores it under the lock, and whoever
        // woke us held that lock after it (a concurrent change is a race
        // the caller's retry settles: its next wait checks under the lock).
        if op_deadline.is_none() && !self.timed[d].load(Ordering::Relaxed) {
            // Acquire: pairs with the Release in `evict`.
            return match self.evicted.load(Ordering::Acquire) {
                true => Err(closed()),
                false => Ok(()),
            };
        }
        let st = self.st.lock();
        self.check(&st, d, op_deadline)
    }

    /// The park callback: publish the waiter unless readiness, a deadline
    /// or eviction already came in.
    fn register(&'static self, d: usize, op_deadline: Option<Instant>, w: Waiter) -> Result<(), Waiter> {
        let mut st = self.st.lock();
        if self.check(&st, d, op_deadline).is_err() || st.dirs[d].take_ready() {
            return Err(w);
        }
        let on_thread = matches!(w, Waiter::Thread(_));
        let seq = st.next_seq;
        st.next_seq = seq.wrapping_add(1);
        let timer = self.arm(&st, d, seq, op_deadline);
        st.dirs[d].waits.push(Wait { seq, waiter: w, op_deadline, timer });
        // Relaxed: a hint for `any_parked`; the slot lock orders the wait.
        PARKED.fetch_add(1, Ordering::Relaxed);
        drop(st);
        if on_thread {
            // A parked G's own M goes on to poll; a plain thread has none.
            E::ensure_poller();
        }
        Ok(())
    }

    /// Arms a timer for wait `seq` at the earlier of its deadlines.
    fn arm(&'static self, st: &State, d: usize, seq: u32, op_deadline: Option<Instant>) -> Option<TimerId> {
        let when = earliest(st.dirs[d].deadline, op_deadline)?;
        let gen = st.gen;
        Some(E::add_timer(when, Box::new(move || self.expire(gen, d, seq))))
    }

    /// `PollDesc::set_deadline`: stores it and re-times the waits.
    pub(crate) fn set_deadline(&'static self, dir: Interest, deadline: Option<Instant>) {
        let d = dir as usize;
        let mut st = self.st.lock();
        if st.dirs[d].deadline == deadline {
            return; // a server re-arming the same deadline re-times nothing
        }
        st.dirs[d].deadline = deadline;
        // Relaxed: read by `woken`, after the lock that orders it.
        self.timed[d].store(deadline.is_some(), Ordering::Relaxed);
        let mut waits = std::mem::take(&mut st.dirs[d].waits);
        for w in &mut waits {
            cancel::<E>(w.timer.take());
            w.timer = self.arm(&st, d, w.seq, w.op_deadline);
        }
        st.dirs[d].waits = waits;
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
        st.dirs.iter_mut().for_each(|d| take_all::<E>(d, &mut woken));
        drop(st);
        woken.into_iter().for_each(Waiter::wake);
    }

    /// Fails fast when the descriptor was evicted or a deadline already
    /// passed. Called with `st`, this slot's state, locked.
    fn check(&self, st: &State, d: usize, op_deadline: Option<Instant>) -> io::Result<()> {
        // Relaxed: `evict` stores it under the lock we hold.
        if self.evicted.load(Ordering::Relaxed) {
            return Err(closed());
        }
        match earliest(st.dirs[d].deadline, op_deadline) {
            Some(t) if t <= E::now() => Err(io::ErrorKind::TimedOut.into()),
            _ => Ok(()),
        }
    }

    /// A deadline timer fired: wake the wait it was armed for, if still parked.
    fn expire(&self, gen: u32, d: usize, seq: u32) {
        let mut st = self.st.lock();
        if st.gen != gen {
            return;
        }
        let waits = &mut st.dirs[d].waits;
        let Some(i) = waits.iter().position(|w| w.seq == seq) else { return };
        let w = waits.swap_remove(i);
        // Relaxed: see `register`.
        PARKED.fetch_sub(1, Ordering::Relaxed);
        drop(st);
        // Usually the timer firing now; but if `set_deadline` re-armed the wait
        // while this one fired, it is the new one, which must not linger.
        cancel::<E>(w.timer);
        w.waiter.wake();
    }

    /// Applies readiness event `ev` (for generation `gen`); the waiters it
    /// woke are pushed to `out`.
    fn notify(&self, gen: u32, ev: &Event, out: &mut Vec<Waiter>) {
        let mut st = self.st.lock();
        if st.gen != gen {
            return;
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
                take_all::<E>(dir, out);
            }
        }
    }
}

impl Dir {
    /// Whether a wait may return at once: an event arrived since the last
    /// park (consumed here), or the direction hung up for good (kept: each
    /// reader of a shared socket must see its EOF, but the event that
    /// brought it comes once).
    fn take_ready(&mut self) -> bool {
        std::mem::take(&mut self.ready) || self.hup
    }
}

/// Removes every wait of `dir` into `out`, cancelling their timers.
fn take_all<E: Env>(dir: &mut Dir, out: &mut Vec<Waiter>) {
    // Relaxed: see `register`.
    PARKED.fetch_sub(dir.waits.len(), Ordering::Relaxed);
    for w in dir.waits.drain(..) {
        cancel::<E>(w.timer);
        out.push(w.waiter);
    }
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

fn cancel<E: Env>(timer: Option<TimerId>) {
    if let Some(t) = timer {
        E::cancel_timer(t);
    }
}

/// Applies one readiness event; the waiters it woke are pushed to `out`.
pub(crate) fn dispatch(ev: Event, out: &mut Vec<Waiter>) {
    if let Some(slot) = SLAB.get((ev.token >> 32) as u32) {
        slot.notify(ev.token as u32, &ev, out);
    }
}

#[cfg(all(test, loom))]
mod loom_pd;

#[cfg(all(test, not(loom)))]
mod tests;
