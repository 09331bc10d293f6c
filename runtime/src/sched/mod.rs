//! The scheduler: how Gs find Ms, following Go's `proc.go`.
//!
//! # Pieces
//!
//! - **G** (`g.rs`): a goroutine; exactly one `Box<G>` exists and its holder
//!   owns the G (a run queue, the M running it, or what it waits on). Until
//!   an M first runs it, its closure waits in the box (`body.rs`) and the M
//!   builds its coroutine then, on the P's warmest stack.
//! - **P** (`p.rs`): one of `procs` logical processors. It owns a 256-slot
//!   local run queue with a `runnext` slot (`runq.rs`), a spawn cache of
//!   goids, stacks and dead Gs (`cache.rs`; plain threads that spawn get one
//!   too) and its counters. Only the M holding a P touches its private parts.
//! - **M** (`m.rs`): an OS thread. It runs Gs only while it holds a P.
//! - The global queue (`global.rs`), idle Ps and Ms with the spinning count
//!   (`idle.rs`), stealing (`steal.rs`), park/ready (`park.rs`), blocking
//!   calls and P hand-off (`blocking.rs`), cooperative preemption
//!   (`preempt.rs`), and the sysmon thread for timers, retaking Ps from
//!   blocking calls, marking long-running Gs and stack trimming (`sysmon.rs`).
//! - For seeing inside: the record of every G allocation that the
//!   goroutine dump walks (`allgs.rs`), the coarse clock parks read
//!   (`coarse.rs`), and sysmon's deadlock check (`deadlock.rs`).
//! - The netpoller (`crate::netpoll`) hooks in three times: an M with
//!   nothing to run polls it without blocking before stealing (what it
//!   readies goes to its local queue); on the 61st tick, if nobody polled
//!   for 10 ms, it polls even with work queued, and what that readies joins
//!   the back of the global queue, behind older work (put locally, each
//!   such batch overtook the Gs that earlier ones had overflowed to global,
//!   and those starved for seconds under c10k load); and in `inline` mode
//!   the M that finds nothing at all blocks in it instead of sleeping.
//!
//! # How an M finds work (`M::find_runnable`)
//!
//! `runnext`, then the local queue, then a batch from the global queue — except
//! every 61st schedule tick, when the global queue (then the local head, then
//! `runnext`) goes first, so neither a yielding loop nor a ping-pong pair on
//! `runnext` can starve others. Then, if allowed to spin
//! (2 × spinning < busy Ps), steal half of a random victim's queue in four
//! rounds of random order, taking a victim's `runnext` only in the last round
//! and after a 3 µs grace while its owner runs, so a fresh hand-off is not
//! stolen mid ping-pong. With nothing found the M releases its P, re-checks
//! every queue, and sleeps on its own condition variable.
//!
//! # Spinning and wake-ups (`idle.rs`)
//!
//! New work (spawn, ready) calls `wakep`: if a P is idle and no M is spinning,
//! one M is woken (or started) with that P, as a spinning M. A spinning M that
//! finds work stops spinning and calls `wakep` again, so wake-ups fan out one
//! at a time instead of waking every M for every G (the thundering herd).
//! The protocol that prevents a lost wake-up is Go's: the submitter publishes
//! its work with a SeqCst operation (the `runnext` swap, or a push followed by
//! a fence), then reads `npidle`/`nmspinning`; an M going idle publishes
//! `npidle += 1` (and `nmspinning -= 1` if it spun), fences, then re-checks
//! every queue. In the single total order of SeqCst operations one of the two
//! comes first, so at least one side sees the other.
//!
//! # Alternatives rejected
//!
//! - One `Mutex<VecDeque>` run queue: a lock on every spawn and ready, which
//!   is the figure that caps every other one. (The global queue is one, but
//!   only spawns off an M, local overflow, preemption and timers reach it.)
//! - `crossbeam_deque::Worker` as the local queue: unbounded, so Go's overflow
//!   rule (half to global) and a `runnext` slot would sit beside it; the
//!   256-slot ring does both with plain loads and one CAS.
//! - A dedicated timer thread per P, or Ms polling timers with `sleep`: sysmon
//!   sleeps on a condition variable until the earliest deadline instead.

pub(crate) mod allgs;
pub(crate) mod blocking;
pub(crate) mod body;
pub(crate) mod cache;
pub(crate) mod coarse;
pub(crate) mod deadlock;
pub(crate) mod g;
pub(crate) mod gfree;
pub(crate) mod global;
pub(crate) mod hog;
pub(crate) mod idle;
pub(crate) mod m;
pub(crate) mod p;
pub(crate) mod park;
pub(crate) mod preempt;
pub(crate) mod runq;
pub(crate) mod steal;
pub(crate) mod sysmon;
pub(crate) mod system_stack;
pub(crate) mod waitq;
pub(crate) mod warm_stack;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub(crate) use g::describe_current_g;

use crate::stack;
use crate::timer::Timers;
use gfree::GlobalFree;
use global::Global;
use idle::Idle;
use p::P;

/// The process-wide scheduler state (Go's `sched` + `allp`).
pub(crate) struct Sched {
    /// All Ps, fixed at start (Go's `allp`).
    pub(crate) ps: &'static [P],
    pub(crate) global: Global,
    pub(crate) idle: Idle,
    pub(crate) timers: Timers,
    /// Dead Gs beyond what the Ps keep (Go's `sched.gFree`).
    pub(crate) gfree: GlobalFree,
    /// Default stack reservation for new Gs (`GORT_STACK_SIZE`).
    pub(crate) stack_size: usize,
    /// Gs spawned from threads with no P (the per-P counters miss them).
    foreign_spawns: AtomicU64,
}

static SCHED: OnceLock<Sched> = OnceLock::new();

/// The scheduler, started on first use.
#[inline]
pub(crate) fn sched() -> &'static Sched {
    match SCHED.get() {
        Some(s) => s,
        None => start(),
    }
}

#[cold]
fn start() -> &'static Sched {
    SCHED.get_or_init(|| {
        stack::install_overflow_handler();
        crate::panic::install_hook();
        sysmon::start();
        crate::sigquit::start();
        crate::debug::start();
        Sched::new()
    })
}

impl Sched {
    fn new() -> Sched {
        let procs = env_usize("GORT_PROCS")
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let stack_size = stack::round_size(env_usize("GORT_STACK_SIZE").unwrap_or(stack::DEFAULT_STACK_SIZE));
        let ps: &'static [P] = Box::leak((0..procs).map(|i| P::new(i, stack_size, procs == 1)).collect());
        Sched {
            idle: Idle::new(ps),
            ps,
            global: Global::new(),
            timers: Timers::new(),
            gfree: GlobalFree::new(),
            stack_size,
            foreign_spawns: AtomicU64::new(0),
        }
    }

    pub(crate) fn count_foreign_spawn(&self) {
        // Relaxed: a statistic.
        self.foreign_spawns.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn foreign_spawns(&self) -> u64 {
        self.foreign_spawns.load(Ordering::Relaxed)
    }

    /// Number of Ps.
    pub(crate) fn procs(&self) -> usize {
        self.ps.len()
    }
}

fn env_usize(name: &str) -> Option<usize> {
    let v = std::env::var(name).ok()?;
    match parse_size(v.trim()) {
        Some(n) => Some(n),
        None => {
            eprintln!("gort: ignoring {name}={v:?}: expected a number (suffix k, m allowed)");
            None
        }
    }
}

/// Parses `65536`, `64k`, `1m` (binary units).
fn parse_size(v: &str) -> Option<usize> {
    let (num, shift) = match v.as_bytes().last()? {
        b'k' | b'K' => (&v[..v.len() - 1], 10),
        b'm' | b'M' => (&v[..v.len() - 1], 20),
        _ => (v, 0),
    };
    num.parse::<usize>().ok()?.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("64k"), Some(64 << 10));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }
}
