//! The netpoller: turns "this socket would block" into a parked goroutine
//! and readiness back into a runnable one (Go's `netpoll.go`).
//!
//! # The contract a backend keeps (`Backend`)
//!
//! - `register(fd, token)` once per descriptor, edge-triggered for read and
//!   write (and hang-up, which counts as both and is also reported as
//!   `hup`, per direction); `deregister(fd)` before the fd is closed.
//! - `wait(events, timeout)` waits up to `timeout` (`None`: forever; zero:
//!   just looks) for at least one event or an `interrupt`, and yields
//!   events of a token, readable, writable and `hup`. Tokens are opaque to
//!   the backend; `pd.rs` makes them `slot index << 32 | generation` so
//!   that a stale event for a closed descriptor is recognised and dropped.
//! - `interrupt` makes a blocked (or the next) `wait` return promptly.
//!
//! epoll (`epoll.rs`) is the one backend.
//!
//! # Who polls (`Mode`, env `GORT_NETPOLL=thread|inline`)
//!
//! - `thread` (DESIGN.md's netpoller thread): one thread blocks in `wait`
//!   forever and readies the woken goroutines onto the global queue in one
//!   batch, then `wakep`s. Each readiness costs a thread hand-off.
//! - `inline` (Go's way): an M with nothing to run polls without blocking
//!   before it steals; the M that finds nothing at all and sees nobody else
//!   blocked in the poller blocks in `wait` itself, holding no P, and takes
//!   an idle P to run what it woke. Readiness then wakes the thread that
//!   will run the goroutine, with no hand-off. sysmon polls every 10 ms
//!   while all Ps are busy, so a CPU-bound program still sees its sockets
//!   (from sysmon's deep sleep it notices "all busy" within its 1 s tick);
//!   and an M on its 61-tick fairness turn polls when nobody has for
//!   `STALE_AFTER` (10 ms, sysmon's period in Go), which covers that 1 s.
//!   It does not poll on every fairness turn: under load the queues drain
//!   often enough, and each extra poll is an `epoll_wait` returning a few
//!   events whose goroutines must then queue behind the global queue
//!   (measured on c10k: 131-134k req/s polling every turn, 144-150k not).
//!
//! Both keep the no-lost-wakeup rule: an edge-triggered event stays queued
//! in the kernel until some `wait` collects it, and in `inline` mode an M
//! releases the polling role (`polling = false`) before it looks for a P,
//! so an M going idle afterwards sees the role free and takes it.

mod epoll;
mod pd;
mod sockio;

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

pub(crate) use pd::any_parked;
pub use pd::{Evictor, Interest, PollDesc};
pub use sockio::{peek_now, recv_now, send_now};

use crate::sched::m::fatal;
use crate::sched::park::{self, Inject, Waiter};
use epoll::{Epoll, Events};

/// One readiness event, as a backend reports it.
pub(crate) struct Event {
    pub(crate) token: u64,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// Per direction (read, write): the socket hung up (for reads, also:
    /// the peer shut down its writing half), so that direction will never
    /// block again (EOF or an error).
    pub(crate) hup: [bool; 2],
    /// TCP urgent data arrived (EPOLLPRI). A read stops short at its mark
    /// with data still queued, so a short read no longer proves the queue
    /// empty (`PollDesc::urgent`).
    pub(crate) urgent: bool,
}

/// What a readiness backend must do; see the module doc.
pub(crate) trait Backend {
    fn register(&self, fd: RawFd, token: u64) -> io::Result<()>;
    fn deregister(&self, fd: RawFd) -> io::Result<()>;
    /// Waits for events into `events` (`None`: no time limit).
    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()>;
    /// The events of the last `wait` (interrupt wake-ups filtered out).
    fn events<'a>(&'a self, events: &'a Events) -> impl Iterator<Item = Event> + 'a;
    fn interrupt(&self);
}

/// Who blocks in the backend.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// A dedicated netpoller thread.
    Thread,
    /// Idle Ms poll, and the last one blocks in the poller.
    Inline,
}

pub(crate) struct Poller {
    backend: Epoll,
    pub(crate) mode: Mode,
    /// `inline` mode: an M is blocked in `wait` (Go's `lastpoll == 0`).
    polling: AtomicBool,
    /// When some `wait` last returned, in ns since `epoch` (Go's `lastpoll`).
    last_poll: AtomicU64,
    epoch: Instant,
    /// Waiters readied by `poll`, for `gort::stats()`. One shared counter
    /// rather than one per P: it is bumped once per `epoll_wait` that
    /// returned events, which costs far more than the add.
    wakes: AtomicU64,
}

/// How long events may sit uncollected before an M on its fairness turn
/// polls although it has work queued.
const STALE_AFTER: Duration = Duration::from_millis(10);

static POLLER: OnceLock<Poller> = OnceLock::new();

/// The poller, started by the first registered descriptor.
pub(crate) fn poller() -> &'static Poller {
    POLLER.get_or_init(|| {
        let backend =
            Epoll::new().unwrap_or_else(|e| fatal(format_args!("netpoll: cannot create epoll: {e}")));
        let mode = match std::env::var("GORT_NETPOLL").as_deref() {
            Ok("thread") => Mode::Thread,
            _ => Mode::Inline,
        };
        if mode == Mode::Thread {
            let spawned = thread::Builder::new().name("gort-netpoll".into()).spawn(poller_thread);
            if let Err(e) = spawned {
                fatal(format_args!("netpoll: cannot start the netpoller thread: {e}"));
            }
        }
        Poller {
            backend,
            mode,
            polling: AtomicBool::new(false),
            last_poll: AtomicU64::new(0),
            epoch: Instant::now(),
            wakes: AtomicU64::new(0),
        }
    })
}

/// The poller if some descriptor ever started it, in `inline` mode.
#[inline]
pub(crate) fn inline_poller() -> Option<&'static Poller> {
    POLLER.get().filter(|p| p.mode == Mode::Inline)
}

/// Goroutines the netpoller has readied so far (0 before any socket).
pub(crate) fn wakes() -> u64 {
    // Relaxed: see `Poller::wakes`.
    POLLER.get().map_or(0, |p| p.wakes.load(Ordering::Relaxed))
}

impl Poller {
    fn backend(&self) -> &Epoll {
        &self.backend
    }

    /// Waits once and returns the waiters the events woke.
    fn poll(&self, events: &mut Events, timeout: Option<Duration>) -> Vec<Waiter> {
        if let Err(e) = self.backend.wait(events, timeout) {
            fatal(format_args!("netpoll: epoll_wait failed: {e}"));
        }
        // Relaxed: a hint for `poll_if_stale`; a stale value costs one
        // early or one late non-blocking poll.
        self.last_poll.store(self.since_epoch(), Ordering::Relaxed);
        events.tokens().for_each(pd::prefetch);
        let mut woken = Vec::new();
        self.backend.events(events).for_each(|ev| pd::dispatch(ev, &mut woken));
        if !woken.is_empty() {
            // Relaxed: a statistic.
            self.wakes.fetch_add(woken.len() as u64, Ordering::Relaxed);
        }
        woken
    }

    fn since_epoch(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// `inline` mode, an M on its fairness turn with work queued: polls
    /// (readying onto the back of the global queue) only when no `wait`
    /// returned for `STALE_AFTER` (module doc). Returns whether it readied
    /// anything.
    pub(crate) fn poll_if_stale(&self) -> bool {
        // Relaxed: see `poll`.
        let last = self.last_poll.load(Ordering::Relaxed);
        let stale = self.since_epoch().saturating_sub(last) >= STALE_AFTER.as_nanos() as u64;
        stale && self.poll_ready(Inject::Global)
    }

    /// `inline` mode, an M looking for work (or sysmon): readies what is
    /// ready without blocking, unless nothing is parked on a descriptor or
    /// another M is blocked in the poller; `to` says where the readied
    /// goroutines go. Returns whether it readied anything.
    pub(crate) fn poll_ready(&self, to: Inject) -> bool {
        // SeqCst: pairs with the swap in `block`; a stale `false` only costs
        // one non-blocking poll.
        if !pd::any_parked() || self.polling.load(Ordering::SeqCst) {
            return false;
        }
        let woken = self.poll(&mut Events::new(), Some(Duration::ZERO));
        let any = !woken.is_empty();
        if any {
            park::ready_batch(woken, to);
        }
        any
    }

    /// `inline` mode, an M with no P and nothing to run: if nobody else is
    /// blocked in the poller, block there until something is ready or an
    /// interrupt, and return what woke (`Some`, maybe empty); `None` when
    /// the role is taken.
    pub(crate) fn block(&self) -> Option<Vec<Waiter>> {
        // SeqCst: one total order with `poll_ready`'s load and other Ms'
        // swaps; only one M blocks at a time.
        if self.polling.swap(true, Ordering::SeqCst) {
            return None;
        }
        let woken = self.poll(&mut Events::new(), None);
        // SeqCst: released before the caller looks for a P (module doc).
        self.polling.store(false, Ordering::SeqCst);
        Some(woken)
    }

    /// Whether an M is blocked in the poller (`inline` mode).
    pub(crate) fn is_blocked(&self) -> bool {
        // SeqCst: see `Idle::hand_to_poller`.
        self.polling.load(Ordering::SeqCst)
    }

    /// Makes a blocked (or the next) `wait` return.
    pub(crate) fn interrupt(&self) {
        self.backend.interrupt();
    }
}

/// `inline` mode: makes sure some M will collect events for a plain thread
/// that just parked on a descriptor. If none is blocked in the poller, an
/// idle M is woken; finding nothing to run, it takes the polling role. If
/// every P is busy, their Ms poll when they run out of work.
pub(crate) fn ensure_poller() {
    if let Some(np) = inline_poller() {
        if !np.is_blocked() {
            crate::sched::sched().idle.wakep();
        }
    }
}

/// The `thread` mode netpoller: block, ready the batch, repeat.
fn poller_thread() {
    let _counted = crate::sched::deadlock::RuntimeThread::enter();
    let p = poller();
    let mut events = Events::new();
    loop {
        let woken = p.poll(&mut events, None);
        if !woken.is_empty() {
            park::ready_batch(woken, Inject::Local);
        }
    }
}
