//! Loom models of the run queue (capacity 4 under loom): every interleaving
//! of an owner's push, pop, `runnext` hand-off and overflow with a stealer,
//! up to the preemption bound. Each model checks that every item is taken
//! exactly once (none lost, none twice), and each item carries a loom cell
//! written by its creator, so a taker that read it without a happens-before
//! edge from the push (a missing Release/Acquire pair) fails the model.

use super::{Hint, RunQueue, RUNQ_SIZE};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

/// A queued item: its id, in a cell only the creator wrote.
struct Item(UnsafeCell<u32>);

type Q = RunQueue<Item>;

impl Hint for Item {}

fn item(id: u32) -> Box<Item> {
    Box::new(Item(UnsafeCell::new(id)))
}

/// Reads a taken item's id: loom checks that its write happened before.
fn id(item: &Item) -> u32 {
    // SAFETY: the queue handed this item to us alone; nobody writes it.
    item.0.with(|p| unsafe { *p })
}

fn never(_: &mut dyn Iterator<Item = Box<Item>>) {
    panic!("unexpected overflow");
}

/// Everything left in `q`, `runnext` first, then the ring in order.
fn drain(q: &Q) -> Vec<u32> {
    std::iter::from_fn(|| q.pop_next().or_else(|| q.pop_head())).map(|b| id(&b)).collect()
}

/// Asserts that `taken` holds each of `0..n` exactly once.
fn assert_each_once(mut taken: Vec<u32>, n: u32) {
    taken.sort_unstable();
    assert_eq!(taken, (0..n).collect::<Vec<_>>(), "an item was lost or taken twice");
}

/// A thief that steals once from `victim` into its own queue, then empties
/// its own queue; returns what it took.
fn thief(victim: Arc<Q>, take_runnext: bool) -> thread::JoinHandle<Vec<u32>> {
    thread::spawn(move || {
        let own = Q::new(false);
        let mut got: Vec<u32> = victim.steal_into(&own, take_runnext).map(|b| id(&b)).into_iter().collect();
        got.extend(drain(&own));
        got
    })
}

#[test]
fn capacity_is_tiny_under_loom() {
    assert_eq!(RUNQ_SIZE, 4);
}

/// The owner pops and pushes (wrapping the ring) while a thief steals: the
/// CAS on `head` gives each item one taker, and the owner reuses a slot
/// only after the thief's read of it.
#[test]
fn steal_races_pop_and_push() {
    loom::model(|| {
        let q = Arc::new(Q::new(false));
        (0..3).for_each(|i| q.push_back(item(i), never));
        let t = thief(q.clone(), false);
        let mut taken: Vec<u32> = q.pop_head().map(|b| id(&b)).into_iter().collect();
        q.push_back(item(3), never);
        q.push_back(item(4), never);
        taken.extend(drain(&q));
        taken.extend(t.join().unwrap());
        assert_each_once(taken, 5);
    });
}

/// A push to the full ring moves its older half to the global queue by the
/// same CAS a thief uses: either the thief's steal made room, or the thief
/// retries on what is left.
#[test]
fn overflow_races_steal() {
    loom::model(|| {
        let q = Arc::new(Q::new(false));
        (0..4).for_each(|i| q.push_back(item(i), never));
        let t = thief(q.clone(), false);
        let mut global = Vec::new();
        q.push_back(item(4), |spill| global.extend(spill.map(|b| id(&b))));
        assert!(global.is_empty() || global.len() == RUNQ_SIZE / 2 + 1, "spilled {global:?}");
        global.extend(drain(&q));
        global.extend(t.join().unwrap());
        assert_each_once(global, 5);
    });
}

/// `push_next` kicks the old `runnext` to the ring while a thief that found
/// the ring empty swaps `runnext` out: the old item goes to one of them.
#[test]
fn runnext_handoff_races_steal() {
    loom::model(|| {
        let q = Arc::new(Q::new(false));
        q.push_next(item(0), never);
        let t = thief(q.clone(), true);
        q.push_next(item(1), never);
        let mut taken: Vec<u32> = q.pop_next().map(|b| id(&b)).into_iter().collect();
        taken.extend(drain(&q));
        taken.extend(t.join().unwrap());
        assert_each_once(taken, 2);
    });
}

/// The queue always holds an item while its owner hands `runnext` on
/// (`push_next` kicks the old one to the ring, `pop_next` takes the new):
/// `is_empty`, which the idle protocol trusts before sleeping, never says
/// otherwise.
#[test]
fn is_empty_sees_an_item_through_a_handoff() {
    loom::model(|| {
        let q = Arc::new(Q::new(false));
        q.push_next(item(0), never);
        let seer = q.clone();
        let t = thread::spawn(move || assert!(!seer.is_empty(), "is_empty missed a queued item"));
        q.push_next(item(1), never);
        let mut taken: Vec<u32> = q.pop_next().map(|b| id(&b)).into_iter().collect();
        t.join().unwrap();
        taken.extend(drain(&q));
        assert_each_once(taken, 2);
    });
}

/// Two thieves race each other and the owner for one ring.
#[test]
fn two_thieves_race_the_owner() {
    loom::model(|| {
        let q = Arc::new(Q::new(false));
        (0..3).for_each(|i| q.push_back(item(i), never));
        let (a, b) = (thief(q.clone(), false), thief(q.clone(), false));
        let mut taken: Vec<u32> = q.pop_head().map(|b| id(&b)).into_iter().collect();
        taken.extend(a.join().unwrap());
        taken.extend(b.join().unwrap());
        taken.extend(drain(&q));
        assert_each_once(taken, 3);
    });
}

/// A batch from the global queue lands on a ring a thief is emptying: what
/// fits is published with one `tail` store, the rest overflows in order.
#[test]
fn push_batch_races_steal() {
    loom::model(|| {
        let q = Arc::new(Q::new(false));
        (0..2).for_each(|i| q.push_back(item(i), never));
        let t = thief(q.clone(), false);
        let mut global = Vec::new();
        q.push_batch((2..6).map(item), |rest| global.extend(rest.map(|b| id(&b))));
        global.extend(drain(&q));
        global.extend(t.join().unwrap());
        assert_each_once(global, 6);
    });
}

/// A thief fills its own ring while a second thief steals from that ring:
/// the room it computed only grows as the second thief moves its `head`.
#[test]
fn steal_into_a_ring_being_stolen_from() {
    loom::model(|| {
        let (victim, mine) = (Arc::new(Q::new(false)), Arc::new(Q::new(false)));
        (0..3).for_each(|i| victim.push_back(item(i), never));
        (3..6).for_each(|i| mine.push_back(item(i), never));
        let t = thief(mine.clone(), false);
        let mut taken: Vec<u32> = victim.steal_into(&mine, false).map(|b| id(&b)).into_iter().collect();
        taken.extend(t.join().unwrap());
        taken.extend(drain(&mine));
        taken.extend(drain(&victim));
        assert_each_once(taken, 6);
    });
}
