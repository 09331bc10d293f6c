//! Loom models of the `WaitGroup`'s word: changes that can fail racing
//! each other and the changes that succeed. A failing change must leave the
//! word as it was in every order; a check made apart from its change let
//! a second extra `done` see the first one's wrapped word and pass.

use std::sync::atomic::Ordering;

use super::{Count, ADD};
use loom::sync::Arc;
use loom::thread;

#[test]
fn racing_extra_dones_both_fail_and_change_nothing() {
    loom::model(|| {
        let c = Arc::new(Count::new());
        let other = c.clone();
        let t = thread::spawn(move || other.done());
        assert_eq!(c.done(), None, "a done with no add pending passed");
        assert_eq!(t.join().unwrap(), None, "a done with no add pending passed");
        assert!(c.drop_handle(), "the word is not the handle's one alone");
    });
}

#[test]
fn a_done_racing_an_add_fails_or_takes_it() {
    loom::model(|| {
        let c = Arc::new(Count::new());
        let other = c.clone();
        let t = thread::spawn(move || other.add(1));
        let first = c.done();
        assert!(t.join().unwrap(), "an add of one failed");
        match first {
            // The done came first: the add is still pending.
            None => assert_eq!(c.done(), Some(false)),
            Some(zero) => assert!(!zero, "the handle's one was taken"),
        }
        assert!(c.drop_handle(), "the word is not the handle's one alone");
    });
}

#[test]
fn an_add_past_the_limit_changes_nothing() {
    loom::model(|| {
        let c = Arc::new(Count::new());
        assert!(c.add(u32::MAX));
        let other = c.clone();
        let t = thread::spawn(move || other.add(1));
        assert_eq!(c.done(), Some(false));
        // The add fits only once the done is in; if it came first, it failed whole.
        let adds = u64::from(u32::MAX) - 1 + u64::from(t.join().unwrap());
        assert_eq!(c.0.load(Ordering::Relaxed), adds * ADD + 1);
    });
}
