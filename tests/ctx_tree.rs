//! The context tree: cancellation reaches every descendant and nothing
//! else, a context ends once whoever ends it first, deadlines and causes
//! are inherited, values shadow, `without_cancel` keeps values only, and
//! children made and dropped while their parent is cancelled all end.

use std::io;
use std::time::{Duration, Instant};

use gort::chan::TryRecvError;
use gort::context::{Context, Error};

fn ended(ctx: &Context) -> bool {
    ctx.done().try_recv() == Err(TryRecvError::Disconnected)
}

fn running(ctx: &Context) -> bool {
    ctx.err().is_none() && ctx.done().try_recv() == Err(TryRecvError::Empty)
}

#[test]
fn cancellation_reaches_100_000_descendants_of_a_wide_tree() {
    let (root, cancel) = Context::background().with_cancel();
    let mut all = Vec::new();
    for _ in 0..100 {
        let (mid, _c) = root.with_cancel();
        for i in 0..999 {
            // Mix in value and timeout layers: they end with the tree too.
            let leaf =
                if i % 2 == 0 { mid.with_value(i) } else { mid.with_timeout(Duration::from_secs(3600)).0 };
            all.push(leaf.with_cancel().0);
        }
        all.push(mid);
    }
    assert_eq!(all.len(), 100_000);
    assert!(all.iter().all(running));
    cancel.cancel();
    assert!(all.iter().all(|c| c.err() == Some(Error::Canceled) && ended(c)));
}

#[test]
fn cancellation_reaches_the_end_of_a_100_000_deep_chain_and_it_drops() {
    let (root, cancel) = Context::background().with_cancel();
    let mut ctx = root.clone();
    for _ in 0..100_000 {
        ctx = ctx.with_cancel().0;
    }
    let tip = ctx.clone();
    cancel.cancel_with("root went away");
    assert_eq!(tip.err(), Some(Error::Canceled));
    assert!(ended(&tip));
    assert_eq!(tip.cause().unwrap().to_string(), "root went away");
    // The tip holds the whole chain; dropping it must not recurse 100,000 deep.
    drop((ctx, tip));
    let mut live = root.clone();
    for _ in 0..100_000 {
        live = live.with_value(1u8).with_cancel().0;
    }
    gort::go!(move || drop(live)).join().unwrap();
}

#[test]
fn a_child_cancelled_alone_leaves_its_parent_and_siblings_running() {
    let (parent, _p) = Context::background().with_cancel();
    let (a, cancel_a) = parent.with_cancel();
    let (b, _b) = parent.with_cancel();
    let (a_kid, _k) = a.with_cancel();
    let (b_kid, _bk) = b.with_timeout(Duration::from_secs(3600));
    cancel_a.cancel();
    assert!(ended(&a) && ended(&a_kid));
    assert_eq!(a_kid.err(), Some(Error::Canceled));
    assert!(running(&parent) && running(&b) && running(&b_kid));
}

#[test]
fn a_context_ends_once_whoever_ends_it_first() {
    let (parent, cancel_parent) = Context::background().with_cancel();
    let (child, cancel_child) = parent.with_timeout(Duration::from_millis(1));
    assert!(child.done().recv().is_err());
    assert_eq!(child.err(), Some(Error::DeadlineExceeded));
    cancel_child.cancel_with("too late");
    cancel_parent.cancel();
    assert_eq!(child.err(), Some(Error::DeadlineExceeded), "the timer came first");
    assert_eq!(child.cause().unwrap().to_string(), Error::DeadlineExceeded.to_string());

    let (parent, cancel_parent) = Context::background().with_cancel();
    let (child, cancel_child) = parent.with_deadline(Instant::now() + Duration::from_secs(3600));
    cancel_child.cancel();
    cancel_parent.cancel_with("parent's reason");
    assert_eq!(child.err(), Some(Error::Canceled));
    assert_eq!(child.cause().unwrap().downcast_ref::<Error>(), Some(&Error::Canceled));
}

#[test]
fn many_threads_racing_to_end_one_context_end_it_once() {
    for _ in 0..200 {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let (child, cancel_child) = parent.with_timeout(Duration::from_micros(50));
        let (tx, rx) = gort::chan::unbounded();
        child.after_func(move || tx.send(()).unwrap());
        let hs = [
            gort::go!(move || cancel_child.cancel_with("child")),
            gort::go!(move || cancel_parent.cancel_with("parent")),
        ];
        hs.into_iter().for_each(|h| h.join().unwrap());
        let cause = child.cause().unwrap().to_string();
        let by = (child.err().unwrap(), cause.as_str());
        assert!(
            matches!(
                by,
                (Error::Canceled, "child" | "parent")
                    | (Error::DeadlineExceeded, "context deadline exceeded")
            ),
            "{by:?}"
        );
        rx.recv().unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(5)),
            Err(gort::chan::RecvTimeoutError::Disconnected)
        );
    }
}

#[test]
fn a_child_ends_at_once_under_an_ended_parent_or_a_passed_deadline() {
    let (parent, cancel) = Context::background().with_cancel();
    cancel.cancel_with("gone");
    let (child, _c) = parent.with_timeout(Duration::from_secs(1));
    assert_eq!(child.err(), Some(Error::Canceled));
    assert_eq!(child.cause().unwrap().to_string(), "gone");
    assert!(ended(&child));
    let (past, _c) = Context::background().with_deadline(Instant::now());
    assert_eq!(past.err(), Some(Error::DeadlineExceeded));
    assert!(ended(&past));
}

#[test]
fn the_deadline_is_the_earlier_of_its_own_and_its_parents() {
    assert_eq!(Context::background().deadline(), None);
    let t = Instant::now() + Duration::from_secs(100);
    let (parent, _p) = Context::background().with_deadline(t);
    assert_eq!(parent.deadline(), Some(t));
    assert_eq!(parent.with_deadline(t + Duration::from_secs(1)).0.deadline(), Some(t));
    let earlier = t - Duration::from_secs(1);
    assert_eq!(parent.with_deadline(earlier).0.deadline(), Some(earlier));
    assert_eq!(parent.with_cancel().0.with_value(1).deadline(), Some(t));
    assert_eq!(parent.without_cancel().deadline(), None);
    assert_eq!(Context::background().with_timeout(Duration::MAX).0.deadline(), None);
}

#[test]
fn a_parents_earlier_deadline_ends_the_child() {
    let (parent, _p) = Context::background().with_timeout(Duration::from_millis(10));
    let (child, _c) = parent.with_timeout(Duration::from_secs(3600));
    assert!(child.done().recv().is_err());
    assert_eq!(child.err(), Some(Error::DeadlineExceeded));
}

#[test]
fn values_shadow_by_type_nearest_first() {
    #[derive(Debug, PartialEq)]
    struct User(&'static str);
    let bg = Context::background();
    assert_eq!(bg.value::<User>(), None);
    let outer = bg.with_value(User("outer")).with_value(5u32);
    let (mid, _c) = outer.with_cancel();
    let inner = mid.with_value(User("inner"));
    assert_eq!(inner.value::<User>(), Some(&User("inner")));
    assert_eq!(inner.value::<u32>(), Some(&5));
    assert_eq!(mid.value::<User>(), Some(&User("outer")), "a parent never sees its child's values");
    assert_eq!(inner.value::<u64>(), None, "the type is the key");
    let detached = inner.without_cancel();
    assert_eq!(detached.value::<User>(), Some(&User("inner")));
    assert_eq!(inner.with_value(6u32).value::<u32>(), Some(&6));
}

#[test]
fn without_cancel_keeps_values_and_never_ends() {
    let (parent, cancel) = Context::background().with_value("v").with_timeout(Duration::from_secs(1));
    let detached = parent.without_cancel();
    let (grandchild, _c) = detached.with_cancel();
    cancel.cancel();
    assert!(ended(&parent));
    assert!(running(&detached) && running(&grandchild));
    assert_eq!(grandchild.value::<&str>(), Some(&"v"));
    assert!(std::ptr::eq(detached.done(), Context::background().done()), "one shared channel");
}

#[test]
fn errors_convert_into_io_errors_that_are_never_interrupted() {
    for (e, kind) in
        [(Error::Canceled, io::ErrorKind::Other), (Error::DeadlineExceeded, io::ErrorKind::TimedOut)]
    {
        let io_err = io::Error::from(e);
        assert_eq!(io_err.kind(), kind);
        assert_eq!(io_err.to_string(), e.to_string());
        assert_eq!(io_err.downcast::<Error>().unwrap(), e);
    }
    assert_eq!(Error::Canceled.to_string(), "context canceled");
    assert_eq!(Error::DeadlineExceeded.to_string(), "context deadline exceeded");
}

#[test]
fn contexts_and_cancels_are_send_sync_and_clones_are_the_same_context() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Context>();
    assert_send_sync::<gort::context::Cancel>();
    let (ctx, cancel) = Context::background().with_cancel();
    let clone = ctx.clone();
    assert!(std::ptr::eq(ctx.done(), clone.done()));
    cancel.clone().cancel();
    assert!(ended(&clone));
}

#[test]
fn children_made_and_dropped_while_the_parent_is_cancelled_all_end() {
    for round in 0..20 {
        let (parent, cancel) = Context::background().with_cancel();
        let (tx, started) = gort::chan::bounded::<()>(0);
        let makers: Vec<_> = (0..4)
            .map(|i| {
                let (parent, tx) = (parent.clone(), tx.clone());
                gort::go!(move || {
                    let mut kept = Vec::new();
                    for n in 0..2_000 {
                        if n == 100 {
                            let _ = tx.send(());
                        }
                        let (child, c) = parent.with_timeout(Duration::from_secs(60));
                        let grandchild = child.with_cancel().0;
                        if (n + i) % 3 == 0 {
                            kept.push((grandchild, c));
                        }
                        if parent.err().is_some() {
                            break;
                        }
                    }
                    kept
                })
            })
            .collect();
        drop(tx);
        started.recv().unwrap();
        drop(started); // the other makers' sends fail now
        cancel.cancel();
        for m in makers {
            let kept = m.join().unwrap();
            assert!(kept.iter().all(|(c, _)| c.err() == Some(Error::Canceled) && ended(c)), "round {round}");
        }
        assert_eq!(parent.with_cancel().0.err(), Some(Error::Canceled));
    }
}
