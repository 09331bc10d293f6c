//! sysmon: the runtime's background thread (Go's `sysmon`). For now it fires
//! timers and, about once a second, trims the stacks that went back to the
//! global pool (gort's stack shrinking). It sleeps on the timer condition
//! variable between deadlines, so an idle process stays idle: one wake-up a
//! second at most. The same once-a-second tick sweeps the `sync::Pool`s.

use std::thread;
use std::time::{Duration, Instant};

use crate::sched::sched;
use crate::stack;

/// How often returned stacks are trimmed.
const TRIM_EVERY: Duration = Duration::from_secs(1);

/// Starts sysmon. It waits for the scheduler to finish initialising.
pub(crate) fn start() {
    let spawned = thread::Builder::new().name("gort-sysmon".into()).spawn(|| {
        let s = sched();
        let mut next_trim = Instant::now() + TRIM_EVERY;
        loop {
            s.timers.run(next_trim);
            if Instant::now() >= next_trim {
                stack::trim_sweep();
                crate::sync::sweep_pools();
                next_trim = Instant::now() + TRIM_EVERY;
            }
        }
    });
    if let Err(e) = spawned {
        crate::sched::m::fatal(format_args!("cannot start sysmon: {e}"));
    }
}
