//! The deadlock report (Go's `checkdead`): when nothing in the process can
//! ever run again, sysmon prints `fatal error: all goroutines are asleep -
//! deadlock!` and the goroutine dump, and exits with status 2.
//! `GORT_DEBUG=deadlock=0` turns it off.
//!
//! # When it fires
//!
//! Go checks when its last M goes idle, and knows every thread. gort
//! cannot: plain OS threads share gort's channels and locks with
//! goroutines, and any of them may still send. So it fires only when all
//! of these hold, and when unsure it does not:
//!
//! 1. the process's main thread is blocked on a gort primitive that only
//!    another party can end (a channel, `select!`, a lock, a condition
//!    variable, a semaphore, a `WaitGroup`, a join), so the program is not
//!    merely running;
//! 2. every other thread is one of the runtime's own (Ms, sysmon, the
//!    schedtrace, netpoller and SIGQUIT threads), or blocked like `main`:
//!    `/proc/self/task` has exactly that many entries. Runtime threads
//!    count themselves from inside ([`RuntimeThread`]), so a thread
//!    starting or exiting only makes the check miss, never fire;
//! 3. every goroutine is dead or parked the same way, which rules out a
//!    sleeping goroutine, a socket wait, a `blocking` call;
//! 4. no P runs anything, the run queues are empty, no timer is pending
//!    (so no select or channel operation with a deadline), nothing waits
//!    on the netpoller (so no server idle in `accept`), no `blocking` call
//!    is in flight;
//! 5. all of that held on two sysmon looks [`CONFIRM_AFTER`] apart with
//!    no progress between them: no switch, park or spawn on any P and no
//!    plain thread blocking or woken.
//!
//! Plain threads are counted as they block (`park.rs`): [`ThreadWait`]
//! adds the thread to the counts, and the waker takes it off before it
//! wakes it, so a woken thread that has not run yet is not counted.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::sched::g::{Status, WaitReason};
use crate::sched::{allgs, blocking, sched};

/// How long after a look that found the process stuck sysmon looks again
/// to confirm it.
pub(crate) const CONFIRM_AFTER: Duration = Duration::from_millis(100);

/// Plain threads blocked on a reason only another party can end, the main
/// thread among them (`MAIN_STUCK` is 0 or 1).
static STUCK_THREADS: AtomicUsize = AtomicUsize::new(0);
static MAIN_STUCK: AtomicUsize = AtomicUsize::new(0);

/// Plain threads blocking or woken so far: progress the per-P counters miss.
static THREAD_EVENTS: AtomicU64 = AtomicU64::new(0);

/// Runtime threads alive, each counted from inside itself.
static RUNTIME_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Whether a wait for `r` can only be ended by another goroutine or thread.
fn only_another_ends(r: WaitReason) -> bool {
    match r {
        WaitReason::Join
        | WaitReason::ChanSend
        | WaitReason::ChanRecv
        | WaitReason::Select
        | WaitReason::Mutex
        | WaitReason::RwLock
        | WaitReason::Cond
        | WaitReason::Sema
        | WaitReason::WaitGroup => true,
        WaitReason::Sleep | WaitReason::NetRead(_) | WaitReason::NetWrite(_) | WaitReason::Blocking => false,
    }
}

/// How one blocked plain thread is counted: made when it blocks, ended
/// exactly once, by its waker or by the thread when its wait was declined.
pub(crate) struct ThreadWait {
    stuck: bool,
    main: bool,
}

impl ThreadWait {
    /// The calling thread blocks for `r`.
    pub(crate) fn begin(r: WaitReason) -> ThreadWait {
        let stuck = only_another_ends(r);
        let w = ThreadWait { stuck, main: stuck && crate::sys::is_main_thread() };
        // Relaxed, here and in `end`: sysmon reads these counts twice,
        // CONFIRM_AFTER apart, and acts only if nothing changed between.
        THREAD_EVENTS.fetch_add(1, Ordering::Relaxed);
        w.add(1);
        w
    }

    /// The thread is about to be woken (or did not block after all).
    pub(crate) fn end(&self) {
        THREAD_EVENTS.fetch_add(1, Ordering::Relaxed);
        self.add(usize::MAX);
    }

    /// Adds `n` (wrapping: `usize::MAX` takes one off) to the counts.
    fn add(&self, n: usize) {
        if self.stuck {
            STUCK_THREADS.fetch_add(n, Ordering::Relaxed);
        }
        if self.main {
            MAIN_STUCK.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// Counts the calling thread as the runtime's own while it lives.
pub(crate) struct RuntimeThread(());

impl RuntimeThread {
    /// Called first thing in each thread the runtime starts.
    pub(crate) fn enter() -> RuntimeThread {
        // Relaxed: compared with /proc only while nothing else changes.
        RUNTIME_THREADS.fetch_add(1, Ordering::Relaxed);
        RuntimeThread(())
    }
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        RUNTIME_THREADS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Everything that moves when anything in the process makes progress.
#[derive(PartialEq, Eq, Clone, Copy)]
struct Progress {
    switches: u64,
    parks: u64,
    spawned: u64,
    thread_events: u64,
}

fn progress() -> Progress {
    let s = sched();
    let sum = |f: fn(&crate::sched::p::Counters) -> &AtomicU64| {
        s.ps.iter().map(|p| f(&p.counters).load(Ordering::Relaxed)).sum::<u64>()
    };
    Progress {
        switches: sum(|c| &c.switches),
        parks: sum(|c| &c.parks),
        spawned: sum(|c| &c.spawned) + s.foreign_spawns(),
        thread_events: THREAD_EVENTS.load(Ordering::Relaxed),
    }
}

/// sysmon's half: the progress seen on the look that found the process
/// stuck, awaiting confirmation.
pub(crate) struct Detector {
    enabled: bool,
    suspect: Option<(Progress, Instant)>,
}

impl Detector {
    pub(crate) fn new() -> Detector {
        Detector { enabled: crate::debug::settings().deadlock, suspect: None }
    }

    /// When sysmon must look again at the latest, `until` or sooner if a
    /// suspected deadlock awaits confirmation.
    pub(crate) fn next_look(&self, until: Instant) -> Instant {
        self.suspect.map_or(until, |(_, at)| until.min(at + CONFIRM_AFTER))
    }

    /// One of sysmon's looks; reports and exits on a confirmed deadlock.
    pub(crate) fn look(&mut self) {
        if !self.enabled || MAIN_STUCK.load(Ordering::Relaxed) == 0 {
            self.suspect = None;
            return;
        }
        let now = progress();
        if !stuck() {
            self.suspect = None;
            return;
        }
        match self.suspect {
            Some((seen, at)) if seen == now && at.elapsed() >= CONFIRM_AFTER => report(),
            Some((seen, _)) if seen == now => {}
            _ => self.suspect = Some((now, Instant::now())),
        }
    }
}

/// Conditions 1 to 4 of the module doc, cheapest first.
fn stuck() -> bool {
    let s = sched();
    s.idle.npidle() == s.procs()
        && s.global.is_empty()
        && s.ps.iter().all(|p| p.runq.is_empty())
        && s.timers.len() == 0
        && !crate::netpoll::any_parked()
        && blocking::in_blocking() == 0
        && threads_accounted()
        && allgs::all_live(|st| matches!(st, Status::Waiting(r) if only_another_ends(r)))
}

/// Whether every thread of the process is the runtime's or a stuck one.
fn threads_accounted() -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return false };
    let known = RUNTIME_THREADS.load(Ordering::Relaxed) + STUCK_THREADS.load(Ordering::Relaxed);
    tasks.count() == known
}

fn report() -> ! {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "fatal error: all goroutines are asleep - deadlock!\n");
    let _ = crate::dump::dump(&mut err);
    drop(err);
    std::process::exit(2)
}
