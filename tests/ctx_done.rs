//! `done()`: woken plain threads and goroutines, `for` loops, `select!`
//! fairness against a busy channel, and timeouts that fire.

use std::time::{Duration, Instant};

use gort::context::{Context, Error};

#[test]
fn a_plain_thread_blocked_on_done_is_woken() {
    let (ctx, cancel) = Context::background().with_cancel();
    let waiter = {
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            let r = ctx.done().recv();
            (r.is_err(), ctx.err())
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    assert!(!waiter.is_finished(), "done() blocks while the context runs");
    cancel.cancel();
    assert_eq!(waiter.join().unwrap(), (true, Some(Error::Canceled)));
}

#[test]
fn goroutines_blocked_on_done_are_all_woken_by_a_timeout() {
    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(20));
    let hs: Vec<_> = (0..100)
        .map(|_| {
            let ctx = ctx.clone();
            gort::go!(move || {
                let mut sent = 0;
                for () in ctx.done() {
                    sent += 1;
                }
                (sent, ctx.err())
            })
        })
        .collect();
    for h in hs {
        assert_eq!(h.join().unwrap(), (0, Some(Error::DeadlineExceeded)), "nothing is sent on done()");
    }
}

#[test]
fn a_timeout_fires_within_its_slack() {
    let timeout = Duration::from_millis(30);
    let start = Instant::now();
    let (ctx, _cancel) = Context::background().with_timeout(timeout);
    assert!(ctx.err().is_none());
    let late = gort::go!(move || {
        ctx.done().recv().unwrap_err();
        (Instant::now(), ctx.err())
    });
    let (at, err) = late.join().unwrap();
    assert_eq!(err, Some(Error::DeadlineExceeded));
    assert!(at >= start + timeout, "never early");
    // Generous: the machine running the tests may be loaded.
    assert!(at < start + timeout + Duration::from_secs(5), "fired {:?} late", at - start - timeout);
}

#[test]
fn select_is_fair_between_done_and_a_busy_channel() {
    let (ctx, cancel) = Context::background().with_cancel();
    cancel.cancel();
    // Busy: a value is always waiting.
    let (tx, rx) = gort::chan::unbounded::<u32>();
    (0..10_000).for_each(|_| tx.send(1).unwrap());
    let (mut done, mut busy) = (0u32, 0u32);
    for _ in 0..10_000 {
        gort::select! {
            recv(ctx.done()) -> r => { assert!(r.is_err()); done += 1 }
            recv(rx) -> v => busy += v.unwrap(),
        }
    }
    assert_eq!(rx.len() as u32, 10_000 - busy);
    // Both arms are ready in every round; a uniform pick gives about 5,000 each.
    assert!(done > 3_000 && busy > 3_000, "done {done}, busy {busy}");
}

#[test]
fn select_on_done_wakes_a_goroutine_blocked_with_a_quiet_channel() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (_tx, jobs) = gort::chan::bounded::<u32>(0);
    let worker = {
        let ctx = ctx.clone();
        gort::go!(move || loop {
            gort::select! {
                recv(ctx.done()) -> _ => return ctx.err(),
                recv(jobs) -> j => assert!(j.is_ok()),
            }
        })
    };
    gort::time::sleep(Duration::from_millis(10));
    cancel.cancel();
    assert_eq!(worker.join().unwrap(), Some(Error::Canceled));
}

#[test]
fn done_of_a_context_that_never_ends_is_one_shared_open_channel() {
    let bg = Context::background();
    let forever = Context::default().with_value(1u8).without_cancel();
    assert!(std::ptr::eq(bg.done(), forever.done()));
    assert_eq!(bg.done().try_recv(), Err(gort::chan::TryRecvError::Empty));
    assert_eq!(bg.done().recv_timeout(Duration::from_millis(5)), Err(gort::chan::RecvTimeoutError::Timeout));
    assert_eq!(bg.err(), None);
    assert!(bg.cause().is_none());
}

#[test]
fn done_asked_for_after_the_end_is_closed() {
    let (ctx, cancel) = Context::background().with_cancel();
    cancel.cancel();
    assert!(ctx.done().recv().is_err());
    let (ctx, cancel) = Context::background().with_cancel();
    let rx = ctx.done().clone();
    cancel.cancel();
    assert!(rx.recv().is_err());
}
