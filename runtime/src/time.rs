//! Time: sleeping without holding an OS thread, and timers that deliver
//! on channels (`ticker.rs`).

mod ticker;

use std::time::{Duration, Instant};

use crate::sched::coarse;
use crate::sched::g::{current_g, current_p, WaitReason};
use crate::sched::park;
use crate::sched::sched;
use crate::timer::Fire;

pub use ticker::{after, tick, Ticker, Timer};

/// The time now, to within about 10 ms: on a goroutine, the runtime's
/// coarse clock, which sysmon and waking Ms tick (one relaxed load, where
/// `Instant::now()` reads the clock: 20-50 ns on a VM); on any other
/// thread, `Instant::now()`. It is never ahead of the real time, and
/// never goes back. Good for deadlines seconds away, as a server's idle
/// timeout, where a read of the clock per request would be the cost.
///
/// ```
/// use std::time::{Duration, Instant};
/// let (coarse, real) = gort::go!(|| (gort::time::coarse_now(), Instant::now())).join().unwrap();
/// assert!(coarse <= real && real - coarse < Duration::from_secs(1));
/// // Off the runtime's threads it is the real clock.
/// let before = Instant::now();
/// assert!(gort::time::coarse_now() >= before);
/// ```
pub fn coarse_now() -> Instant {
    match current_p() {
        Some(_) => coarse::now_instant(),
        None => Instant::now(),
    }
}

/// Puts the current goroutine to sleep for at least `d`; its M runs other
/// goroutines meanwhile. On a plain thread, sleeps the thread.
///
/// ```
/// use std::time::{Duration, Instant};
/// let t = Instant::now();
/// gort::go!(|| gort::time::sleep(Duration::from_millis(5))).join().unwrap();
/// assert!(t.elapsed() >= Duration::from_millis(5));
/// ```
pub fn sleep(d: Duration) {
    match Instant::now().checked_add(d) {
        Some(deadline) => sleep_until(deadline),
        None => sleep_until(far_future()),
    }
}

/// Sleeps until `deadline` (returns at once if it has passed).
pub fn sleep_until(deadline: Instant) {
    if current_g().is_none() {
        std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        return;
    }
    if deadline <= Instant::now() {
        return;
    }
    park::park(WaitReason::Sleep, |w| {
        sched().timers.add(deadline, Fire::Wake(w));
        Ok(())
    });
}

/// About thirty years from now: a deadline that never comes.
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}
