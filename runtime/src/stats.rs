//! `gort::stats()`: a snapshot of the scheduler's counters.

use std::sync::atomic::Ordering;

use crate::sched::p::P;
use crate::sched::sched;

/// A snapshot of the runtime, for tests, examples and curiosity. Counters
/// are summed from per-P counters without stopping the world, so a snapshot
/// taken while goroutines run is approximate.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Live goroutines: started and not yet finished.
    pub gs: u64,
    /// Goroutines ever started.
    pub spawned: u64,
    /// OS threads running the scheduler (Ms).
    pub ms: usize,
    /// Logical processors (Ps).
    pub ps: usize,
    /// Ps with no M.
    pub idle_ps: usize,
    /// Ms looking for work.
    pub spinning: usize,
    /// Resumes of a goroutine by an M.
    pub switches: u64,
    /// `switches`, per P: shows whether work spread.
    pub switches_per_p: Vec<u64>,
    /// Successful steals from another P's run queue.
    pub steals: u64,
    /// Goroutines parked (join, sleep, channels…).
    pub parks: u64,
    /// Goroutines waiting in the global run queue.
    pub global_queue: usize,
    /// Pending timers.
    pub timers: usize,
    /// Goroutine stacks reserved (in use or pooled).
    pub stacks: usize,
    /// Goroutine stacks in the pools, ready for reuse.
    pub free_stacks: usize,
}

/// Reads the runtime's counters (starting the runtime if needed).
///
/// ```
/// let s = gort::stats();
/// assert!(s.ps >= 1);
/// ```
pub fn stats() -> Stats {
    let s = sched();
    let sum = |f: fn(&P) -> u64| s.ps.iter().map(f).sum::<u64>();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let spawned = sum(|p| load(&p.counters.spawned)) + s.foreign_spawns();
    let exited = sum(|p| load(&p.counters.exited));
    let st = crate::stack::stack_stats();
    Stats {
        gs: spawned.saturating_sub(exited),
        spawned,
        ms: s.idle.mcount(),
        ps: s.procs(),
        idle_ps: s.idle.npidle(),
        spinning: s.idle.nmspinning(),
        switches: sum(|p| load(&p.counters.switches)),
        switches_per_p: s.ps.iter().map(|p| load(&p.counters.switches)).collect(),
        steals: sum(|p| load(&p.counters.steals)),
        parks: sum(|p| load(&p.counters.parks)),
        global_queue: s.global.len(),
        timers: s.timers.len(),
        stacks: st.total,
        free_stacks: st.free,
    }
}
