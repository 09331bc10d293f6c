//! Channels and panics: the handles are `UnwindSafe`, so a receive can run
//! under `catch_unwind`; and when the last receiver drops buffered values
//! whose `Drop` panics, every value is still dropped and one panic comes
//! out of that drop, once, instead of a second panic aborting the process.

use std::panic::{self, RefUnwindSafe, UnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gort::chan;

fn unwind_safe<T: UnwindSafe + RefUnwindSafe>(_: &T) {}

#[test]
fn handles_are_unwind_safe() {
    let (tx, rx) = chan::bounded::<String>(1);
    unwind_safe(&tx);
    unwind_safe(&rx);
    tx.send("hi".into()).unwrap();
    let got = panic::catch_unwind(|| rx.recv());
    assert_eq!(got.unwrap().as_deref(), Ok("hi"));
    // A panic caught mid-use leaves the channel working.
    let caught = panic::catch_unwind(|| {
        tx.send("kept".into()).unwrap();
        panic!("after the send");
    });
    assert!(caught.is_err());
    assert_eq!(rx.recv().as_deref(), Ok("kept"));
}

/// Counts its drops; panics in `Drop` when `loud`.
struct Noisy {
    loud: bool,
    dropped: Arc<AtomicUsize>,
}

impl Drop for Noisy {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
        if self.loud {
            panic!("Noisy::drop");
        }
    }
}

#[test]
fn panicking_drops_of_buffered_values_propagate_once_and_drop_the_rest() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::unbounded();
    for i in 0..10 {
        tx.send(Noisy { loud: i % 3 == 1, dropped: dropped.clone() }).unwrap();
    }
    let out = panic::catch_unwind(panic::AssertUnwindSafe(|| drop(rx)));
    let payload = out.expect_err("the first panicking Drop propagates");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"Noisy::drop"));
    assert_eq!(dropped.load(Ordering::SeqCst), 10, "every buffered value was dropped");
    assert!(tx.is_closed());
}

#[test]
fn panicking_drops_during_an_unwind_do_not_abort() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::bounded(4);
    for _ in 0..3 {
        tx.send(Noisy { loud: true, dropped: dropped.clone() }).unwrap();
    }
    let out = panic::catch_unwind(panic::AssertUnwindSafe(move || {
        let _rx = rx; // dropped while this closure unwinds
        panic!("outer");
    }));
    assert_eq!(out.unwrap_err().downcast_ref::<&str>(), Some(&"outer"));
    assert_eq!(dropped.load(Ordering::SeqCst), 3);
}
