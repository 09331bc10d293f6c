//! The global run queue (Go's `sched.runq`): a FIFO any thread may push to.
//! Gs land here when spawned or readied off an M, when a local queue
//! overflows, and when timers fire. Ms take from it in batches.
//!
//! # Shape
//!
//! A ring of `Box<G>` pointers (`VecDeque`) behind a lock, with its length
//! mirrored in an atomic so that the idle checks (`is_empty`) never lock.
//! A push is one uncontended lock and one pointer store; an M takes a whole
//! batch under one lock, copying pointers only (it never touches a G box
//! while holding the lock, so a spawner pushing meanwhile waits for a copy
//! of at most `RUNQ_SIZE / 2` words). The ring keeps the room a burst grew
//! it to until sysmon's next sweep (`trim`).
//!
//! # Alternatives rejected
//!
//! - `crossbeam_deque::Injector` (the previous queue): lock-free, but it
//!   allocates a 63-slot block per 63 pushes on the pusher's thread and
//!   frees it on the taker's (glibc's cross-thread free, under the arena
//!   lock), takes one CAS per G, and a taker that meets a block boundary
//!   the pusher is still installing backs off with `sched_yield`. Spawning
//!   1M Gs from `main` on 2 Ps: block frees were 16% and those yields 11%
//!   of the Ms' profile, the block `calloc`s 5% of `main`'s.
//! - An intrusive list through the G boxes (Go's `gQueue`): no room to
//!   grow, but a batch take walks the links of up to 128 boxes, just
//!   written on the spawner's CPU, under the lock the spawner needs.
//!
//! # The lost-wakeup protocol
//!
//! `len` is stored with SeqCst under the lock by every push, so a push is
//! the SeqCst publication `Idle::wakep` needs even when the pusher does not
//! fence after it (a local queue's overflow); `is_empty` loads it with
//! SeqCst after `Idle::recheck`'s fence.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::sched::g::G;
use crate::sched::p::P;
use crate::sched::runq::RUNQ_SIZE;

/// Most Gs an M takes at once: half a local queue (Go's `globrunqget`).
const BATCH: usize = RUNQ_SIZE / 2;

/// Room the ring keeps across a sweep when mostly empty.
const KEEP: usize = 1024;

/// Aligned so that its lock and length, written on every push, share no
/// cache line with the rest of `Sched`, which every M reads all the time:
/// unaligned, the Ms' reads of `sched()` were 14% of their profile while
/// `main` spawned.
// The ring holds `Box<G>` on purpose: the queue owns the Gs it holds.
#[allow(clippy::vec_box)]
#[repr(align(128))]
pub(crate) struct Global {
    q: Mutex<VecDeque<Box<G>>>,
    /// `q.len()`: written under the lock, read anywhere (module doc).
    len: AtomicUsize,
}

impl Global {
    pub(crate) fn new() -> Global {
        Global { q: Mutex::new(VecDeque::new()), len: AtomicUsize::new(0) }
    }

    /// Publishes the length of `q`, whose lock the caller holds.
    #[inline]
    fn publish(&self, q: &VecDeque<Box<G>>) {
        // SeqCst: a push's half of the lost-wakeup protocol (module doc).
        self.len.store(q.len(), Ordering::SeqCst);
    }

    #[inline]
    pub(crate) fn push(&self, g: Box<G>) {
        let mut q = self.q.lock();
        q.push_back(g);
        self.publish(&q);
    }

    pub(crate) fn push_batch(&self, gs: &mut dyn Iterator<Item = Box<G>>) {
        let mut q = self.q.lock();
        q.extend(gs);
        self.publish(&q);
    }

    pub(crate) fn pop(&self) -> Option<Box<G>> {
        if self.is_empty() {
            return None;
        }
        let mut q = self.q.lock();
        let g = q.pop_front();
        self.publish(&q);
        g
    }

    pub(crate) fn is_empty(&self) -> bool {
        // SeqCst: see the module doc.
        self.len.load(Ordering::SeqCst) == 0
    }

    pub(crate) fn len(&self) -> usize {
        // Relaxed: a statistic or a batch size, re-checked under the lock.
        self.len.load(Ordering::Relaxed)
    }

    /// Go's `globrunqget`: takes a fair share (len / procs + 1, at most half a
    /// local queue) into `p`'s local queue and returns one of them to run.
    /// Called only by the M holding `p`.
    pub(crate) fn get_batch(&self, p: &P, procs: usize) -> Option<Box<G>> {
        if self.is_empty() {
            return None;
        }
        let mut batch: [Option<Box<G>>; BATCH] = [const { None }; BATCH];
        let mut q = self.q.lock();
        let n = (q.len() / procs + 1).min(BATCH).min(q.len());
        for (slot, g) in batch.iter_mut().zip(q.drain(..n)) {
            *slot = Some(g);
        }
        self.publish(&q);
        drop(q);
        let mut gs = batch.into_iter().map_while(|g| g);
        let first = gs.next()?;
        p.runq.push_batch(gs, |extra| self.push_batch(extra));
        Some(first)
    }

    /// One of sysmon's sweeps: a ring a burst grew gives back its room once
    /// it is mostly empty.
    pub(crate) fn trim(&self) {
        let mut q = self.q.lock();
        if q.capacity() > KEEP && q.len() < q.capacity() / 4 {
            let keep = q.len().max(KEEP);
            q.shrink_to(keep);
        }
    }
}
