//! Memory for join packets: a per-thread free list of small blocks.
//!
//! Every spawn allocates a packet and every join (or the finishing G, for a
//! detached one) frees it. Through malloc that was 15–20% of a batch of
//! spawns: past glibc's per-thread cache of 7 chunks a size, the frees of a
//! batch land in fastbins, which the next large allocation consolidates.
//! Packets that fit a `BLOCK` come from here instead.
//!
//! Each thread keeps up to `CAP` free blocks, pushed and popped with no
//! lock and no atomic. A block allocated on one thread may be freed on
//! another: a thread whose list is full hands the block back to malloc. A
//! thread's list is freed when the thread exits. So at most `CAP` blocks
//! (32 KiB) stay cached per thread.
//!
//! The list is reached through `#[inline(never)]` functions: callers run on
//! goroutines, which may resume on another thread, and the compiler must not
//! reuse a thread-local address computed before a switch.

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::mem::{self, MaybeUninit};
use std::ptr::{self, NonNull};

/// Bytes in a block: a packet whose result is up to about 40 bytes fits.
const BLOCK: usize = 64;
/// Free blocks a thread keeps.
const CAP: usize = 512;

#[repr(C, align(16))]
struct Block([MaybeUninit<u8>; BLOCK]);

const LAYOUT: Layout = Layout::new::<Block>();

/// Whether a `T` is allocated from blocks.
pub(crate) const fn fits<T>() -> bool {
    mem::size_of::<T>() <= BLOCK && mem::align_of::<T>() <= mem::align_of::<Block>()
}

/// A thread's free blocks, linked through their first word.
struct FreeList {
    head: Cell<*mut u8>,
    len: Cell<usize>,
}

impl Drop for FreeList {
    fn drop(&mut self) {
        let mut b = self.head.replace(ptr::null_mut());
        while !b.is_null() {
            // SAFETY: a listed block is free and its first word holds the next.
            let next = unsafe { b.cast::<*mut u8>().read() };
            // SAFETY: every listed block came from `alloc::alloc(LAYOUT)`.
            unsafe { alloc::dealloc(b, LAYOUT) };
            b = next;
        }
    }
}

thread_local! {
    static FREE: FreeList = const { FreeList { head: Cell::new(ptr::null_mut()), len: Cell::new(0) } };
}

/// A block for a `T` (which must `fit`), from this thread's list or malloc.
#[inline]
pub(crate) fn alloc<T>() -> NonNull<T> {
    debug_assert!(fits::<T>(), "blocks::alloc: type too big");
    alloc_block().cast()
}

#[inline(never)]
fn alloc_block() -> NonNull<u8> {
    let cached = FREE.try_with(|l| {
        let b = l.head.get();
        if !b.is_null() {
            // SAFETY: a listed block is free and its first word holds the next.
            l.head.set(unsafe { b.cast::<*mut u8>().read() });
            l.len.set(l.len.get() - 1);
        }
        b
    });
    let b = match cached {
        Ok(b) if !b.is_null() => b,
        // SAFETY: `LAYOUT` has a non-zero size.
        _ => unsafe { alloc::alloc(LAYOUT) },
    };
    match NonNull::new(b) {
        Some(b) => b,
        None => alloc::handle_alloc_error(LAYOUT),
    }
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
    let kept = FREE.try_with(|l| {
        if l.len.get() == CAP {
            return false;
        }
        // SAFETY: the block is ours now (caller's contract) and word-aligned.
        unsafe { b.cast::<*mut u8>().write(l.head.get()) };
        l.head.set(b);
        l.len.set(l.len.get() + 1);
        true
    });
    if kept != Ok(true) {
        // SAFETY: the block came from `alloc::alloc(LAYOUT)` (caller's contract).
        unsafe { alloc::dealloc(b, LAYOUT) };
    }
}

#[cfg(test)]
mod tests {
    use super::{alloc, fits, free};

    #[test]
    fn blocks_are_reused_on_a_thread_and_freed_across_threads() {
        assert!(fits::<[u64; 8]>() && !fits::<[u64; 9]>());
        let a = alloc::<[u64; 8]>();
        // SAFETY: `a` came from `alloc` and is not used again.
        unsafe { free(a) };
        let b = alloc::<[u64; 8]>();
        assert_eq!(a, b, "the freed block comes back first");
        let addr = b.as_ptr() as usize;
        std::thread::spawn(move || {
            let b = std::ptr::NonNull::new(addr as *mut [u64; 8]).unwrap();
            // SAFETY: the block came from `alloc` and the spawner gave it up.
            unsafe { free(b) };
        })
        .join()
        .unwrap();
    }
}
