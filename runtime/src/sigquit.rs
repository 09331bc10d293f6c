//! `SIGQUIT` (Ctrl-\): writes the goroutine dump to stderr, then the
//! process goes on. With `GORT_TRACEBACK=crash` it then exits with status
//! 2, as a Go program does on SIGQUIT.
//!
//! The handler only wakes a thread of the runtime's (`gort-sigquit`),
//! which writes the dump: formatting, allocating and taking the
//! registry's lock are not async-signal-safe. `signal-hook` provides that
//! handler, its self-pipe and the iterator the thread blocks on, and
//! chains to no default action, so the process keeps running. Other
//! signals, and the SIGSEGV handler for stack overflows (`stack.rs`), are
//! left alone.

use std::io::Write;
use std::thread;

use signal_hook::consts::SIGQUIT;
use signal_hook::iterator::Signals;

use crate::sched::deadlock::RuntimeThread;

/// Installs the handler and starts its thread; called once, while the
/// scheduler starts. A failure is reported on stderr.
pub(crate) fn start() {
    let crash = std::env::var("GORT_TRACEBACK").is_ok_and(|v| v.trim() == "crash");
    let mut signals = match Signals::new([SIGQUIT]) {
        Ok(s) => s,
        Err(e) => return eprintln!("gort: cannot handle SIGQUIT: {e}"),
    };
    let spawned = thread::Builder::new().name("gort-sigquit".into()).spawn(move || {
        let _counted = RuntimeThread::enter();
        for _ in signals.forever() {
            write_dump();
            if crash {
                std::process::exit(2);
            }
        }
    });
    if let Err(e) = spawned {
        eprintln!("gort: cannot start the SIGQUIT thread: {e}");
    }
}

fn write_dump() {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "SIGQUIT: quit\n");
    let _ = crate::dump::dump(&mut err);
}
