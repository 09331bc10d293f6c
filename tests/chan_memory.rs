//! An unbounded channel gives its buffer back once drained: after a burst
//! of 100,000 × 64-byte values, an empty channel keeps a few KiB, not the
//! burst's 8 MiB. Live heap bytes are counted by this binary's allocator,
//! so the file holds this one test (others would allocate alongside it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// The system allocator, counting the bytes it has handed out and not
/// had back.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counter is
// only arithmetic on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is `GlobalAlloc::alloc`'s, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as in `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as in `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

#[test]
fn drained_unbounded_channel_gives_its_buffer_back() {
    const BURST: usize = 100_000;
    let (tx, rx) = gort::chan::unbounded::<[u8; 64]>();
    let before = live();
    for i in 0..BURST {
        tx.send([i as u8; 64]).unwrap();
    }
    let peak = live() - before;
    assert!(peak >= (BURST * 64) as isize, "the burst is buffered: {peak} bytes");
    for i in 0..BURST {
        assert_eq!(rx.try_recv().unwrap()[0], i as u8);
    }
    let kept = live() - before;
    assert!(kept <= 64 << 10, "an empty channel keeps {kept} bytes after a {peak}-byte burst");
    // It still works, and grows again for the next burst.
    (0..1000).for_each(|i| tx.send([i as u8; 64]).unwrap());
    assert_eq!(rx.try_iter().count(), 1000);
}
