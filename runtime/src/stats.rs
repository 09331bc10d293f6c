//! `gort::stats()`: a snapshot of the scheduler's counters.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::sched::p::Counters;
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
    /// Goroutines waiting in the Ps' local run queues (`runnext` included).
    pub local_queues: usize,
    /// `local_queues`, per P.
    pub local_queue_per_p: Vec<usize>,
    /// Goroutines readied by the netpoller (a socket became ready).
    pub netpoll_wakes: u64,
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
    let per_p =
        |f: fn(&Counters) -> &AtomicU64| s.ps.iter().map(move |p| f(&p.counters).load(Ordering::Relaxed));
    let spawned = per_p(|c| &c.spawned).sum::<u64>() + s.foreign_spawns();
    let exited: u64 = per_p(|c| &c.exited).sum();
    let st = crate::stack::stack_stats();
    let local_queue_per_p: Vec<usize> = s.ps.iter().map(|p| p.runq.len()).collect();
    Stats {
        gs: spawned.saturating_sub(exited),
        spawned,
        ms: s.idle.mcount(),
        ps: s.procs(),
        idle_ps: s.idle.npidle(),
        spinning: s.idle.nmspinning(),
        switches: per_p(|c| &c.switches).sum(),
        switches_per_p: per_p(|c| &c.switches).collect(),
        steals: per_p(|c| &c.steals).sum(),
        parks: per_p(|c| &c.parks).sum(),
        global_queue: s.global.len(),
        local_queues: local_queue_per_p.iter().sum(),
        local_queue_per_p,
        netpoll_wakes: crate::netpoll::wakes(),
        timers: s.timers.len(),
        stacks: st.total,
        free_stacks: st.free,
    }
}
