//! `after_func`: runs once when the context ends, at once if it has;
//! `stop` and the end race so that exactly one wins. (Its cost on a
//! context that never ends is checked in `ctx_leak.rs`, in a process of
//! its own; ending a parked read with it, in `ctx_net.rs`.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gort::context::Context;

#[test]
fn after_func_runs_when_the_context_ends_or_at_once_if_it_has() {
    let (ctx, cancel) = Context::background().with_timeout(Duration::from_secs(3600));
    let (tx, rx) = gort::chan::unbounded();
    let tx2 = tx.clone();
    let f = ctx.after_func(move || tx2.send("on cancel").unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_millis(10)), Err(gort::chan::RecvTimeoutError::Timeout));
    cancel.cancel();
    assert_eq!(rx.recv(), Ok("on cancel"));
    assert!(!f.stop(), "it had started");
    let late = ctx.after_func(move || tx.send("at once").unwrap());
    assert_eq!(rx.recv(), Ok("at once"));
    assert!(!late.stop());
}

#[test]
fn after_func_and_stop_race_so_exactly_one_wins() {
    let ran = Arc::new(AtomicUsize::new(0));
    let mut stopped = 0;
    let rounds = 2_000;
    let (tx, rx) = gort::chan::unbounded();
    for i in 0..rounds {
        let (ctx, cancel) = Context::background().with_cancel();
        let (ran, tx) = (ran.clone(), tx.clone());
        let f = ctx.after_func(move || {
            ran.fetch_add(1, Ordering::SeqCst);
            tx.send(()).unwrap();
        });
        let canceller = gort::go!(move || cancel.cancel());
        if i % 2 == 0 {
            gort::yield_now();
        }
        let won = f.stop();
        assert!(!f.stop(), "only the first stop can win");
        canceller.join().unwrap();
        stopped += usize::from(won);
    }
    drop(tx);
    // Every callback that was not stopped runs, once.
    let finished = rx.iter().count();
    assert_eq!(finished, rounds - stopped);
    assert_eq!(ran.load(Ordering::SeqCst), rounds - stopped);
}

#[test]
fn a_callback_on_a_context_nobody_can_end_is_dropped_unrun() {
    let token = Arc::new(());
    let (ctx, cancel) = Context::background().with_cancel();
    let held = token.clone();
    let f = ctx.after_func(move || drop(held));
    drop((ctx, cancel));
    assert_eq!(Arc::strong_count(&token), 1, "the callback was dropped with the context");
    assert!(f.stop(), "it never ran and never will");
}
