//! Nothing leaks: a long-lived parent with a million short-lived children
//! that nobody cancels keeps a flat memory profile and no timers, and
//! `after_func` on a context that never ends costs no goroutine and no
//! timer. Each test runs in a child process of its own, so the counters
//! it reads are not moved by other tests.

mod common;

use std::time::{Duration, Instant};

use gort::context::Context;

const MARKER: &str = "ctx_leak: checked";

/// Runs `test` in a child process, which runs `body` and prints the marker.
fn isolated(test: &str, body: impl FnOnce()) {
    if common::is_child() {
        body();
        println!("{MARKER}");
        return;
    }
    let out = common::run_child(test, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(MARKER),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Resident memory in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// One short-lived child of `parent` of each kind, dropped without cancel.
fn churn(parent: &Context, n: usize) {
    let far = Instant::now() + Duration::from_secs(3600);
    for i in 0..n {
        let (child, cancel) = match i % 4 {
            0 => parent.with_cancel(),
            1 => parent.with_timeout(Duration::from_secs(3600)),
            2 => parent.with_deadline(far),
            _ => parent.with_value(i).with_cancel(),
        };
        let watch = child.after_func(|| unreachable!("nobody ends it"));
        let (grandchild, _c) = child.with_timeout(Duration::from_secs(60));
        drop((child, cancel, watch, grandchild));
    }
}

#[test]
fn a_million_uncancelled_children_leave_memory_and_timers_flat() {
    isolated("a_million_uncancelled_children_leave_memory_and_timers_flat", || {
        let (parent, cancel) = Context::background().with_timeout(Duration::from_secs(3600));
        churn(&parent, 100_000);
        let (rss_before, timers_before) = (rss(), gort::stats().timers);
        churn(&parent, 1_000_000);
        let (rss_after, timers_after) = (rss(), gort::stats().timers);
        assert_eq!(timers_after, timers_before, "every child's timer was stopped");
        // A leaked child would cost at least 100 bytes: 100 MB for all.
        let grown = rss_after.saturating_sub(rss_before);
        assert!(grown < 8 << 20, "RSS grew by {grown} bytes over 1,000,000 children");
        let (ran_tx, ran) = gort::chan::bounded(1);
        parent.after_func(move || ran_tx.send(()).unwrap());
        cancel.cancel();
        ran.recv().unwrap();
    });
}

#[test]
fn after_func_on_a_context_that_never_ends_costs_no_goroutine_and_no_timer() {
    isolated("after_func_on_a_context_that_never_ends_costs_no_goroutine_and_no_timer", || {
        let before = gort::stats();
        let (ctx, cancel) = Context::background().with_value(7u8).with_cancel();
        let stops: Vec<_> = (0..1_000).map(|_| ctx.without_cancel().after_func(|| unreachable!())).collect();
        let forever = Context::background();
        let more: Vec<_> = (0..1_000).map(|_| forever.after_func(|| unreachable!())).collect();
        let after = gort::stats();
        assert_eq!(after.spawned, before.spawned);
        assert_eq!(after.timers, before.timers);
        cancel.cancel();
        assert!(stops.iter().chain(&more).all(|f| f.stop()));
    });
}
