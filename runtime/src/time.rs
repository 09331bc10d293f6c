//! Time: sleeping without holding an OS thread, and timers that deliver
//! on channels (`ticker.rs`).

mod ticker;

use std::time::{Duration, Instant};

use crate::sched::g::{current_g, WaitReason};
use crate::sched::park;
use crate::sched::sched;
use crate::timer::Fire;

pub use ticker::{after, tick, Ticker, Timer};

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
