//! Idle Ps, sleeping Ms, and the spinning count: who gets woken when new
//! work appears (Go's `pidle`, `midle`, `nmspinning`, `wakep`, `startm`).
//!
//! The lists sit behind one lock (Go's `sched.lock`), taken only when an M
//! goes idle or is woken, never on a spawn or ready that finds an M already
//! looking. `npidle` and `nmspinning` mirror the state for lock-free checks.
//! The lost-wakeup argument is in `sched/mod.rs`: the submitter publishes
//! work with a SeqCst operation before reading these counters (`wakep`); an
//! M going idle updates them before fencing and re-checking the queues
//! (`Idle::recheck`).

use std::sync::atomic::{fence, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::netpoll;
use crate::sched::m::{self, M};
use crate::sched::p::P;
use crate::sched::sched;

/// Go's limit on OS threads; past it the program is broken.
const MAX_MS: usize = 10_000;

struct Lists {
    ps: Vec<&'static P>,
    ms: Vec<&'static M>,
}

pub(crate) struct Idle {
    lists: Mutex<Lists>,
    /// Number of Ps in `lists.ps`. Written under the lock, read anywhere.
    npidle: AtomicUsize,
    /// Ms looking for work (stealing) rather than running Gs or sleeping.
    nmspinning: AtomicUsize,
    /// Ms ever started.
    mcount: AtomicUsize,
}

impl Idle {
    /// Every P starts idle; Ms are started by the first `wakep`.
    pub(crate) fn new(ps: &'static [P]) -> Idle {
        Idle {
            lists: Mutex::new(Lists { ps: ps.iter().rev().collect(), ms: Vec::new() }),
            npidle: AtomicUsize::new(ps.len()),
            nmspinning: AtomicUsize::new(0),
            mcount: AtomicUsize::new(0),
        }
    }

    /// Wakes one M to look for work, if a P is idle and nobody is looking.
    ///
    /// The caller has just published work with a SeqCst operation (the
    /// `runnext` swap) or followed its publication with `fence(SeqCst)`:
    /// together with the SeqCst loads here, that pairs with the fence in
    /// `recheck`, so either we see the idle P or its M sees the work.
    #[inline]
    pub(crate) fn wakep(&self) {
        // SeqCst: see above; on x86 these are plain loads.
        if self.npidle.load(Ordering::SeqCst) == 0 || self.nmspinning.load(Ordering::SeqCst) != 0 {
            return;
        }
        self.wakep_slow();
    }

    #[cold]
    fn wakep_slow(&self) {
        // Only one waker gets to start a spinning M.
        if self.nmspinning.compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed).is_err() {
            return;
        }
        match self.pidleget() {
            Some(p) => self.startm(p, true),
            None => {
                self.nmspinning.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Hands `p` to an idle M, starting one if none sleeps. `spinning`: the
    /// caller already counted the M in `nmspinning`.
    fn startm(&self, p: &'static P, spinning: bool) {
        let idle_m = self.lists.lock().ms.pop();
        match idle_m {
            Some(m) => m.wake(p, spinning),
            None if self.hand_to_poller(p, spinning) => {}
            None => self.startm_thread(p, spinning),
        }
    }

    /// Starts a new M with `p` (Go's `newm`), up to the cap.
    fn startm_thread(&self, p: &'static P, spinning: bool) {
        let n = self.mcount.fetch_add(1, Ordering::Relaxed);
        if n >= MAX_MS {
            m::fatal(format_args!(
                "startm: program exceeds the {MAX_MS}-thread limit (too many blocking calls?)"
            ));
        }
        m::spawn_m(n, p, spinning);
    }

    /// With no idle M, an M blocked in the `inline` netpoller can take `p`
    /// instead of a new thread: put `p` back and interrupt the poller, which
    /// re-checks for an idle P when it wakes (`M::poll_idle`). Returns false
    /// (and keeps `p`) when nobody is blocked there.
    fn hand_to_poller(&self, p: &'static P, spinning: bool) -> bool {
        let Some(np) = netpoll::inline_poller() else { return false };
        self.pidleput(p);
        if spinning {
            self.spin_stop();
        }
        // SeqCst (inside `is_blocked`): after our `pidleput`, so a poller that
        // clears the flag later sees our P when it looks for one.
        if np.is_blocked() {
            np.interrupt();
            return true;
        }
        // Nobody polls: take a P back (if one is still idle) for a new M.
        if let Some(p) = self.pidleget() {
            if spinning {
                self.spin_start();
            }
            self.startm_thread(p, spinning);
        }
        true
    }

    /// Gives away a P retaken from a blocking call (Go's `handoffp`): to an
    /// M if there is work, else to the idle list — re-checking the queues
    /// after the fence, as an M going idle does, so work queued meanwhile
    /// is not stranded.
    pub(crate) fn handoff(&self, p: &'static P) {
        let s = sched();
        if !p.runq.is_empty() || !s.global.is_empty() {
            return self.startm(p, false);
        }
        self.pidleput(p);
        if let Some(p) = self.recheck() {
            self.startm(p, false);
        }
    }

    /// The second half of giving a P up (`M::drop_p`, the poller M, a
    /// retaken P): after the P is on the idle list, fence and look at every
    /// queue again, taking an idle P back if work is there. The fence pairs
    /// with the submitter's SeqCst publication before `wakep`: either it saw
    /// our P idle (and wakes an M), or we see its work here.
    pub(crate) fn recheck(&self) -> Option<&'static P> {
        fence(Ordering::SeqCst);
        let s = sched();
        let work = !s.global.is_empty() || s.ps.iter().any(|p| !p.runq.is_empty());
        if work {
            self.pidleget()
        } else {
            None
        }
    }

    /// Releases `p` to the idle list (Go's `pidleput`).
    pub(crate) fn pidleput(&self, p: &'static P) {
        p.set_held(false);
        let mut l = self.lists.lock();
        l.ps.push(p);
        // SeqCst: see the module doc.
        self.npidle.fetch_add(1, Ordering::SeqCst);
    }

    /// Takes an idle P (Go's `pidleget`). Taking it counts as a schedule
    /// tick: sysmon may have slept through the idle spell (`sysmon.rs`
    /// sleeps deep while every P is idle), so its record of the P's tick
    /// can be as old as the spell, and an unchanged tick on a held P would
    /// read as one G running all that time (`preempt.rs`). The taker is
    /// the P's only holder from here on, so the tick's holder-only rule
    /// holds.
    pub(crate) fn pidleget(&self) -> Option<&'static P> {
        let mut l = self.lists.lock();
        let p = l.ps.pop()?;
        self.npidle.fetch_sub(1, Ordering::SeqCst);
        p.tick();
        p.set_held(true);
        Some(p)
    }

    /// Puts `m` on the idle list; the caller then sleeps in `M::stop`.
    pub(crate) fn mput(&self, m: &'static M) {
        self.lists.lock().ms.push(m);
    }

    /// Whether an M that is not yet spinning may start (2 × spinning < busy Ps).
    pub(crate) fn may_spin(&self) -> bool {
        let busy = sched().procs() - self.npidle.load(Ordering::Relaxed);
        2 * self.nmspinning.load(Ordering::Relaxed) < busy
    }

    pub(crate) fn spin_start(&self) {
        self.nmspinning.fetch_add(1, Ordering::SeqCst);
    }

    /// An M stops spinning; returns how many still spin.
    pub(crate) fn spin_stop(&self) -> usize {
        let prev = self.nmspinning.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(prev > 0, "spin_stop: nmspinning underflow");
        prev - 1
    }

    pub(crate) fn npidle(&self) -> usize {
        self.npidle.load(Ordering::Relaxed)
    }

    pub(crate) fn nmspinning(&self) -> usize {
        self.nmspinning.load(Ordering::Relaxed)
    }

    pub(crate) fn mcount(&self) -> usize {
        self.mcount.load(Ordering::Relaxed)
    }
}
