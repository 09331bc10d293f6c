//! M: an OS thread running the schedule loop. An M runs Gs only while it
//! holds a P; with nothing to do it releases the P and sleeps on its own
//! condition variable until `startm` hands it a P again. Ms are never torn
//! down (Go keeps them too), so `&'static M` is their handle.
//!
//! The loop (Go's `schedule` → `findRunnable` → `execute`): find a G, run it
//! until it switches out, carry out its request (requeue on yield, run the
//! park callback, recycle the stack on exit), repeat.

use std::fmt;
use std::ptr;
use std::thread;

use parking_lot::{Condvar, Mutex};

use crate::coro::Req;
use crate::netpoll::{self, Poller};
use crate::sched::allgs::RunningOn;
use crate::sched::coarse;
use crate::sched::deadlock::RuntimeThread;
use crate::sched::g::{current_p, set_current_g, set_current_p, switched_out, Status, Switch, G};
use crate::sched::p::{bump, P};
use crate::sched::park::{self, Inject};
use crate::sched::{sched, steal, Sched};
use crate::stack;

/// An M's handle, shared with whoever wakes it.
pub(crate) struct M {
    /// The P (and whether the M counts as spinning) it should run with next.
    /// Written by `wake`, taken by the M in `stop`.
    next: Mutex<Option<(&'static P, bool)>>,
    cv: Condvar,
}

impl M {
    /// Gives a sleeping (or about to sleep) M a P.
    pub(crate) fn wake(&self, p: &'static P, spinning: bool) {
        *self.next.lock() = Some((p, spinning));
        self.cv.notify_one();
    }

    /// Sleeps until `wake`. The caller has already released its P.
    fn stop(&'static self) -> (&'static P, bool) {
        sched().idle.mput(self);
        let mut next = self.next.lock();
        loop {
            if let Some(n) = next.take() {
                return n;
            }
            self.cv.wait(&mut next);
        }
    }
}

/// Starts M number `id` running with `p`.
pub(crate) fn spawn_m(id: usize, p: &'static P, spinning: bool) {
    let m: &'static M = Box::leak(Box::new(M { next: Mutex::new(None), cv: Condvar::new() }));
    let spawned = thread::Builder::new().name(format!("gort-m{id}")).spawn(move || {
        let _counted = RuntimeThread::enter();
        stack::ensure_altstack();
        Mach::new(m, id as u32, p, spinning).run()
    });
    if let Err(e) = spawned {
        fatal(format_args!("cannot start an M: {e}"));
    }
}

/// A fatal runtime error (Go's `throw`): print and abort.
pub(crate) fn fatal(msg: fmt::Arguments<'_>) -> ! {
    eprintln!("gort: fatal error: {msg}");
    std::process::abort()
}

/// An M's own loop state; only its thread touches it.
struct Mach {
    m: &'static M,
    /// This M's number (its thread is `gort-m<id>`).
    id: u32,
    p: &'static P,
    /// `Running` on this M and `p`, as resumed Gs are marked.
    on: RunningOn,
    /// Whether this M is counted in `nmspinning`.
    spinning: bool,
}

impl Mach {
    fn new(m: &'static M, id: u32, p: &'static P, spinning: bool) -> Mach {
        set_current_p(Some(p));
        Mach { m, id, p, on: RunningOn::new(id, p.id), spinning }
    }

    fn run(mut self) -> ! {
        loop {
            let g = self.find_runnable();
            if self.spinning {
                self.reset_spinning();
            }
            self.execute(g);
            if current_p().is_none() {
                // The G came back from `blocking` to find its P retaken.
                let (p, spinning) = self.m.stop();
                self.acquire(p, spinning);
            }
        }
    }

    /// Runs `g` until it leaves this M. A park whose callback declines (the
    /// wake-up already happened) resumes the G at once; a park that leaves
    /// a local G to run (in a channel hand-off, the G the parked one just
    /// readied) goes straight on to it (`local_next`).
    fn execute(&mut self, mut g: Box<G>) {
        self.tick();
        loop {
            bump(&self.p.counters.switches);
            self.p.running.publish(self.p.schedtick(), &g);
            if g.is_unstarted() {
                // SAFETY: this M holds `self.p`; the borrow ends before the switch.
                g.start(&mut unsafe { self.p.local() }.cache.stacks);
            }
            set_current_g(ptr::from_ref(&*g));
            let switch = g.resume(self.on);
            // A `blocking` call inside the G may have traded our P for
            // another one, or left us with none (then `run` idles us).
            let Some(p) = switched_out() else {
                return self.orphan(switch, g);
            };
            self.set_p(p);
            match switch {
                Switch::Suspended(Req::Yield) => return self.requeue(g),
                Switch::Suspended(Req::Preempt) => return self.preempted(g),
                Switch::Suspended(Req::Park(req)) => {
                    bump(&p.counters.parks);
                    match req.run(g).or_else(|| self.local_next()) {
                        Some(next) => g = next,
                        None => return,
                    }
                }
                Switch::Finished(stack) => {
                    // SAFETY: this M holds `p`; the borrow ends in this block.
                    let local = unsafe { p.local() };
                    local.cache.stacks.put(stack);
                    local.cache.gfree.put(g.retire(), &sched().gfree);
                    bump(&p.counters.exited);
                    return;
                }
            }
        }
    }

    /// Counts a G started (the 61-tick fairness rule).
    #[inline]
    fn tick(&self) {
        self.p.tick();
    }

    /// The next G from the local queue (`runnext` first: in a channel
    /// hand-off, the G the last one readied), without the trip through
    /// `find_runnable`, which is only needed when the local queue is empty
    /// or on the 61st tick (the global queue's and the network's turn).
    #[inline]
    fn local_next(&self) -> Option<Box<G>> {
        if self.p.fairness_turn() {
            return None;
        }
        let g = self.p.pop_local()?;
        self.tick();
        Some(g)
    }

    /// The G switched out after its `blocking` call lost the P: only its
    /// park (which readies it onto the global queue) can happen here.
    fn orphan(&self, switch: Switch, g: Box<G>) {
        match switch {
            Switch::Suspended(Req::Park(req)) => {
                if req.run(g).is_some() {
                    fatal(format_args!("M::orphan: a G without a P declined to park"));
                }
            }
            _ => fatal(format_args!("M::orphan: a G left its M without a P other than by parking")),
        }
    }

    /// A yielding G goes to the back of the local queue.
    fn requeue(&self, g: Box<G>) {
        g.set_status(Status::Runnable);
        let global = &sched().global;
        self.p.runq.push_back(g, |rest| global.push_batch(rest));
    }

    /// A preempted G goes to the back of the global queue (Go's
    /// `gopreempt_m`), behind the Gs that waited there while it ran. No
    /// `wakep`: this M looks for work next and finds the global queue.
    fn preempted(&self, g: Box<G>) {
        g.set_status(Status::Runnable);
        sched().global.push(g);
    }

    /// Finds a G to run, sleeping while there is none. Returns holding a P.
    fn find_runnable(&mut self) -> Box<G> {
        let s = sched();
        loop {
            self.poll_on_fairness_tick();
            if let Some(g) = self.p.next_local(&s.global) {
                return g;
            }
            if let Some(g) = s.global.get_batch(self.p, s.procs()) {
                return g;
            }
            if netpoll::inline_poller().is_some_and(|np| np.poll_ready(Inject::Local)) {
                continue;
            }
            if self.spinning || s.idle.may_spin() {
                if !self.spinning {
                    self.spinning = true;
                    s.idle.spin_start();
                }
                if let Some(g) = steal::steal_work(self.p, s.ps) {
                    bump(&self.p.counters.steals);
                    return g;
                }
            }
            self.drop_p(s);
        }
    }

    /// `inline` netpoll: on the 61-tick fairness turn, collect ready sockets
    /// if nobody did for 10 ms, even though the queues are not empty, so
    /// goroutines that keep yielding to each other cannot starve the
    /// network while no M is blocked in the poller. What it readies joins
    /// the back of the global queue (`Inject::Global`), so it waits its
    /// turn behind older work.
    fn poll_on_fairness_tick(&self) {
        let Some(np) = netpoll::inline_poller() else { return };
        if self.p.fairness_turn() {
            np.poll_if_stale();
        }
    }

    /// A spinning M found work: stop counting it, and if it was the last
    /// spinner, wake another to look for more (Go's `resetspinning`).
    fn reset_spinning(&mut self) {
        self.spinning = false;
        let s = sched();
        if s.idle.spin_stop() == 0 {
            s.idle.wakep();
        }
    }

    /// Releases the P, re-checks every queue, and sleeps until given a P.
    fn drop_p(&mut self, s: &'static Sched) {
        let was_spinning = self.spinning;
        // SAFETY: this M holds `self.p` until `pidleput`; the borrow ends here.
        unsafe { self.p.local() }.cache.flush_idle(&s.gfree);
        s.idle.pidleput(self.p);
        set_current_p(None);
        if was_spinning {
            self.spinning = false;
            s.idle.spin_stop();
        }
        if let Some(p) = s.idle.recheck() {
            if was_spinning {
                s.idle.spin_start();
            }
            return self.acquire(p, was_spinning);
        }
        if let Some(np) = netpoll::inline_poller() {
            if self.poll_idle(s, np) {
                return;
            }
        }
        let (p, spinning) = self.m.stop();
        self.acquire(p, spinning);
    }

    /// `inline` netpoll mode, holding no P: while nobody else does, block in
    /// the poller, and come back with a P when it readied goroutines or was
    /// interrupted to take one (`Idle::startm`). The poller M never sleeps
    /// elsewhere, so an interrupt after a `pidleput` is always seen. Returns
    /// false when another M holds the polling role.
    fn poll_idle(&mut self, s: &'static Sched, np: &'static Poller) -> bool {
        loop {
            let Some(woken) = np.block() else { return false };
            let p = s.idle.pidleget();
            if let Some(p) = p {
                self.acquire(p, false);
            }
            if !woken.is_empty() {
                park::ready_batch(woken, Inject::Local);
            }
            if p.is_some() {
                return true;
            }
            // Work queued while we polled finds us here.
            if let Some(p) = s.idle.recheck() {
                self.acquire(p, false);
                return true;
            }
        }
    }

    /// Takes `p` to run Gs with, after an idle spell (which may have been
    /// long: the coarse clock's tick makes the next parks note a fresh time).
    fn set_p(&mut self, p: &'static P) {
        if !ptr::eq(self.p, p) {
            self.p = p;
            self.on = RunningOn::new(self.id, p.id);
        }
    }

    fn acquire(&mut self, p: &'static P, spinning: bool) {
        coarse::tick();
        self.set_p(p);
        self.spinning = spinning;
        set_current_p(Some(p));
    }
}
