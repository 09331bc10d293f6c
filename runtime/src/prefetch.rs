//! Software prefetch for memory the scheduler knows it will touch soon.
//!
//! With thousands of connections, what a goroutine touches per wake-up (its
//! poll slot, its G, the top of its stack) has left the CPU's caches since
//! its last one, and the scheduler reaches each through the last: epoll's
//! token, then the slot, then the G, then the stack, one miss waiting on
//! the other. Where a batch of them is known at once (an `epoll_wait`'s
//! events, the goroutines they ready), asking for all the lines first lets
//! the misses overlap, and the stack's arrive before the G resumes.
//!
//! A prefetch is a hint: it never faults, reads no value and changes
//! nothing a program can observe but time, so any address may be given.

/// The cache line size this is tuned for.
const LINE: usize = 64;

/// Asks for the cache lines covering `addr..addr + len` to be brought in.
#[inline(always)]
pub(crate) fn lines(addr: usize, len: usize) {
    let mut a = addr & !(LINE - 1);
    let end = addr.saturating_add(len);
    while a < end {
        line(a);
        a += LINE;
    }
}

#[inline(always)]
fn line(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` reads nothing a program sees and never faults,
    // whatever the address (module doc); SSE is baseline on x86_64.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(addr as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}
