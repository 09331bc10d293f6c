//! The run queue's protocol tests: FIFO order, `runnext`, overflow, stealing,
//! and a stress test of one owner against three stealers.

use super::{Hint, RunQueue, HALF, RUNQ_SIZE};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize};
use std::sync::Arc;
use std::{iter, thread};

type Q = RunQueue<u64>;

impl Hint for u64 {}

fn never(_: &mut dyn Iterator<Item = Box<u64>>) {
    panic!("unexpected overflow");
}

fn pop_all(q: &Q) -> Vec<u64> {
    iter::from_fn(|| q.pop_head().map(|b| *b)).collect()
}

fn filled(items: std::ops::Range<u64>) -> Q {
    let q = Q::new(false);
    items.for_each(|i| q.push_back(Box::new(i), never));
    q
}

#[test]
fn fifo_order() {
    let q = filled(0..10);
    assert_eq!(q.len(), 10);
    assert_eq!(q.pop_next(), None);
    assert_eq!(pop_all(&q), (0..10).collect::<Vec<_>>());
    assert!(q.is_empty());
}

#[test]
fn runnext_kicks_previous_to_tail() {
    for sole in [false, true] {
        let q = Q::new(sole);
        q.push_back(Box::new(1), never);
        q.push_next(Box::new(2), never);
        q.push_next(Box::new(3), never);
        assert_eq!(q.len(), 3);
        assert!(!q.is_empty());
        assert_eq!(q.pop_next().as_deref(), Some(&3));
        assert_eq!(q.pop_next(), None);
        assert_eq!(pop_all(&q), [1, 2]);
        assert!(q.is_empty());
    }
}

#[test]
fn overflow_moves_half_plus_one_in_fifo_order() {
    let q = filled(0..RUNQ_SIZE as u64);
    q.push_next(Box::new(1000), never);
    let mut spilled = Vec::new();
    q.push_next(Box::new(1001), |it| spilled.extend(it.map(|b| *b)));
    assert_eq!(spilled, (0..HALF as u64).chain([1000]).collect::<Vec<_>>());
    assert_eq!(q.pop_next().as_deref(), Some(&1001));
    assert_eq!(pop_all(&q), (HALF as u64..RUNQ_SIZE as u64).collect::<Vec<_>>());
}

#[test]
fn push_batch_overflows_what_does_not_fit() {
    let q = filled(0..250);
    let mut spilled = Vec::new();
    q.push_batch((250..260).map(Box::new), |it| spilled.extend(it.map(|b| *b)));
    assert_eq!(spilled, (256..260).collect::<Vec<_>>());
    assert_eq!(pop_all(&q), (0..256).collect::<Vec<_>>());
}

#[test]
fn steal_takes_half_and_returns_one() {
    let (victim, dst) = (filled(0..7), filled(100..102));
    assert_eq!(victim.steal_into(&dst, false).as_deref(), Some(&3));
    assert_eq!(pop_all(&dst), [100, 101, 0, 1, 2]);
    assert_eq!(pop_all(&victim), [4, 5, 6]);
}

#[test]
fn steal_is_capped_by_room_in_dst() {
    let (victim, dst) = (filled(0..20), filled(0..250));
    assert_eq!(victim.steal_into(&dst, false).as_deref(), Some(&6));
    assert_eq!(dst.len(), RUNQ_SIZE);
    assert_eq!(victim.steal_into(&dst, false).as_deref(), Some(&7));
    assert_eq!(victim.len(), 12);
}

#[test]
fn steal_runnext_only_when_allowed_and_ring_empty() {
    let (victim, dst) = (Q::new(false), Q::new(false));
    assert_eq!(victim.steal_into(&dst, true), None);
    victim.push_next(Box::new(1), never);
    assert_eq!(victim.steal_into(&dst, false), None);
    assert_eq!(victim.steal_into(&dst, true).as_deref(), Some(&1));
    victim.push_back(Box::new(2), never);
    victim.push_next(Box::new(3), never);
    assert_eq!(victim.steal_into(&dst, true).as_deref(), Some(&2));
    assert_eq!(victim.pop_next().as_deref(), Some(&3));
    assert!(dst.is_empty() && victim.is_empty());
}

struct Counted(Arc<AtomicUsize>);

impl Hint for Counted {}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Relaxed);
    }
}

#[test]
fn drop_frees_leftover_items() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q = RunQueue::new(false);
    let item = || Box::new(Counted(drops.clone()));
    (0..300).for_each(|_| q.push_back(item(), |it| it.for_each(drop)));
    q.push_next(item(), |_| unreachable!());
    drop(q.pop_head());
    assert_eq!(drops.load(Relaxed), HALF as usize + 2);
    drop(q);
    assert_eq!(drops.load(Relaxed), 301);
}

thread_local! {
    /// What `Tagged::prefetch` was asked for on this thread.
    static ASKED: std::cell::RefCell<Vec<(usize, usize)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An item whose hint is its tag, and whose prefetches are recorded.
struct Tagged(usize);

impl Hint for Tagged {
    fn hint(&self) -> usize {
        self.0
    }

    fn prefetch(item: *const Tagged, hint: usize) {
        ASKED.with(|a| a.borrow_mut().push((item.addr(), hint)));
    }
}

fn asked() -> Vec<(usize, usize)> {
    ASKED.with(|a| std::mem::take(&mut *a.borrow_mut()))
}

#[test]
fn prefetch_upcoming_asks_for_the_item_after_the_next_when_it_came_in_a_batch() {
    let q = RunQueue::<Tagged>::new(false);
    let batch: Vec<_> = (1..=3).map(|t| Box::new(Tagged(t))).collect();
    let second = std::ptr::from_ref::<Tagged>(&batch[1]).addr();
    q.push_batch(batch, |_| unreachable!());
    q.prefetch_upcoming();
    assert_eq!(asked(), [(second, 2)], "the second item of the batch, with its hint");
    let _first = q.pop_head();
    let _second = q.pop_head();
    q.prefetch_upcoming();
    assert_eq!(asked(), [], "one item left: it runs next, too soon to help");
    // Pushed one by one: no hint, nothing asked (a stale hint of the slot's
    // earlier item would name the wrong memory).
    q.push_back(Box::new(Tagged(7)), |_| unreachable!());
    q.push_back(Box::new(Tagged(8)), |_| unreachable!());
    let _third = q.pop_head();
    q.prefetch_upcoming();
    assert_eq!(asked(), []);
    // A thief's ring keeps the hints of what it stole.
    let (victim, thief) = (RunQueue::<Tagged>::new(false), RunQueue::<Tagged>::new(false));
    victim.push_batch((10..18).map(|t| Box::new(Tagged(t))), |_| unreachable!());
    // Half of eight: 10, 11 and 12 into the thief's ring, 13 to run now.
    assert_eq!(victim.steal_into(&thief, false).map(|t| t.0), Some(13));
    thief.prefetch_upcoming();
    assert_eq!(asked().iter().map(|&(_, h)| h).collect::<Vec<_>>(), [11]);
}

/// Items per stress round (few under Miri).
const N: u64 = if cfg!(miri) { 2_000 } else { 1_000_000 };

/// xorshift64: reproducible per seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn mark(seen: &[AtomicU8], b: Box<u64>) {
    let prev = seen[*b as usize].fetch_add(1, Relaxed);
    assert_eq!(prev, 0, "item {b} taken twice");
}

/// Pushes ids 0..N in a random mix with pops, which are switched off
/// every other 4096 operations so that the ring fills and overflows.
fn owner(q: &Q, seen: &[AtomicU8], rng: &mut Rng) {
    let spill = |it: &mut dyn Iterator<Item = Box<u64>>| it.for_each(|b| mark(seen, b));
    let (mut id, mut op) = (0, 0u64);
    while id < N {
        op += 1;
        let r = rng.next() % 10;
        if r >= 7 && op & 4096 == 0 {
            let b = if r == 7 { q.pop_next() } else { q.pop_head() };
            b.into_iter().for_each(|b| mark(seen, b));
            continue;
        }
        match r {
            4 | 5 => q.push_next(Box::new(id), spill),
            6 => {
                let end = (id + rng.next() % 8 + 1).min(N);
                q.push_batch((id..end).map(Box::new), spill);
                id = end - 1;
            }
            _ => q.push_back(Box::new(id), spill),
        }
        id += 1;
    }
}

/// Steals from random victims into `qs[me]`, popping a few after each.
fn stealer(qs: &[Q], me: usize, seen: &[AtomicU8], done: &AtomicBool, mut rng: Rng) {
    while !done.load(Relaxed) {
        let victim = &qs[(me + 1 + rng.next() as usize % 3) % 4];
        let stolen = victim.steal_into(&qs[me], rng.next() & 1 == 0);
        stolen.into_iter().for_each(|b| mark(seen, b));
        let pops = rng.next() % 4;
        iter::from_fn(|| qs[me].pop_head()).take(pops as usize).for_each(|b| mark(seen, b));
    }
}

fn stress_round(seed: u64) {
    let qs: [Q; 4] = std::array::from_fn(|_| Q::new(false));
    let seen: Vec<AtomicU8> = (0..N).map(|_| AtomicU8::new(0)).collect();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        for me in 1..4 {
            let (qs, seen, done) = (&qs, &seen, &done);
            s.spawn(move || stealer(qs, me, seen, done, Rng(seed * 31 + me as u64)));
        }
        owner(&qs[0], &seen, &mut Rng(seed));
        done.store(true, Relaxed);
    });
    for q in &qs {
        iter::from_fn(|| q.pop_next().or_else(|| q.pop_head())).for_each(|b| mark(&seen, b));
    }
    let bad = seen.iter().position(|c| c.load(Relaxed) != 1);
    assert_eq!(bad, None, "seed {seed}: an item was lost");
}

#[test]
fn stress_owner_and_three_stealers_take_each_item_once() {
    let rounds = if cfg!(debug_assertions) { 2 } else { 8 };
    (1..=rounds).for_each(stress_round);
}
