//! sysmon: the runtime's background thread (Go's `sysmon`). It fires
//! timers, retakes the Ps of Ms stuck in `blocking` calls (`blocking.rs`),
//! marks Gs that have held their M for over 10 ms so that they yield
//! (`preempt.rs`), polls the network for a CPU-bound program in `inline`
//! netpoll mode, and about once a second sweeps the pools (`sweep`): free
//! stacks, dead Gs and join packets' blocks left unused through two sweeps
//! go back to the kernel and to malloc, the global queue gives back the
//! room a burst grew it to, and the `sync::Pool`s age. Each look also
//! ticks the coarse clock that parks read (`coarse.rs`) and checks for a
//! deadlock (`deadlock.rs`; a suspected one is confirmed by a second look
//! 100 ms later).
//!
//! It never polls an idle process: with no blocking call in progress it
//! sleeps on the timer condition variable until the next deadline (or the
//! next trim, or, while a P is busy, the next preemption look 10 ms away),
//! and the first `blocking` call kicks it awake. While calls are in
//! progress it looks every 20 µs, doubling to 10 ms while it finds nothing
//! to retake (Go's backoff).

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::netpoll::{self, Poller};
use crate::sched::blocking::{self, Retaker, RETAKE_AFTER, SYSMON_ASLEEP};
use crate::sched::coarse;
use crate::sched::deadlock::{Detector, RuntimeThread};
use crate::sched::park::Inject;
use crate::sched::preempt::{Preempter, FORCE_PREEMPT};
use crate::sched::sched;
use crate::stack;

/// How often sysmon sweeps the pools.
const TRIM_EVERY: Duration = Duration::from_secs(1);

/// The longest sysmon sleeps between looks while it has something to watch.
const MAX_DELAY: Duration = Duration::from_millis(10);

/// Starts sysmon. It waits for the scheduler to finish initialising.
pub(crate) fn start() {
    let spawned = thread::Builder::new().name("gort-sysmon".into()).spawn(run);
    if let Err(e) = spawned {
        crate::sched::m::fatal(format_args!("cannot start sysmon: {e}"));
    }
}

fn run() {
    let _counted = RuntimeThread::enter();
    let s = sched();
    let mut retaker = Retaker::new(s.procs());
    let mut preempter = Preempter::new(s.procs());
    let mut detector = Detector::new();
    let mut next_trim = Instant::now() + TRIM_EVERY;
    let mut delay = RETAKE_AFTER;
    loop {
        let watched = watching();
        if watched {
            s.timers.run((Instant::now() + delay).min(next_trim));
        } else if s.idle.npidle() < s.procs() {
            sleep_deep((Instant::now() + FORCE_PREEMPT).min(next_trim));
        } else {
            sleep_deep(detector.next_look(next_trim));
        }
        coarse::tick();
        // Back off while looks find nothing to retake; after a retake or a
        // deep sleep (ended by a kick, or with nothing to watch) the next
        // look is `RETAKE_AFTER` away again.
        let retook = retaker.retake() > 0;
        delay = if retook || !watched { RETAKE_AFTER } else { (delay * 2).min(MAX_DELAY) };
        preempter.look();
        detector.look();
        if let Some(np) = unpolled() {
            np.poll_ready(Inject::Global);
        }
        if Instant::now() >= next_trim {
            sweep();
            next_trim = Instant::now() + TRIM_EVERY;
        }
    }
}

/// Sweeps done so far: a P going idle flushes its caches once a sweep.
static SWEEPS: AtomicU64 = AtomicU64::new(0);

/// How many sweeps sysmon has done.
pub(crate) fn sweeps() -> u64 {
    // Relaxed: a P compares it with the count it last flushed at; a stale
    // value only delays a flush to its next idle moment.
    SWEEPS.load(Ordering::Relaxed)
}

/// Stacks released in one sweep that show a burst has ended, so the heap
/// its Gs used is worth trimming too.
const BURST_ENDED: usize = 1024;

/// Gives back what stayed unused since the previous sweep.
fn sweep() {
    let released = stack::sweep();
    sched().gfree.sweep();
    sched().global.trim();
    crate::join::sweep();
    crate::sync::sweep_pools();
    SWEEPS.fetch_add(1, Ordering::Relaxed);
    if released >= BURST_ENDED {
        // Off sysmon, whose timers must not wait for the walk. A failed
        // spawn only leaves the heap as it is.
        let _ = thread::Builder::new().name("gort-trim".into()).spawn(|| {
            let _counted = RuntimeThread::enter();
            crate::sys::trim_heap();
        });
    }
}

/// Whether sysmon has to look around often: a blocking call is in
/// progress, or (`inline` netpoll) every P is busy and nobody polls.
fn watching() -> bool {
    blocking::in_blocking() > 0 || unpolled().is_some()
}

/// The `inline` poller while every P is busy and no M is blocked in it:
/// nobody but sysmon will collect its events.
fn unpolled() -> Option<&'static Poller> {
    netpoll::inline_poller().filter(|np| sched().idle.npidle() == 0 && !np.is_blocked())
}

/// Sleeps until a timer, `until`, or a kick from the first blocking call.
fn sleep_deep(until: Instant) {
    // SeqCst: pairs with `blocking::enter` (increment, then load this flag):
    // either we see its call below, or it sees us asleep and kicks.
    SYSMON_ASLEEP.store(true, Ordering::SeqCst);
    if blocking::in_blocking() == 0 {
        sched().timers.run(until);
    }
    SYSMON_ASLEEP.store(false, Ordering::SeqCst);
}
