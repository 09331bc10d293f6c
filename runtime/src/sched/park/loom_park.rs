//! Loom models of park/ready on a plain thread: `park`'s register callback
//! racing a waker that sets the condition and takes the waiter, in every
//! order: the wake-up before the register (the condition is seen), between
//! the register and the thread's block (the `woken` flag and the unpark
//! token are seen), or after it. A lost wake-up leaves the parked thread
//! blocked for good, which loom reports as a deadlock.

use super::{park, Waiter};
use crate::loom::sync::{Arc, Mutex};
use crate::sched::g::WaitReason;
use loom::thread;

/// What a blocking primitive keeps: its condition and its parked waiter,
/// under one lock (a channel's, a mutex's).
#[derive(Default)]
struct Cond {
    done: bool,
    waiter: Option<Waiter>,
}

/// Blocks until `c` is done: the shape of every primitive's park callback.
fn wait(c: &Mutex<Cond>) {
    park(WaitReason::Sleep, |w| {
        let mut c = c.lock();
        if c.done {
            return Err(w);
        }
        c.waiter = Some(w);
        Ok(())
    });
    assert!(c.lock().done, "park returned before the condition was set");
}

/// Sets `c` done and wakes its waiter outside the lock, as wakers do.
fn signal(c: &Mutex<Cond>) {
    let w = {
        let mut c = c.lock();
        c.done = true;
        c.waiter.take()
    };
    w.into_iter().for_each(Waiter::wake);
}

#[test]
fn park_races_ready() {
    loom::model(|| {
        let c = Arc::new(Mutex::default());
        let waker = c.clone();
        let t = thread::spawn(move || signal(&waker));
        wait(&c);
        t.join().unwrap();
    });
}

/// The waker runs to the end before the waiter even looks: `park` must
/// return at once through the register callback's `Err`.
#[test]
fn ready_before_park() {
    loom::model(|| {
        let c = Arc::new(Mutex::default());
        let waker = c.clone();
        thread::spawn(move || signal(&waker)).join().unwrap();
        wait(&c);
    });
}
