//! What spawning takes from a cache instead of a shared structure: goids,
//! stacks and dead Gs. Each P owns one (in `PLocal`, touched only by the M
//! holding the P); each plain thread that spawns (such as `main`) gets its
//! own on first spawn, in a thread-local, which gives everything back to the
//! global pools when the thread exits.
//!
//! Without the thread's cache, every spawn from `main` took the stack
//! pool's lock for one stack and `malloc`ed a G that an M later freed on
//! another thread, glibc's slowest case: malloc was 43% of the spawning
//! thread's profile.

use std::cell::RefCell;
use std::io;
use std::mem;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sched::g::G;
use crate::sched::gfree::{GlobalFree, LocalFree};
use crate::sched::{sched, sysmon};
use crate::stack::{self, Stack, StackCache};

/// goids are handed to caches in batches of this many (Go's
/// `_GoidCacheBatch`), so spawning does not bounce one counter's cache line
/// between threads.
const GOID_BATCH: u64 = 16;

/// Next goid batch start; goid 0 is never used.
static GOID_GEN: AtomicU64 = AtomicU64::new(1);

/// What a new G is made of: its goid, its stack, and a dead G to build it in.
pub(crate) type Parts = (u64, Stack, Option<Box<G>>);

/// One spawner's caches (owner-only, no lock).
pub(crate) struct SpawnCache {
    pub(crate) stacks: StackCache,
    pub(crate) gfree: LocalFree,
    goid_next: u64,
    goid_end: u64,
    /// sysmon's sweep count when the caches were last flushed.
    flushed_at: u64,
}

impl SpawnCache {
    /// A P's cache.
    pub(crate) fn new(stack_size: usize) -> SpawnCache {
        SpawnCache::with_stacks(StackCache::new(stack_size))
    }

    /// A plain thread's cache.
    fn for_thread(stack_size: usize) -> SpawnCache {
        SpawnCache::with_stacks(StackCache::for_thread(stack_size))
    }

    fn with_stacks(stacks: StackCache) -> SpawnCache {
        SpawnCache { stacks, gfree: LocalFree::new(), goid_next: 0, goid_end: 0, flushed_at: 0 }
    }

    /// The parts of a new G with a stack of `size` bytes. The stack is only
    /// reserved: the spawner never touches its memory (`G::start`). Starts
    /// loading the next spawn's dead G, last written by the M that ran it,
    /// often on another CPU: the first writes to it were most of building a
    /// G from `main` (`perf annotate` of `G::new`). Every line of the box is
    /// fetched: with only the first two, writing the body was 12% of `main`.
    #[inline]
    pub(crate) fn take(&mut self, size: usize, global: &GlobalFree) -> io::Result<Parts> {
        let parts = (self.next_goid(), self.stacks.get(size)?, self.gfree.get(global));
        if let Some(g) = self.gfree.next() {
            (0..mem::size_of::<G>()).step_by(64).for_each(|at| prefetch_write(g as usize + at));
        }
        Ok(parts)
    }

    fn next_goid(&mut self) -> u64 {
        if self.goid_next == self.goid_end {
            // Relaxed: ids only need to be unique, not ordered with anything.
            self.goid_next = GOID_GEN.fetch_add(GOID_BATCH, Ordering::Relaxed);
            self.goid_end = self.goid_next + GOID_BATCH;
        }
        self.goid_next += 1;
        self.goid_next - 1
    }

    /// For the M releasing its P: once per sysmon sweep, hands the caches
    /// beyond a small working set to the global pools, where sweeps age them.
    pub(crate) fn flush_idle(&mut self, global: &GlobalFree) {
        let sweeps = sysmon::sweeps();
        if sweeps != self.flushed_at {
            self.flushed_at = sweeps;
            self.stacks.flush_idle();
            self.gfree.flush_idle(global);
        }
    }
}

/// A thread's cache goes back whole when the thread exits (Ps live forever).
impl Drop for SpawnCache {
    fn drop(&mut self) {
        self.stacks.flush_all();
        self.gfree.flush_all(&sched().gfree);
    }
}

thread_local! {
    static THREAD: RefCell<Option<SpawnCache>> = const { RefCell::new(None) };
}

/// The parts of a new G spawned from a plain thread, from the thread's cache
/// (created on its first spawn). A thread already exiting, whose cache is
/// gone, takes them from the global pools.
pub(crate) fn take_on_thread(size: usize) -> io::Result<Parts> {
    let s = sched();
    let cached = THREAD.try_with(|c| {
        let mut c = c.borrow_mut();
        c.get_or_insert_with(|| SpawnCache::for_thread(s.stack_size)).take(size, &s.gfree)
    });
    match cached {
        Ok(parts) => parts,
        Err(_) => Ok((GOID_GEN.fetch_add(1, Ordering::Relaxed), stack::alloc(size)?, None)),
    }
}

/// Asks the CPU to fetch the cache line at `addr` for writing. A hint: it
/// never faults, whatever the address.
#[inline(always)]
fn prefetch_write(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch has no architectural effect; an unmapped address
    // is ignored.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_ET0 }>(addr as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}
