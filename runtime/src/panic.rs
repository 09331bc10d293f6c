//! The panic hook: a panic on a goroutine is reported like std reports one on
//! a thread, naming the goroutine instead of the M's OS thread
//! (`goroutine 17 'conn' panicked at src/main.rs:3:5:`). The panic itself is
//! caught at the goroutine's root and handed to `JoinHandle::join` as `Err`;
//! the M carries on. Panics elsewhere go to the hook that was installed
//! before the runtime started.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::io::Write;
use std::panic::{self, PanicHookInfo};

use crate::sched::g::current_g;

/// Wraps the current panic hook (called once, when the runtime starts).
pub(crate) fn install_hook() {
    let prev = panic::take_hook();
    panic::set_hook(Box::new(move |info| match current_g() {
        Some(g) => report(g.id(), g.name(), info),
        None => prev(info),
    }));
}

fn report(id: u64, name: Option<&str>, info: &PanicHookInfo<'_>) {
    let msg = info.payload_as_str().unwrap_or("Box<dyn Any>");
    let mut who = format!("goroutine {id}");
    if let Some(n) = name {
        who = format!("{who} '{n}'");
    }
    let mut out = std::io::stderr().lock();
    let _ = match info.location() {
        Some(loc) => writeln!(out, "\n{who} panicked at {loc}:\n{msg}"),
        None => writeln!(out, "\n{who} panicked:\n{msg}"),
    };
    let bt = Backtrace::capture();
    let _ = match bt.status() {
        BacktraceStatus::Captured => writeln!(out, "stack backtrace:\n{bt}"),
        _ => writeln!(out, "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"),
    };
}
