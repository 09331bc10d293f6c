//! Time on channels (Go's `time.After`, `time.Tick`, `Timer`, `Ticker`):
//! a runtime timer whose callback sends the current instant on a
//! one-slot channel, for use with `recv` or `select!`.
//!
//! The pending timer's id and a generation sit in a small lock shared with
//! the callback; `add` runs under it, so the callback (which takes it too)
//! always finds the id it belongs to, and one that was already firing when
//! `stop` or `reset` ran sees a newer generation and sends nothing. A tick that
//! finds the channel full is dropped (Go's rule: a slow reader misses
//! ticks rather than queueing them); once every receiver is gone the
//! callbacks stop re-arming.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex as Lock;

use crate::chan::{bounded, Receiver, Sender, TrySendError};
use crate::sched::sched;
use crate::time::far_future;
use crate::timer::{Fire, TimerId};

/// What the callback and the handle share.
struct Shared {
    tx: Sender<Instant>,
    armed: Lock<Armed>,
}

struct Armed {
    /// The pending timer, if any.
    id: Option<TimerId>,
    /// Bumped by every arm and stop: a callback already firing when the
    /// timer was stopped or reset finds a newer generation and does nothing,
    /// so no stale instant arrives after `stop` or `reset`.
    generation: u64,
    /// For tickers: the interval between ticks.
    period: Option<Duration>,
}

fn deadline(d: Duration) -> Instant {
    Instant::now().checked_add(d).unwrap_or_else(far_future)
}

impl Shared {
    fn start(period: Option<Duration>, first: Instant) -> (Receiver<Instant>, Arc<Shared>) {
        let (tx, rx) = bounded(1);
        let shared = Arc::new(Shared { tx, armed: Lock::new(Armed { id: None, generation: 0, period }) });
        shared.arm(&mut shared.armed.lock(), first);
        (rx, shared)
    }

    /// Adds the timer for `when`; the caller holds `armed`.
    fn arm(self: &Arc<Shared>, armed: &mut Armed, when: Instant) {
        armed.generation += 1;
        let (me, generation) = (self.clone(), armed.generation);
        armed.id = Some(sched().timers.add(when, Fire::Call(Box::new(move || me.fire(when, generation)))));
    }

    /// The timer callback, on sysmon.
    fn fire(self: Arc<Shared>, when: Instant, generation: u64) {
        let mut armed = self.armed.lock();
        if armed.generation != generation {
            return;
        }
        armed.id = None;
        let gone = matches!(self.tx.try_send(Instant::now()), Err(TrySendError::Disconnected(_)));
        if let (Some(period), false) = (armed.period, gone) {
            let next = (when + period).max(Instant::now());
            self.arm(&mut armed, next);
        }
    }

    /// Cancels the pending timer; true if it had not delivered. `fire`
    /// clears `id` under the lock before it sends, so an id still here
    /// means nothing was sent, and the new generation means nothing will
    /// be, even when sysmon has already taken the timer out of the heap
    /// and its callback waits for this lock (`cancel` then finds nothing).
    fn stop(&self, armed: &mut Armed) -> bool {
        armed.generation += 1;
        armed.id.take().inspect(|&id| drop(sched().timers.cancel(id))).is_some()
    }
}

/// A channel that receives the instant once, `d` from now (Go's
/// `time.After`).
///
/// The timer stays pending until it fires, even once the receiver is gone:
/// in a loop, a `select!` `default(d)` arm or a [`Timer`] (stopped when
/// dropped) frees its timer at once.
///
/// ```
/// use std::time::Duration;
/// let (_tx, rx) = gort::chan::bounded::<()>(0);
/// let timeout = gort::time::after(Duration::from_millis(5));
/// let timed_out = gort::select! {
///     recv(rx) -> _ => false,
///     recv(timeout) -> _ => true,
/// };
/// assert!(timed_out);
/// ```
pub fn after(d: Duration) -> Receiver<Instant> {
    Shared::start(None, deadline(d)).0
}

/// A channel that receives the instant every `d` (Go's `time.Tick`); the
/// ticks stop once the receiver is dropped.
///
/// # Panics
/// When `d` is zero.
pub fn tick(d: Duration) -> Receiver<Instant> {
    assert!(!d.is_zero(), "gort::time::tick: zero period");
    Shared::start(Some(d), deadline(d)).0
}

/// A one-shot timer delivering on a channel (Go's `time.Timer`).
///
/// ```
/// use std::time::Duration;
/// let mut t = gort::time::Timer::new(Duration::from_secs(3600));
/// assert!(t.stop(), "stopped before it fired");
/// t.reset(Duration::from_millis(1));
/// t.receiver().recv().unwrap();
/// ```
pub struct Timer {
    rx: Receiver<Instant>,
    shared: Arc<Shared>,
}

impl Timer {
    /// A timer that fires `d` from now.
    pub fn new(d: Duration) -> Timer {
        let (rx, shared) = Shared::start(None, deadline(d));
        Timer { rx, shared }
    }

    /// The channel the instant arrives on.
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the timer; true if it had not fired yet.
    pub fn stop(&self) -> bool {
        self.shared.stop(&mut self.shared.armed.lock())
    }

    /// Stops the timer, discards an undelivered instant, and re-arms it for
    /// `d` from now; true if it had not fired yet.
    pub fn reset(&mut self, d: Duration) -> bool {
        let pending = self.stop();
        // Outside the lock: a receive may yield (a preemption check), and
        // sysmon must not wait on the lock meanwhile. Stopped, the timer
        // sends nothing more.
        while self.rx.try_recv().is_ok() {}
        self.shared.arm(&mut self.shared.armed.lock(), deadline(d));
        pending
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A channel that receives the instant every period (Go's `time.Ticker`).
/// Ticks a slow receiver misses are dropped, not queued.
///
/// ```
/// use std::time::Duration;
/// let t = gort::time::Ticker::new(Duration::from_millis(1));
/// for _ in 0..3 {
///     t.receiver().recv().unwrap();
/// }
/// t.stop();
/// ```
pub struct Ticker {
    rx: Receiver<Instant>,
    shared: Arc<Shared>,
}

impl Ticker {
    /// A ticker whose first tick comes `period` from now.
    ///
    /// # Panics
    /// When `period` is zero.
    pub fn new(period: Duration) -> Ticker {
        assert!(!period.is_zero(), "gort::time::Ticker: zero period");
        let (rx, shared) = Shared::start(Some(period), deadline(period));
        Ticker { rx, shared }
    }

    /// The channel the ticks arrive on.
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the ticks.
    pub fn stop(&self) {
        let mut armed = self.shared.armed.lock();
        armed.period = None;
        self.shared.stop(&mut armed);
    }

    /// Changes the period; the next tick comes `period` from now.
    ///
    /// # Panics
    /// When `period` is zero.
    pub fn reset(&self, period: Duration) {
        assert!(!period.is_zero(), "gort::time::Ticker: zero period");
        let mut armed = self.shared.armed.lock();
        self.shared.stop(&mut armed);
        armed.period = Some(period);
        self.shared.arm(&mut armed, deadline(period));
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer").finish_non_exhaustive()
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker").finish_non_exhaustive()
    }
}
