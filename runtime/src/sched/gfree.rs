//! Dead G structs kept for reuse (Go's `gfput`/`gfget`): spawning and
//! exiting a goroutine would otherwise cost a `malloc` and a `free`, and a G
//! spawned on one P usually exits on another, which is glibc's slowest case
//! (cross-thread frees, arena locks). Each P keeps up to `LOCAL_CAP` dead Gs
//! with no lock; beyond that half go to one global list, and an empty P
//! refills from it in batches, so a spawner on one P and an exiter on
//! another balance through the global list. The global list has no cap but
//! ages (`aging.rs`), like the stack pools: Gs left untaken through two of
//! sysmon's sweeps are freed, so after a burst of a million goroutines their
//! boxes go within two seconds. A P going idle hands all but `LOCAL_KEEP` of
//! its own list to the global one once a sweep, so they age too.
//!
//! It had a cap of 4,096, past which dead Gs were freed at once. A G that
//! spawns 80,000 Gs and then joins them then paid, per G, a fresh box
//! (malloc, often a search of its bins) and the allgs registry's hash insert
//! and remove under its lock: 0.50-0.53 µs per spawn+join on 1 P, 0.13-0.14
//! µs without the cap (`gort_from_goroutine`, interleaved runs). 200,000 Gs
//! parked and joined still fall to the same 15-19 MiB within two seconds of
//! going idle.
//!
//! A dead G has no coroutine and no name; only its allocation is reused.

// The lists hold `Box<G>` on purpose: the boxes are what is being reused.
#![allow(clippy::vec_box)]

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::aging::Aging;
use crate::sched::g::G;

/// Dead Gs a P keeps before spilling half to the global list.
const LOCAL_CAP: usize = 64;
/// Dead Gs moved between a P and the global list at once.
const BATCH: usize = LOCAL_CAP / 2;
/// Dead Gs an idle P keeps: its small working set.
const LOCAL_KEEP: usize = 8;

/// The global list of dead Gs, behind a lock taken once per `BATCH`.
pub(crate) struct GlobalFree {
    list: Mutex<Aging<Box<G>>>,
    /// `list.len()`, written under the lock, read without it so that a P
    /// finding the list empty does not take the lock on every spawn.
    len: AtomicUsize,
}

impl GlobalFree {
    pub(crate) fn new() -> GlobalFree {
        GlobalFree { list: Mutex::new(Aging::new()), len: AtomicUsize::new(0) }
    }

    fn publish_len(&self, list: &Aging<Box<G>>) {
        // Relaxed: a hint; the lock orders the list itself.
        self.len.store(list.len(), Ordering::Relaxed);
    }

    /// One of sysmon's sweeps: frees the Gs left untaken since the last one.
    pub(crate) fn sweep(&self) {
        let mut list = self.list.lock();
        let idle = list.sweep();
        self.publish_len(&list);
        drop(list);
        drop(idle);
    }
}

/// A P's private list of dead Gs (owner-only, no lock).
pub(crate) struct LocalFree(Vec<Box<G>>);

impl LocalFree {
    pub(crate) fn new() -> LocalFree {
        LocalFree(Vec::with_capacity(LOCAL_CAP))
    }

    /// Keeps a dead G, spilling half the list to `global` when full.
    #[inline]
    pub(crate) fn put(&mut self, g: Box<G>, global: &GlobalFree) {
        if self.0.len() == LOCAL_CAP {
            self.spill(global);
        }
        self.0.push(g);
    }

    #[cold]
    fn spill(&mut self, global: &GlobalFree) {
        self.give(global, LOCAL_CAP - BATCH);
    }

    /// For a P going idle: all but `LOCAL_KEEP` Gs go to the global list.
    pub(crate) fn flush_idle(&mut self, global: &GlobalFree) {
        if self.0.len() > LOCAL_KEEP {
            self.give(global, LOCAL_KEEP);
        }
    }

    /// Hands every G to the global list (a thread's cache, as it exits).
    pub(crate) fn flush_all(&mut self, global: &GlobalFree) {
        self.give(global, 0);
    }

    /// Moves the oldest Gs to `global` until `keep` are left.
    fn give(&mut self, global: &GlobalFree, keep: usize) {
        let n = self.0.len() - keep;
        let mut list = global.list.lock();
        list.extend(self.0.drain(..n));
        global.publish_len(&list);
    }

    /// A dead G to reuse, if this P or the global list has one.
    #[inline]
    pub(crate) fn get(&mut self, global: &GlobalFree) -> Option<Box<G>> {
        match self.0.pop() {
            Some(g) => Some(g),
            None => self.refill(global),
        }
    }

    /// The dead G `get` hands out next, if cached.
    #[inline]
    pub(crate) fn next(&self) -> Option<*const G> {
        self.0.last().map(|g| std::ptr::from_ref(&**g))
    }

    #[cold]
    fn refill(&mut self, global: &GlobalFree) -> Option<Box<G>> {
        // Relaxed: a stale zero only means one malloc instead of a reuse.
        if global.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut list = global.list.lock();
        self.0.extend(list.pop_many(BATCH));
        global.publish_len(&list);
        drop(list);
        self.0.pop()
    }
}
