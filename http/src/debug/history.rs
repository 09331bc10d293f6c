//! The last minutes of `gort::stats()`, so that a fresh load of the page
//! charts them at once: a ring of samples, one a second, filled by a
//! goroutine named "gort debug sampler".
//!
//! # Who touches what
//! - The sampler, started by the first [`start`], pushes one [`Sample`] a
//!   second and drops the oldest past [`SAMPLES`].
//! - Handlers copy the ring out ([`samples`]) and serialize the copy.
//!
//! Both hold the ring's lock only to push or to copy, never across I/O
//! or a park, which is why a plain `parking_lot` lock fits here: nobody
//! waits on it for longer than a few hundred `Stats` clones.
//!
//! # Cost
//! One `gort::stats()` a second (a sum over the Ps' counters, no
//! stop-the-world), one timer, and about 300 × 200 bytes of samples.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use gort_runtime::sync::Once;
use gort_runtime::Stats;
use parking_lot::Mutex;

/// Time between two samples.
pub(super) const INTERVAL: Duration = Duration::from_secs(1);

/// Samples kept: five minutes at [`INTERVAL`].
pub(super) const SAMPLES: usize = 300;

/// The sampler goroutine's name, as the goroutine dump shows it.
pub(super) const SAMPLER_NAME: &str = "gort debug sampler";

/// One reading of the runtime's counters.
#[derive(Clone)]
pub(super) struct Sample {
    /// When it was read, in ms since the Unix epoch (the page's x axis, so
    /// history and live polls share one clock: the server's).
    pub(super) unix_ms: u64,
    pub(super) stats: Stats,
}

impl Sample {
    /// Reads the counters now.
    pub(super) fn now() -> Sample {
        let stats = gort_runtime::stats();
        let unix_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Sample { unix_ms, stats }
    }
}

/// The ring: oldest first, at most [`SAMPLES`] long.
static RING: Mutex<VecDeque<Sample>> = Mutex::new(VecDeque::new());

/// Starts the sampler, once per process. gort's `Once`: a spawn may
/// yield, and a latecomer must park meanwhile, not block its thread.
pub(super) fn start() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let b = gort_runtime::Builder::new().name(SAMPLER_NAME);
        if let Err(e) = gort_runtime::go!(b, sample_forever) {
            eprintln!("gort::http::debug: cannot start the {SAMPLER_NAME:?} goroutine ({e}): no history");
        }
    });
}

/// A copy of the ring, oldest first.
pub(super) fn samples() -> Vec<Sample> {
    RING.lock().iter().cloned().collect()
}

fn sample_forever() {
    let mut next = Instant::now();
    loop {
        let s = Sample::now();
        push(&mut RING.lock(), s);
        // A fixed cadence, without a burst of catch-up samples after a stall.
        next = (next + INTERVAL).max(Instant::now());
        gort_runtime::time::sleep_until(next);
    }
}

fn push(ring: &mut VecDeque<Sample>, s: Sample) {
    if ring.len() == SAMPLES {
        ring.pop_front();
    }
    ring.push_back(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_samples() {
        let mut ring = VecDeque::new();
        for i in 0..SAMPLES as u64 + 5 {
            push(&mut ring, Sample { unix_ms: i, stats: Stats::default() });
        }
        assert_eq!(ring.len(), SAMPLES);
        assert_eq!(ring.front().map(|s| s.unix_ms), Some(5));
        assert_eq!(ring.back().map(|s| s.unix_ms), Some(SAMPLES as u64 + 4));
    }
}
