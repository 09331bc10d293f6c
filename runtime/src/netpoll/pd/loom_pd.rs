//! Loom models of a poll descriptor's slot: a wait racing readiness, its
//! deadline timer, a deadline change and eviction, on a model clock and
//! timer heap ([`Model`]). Each model checks that the wait returns (a lost
//! wake-up is a loom deadlock), with a result its racers allow, and that
//! it leaves nothing behind: no parked wait, at most the one armed timer
//! per direction, and none once the descriptor is released.

use std::io::ErrorKind;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::slot::{Env, Slot};
use super::Interest;
use crate::loom::sync::Mutex;
use crate::netpoll::Event;
use crate::sched::g::WaitReason;
use crate::sched::park::Waiter;
use crate::timer::TimerId;
use loom::sync::atomic::{AtomicBool, AtomicU64};

/// The wait reason the models' reads park with (the dump is not modelled).
const READ: WaitReason = WaitReason::NetRead(0);
use loom::thread;

/// The model's environment: a clock that jumps past `deadline()` when
/// [`deadlines_pass`] says so, and a list standing for the timer heap.
struct Model;

type Timer = (TimerId, Instant, Box<dyn FnOnce() + Send>);

loom::lazy_static! {
    /// Whether the model's time has passed `deadline()` (never `never()`).
    static ref PASSED: AtomicBool = AtomicBool::new(false);
    /// Armed timers, oldest first.
    static ref TIMERS: Mutex<Vec<Timer>> = Mutex::default();
    static ref NEXT_ID: AtomicU64 = AtomicU64::new(1);
}

/// The model clock's origin (the same for every execution).
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// A deadline that [`deadlines_pass`] passes.
fn deadline() -> Instant {
    origin() + Duration::from_secs(1)
}

/// A deadline the model's time never reaches.
fn never() -> Instant {
    origin() + Duration::from_secs(10)
}

impl Env for Model {
    fn now() -> Instant {
        // SeqCst: the model's time is one clock that every thread reads.
        origin() + Duration::from_secs(if PASSED.load(SeqCst) { 3 } else { 0 })
    }

    fn add_timer(when: Instant, fire: Box<dyn FnOnce() + Send>) -> TimerId {
        // Relaxed: only uniqueness matters.
        let id = TimerId::from_raw(NEXT_ID.fetch_add(1, Relaxed));
        TIMERS.lock().push((id, when, fire));
        id
    }

    fn cancel_timer(id: TimerId) {
        TIMERS.lock().retain(|t| t.0 != id);
    }

    fn ensure_poller() {}
}

/// Time passes `deadline()`, then one sweep of sysmon's fires the due
/// timers, outside any slot lock. Taking `slot`'s lock once first puts in
/// the list every timer armed by a wait that read the clock before time
/// passed (the check and the arm share a critical section). A timer that
/// `set_deadline` re-arms after the sweep would fire at a later sweep of
/// the real heap, which the model has not: models that re-time end with
/// an eviction instead.
fn deadlines_pass(slot: &Slot<Model>) {
    PASSED.store(true, SeqCst);
    drop(slot.st.lock());
    let now = Model::now();
    let due: Vec<Timer> = {
        let mut timers = TIMERS.lock();
        let (due, rest) = std::mem::take(&mut *timers).into_iter().partition(|t| t.1 <= now);
        *timers = rest;
        due
    };
    due.into_iter().for_each(|(_, _, fire)| fire());
}

/// A readiness event for `slot`'s current generation; wakes what it woke.
fn event(slot: &Slot<Model>, readable: bool, hup: bool) {
    let gen = slot.st.lock().gen;
    let ev = Event { token: u64::from(gen), readable, writable: false, hup: [hup, false], urgent: false };
    let mut woken = Vec::new();
    slot.notify(gen, &ev, &mut woken);
    woken.into_iter().for_each(Waiter::wake);
}

/// Runs `f` on a fresh slot that lives through the execution, then checks
/// that nothing was left parked, that timers did not pile up, and that
/// releasing the slot (dropping its descriptor) disarms them all.
fn model(f: fn(&'static Slot<Model>)) {
    loom::model(move || {
        let slot: &'static Slot<Model> = Box::leak(Box::default());
        f(slot);
        assert!(slot.st.lock().dirs.iter().all(|d| d.waits.is_empty()), "a wait was left parked");
        assert!(TIMERS.lock().len() <= 2, "more than one timer armed per direction");
        slot.release();
        assert!(TIMERS.lock().is_empty(), "a deadline timer outlived its descriptor");
        // SAFETY: `f` joined every thread it started, and no timer (whose
        // callback borrows the slot) is left, so this is the last use.
        drop(unsafe { Box::from_raw(std::ptr::from_ref(slot).cast_mut()) });
    });
}

fn spawn(f: impl FnOnce() + 'static) -> thread::JoinHandle<()> {
    thread::spawn(f)
}

/// Sets the read deadline to `at`, then waits once with an event racing
/// the wait, which either way ends it: any timer the wait armed outlives it.
fn event_ends_a_wait_with_deadline(slot: &'static Slot<Model>, at: Instant) {
    slot.set_deadline(Interest::Read, Some(at));
    let t = spawn(move || event(slot, true, false));
    slot.wait(Interest::Read, None, READ).unwrap();
    t.join().unwrap();
}

/// An event before the wait is kept for it (`ready`), one during the wait
/// wakes it: either way the wait returns and consumes it.
#[test]
fn readiness_races_wait() {
    model(|slot| {
        let t = spawn(move || event(slot, true, false));
        slot.wait(Interest::Read, None, READ).unwrap();
        t.join().unwrap();
        assert!(!slot.st.lock().dirs[0].ready, "the wait left its event unconsumed");
    });
}

/// A wait with a per-call deadline, raced by readiness and the deadline's
/// timer: it returns `Ok` or `TimedOut`, and its timer goes either way.
#[test]
fn deadline_races_readiness() {
    model(|slot| {
        let (a, b) = (spawn(move || event(slot, true, false)), spawn(move || deadlines_pass(slot)));
        let r = slot.wait(Interest::Read, Some(deadline()), READ);
        assert!(matches!(r.as_ref().map_err(|e| e.kind()), Ok(()) | Err(ErrorKind::TimedOut)), "{r:?}");
        a.join().unwrap();
        b.join().unwrap();
    });
}

/// Eviction racing a wait whose descriptor deadline passes: the wait fails
/// (closed or timed out), and every later wait fails as closed.
#[test]
fn evict_races_wait_and_deadline() {
    model(|slot| {
        slot.set_deadline(Interest::Read, Some(deadline()));
        let (a, b) = (spawn(move || slot.evict(None)), spawn(move || deadlines_pass(slot)));
        let kind = slot.wait(Interest::Read, None, READ).unwrap_err().kind();
        assert!(matches!(kind, ErrorKind::ConnectionAborted | ErrorKind::TimedOut), "{kind:?}");
        a.join().unwrap();
        b.join().unwrap();
        let after = slot.wait(Interest::Read, None, READ).unwrap_err().kind();
        assert_eq!(after, ErrorKind::ConnectionAborted);
    });
}

/// `set_deadline` moves a parked wait's deadline out of reach while its old
/// timer fires; then the socket closes. However they interleave, the wait
/// returns, and no timer is left unaccounted for: the timer that
/// `expire` arms again for the later deadline is the direction's one armed
/// timer, which the release cancels (the bug fixed in 3ebe9ae was such a
/// re-armed timer outliving everything).
#[test]
fn set_deadline_races_expiry() {
    model(|slot| {
        slot.set_deadline(Interest::Read, Some(deadline()));
        let a = spawn(move || slot.set_deadline(Interest::Read, Some(never())));
        let b = spawn(move || {
            deadlines_pass(slot);
            slot.evict(None);
        });
        drop(slot.wait(Interest::Read, None, READ));
        a.join().unwrap();
        b.join().unwrap();
    });
}

/// A hang-up is sticky: both readers of a shared socket return, however
/// their waits interleave with the one event that brought it.
#[test]
fn hangup_reaches_every_reader() {
    model(|slot| {
        let other = spawn(move || slot.wait(Interest::Read, None, READ).unwrap());
        let ev = spawn(move || event(slot, true, true));
        slot.wait(Interest::Read, None, READ).unwrap();
        other.join().unwrap();
        ev.join().unwrap();
    });
}

/// A wait woken by readiness leaves its deadline timer armed; when it fires
/// while a later wait with a later deadline is parked, it must not time
/// that wait out, but arm again for it. The later wait returns `Ok` (its
/// event) however the firing interleaves with the event.
#[test]
fn early_timer_rearms_for_a_later_deadline() {
    model(|slot| {
        event_ends_a_wait_with_deadline(slot, deadline());
        slot.set_deadline(Interest::Read, Some(never()));
        let (a, b) = (spawn(move || deadlines_pass(slot)), spawn(move || event(slot, true, false)));
        slot.wait(Interest::Read, None, READ).unwrap();
        a.join().unwrap();
        b.join().unwrap();
    });
}

/// The armed timer of an earlier wait fires too late for a shortened
/// deadline: the next wait must arm an earlier one (replacing it), or it
/// would sleep through its deadline (a loom deadlock here, since only the
/// timer can wake it).
#[test]
fn shorter_deadline_arms_an_earlier_timer() {
    model(|slot| {
        event_ends_a_wait_with_deadline(slot, never());
        slot.set_deadline(Interest::Read, Some(deadline()));
        let t = spawn(move || deadlines_pass(slot));
        let kind = slot.wait(Interest::Read, None, READ).unwrap_err().kind();
        assert_eq!(kind, ErrorKind::TimedOut);
        t.join().unwrap();
    });
}
