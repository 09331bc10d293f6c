//! Cooperative preemption, as Go had it before 1.14: sysmon marks a G that
//! has held its M for over 10 ms, and the G yields its P at its next entry
//! into the runtime, even one that would not block.
//!
//! # How a long-running G is found
//!
//! Each P counts the Gs it starts (`P::schedtick`). On every look, sysmon
//! ([`Preempter::look`]) compares each held P's tick with the one it saw
//! before: unchanged for [`FORCE_PREEMPT`] means one G has run that long
//! (Go's `retake` with `forcePreemptNS`). sysmon then marks the P with that
//! tick (`P::mark_preempt`) and raises the process-wide [`PREEMPT`] flag.
//! A mark names its tick, so one left behind after the G moved on (it
//! parked before it saw the mark) asks nothing of the next G.
//!
//! # Where a G yields
//!
//! The entries that never switch otherwise call [`preempt_check`]: the
//! non-blocking channel operations, a `select!` that takes its `default`,
//! an uncontended `Mutex::lock`, `Pool::get`/`put`, a spawn, and
//! `gort-net`'s socket calls that did not need to park. Everything else that enters the
//! runtime switches anyway (park, yield). The check is one relaxed load of
//! `PREEMPT`; only when it is raised does the G look for its own P's mark
//! and, finding it, clear the mark and the flag and yield to the back of
//! the global queue (Go's `gopreempt_m`): behind everything that waited
//! there while it ran, so a busy loop cannot starve even a G that reached
//! the global queue (a back-of-local yield would see it only on every 61st
//! schedule). A flag raised for another P costs this check a function
//! call until sysmon's next look lowers it, or that P's G yields; sysmon
//! raises it again on each look while a mark is pending, so a G whose
//! check lost the flag to another's clear is caught one look later.
//!
//! # What it does not cover
//!
//! A loop that never calls into gort keeps its M and P: preemption is
//! cooperative. sysmon looks every 10 ms while a P is busy; with every P
//! idle it sleeps until the next timer or trim, so a G that starts a busy
//! loop from an idle process is first seen at that wake-up (at most a
//! second later, the trim period).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::coro::Req;
use crate::sched::g::{current_g, current_p};
use crate::sched::hog::Warner;
use crate::sched::sched;

/// How long a G may hold its M before it is asked to yield (Go's
/// `forcePreemptNS`).
pub(crate) const FORCE_PREEMPT: Duration = Duration::from_millis(10);

/// Raised by sysmon while some P is marked; lowered by the G that yields
/// for its mark, or by sysmon's next look. Relaxed everywhere: it is a
/// hint that sends a G to read its P's mark, and no data rides on it.
static PREEMPT: AtomicBool = AtomicBool::new(false);

/// Yields the P if sysmon asked the running goroutine to; for the runtime
/// entries that do not switch otherwise (see the `preempt` module doc).
/// One relaxed load unless a request is pending. Does nothing on a plain
/// thread.
#[doc(hidden)]
#[inline(always)]
pub fn preempt_check() {
    // Relaxed: see `PREEMPT`.
    if PREEMPT.load(Ordering::Relaxed) {
        preempt_slow();
    }
}

#[cold]
#[inline(never)]
fn preempt_slow() {
    let (Some(g), Some(p)) = (current_g(), current_p()) else { return };
    // On the M's stack (`system_stack`) the request waits for the next check.
    if !g.on_system_stack() && p.take_preempt() {
        // Relaxed: see `PREEMPT`.
        PREEMPT.store(false, Ordering::Relaxed);
        g.suspend(Req::Preempt);
    }
}

/// sysmon's half: the tick each P had when sysmon first saw it, and when;
/// and the blocked-M warning, which times the same ticks (`hog.rs`).
pub(crate) struct Preempter {
    seen: Vec<(u32, Instant)>,
    warner: Warner,
}

impl Preempter {
    pub(crate) fn new(procs: usize) -> Preempter {
        Preempter { seen: vec![(0, Instant::now()); procs], warner: Warner::new() }
    }

    /// Marks every P whose G has run for `FORCE_PREEMPT`, and sets the
    /// flag to whether any is marked.
    pub(crate) fn look(&mut self) {
        let now = Instant::now();
        let mut pending = false;
        for (p, seen) in sched().ps.iter().zip(&mut self.seen) {
            let tick = p.schedtick();
            // A P that is idle or in a blocking call runs no G of its own.
            // Relaxed: `blocking.rs` owns the mark's ordering; a stale
            // value here only delays or wastes one request.
            let in_call = p.syscall.load(Ordering::Relaxed) & 1 == 1;
            if tick != seen.0 || !p.is_held() || in_call {
                *seen = (tick, now);
            } else if now - seen.1 >= FORCE_PREEMPT {
                p.mark_preempt(tick);
                pending = true;
                self.warner.check(&p.running, tick, now - seen.1);
            }
        }
        // Relaxed: see `PREEMPT`.
        if PREEMPT.load(Ordering::Relaxed) != pending {
            PREEMPT.store(pending, Ordering::Relaxed);
        }
    }
}
