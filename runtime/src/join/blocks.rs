//! Memory for join packets: small blocks from per-thread magazines and a
//! shared depot (Bonwick's magazine allocator).
//!
//! Every spawn allocates a packet and every join (or the finishing G, for a
//! detached one) frees it. Through malloc that was 15–20% of a batch of
//! spawns from a G, and 26–38% of `main`'s time spawning a million Gs and
//! then joining them: every packet of the million is live at once, so no
//! per-thread cache of a few hundred held them; each sample of the bench
//! page-faulted the heap back in after glibc trimmed it, and took the arena
//! lock that the Ms freeing dead Gs contend for.
//!
//! # Who touches what
//!
//! - Each thread owns two magazines, chains of free blocks linked through
//!   their first word: `hot`, which it allocates from and frees to, and
//!   `full`, a spare of exactly `BATCH` blocks or nothing. No lock, no
//!   atomic.
//! - The depot, behind a lock, holds chains of blocks of any length. A
//!   thread takes the lock once per `BATCH` blocks: a free that finds `hot`
//!   full moves `full` to the depot and `hot` into `full`; an allocation
//!   that finds both empty takes a chain from the depot, and only with the
//!   depot empty calls malloc. A chain moves whole, in O(1).
//!
//! # Invariants
//!
//! - A block in a magazine or the depot is free, came from
//!   `alloc::alloc(LAYOUT)`, and is in exactly one chain.
//! - A chain's `len` is the number of blocks linked from its `head`.
//!
//! # Giving memory back
//!
//! A thread keeps at most `2 * BATCH` blocks (32 KiB) and gives them to
//! the depot when it exits. The depot is unbounded but ages (`aging.rs`):
//! chains left untaken through two of sysmon's sweeps go back to malloc.
//! So a burst of a million live handles leaves its 64 MiB of blocks for
//! one or two seconds, then frees them.
//!
//! The magazines are reached through `#[inline(never)]` functions: callers
//! run on goroutines, which may resume on another thread, and the compiler
//! must not reuse a thread-local address computed before a switch.

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::mem::{self, MaybeUninit};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::aging::Aging;

/// Bytes in a block: a packet whose result is up to about 40 bytes fits.
const BLOCK: usize = 64;
/// Blocks in a full magazine: what moves to or from the depot at once.
const BATCH: usize = 256;

#[repr(C, align(16))]
struct Block([MaybeUninit<u8>; BLOCK]);

const LAYOUT: Layout = Layout::new::<Block>();

/// Whether a `T` is allocated from blocks.
pub(crate) const fn fits<T>() -> bool {
    mem::size_of::<T>() <= BLOCK && mem::align_of::<T>() <= mem::align_of::<Block>()
}

/// Free blocks linked through their first word.
struct Chain {
    head: *mut u8,
    len: usize,
}

// SAFETY: a chain owns its free blocks, which nobody else references, so
// it may move to another thread (through the depot).
unsafe impl Send for Chain {}

impl Chain {
    const EMPTY: Chain = Chain { head: ptr::null_mut(), len: 0 };

    fn push(&mut self, b: *mut u8) {
        // SAFETY: `b` is a free block (caller), aligned for a pointer.
        unsafe { b.cast::<*mut u8>().write(self.head) };
        self.head = b;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<*mut u8> {
        let b = self.head;
        if b.is_null() {
            return None;
        }
        // SAFETY: a chained block is free and its first word holds the next.
        self.head = unsafe { b.cast::<*mut u8>().read() };
        self.len -= 1;
        Some(b)
    }

    /// Gives every block back to malloc.
    fn free(mut self) {
        while let Some(b) = self.pop() {
            // SAFETY: every chained block came from `alloc::alloc(LAYOUT)`.
            unsafe { alloc::dealloc(b, LAYOUT) };
        }
    }
}

/// The shared depot of chains, behind a lock taken once per `BATCH` blocks.
struct Depot {
    chains: Mutex<Aging<Chain>>,
    /// `chains.len()`, written under the lock, read without it so that a
    /// thread finding the depot empty does not take the lock per malloc.
    len: AtomicUsize,
}

static DEPOT: Depot = Depot { chains: Mutex::new(Aging::new()), len: AtomicUsize::new(0) };

impl Depot {
    fn put(&self, c: Chain) {
        let mut chains = self.chains.lock();
        chains.push(c);
        // Relaxed: a hint; the lock orders the chains themselves.
        self.len.store(chains.len(), Ordering::Relaxed);
    }

    fn take(&self) -> Option<Chain> {
        // Relaxed: a stale zero only means one malloc instead of a reuse.
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut chains = self.chains.lock();
        let c = chains.pop();
        // Relaxed: as in `put`.
        self.len.store(chains.len(), Ordering::Relaxed);
        c
    }

    fn sweep(&self) {
        let mut chains = self.chains.lock();
        let idle = chains.sweep();
        // Relaxed: as in `put`.
        self.len.store(chains.len(), Ordering::Relaxed);
        drop(chains);
        idle.into_iter().for_each(Chain::free);
    }
}

/// One of sysmon's sweeps: frees the chains left untaken since the last.
pub(crate) fn sweep() {
    DEPOT.sweep();
}

/// A thread's two magazines (owner-only).
struct Magazines {
    hot: Cell<Chain>,
    full: Cell<Chain>,
}

impl Drop for Magazines {
    /// An exiting thread's blocks go to the depot, where they age.
    fn drop(&mut self) {
        for c in [self.hot.replace(Chain::EMPTY), self.full.replace(Chain::EMPTY)] {
            if c.len > 0 {
                DEPOT.put(c);
            }
        }
    }
}

thread_local! {
    static MAGS: Magazines = const { Magazines { hot: Cell::new(Chain::EMPTY), full: Cell::new(Chain::EMPTY) } };
}

/// A block for a `T` (which must `fit`), from this thread's magazines, the
/// depot, or malloc.
#[inline]
pub(crate) fn alloc<T>() -> NonNull<T> {
    debug_assert!(fits::<T>(), "blocks::alloc: type too big");
    alloc_block().cast()
}

#[inline(never)]
fn alloc_block() -> NonNull<u8> {
    let cached = MAGS.try_with(|m| {
        let mut hot = m.hot.replace(Chain::EMPTY);
        let b = hot.pop().or_else(|| reload(m, &mut hot));
        m.hot.set(hot);
        b
    });
    let b = match cached {
        Ok(Some(b)) => b,
        // SAFETY: `LAYOUT` has a non-zero size.
        _ => unsafe { alloc::alloc(LAYOUT) },
    };
    match NonNull::new(b) {
        Some(b) => b,
        None => alloc::handle_alloc_error(LAYOUT),
    }
}

/// `hot` is empty: refills it from `full`, else from the depot, and takes
/// a block; `None` when both are empty too.
#[cold]
fn reload(m: &Magazines, hot: &mut Chain) -> Option<*mut u8> {
    let full = m.full.replace(Chain::EMPTY);
    *hot = if full.len > 0 { full } else { DEPOT.take()? };
    hot.pop()
}

/// Returns a block from [`alloc`], whose contents the caller has dropped.
///
/// # Safety
/// `b` came from `alloc` and nobody uses it any more.
#[inline]
pub(crate) unsafe fn free<T>(b: NonNull<T>) {
    // SAFETY: guaranteed by the caller.
    unsafe { free_block(b.as_ptr().cast()) }
}

/// # Safety
/// As for `free`.
#[inline(never)]
unsafe fn free_block(b: *mut u8) {
    let kept = MAGS.try_with(|m| {
        let mut hot = m.hot.replace(Chain::EMPTY);
        if hot.len == BATCH {
            hot = rotate(m, hot);
        }
        hot.push(b);
        m.hot.set(hot);
    });
    if kept.is_err() {
        // SAFETY: the block came from `alloc::alloc(LAYOUT)` (caller's contract).
        unsafe { alloc::dealloc(b, LAYOUT) };
    }
}

/// `hot` is full: it becomes the spare, the old spare (if any) goes to the
/// depot, and an empty magazine comes back to free into.
#[cold]
fn rotate(m: &Magazines, hot: Chain) -> Chain {
    let old = m.full.replace(hot);
    if old.len > 0 {
        DEPOT.put(old);
    }
    Chain::EMPTY
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use parking_lot::Mutex;

    use super::{alloc, alloc_block, fits, free, Aging, Chain, Depot, BATCH, DEPOT};

    type B = [u64; 8];

    #[test]
    fn blocks_are_reused_on_a_thread_and_freed_across_threads() {
        assert!(fits::<B>() && !fits::<[u64; 9]>());
        let a = alloc::<B>();
        // SAFETY: `a` came from `alloc` and is not used again.
        unsafe { free(a) };
        let b = alloc::<B>();
        assert_eq!(a, b, "the freed block comes back first");
        let addr = b.as_ptr() as usize;
        std::thread::spawn(move || {
            let b = std::ptr::NonNull::new(addr as *mut B).unwrap();
            // SAFETY: the block came from `alloc` and the spawner gave it up.
            unsafe { free(b) };
        })
        .join()
        .unwrap();
    }

    /// A thread's burst ends in the depot: the spares it rotated out and
    /// its two magazines as it exits.
    #[test]
    fn an_exiting_threads_blocks_go_to_the_depot() {
        let n = 8 * BATCH;
        let freed: HashSet<usize> = std::thread::spawn(move || {
            let bs: Vec<_> = (0..n).map(|_| alloc::<B>()).collect();
            let addrs = bs.iter().map(|b| b.as_ptr() as usize).collect();
            // SAFETY: each block came from `alloc` and is not used again.
            bs.into_iter().for_each(|b| unsafe { free(b) });
            addrs
        })
        .join()
        .unwrap();
        let chains = DEPOT.chains.lock();
        let mut found = 0;
        for c in chains.iter() {
            let mut b = c.head;
            while !b.is_null() {
                found += usize::from(freed.contains(&(b as usize)));
                // SAFETY: a chained block is free and holds the next; the
                // depot's lock keeps the chain still.
                b = unsafe { b.cast::<*mut u8>().read() };
            }
        }
        // Other tests' threads share the depot and may have taken a chain.
        assert!(found >= n / 2, "only {found} of {n} blocks reached the depot");
    }

    #[test]
    fn the_depot_frees_chains_idle_through_two_sweeps() {
        let depot = Depot { chains: Mutex::new(Aging::new()), len: AtomicUsize::new(0) };
        let chain = |k: usize| {
            let mut c = Chain::EMPTY;
            (0..k).for_each(|_| c.push(alloc_block().as_ptr()));
            c
        };
        depot.put(chain(3));
        depot.sweep();
        depot.put(chain(2));
        assert_eq!(depot.take().map(|c| c.len), Some(2), "newest first");
        depot.sweep();
        assert!(depot.take().is_none(), "the chain idle through two sweeps is freed");
        depot.put(chain(1));
        depot.sweep();
        assert_eq!(depot.len.load(Ordering::Relaxed), 1, "one sweep only marks");
        depot.sweep();
        assert_eq!(depot.len.load(Ordering::Relaxed), 0);
    }
}
