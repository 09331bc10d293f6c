//! Parking many goroutines or OS threads at once, and reading what the
//! process holds resident meanwhile. Shared by the `million` and `switchlab`
//! examples (each includes it with `#[path]`), so both measure the same way.
//!
//! Resident cost is VmRSS + VmPTE from /proc/self/status; for threads the
//! growth of `KernelStack` in /proc/meminfo is read too, since a thread keeps
//! part of its cost in the kernel. `KernelStack` is system-wide, so other
//! processes starting threads meanwhile add noise to it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::Duration;

/// Memory figures in bytes.
pub struct Mem {
    pub rss: u64,
    pub pte: u64,
    pub kernel_stack: u64,
}

impl Mem {
    pub fn now() -> Mem {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Mem {
            rss: field(&status, "VmRSS:") * 1024,
            pte: field(&status, "VmPTE:") * 1024,
            kernel_stack: field(&meminfo, "KernelStack:") * 1024,
        }
    }

    pub fn resident(&self) -> u64 {
        self.rss + self.pte
    }

    /// What grew since `before`, field by field; a figure that shrank
    /// (memory given back meanwhile) grew by 0.
    pub fn growth(&self, before: &Mem) -> Mem {
        Mem {
            rss: self.rss.saturating_sub(before.rss),
            pte: self.pte.saturating_sub(before.pte),
            kernel_stack: self.kernel_stack.saturating_sub(before.kernel_stack),
        }
    }
}

/// The number on a `Key:   123 kB` (or `Key: 123`) line of a /proc file;
/// 0 when the key is missing.
pub fn field(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
}

/// Goroutines parked in one chain: each joins its predecessor, the first
/// sleeps until released. Nothing runs while they wait.
pub struct Chain {
    n: usize,
    release: Arc<AtomicBool>,
    last: gort::JoinHandle<u64>,
}

impl Chain {
    /// Spawns `n` goroutines (n ≥ 1) with `stack` bytes reserved each, or the
    /// runtime's default.
    pub fn spawn(n: usize, stack: Option<usize>) -> Chain {
        let builder = stack.map_or_else(gort::Builder::new, |s| gort::Builder::new().stack_size(s));
        let release = Arc::new(AtomicBool::new(false));
        let flag = release.clone();
        let mut last = go(&builder, move || {
            while !flag.load(Ordering::Acquire) {
                gort::time::sleep(Duration::from_millis(1));
            }
            0u64
        });
        for _ in 1..n {
            let prev = last;
            last = go(&builder, move || prev.join().unwrap() + 1);
        }
        Chain { n, release, last }
    }

    /// Waits until every goroutine is parked: all Ps idle with n+ live Gs.
    pub fn wait_parked(&self) {
        loop {
            let s = gort::stats();
            if s.gs >= self.n as u64 && s.idle_ps == s.ps && s.global_queue == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Releases the first goroutine and joins the whole chain.
    pub fn release(self) {
        self.release.store(true, Ordering::Release);
        assert_eq!(self.last.join().unwrap(), self.n as u64 - 1);
    }
}

fn go(builder: &gort::Builder, f: impl FnOnce() -> u64 + Send + 'static) -> gort::JoinHandle<u64> {
    // SAFETY: the closures of `Chain` keep no thread-local borrow across the
    // blocking calls (`sleep`, `join`) they make.
    unsafe { builder.clone().spawn(f) }.expect("parked: reserve a goroutine stack")
}

/// OS threads parked on a barrier until released.
pub struct Sleepers {
    release: Arc<Barrier>,
    parked: Arc<Barrier>,
    threads: Vec<JoinHandle<()>>,
}

impl Sleepers {
    /// Spawns `n` threads with `stack` bytes of stack each, or std's default.
    pub fn spawn(n: usize, stack: Option<usize>) -> Sleepers {
        let release = Arc::new(Barrier::new(n + 1));
        let parked = Arc::new(Barrier::new(n + 1));
        let threads = (0..n)
            .map(|_| {
                let (r, p) = (release.clone(), parked.clone());
                let b = stack
                    .map_or_else(std::thread::Builder::new, |s| std::thread::Builder::new().stack_size(s));
                b.spawn(move || {
                    p.wait();
                    r.wait();
                })
                .expect("parked: spawn a thread")
            })
            .collect();
        Sleepers { release, parked, threads }
    }

    /// Waits until every thread has reached its barrier, then a little more
    /// so that the last ones are asleep in the kernel.
    pub fn wait_parked(&self) {
        self.parked.wait();
        std::thread::sleep(Duration::from_millis(100));
    }

    /// Releases and joins every thread.
    pub fn release(self) {
        self.release.wait();
        self.threads.into_iter().for_each(|h| h.join().unwrap());
    }
}
