//! Goroutine stacks: carved from big arenas, guarded, pooled, trimmed.
//!
//! ```text
//!   arena (one MAP_NORESERVE mapping, MADV_NOHUGEPAGE, one VMA)
//!   | guard | usable ............ top | guard | usable ............ top | ...
//!   ^ limit                       ^ base (stacks grow down towards the guard)
//! ```
//!
//! - A stack is a fixed reservation (`size`, guard page included) of which
//!   only touched pages become resident. Its lowest page is a guard installed
//!   with `MADV_GUARD_INSTALL` (Linux ≥ 6.13), which does not split the
//!   mapping: a million guarded stacks stay a handful of VMAs. Older kernels
//!   fall back to `mprotect`, two VMAs a stack, and get a clear error at the
//!   `vm.max_map_count` limit.
//! - Installing a guard costs about a microsecond, so stacks are carved once
//!   and reused forever: per-P caches of the default size (no lock), a global
//!   pool per size behind a lock taken in batches. Plain threads that
//!   spawn get a cache too (`sched/cache.rs`).
//! - Memory comes back lazily. The global pools age (`aging.rs`): stacks
//!   left untaken through two of sysmon's sweeps (about a second apart) are
//!   released whole (`MADV_DONTNEED`, one call per run of neighbouring
//!   stacks; guard markers survive it) and kept, empty, for reuse after the
//!   resident ones. A stack in use keeps what it touched unless its
//!   goroutine asks to give back what lies below its depth
//!   ([`shrink_stack`], `stack/shrink.rs`). Reusing
//!   a pooled stack therefore costs what it did; only a stack idle for a
//!   second or more pays its first-touch faults again. Stacks in P caches
//!   stay warm; a P going idle flushes its cache beyond `CACHE_KEEP` to the
//!   global pool once a sweep (`StackCache::flush_idle`), so they age too.
//! - Every arena is listed in a lock-free table the SIGSEGV handler reads: a
//!   fault inside a guard page is reported as that goroutine's overflow.

use std::fmt::{self, Write as _};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use corosensei::stack::StackPointer;
use parking_lot::Mutex;

use crate::aging::Aging;
use crate::sys;

mod shrink;
pub use shrink::shrink_stack;

/// Default reservation of a goroutine stack, guard page included.
pub(crate) const DEFAULT_STACK_SIZE: usize = 256 << 10;
/// Smallest reservation: a guard page plus three usable pages.
const MIN_STACK_SIZE: usize = 16 << 10;
/// Virtual size of one arena (more for huge stacks: at least 16 of them).
const ARENA_BYTES: usize = 1 << 30;
/// Stacks moved between a P's cache and the global pool at once; the cache
/// keeps up to twice as many.
const CACHE_BATCH: usize = 16;
/// The same for a plain thread's cache. Its Gs run and exit on Ms, so every
/// stack it takes comes back through the pool: a refill per 16 spawns was
/// 8% of `main`'s time spawning a million Gs (the pool's lock, contended by
/// the Ms giving stacks back).
const THREAD_BATCH: usize = 128;
/// Stacks an idle P keeps in its cache: its small working set.
const CACHE_KEEP: usize = 4;
const MADV_GUARD_INSTALL: libc::c_int = 102;
/// Arena table size: 4096 arenas of 1 GiB is 16 million default stacks.
const MAX_ARENAS: usize = 4096;

/// One goroutine stack: `limit..base`, the guard page at `limit`.
pub(crate) struct Stack {
    base: usize,
    size: usize,
}

impl Stack {
    fn limit(&self) -> usize {
        self.base - self.size
    }

    /// The highest address, where the stack starts.
    pub(crate) fn top(&self) -> usize {
        self.base
    }

    /// The lowest usable address: just above the guard page.
    pub(crate) fn floor(&self) -> usize {
        self.limit() + sys::page_size()
    }
}

// SAFETY: `base` is 16-aligned (arenas are page-aligned, sizes page
// multiples), and `limit..base` is mapped read-write with a guard page at
// `limit` that faults on overflow, which is what corosensei requires.
unsafe impl corosensei::stack::Stack for Stack {
    fn base(&self) -> StackPointer {
        StackPointer::new(self.base).expect("Stack::base: null")
    }

    fn limit(&self) -> StackPointer {
        StackPointer::new(self.limit()).expect("Stack::limit: null")
    }
}

/// An address in the caller's frame: which stack the caller runs on, and
/// about how deep (`shrink_stack`, `warm_stack`).
#[inline(always)]
pub(crate) fn depth() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Rounds a requested reservation up to whole pages, at least 16 KiB.
pub(crate) fn round_size(requested: usize) -> usize {
    let page = sys::page_size();
    requested.max(MIN_STACK_SIZE).div_ceil(page) * page
}

/// A P's private cache of default-size stacks (owner-only, no lock).
pub(crate) struct StackCache {
    size: usize,
    stacks: Vec<Stack>,
    /// Stacks moved to or from the global pool at once.
    batch: usize,
}

impl StackCache {
    /// A P's cache.
    pub(crate) fn new(size: usize) -> StackCache {
        StackCache::with_batch(size, CACHE_BATCH)
    }

    /// A plain thread's cache, which trades with the pool in bigger batches.
    pub(crate) fn for_thread(size: usize) -> StackCache {
        StackCache::with_batch(size, THREAD_BATCH)
    }

    fn with_batch(size: usize, batch: usize) -> StackCache {
        StackCache { size, stacks: Vec::with_capacity(2 * batch), batch }
    }

    /// A stack of `size` bytes (rounded), from the cache when it can.
    #[inline]
    pub(crate) fn get(&mut self, size: usize) -> io::Result<Stack> {
        if size != self.size {
            return alloc(size);
        }
        match self.stacks.pop() {
            Some(s) => Ok(s),
            None => self.refill(),
        }
    }

    /// Trades `s` (reserved for a G about to start) for the stack on top
    /// of the cache, the last one a G exited on, if it has the same size.
    #[inline]
    pub(crate) fn swap_warm(&mut self, s: &mut Stack) {
        if s.size == self.size {
            if let Some(top) = self.stacks.last_mut() {
                std::mem::swap(top, s);
            }
        }
    }

    #[cold]
    fn refill(&mut self) -> io::Result<Stack> {
        pools().take(self.size, self.batch, &mut self.stacks)?;
        Ok(self.stacks.pop().expect("StackCache::refill: pool gave nothing"))
    }

    /// Takes a stack back; half the cache goes to the global pool when full.
    #[inline]
    pub(crate) fn put(&mut self, s: Stack) {
        if s.size != self.size {
            return free(s);
        }
        if self.stacks.len() == 2 * self.batch {
            let spill = self.stacks.drain(..self.batch);
            pools().give(spill);
        }
        self.stacks.push(s);
    }

    /// For a P going idle: hands all but its `CACHE_KEEP` newest stacks to the
    /// global pool, where sweeps age and release them.
    pub(crate) fn flush_idle(&mut self) {
        if self.stacks.len() > CACHE_KEEP {
            let old = self.stacks.len() - CACHE_KEEP;
            pools().give(self.stacks.drain(..old));
        }
    }

    /// Hands every stack to the global pool (a thread's cache, as it exits).
    pub(crate) fn flush_all(&mut self) {
        pools().give(self.stacks.drain(..));
    }
}

/// A stack from the global pool (for threads without a P, and odd sizes).
pub(crate) fn alloc(size: usize) -> io::Result<Stack> {
    let mut one = Vec::with_capacity(1);
    pools().take(size, 1, &mut one)?;
    Ok(one.pop().expect("stack::alloc: pool gave nothing"))
}

/// Returns a stack to the global pool.
pub(crate) fn free(s: Stack) {
    pools().give(std::iter::once(s));
}

/// Free stacks of one size.
struct Pool {
    size: usize,
    /// Free stacks that may have resident pages, handed out newest first.
    warm: Aging<Stack>,
    /// Released stacks: nothing resident, handed out once `warm` is empty.
    cold: Vec<Stack>,
    /// Uncarved rest of the current arena.
    next: usize,
    end: usize,
}

struct Pools {
    pools: Mutex<Vec<Pool>>,
    carved: AtomicUsize,
}

fn pools() -> &'static Pools {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    POOLS.get_or_init(Pools::new)
}

impl Pools {
    fn new() -> Pools {
        Pools { pools: Mutex::new(Vec::new()), carved: AtomicUsize::new(0) }
    }

    /// Moves `n` stacks of `size` into `out`, carving new ones as needed.
    fn take(&self, size: usize, n: usize, out: &mut Vec<Stack>) -> io::Result<()> {
        let mut pools = self.pools.lock();
        let pool = match pools.iter().position(|p| p.size == size) {
            Some(i) => &mut pools[i],
            None => {
                pools.push(Pool { size, warm: Aging::new(), cold: Vec::new(), next: 0, end: 0 });
                pools.last_mut().expect("Pools::take: just pushed")
            }
        };
        while out.len() < n {
            let s = match pool.warm.pop().or_else(|| pool.cold.pop()) {
                Some(s) => s,
                None => self.carve(pool)?,
            };
            out.push(s);
        }
        Ok(())
    }

    fn give(&self, stacks: impl Iterator<Item = Stack>) {
        let mut pools = self.pools.lock();
        for s in stacks {
            match pools.iter_mut().find(|p| p.size == s.size) {
                Some(p) => p.warm.push(s),
                None => unreachable!("stack::give: a stack of a size never carved"),
            }
        }
    }

    /// Cuts a fresh stack from the pool's arena and guards it.
    fn carve(&self, pool: &mut Pool) -> io::Result<Stack> {
        if pool.end - pool.next < pool.size {
            let bytes = ARENA_BYTES.max(16 * pool.size);
            let start = new_arena(bytes, pool.size)?;
            (pool.next, pool.end) = (start, start + bytes);
        }
        let limit = pool.next;
        install_guard(limit, self.carved.load(Ordering::Relaxed))?;
        pool.next += pool.size;
        self.carved.fetch_add(1, Ordering::Relaxed);
        Ok(Stack { base: limit + pool.size, size: pool.size })
    }
}

/// Maps an arena, keeps huge pages off it, and lists it for the handler.
fn new_arena(bytes: usize, stack_size: usize) -> io::Result<usize> {
    let start = sys::map_reserve(bytes)?;
    // SAFETY: the arena is fresh; nobody uses it yet. NOHUGEPAGE only stops
    // 2 MiB pages from backing eight stacks at once.
    unsafe { sys::madvise(start, bytes, libc::MADV_NOHUGEPAGE) }?;
    ARENAS.register(start, start + bytes, stack_size);
    Ok(start)
}

/// Whether `MADV_GUARD_INSTALL` failed once, so `mprotect` is used.
static NO_GUARD_REGIONS: AtomicBool = AtomicBool::new(false);

fn install_guard(page: usize, carved: usize) -> io::Result<()> {
    let len = sys::page_size();
    if !NO_GUARD_REGIONS.load(Ordering::Relaxed) {
        // SAFETY: the page is the bottom of a stack not handed out yet.
        match unsafe { sys::madvise(page, len, MADV_GUARD_INSTALL) } {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                NO_GUARD_REGIONS.store(true, Ordering::Relaxed)
            }
            Err(e) => return Err(e),
        }
    }
    // SAFETY: as above.
    unsafe { sys::protect_none(page, len) }.map_err(|e| match e.raw_os_error() {
        Some(libc::ENOMEM) => io::Error::other(format!(
            "gort: cannot guard another goroutine stack: the kernel's map limit is reached \
             ({carved} stacks, each guard split by mprotect costs 2 of vm.max_map_count); \
             raise it with `sysctl vm.max_map_count=...` or use Linux >= 6.13, whose guard regions cost none"
        )),
        _ => e,
    })
}

/// One of sysmon's sweeps (about once a second): see the module doc.
/// Returns how many stacks it released.
pub(crate) fn sweep() -> usize {
    pools().sweep()
}

impl Pools {
    /// Releases the stacks that stayed untaken since the previous sweep, and
    /// marks the rest for the next one. Returns how many it released.
    fn sweep(&self) -> usize {
        let idle: Vec<(usize, Vec<Stack>)> =
            self.pools.lock().iter_mut().map(|p| (p.size, p.warm.sweep())).collect();
        let mut released = 0;
        for (size, mut stacks) in idle {
            release(&mut stacks);
            released += stacks.len();
            let mut pools = self.pools.lock();
            if let Some(p) = pools.iter_mut().find(|p| p.size == size) {
                p.cold.append(&mut stacks);
            }
        }
        released
    }
}

/// Gives the pages of free stacks back to the kernel, one `madvise` per run
/// of neighbouring stacks. A run spans the guards between its stacks: guard
/// markers (like `mprotect`ed pages) survive `MADV_DONTNEED`.
fn release(stacks: &mut [Stack]) {
    stacks.sort_unstable_by_key(|s| s.base);
    let page = sys::page_size();
    let mut i = 0;
    while i < stacks.len() {
        let from = stacks[i].limit() + page;
        let mut to = stacks[i].base;
        i += 1;
        while i < stacks.len() && stacks[i].limit() == to {
            to = stacks[i].base;
            i += 1;
        }
        // SAFETY: every stack in the run is in no pool and on no G: nobody
        // runs on it, and its contents are dead. The run starts above its
        // first guard; the guards inside it keep their markers.
        let r = unsafe { sys::madvise(from, to - from, libc::MADV_DONTNEED) };
        debug_assert!(r.is_ok(), "stack::release: madvise: {r:?}");
    }
}

/// Stack counts for `gort::stats()`.
pub(crate) struct StackStats {
    /// Stacks ever carved.
    pub(crate) total: usize,
    /// Stacks in the global pool (P caches not counted).
    pub(crate) free: usize,
}

pub(crate) fn stack_stats() -> StackStats {
    let free = pools().pools.lock().iter().map(|p| p.warm.len() + p.cold.len()).sum();
    StackStats { total: pools().carved.load(Ordering::Relaxed), free }
}

/// Arenas as the signal handler sees them: published with Release, read
/// with Acquire, never removed.
struct ArenaTable {
    len: AtomicUsize,
    entries: [[AtomicUsize; 3]; MAX_ARENAS],
}

static ARENAS: ArenaTable = ArenaTable {
    len: AtomicUsize::new(0),
    entries: [const { [AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)] }; MAX_ARENAS],
};

impl ArenaTable {
    /// Called under the pools lock, so one writer at a time.
    fn register(&self, start: usize, end: usize, stack_size: usize) {
        let i = self.len.load(Ordering::Relaxed);
        assert!(i < MAX_ARENAS, "stack: more than {MAX_ARENAS} arenas");
        for (slot, v) in self.entries[i].iter().zip([start, end, stack_size]) {
            slot.store(v, Ordering::Relaxed);
        }
        // Release: pairs with the Acquire in `guard_hit`.
        self.len.store(i + 1, Ordering::Release);
    }

    /// If `addr` is in a stack's guard page, that stack's size.
    fn guard_hit(&self, addr: usize) -> Option<usize> {
        // Acquire: pairs with the Release in `register`.
        let n = self.len.load(Ordering::Acquire);
        self.entries[..n].iter().find_map(|e| {
            let [start, end, size] = [0, 1, 2].map(|k| e[k].load(Ordering::Relaxed));
            (start <= addr && addr < end && (addr - start) % size < sys::page_size()).then_some(size)
        })
    }
}

static OLD_SEGV: OnceLock<libc::sigaction> = OnceLock::new();

/// Installs the SIGSEGV handler that reports stack overflows (once).
pub(crate) fn install_overflow_handler() {
    OLD_SEGV.get_or_init(|| match sys::sigaction_install(libc::SIGSEGV, on_segv) {
        Ok(old) => old,
        Err(e) => crate::sched::m::fatal(format_args!("cannot install the SIGSEGV handler: {e}")),
    });
}

/// Gives the calling M an alternate signal stack big enough for the handler.
pub(crate) fn ensure_altstack() {
    const ALTSTACK: usize = 64 << 10;
    if sys::altstack_size() < ALTSTACK {
        if let Err(e) = sys::altstack_install(ALTSTACK) {
            crate::sched::m::fatal(format_args!("cannot install an alternate signal stack: {e}"));
        }
    }
}

extern "C" fn on_segv(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    match ARENAS.guard_hit(addr) {
        Some(size) => report_overflow(size),
        None => {
            // Not ours: restore the previous action and return, so the fault
            // happens again and goes where it would have gone without us.
            if let Some(old) = OLD_SEGV.get() {
                sys::sigaction_restore(sig, old);
            }
        }
    }
}

fn report_overflow(size: usize) -> ! {
    let mut buf = FixedBuf { buf: [0; 512], len: 0 };
    let _ = buf.write_str("gort: ");
    let _ = crate::sched::describe_current_g(&mut buf);
    let _ = write!(
        buf,
        " overflowed its {} KiB stack\ngort: raise it with gort::Builder::stack_size or the GORT_STACK_SIZE \
         environment variable\n",
        size >> 10
    );
    sys::write_stderr(&buf.buf[..buf.len]);
    // SAFETY: abort has no preconditions and is async-signal-safe.
    unsafe { libc::abort() }
}

/// Formatting into a fixed buffer: no allocation in the signal handler.
struct FixedBuf {
    buf: [u8; 512],
    len: usize,
}

impl fmt::Write for FixedBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
