//! A coarse millisecond clock for "how long has this goroutine waited":
//! parking notes the time with one relaxed load of [`now_ms`] instead of a
//! clock read. Deadlines far off read it too (`time::coarse_now`, and the
//! poll descriptor's check of a deadline that has surely not passed).
//!
//! sysmon ticks it on every look (every 10 ms while a P is busy), and an M
//! ticks it when it wakes from idle, so a G that parks right after an idle
//! spell (when sysmon may have slept for up to a second) does not note a
//! stale time. It runs behind the true time by at most about 10 ms while
//! goroutines run. Times are milliseconds since the runtime started.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The last tick.
static NOW_MS: AtomicU64 = AtomicU64::new(0);

/// The time of the last tick (one relaxed load).
#[inline]
pub(crate) fn now_ms() -> u64 {
    // Relaxed: a timestamp for display; nothing is ordered by it.
    NOW_MS.load(Ordering::Relaxed)
}

/// The time of the last tick as an `Instant` (a relaxed load and an add).
#[inline]
pub(crate) fn now_instant() -> Instant {
    *EPOCH.get_or_init(Instant::now) + Duration::from_millis(now_ms())
}

/// Reads the real clock and advances the coarse one to it (never back:
/// two tickers may race).
pub(crate) fn tick() {
    // Relaxed: as in `now_ms`.
    NOW_MS.fetch_max(precise_ms(), Ordering::Relaxed);
}

/// The real time, in the coarse clock's unit, for readers that compare.
pub(crate) fn precise_ms() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}
