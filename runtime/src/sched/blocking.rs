//! Blocking calls: `gort::blocking(f)` runs `f` on the current M while
//! its P may go to another M (Go's `entersyscall`/`exitsyscall` with
//! sysmon's `retake`/`handoffp`).
//!
//! Entering marks the P "in a blocking call" (`P::syscall`, with a tick
//! that makes the mark unique) and forgets it in the thread context: `f`
//! runs as if on a plain thread, so a `spawn` inside it goes to the global
//! queue and a park inside it blocks the thread. The P is *not* handed off
//! at once: most calls are short, and a hand-off costs a thread wake-up.
//! sysmon instead looks every 20 µs–10 ms while any call is in progress and
//! retakes a P whose mark it has seen unchanged for 20 µs, handing it to
//! another M if there is work (or to the idle list).
//!
//! Leaving: a CAS clears the mark. If it succeeds the G goes on with its P
//! (the fast path: two atomic operations). If sysmon won, the G takes an
//! idle P if there is one; otherwise it readies itself onto the global
//! queue and its M, now without a P, goes idle (`M::execute` notices).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::sched::g::{current_g, current_p, set_current_g, set_current_p, Status, WaitReason, G};
use crate::sched::p::P;
use crate::sched::park;
use crate::sched::sched;

/// How long a P may sit in a blocking call before sysmon retakes it.
pub(crate) const RETAKE_AFTER: Duration = Duration::from_micros(20);

/// Ms inside `blocking` (with or without their P). Written on entry and
/// exit, read by sysmon to choose how long to sleep.
static IN_BLOCKING: AtomicUsize = AtomicUsize::new(0);

/// Whether sysmon is in a long sleep and must be kicked by the next call.
pub(crate) static SYSMON_ASLEEP: AtomicBool = AtomicBool::new(false);

/// Runs `f`, a call that may block its OS thread (file I/O, DNS, a C
/// library), without stalling the other goroutines: if `f` takes longer
/// than about 20 µs, the goroutine's P is handed to another thread. Returns
/// what `f` returns. On a plain thread it just calls `f`.
///
/// Inside `f` the caller counts as a plain thread: parking blocks the
/// thread, and [`current`](crate::current) is `None`.
///
/// ```
/// let n = gort::go!(|| gort::blocking(|| std::fs::read("Cargo.toml").map(|b| b.len()))).join().unwrap();
/// assert!(n.unwrap() > 0);
/// ```
pub fn blocking<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    let (Some(g), Some(p)) = (current_g(), current_p()) else { return f() };
    let running = g.status();
    g.set_status(Status::InBlocking);
    let mark = enter(p);
    set_current_g(std::ptr::null());
    let r = f();
    set_current_g(g);
    exit(g, running, p, mark);
    r
}

fn enter(p: &'static P) -> u64 {
    // Relaxed: only this M writes a set mark; others only CAS it away.
    let mark = ((p.syscall.load(Ordering::Relaxed) >> 1) + 1) << 1 | 1;
    // Release: pairs with sysmon's Acquire load; our P's run queue state
    // before the call is visible to the M it is handed to.
    p.syscall.store(mark, Ordering::Release);
    set_current_p(None);
    // SeqCst: pairs with sysmon's store of SYSMON_ASLEEP then load of
    // IN_BLOCKING: either it sees our call or we see it asleep and kick.
    IN_BLOCKING.fetch_add(1, Ordering::SeqCst);
    if SYSMON_ASLEEP.load(Ordering::SeqCst) {
        sched().timers.kick();
    }
    mark
}

/// Leaves the call: `g` goes on as `running` (its status before the
/// call), on `p` if sysmon left it, on an idle P if one is free, or queued.
fn exit(g: &G, running: Status, p: &'static P, mark: u64) {
    // SeqCst: the same total order as `enter`'s increment (a count only).
    IN_BLOCKING.fetch_sub(1, Ordering::SeqCst);
    // AcqRel: pairs with sysmon's CAS in `retake`; whoever wins owns the P.
    if p.syscall.compare_exchange(mark, mark & !1, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
        set_current_p(Some(p));
        g.set_status(running);
        return;
    }
    if let Some(p) = sched().idle.pidleget() {
        set_current_p(Some(p));
        // The G goes on here as if it just started on `p` (`pidleget`
        // ticked it), so the preempter and the blocked-M warning
        // (`hog.rs`) time it afresh.
        p.running.publish(p.schedtick(), g);
        if let Status::Running { m, .. } = running {
            g.set_status(Status::Running { m, p: p.id });
        }
        return;
    }
    // No P: queue ourselves; our M sees it holds no P and goes idle.
    park::park(WaitReason::Blocking, |w| {
        w.wake();
        Ok(())
    });
}

/// Ms currently inside `blocking`.
pub(crate) fn in_blocking() -> usize {
    // SeqCst: pairs with `enter`; see `sysmon::sleep_deep`.
    IN_BLOCKING.load(Ordering::SeqCst)
}

/// sysmon's half: marks seen on the previous look, per P.
pub(crate) struct Retaker {
    seen: Vec<(u64, Instant)>,
}

impl Retaker {
    pub(crate) fn new(procs: usize) -> Retaker {
        Retaker { seen: vec![(0, Instant::now()); procs] }
    }

    /// Retakes every P stuck in one blocking call for `RETAKE_AFTER`;
    /// returns how many.
    pub(crate) fn retake(&mut self) -> usize {
        let s = sched();
        let now = Instant::now();
        let mut n = 0;
        for (p, seen) in s.ps.iter().zip(&mut self.seen) {
            // Acquire: pairs with the Release in `enter`.
            let mark = p.syscall.load(Ordering::Acquire);
            if mark & 1 == 0 {
                continue;
            }
            if seen.0 != mark {
                *seen = (mark, now);
                continue;
            }
            // AcqRel: pairs with the CAS in `exit`.
            if now - seen.1 >= RETAKE_AFTER
                && p.syscall.compare_exchange(mark, mark & !1, Ordering::AcqRel, Ordering::Relaxed).is_ok()
            {
                s.idle.handoff(p);
                n += 1;
            }
        }
        n
    }
}
