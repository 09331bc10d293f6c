//! The memory rows: resident bytes per parked goroutine beside per parked
//! OS thread, at the default and the minimal stack size, measured by
//! parking many at once (`common/parked.rs`, shared with `million`).
//!
//! Each repetition runs in a fresh child process, so that no earlier row's
//! freed heap or pages are reused. A goroutine's cost is the growth of
//! VmRSS + VmPTE; a thread's adds the growth of `KernelStack` (its kernel
//! stack and task structures live outside the process). Goroutines create no
//! kernel objects, so their kernel column is 0 rather than a reading of a
//! system-wide figure that other processes move.

use crate::parked::{Chain, Mem, Sleepers};

/// One memory row: what is parked and with which stack.
pub struct MemRow {
    pub key: &'static str,
    pub what: &'static str,
    pub stack: &'static str,
    /// Parks this many and returns resident and kernel bytes per unit.
    park: fn(usize) -> [f64; 2],
}

/// Smallest stack either side accepts: gort's floor (a guard page + three
/// pages), and std's PTHREAD_STACK_MIN on x86-64 glibc (std adds TLS).
const MIN_STACK: usize = 16 << 10;

pub const ROWS: &[MemRow] = &[
    MemRow {
        key: "g_default",
        what: "parked goroutine",
        stack: "256 KiB reserved (gort default)",
        park: |n| goroutines(n, None),
    },
    MemRow {
        key: "g_min",
        what: "parked goroutine",
        stack: "16 KiB reserved (gort minimum)",
        park: |n| goroutines(n, Some(MIN_STACK)),
    },
    MemRow {
        key: "thread_default",
        what: "parked OS thread",
        stack: "2 MiB (std default)",
        park: |n| threads(n, None),
    },
    MemRow {
        key: "thread_min",
        what: "parked OS thread",
        stack: "16 KiB (std minimum)",
        park: |n| threads(n, Some(MIN_STACK)),
    },
];

impl MemRow {
    /// Resident and kernel bytes per unit, with `n` units parked at once.
    pub fn measure(&self, n: usize) -> [f64; 2] {
        (self.park)(n)
    }
}

fn goroutines(n: usize, stack: Option<usize>) -> [f64; 2] {
    gort::go!(|| ()).join().unwrap(); // start the runtime before the baseline
    let before = Mem::now();
    let chain = Chain::spawn(n, stack);
    chain.wait_parked();
    let grew = Mem::now().growth(&before);
    chain.release();
    [grew.resident() as f64 / n as f64, 0.0]
}

fn threads(n: usize, stack: Option<usize>) -> [f64; 2] {
    let before = Mem::now();
    let sleepers = Sleepers::spawn(n, stack);
    sleepers.wait_parked();
    let grew = Mem::now().growth(&before);
    sleepers.release();
    [grew.resident() as f64 / n as f64, grew.kernel_stack as f64 / n as f64]
}
