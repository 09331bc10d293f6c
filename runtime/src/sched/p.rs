//! P: a logical processor. The shared part (run queue, `held` flag, schedule
//! tick, preemption mark, counters) may be read by any thread; the private
//! part (`PLocal`: the spawn cache of goids, stacks and dead Gs (`cache.rs`),
//! steal RNG) only by the M holding the P, so it needs no lock. Ps are
//! created once and live for the whole process.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::sched::cache::SpawnCache;
use crate::sched::g::G;
use crate::sched::hog::Running;
use crate::sched::runq::RunQueue;

/// The flag bit of `P::preempt`, above the 32 bits of the marked tick.
const PREEMPT_MARKED: u64 = 1 << 32;

/// Per-P event counters for `gort::stats()`. Written only by the M holding
/// the P (plain load + store, no read-modify-write), read by anyone.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) switches: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) spawned: AtomicU64,
    pub(crate) exited: AtomicU64,
}

/// Adds one to an owner-written counter.
#[inline]
pub(crate) fn bump(c: &AtomicU64) {
    // Relaxed: a statistic; only the owner writes, so load+store loses nothing.
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// The private part of a P.
pub(crate) struct PLocal {
    /// Goids, stacks and dead Gs for spawning and exiting Gs.
    pub(crate) cache: SpawnCache,
    rng: u64,
}

impl PLocal {
    /// xorshift64*: cheap randomness for steal order.
    pub(crate) fn rand(&mut self) -> u32 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }
}

/// A logical processor. Aligned so two Ps never share a cache line.
#[repr(align(128))]
pub(crate) struct P {
    /// Its index in `Sched::ps`, as the dump names it.
    pub(crate) id: u16,
    pub(crate) runq: RunQueue<G>,
    /// Whether an M holds this P. Written by the M acquiring or releasing it,
    /// read by stealers to decide whether to grant `runnext` a grace period.
    held: AtomicBool,
    /// `syscalltick << 1 | in_blocking_call` (`blocking.rs`). Set by the M
    /// entering a blocking call; cleared by a CAS that either that M (on
    /// return) or sysmon (retaking the P) wins. The tick makes every call's
    /// value unique, so a stale CAS can never take a later call's P.
    pub(crate) syscall: AtomicU64,
    /// Incremented on every G started: drives the 61-tick fairness rule,
    /// and tells sysmon whether the running G changed (`preempt.rs`).
    /// Written by the holder (load + store), read by sysmon.
    schedtick: AtomicU32,
    /// `MARKED | schedtick` once sysmon found the G of that tick running
    /// for too long (`preempt.rs`). Written by sysmon (mark) and the
    /// holder (clear), read by the holder.
    preempt: AtomicU64,
    local: UnsafeCell<PLocal>,
    pub(crate) counters: Counters,
    /// Who runs here, for sysmon's blocked-M warning (`hog.rs`).
    pub(crate) running: Running,
}

// SAFETY: the shared fields are atomics or the run queue (built for
// concurrent stealing); `local` is only touched by the M holding the P (see
// `P::local`), and the holder changes only through the idle lists' lock, which
// orders the previous holder's accesses before the next one's.
unsafe impl Sync for P {}

impl P {
    /// P number `id`; `sole` when it is the runtime's only P.
    pub(crate) fn new(id: usize, stack_size: usize, sole: bool) -> P {
        P {
            id: id as u16,
            runq: RunQueue::new(sole),
            held: AtomicBool::new(false),
            syscall: AtomicU64::new(0),
            schedtick: AtomicU32::new(0),
            preempt: AtomicU64::new(0),
            local: UnsafeCell::new(PLocal {
                cache: SpawnCache::new(stack_size),
                rng: 0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9),
            }),
            counters: Counters::default(),
            running: Running::new(),
        }
    }

    /// The private part.
    ///
    /// # Safety
    /// The caller runs on the M holding this P (its G or its own stack), and
    /// the returned borrow ends before any switch or other call to `local`.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn local(&self) -> &mut PLocal {
        // SAFETY: guaranteed by the caller: only the holder reaches here, and
        // never with two borrows alive at once.
        unsafe { &mut *self.local.get() }
    }

    pub(crate) fn set_held(&self, held: bool) {
        // Relaxed: a hint for the steal grace, never used for correctness.
        self.held.store(held, Ordering::Relaxed);
    }

    pub(crate) fn is_held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    /// Counts a G started. Called only by the holder.
    #[inline]
    pub(crate) fn tick(&self) {
        // Relaxed: only the holder writes, so load + store loses nothing;
        // sysmon's reads only compare it with what it saw before.
        let t = self.schedtick.load(Ordering::Relaxed);
        self.schedtick.store(t.wrapping_add(1), Ordering::Relaxed);
    }

    /// The schedule tick: which G started on this P last.
    #[inline]
    pub(crate) fn schedtick(&self) -> u32 {
        // Relaxed: see `tick`.
        self.schedtick.load(Ordering::Relaxed)
    }

    /// sysmon: asks the G of schedule tick `tick` to yield.
    pub(crate) fn mark_preempt(&self, tick: u32) {
        // Relaxed: a request, not a hand-over of data (`preempt.rs`).
        self.preempt.store(PREEMPT_MARKED | u64::from(tick), Ordering::Relaxed);
    }

    /// Whether the G running now (on the holder) was asked to yield; clears
    /// the request if so. A mark left for an earlier tick is ignored.
    pub(crate) fn take_preempt(&self) -> bool {
        let mine = PREEMPT_MARKED | u64::from(self.schedtick());
        // Relaxed: as in `mark_preempt`.
        let marked = self.preempt.load(Ordering::Relaxed) == mine;
        if marked {
            self.preempt.store(0, Ordering::Relaxed);
        }
        marked
    }

    /// Whether the 61-tick rule gives this turn to the global queue (and
    /// the network) ahead of the local queue. Called only by the holder.
    #[inline]
    pub(crate) fn fairness_turn(&self) -> bool {
        self.schedtick().is_multiple_of(61)
    }

    /// The local queue's next G, `runnext` first. Called only by the holder.
    #[inline]
    pub(crate) fn pop_local(&self) -> Option<Box<G>> {
        self.runq.pop_next().or_else(|| self.runq.pop_head())
    }

    /// Takes the next G from this P's own queues, honouring the 61-tick rule.
    /// Called only by the holder.
    pub(crate) fn next_local(&self, global: &crate::sched::global::Global) -> Option<Box<G>> {
        if self.fairness_turn() {
            if let Some(g) = global.pop() {
                return Some(g);
            }
            return self.runq.pop_head().or_else(|| self.runq.pop_next());
        }
        self.pop_local()
    }
}
