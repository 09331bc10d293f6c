//! `shrink_stack`: the running goroutine gives back the resident pages of
//! its stack that lie below its current depth.
//!
//! A stack keeps every page it ever touched (see the parent module), so a
//! goroutine that once ran deep and now waits shallow, such as a
//! connection's goroutine between requests, pins the deep part for as long
//! as it waits. Only the goroutine itself may give those pages back: the
//! part of its own stack below its stack pointer is dead while it runs, and
//! no other thread touches a running goroutine's stack. A page touched again
//! later costs one fault, zero-filled.

use crate::sched::g::current_g;
use crate::sys;

/// Room left below the measured depth for the frames of the `madvise` call
/// itself (and the red zone), so that no live frame is discarded.
const MARGIN: usize = 512;

/// Gives the OS back the pages of the running goroutine's stack below its
/// current depth, and returns how many bytes that range spans. Pages it
/// touches again come back, zeroed, one fault each.
///
/// For a goroutine about to wait a long time at a shallow point after
/// running deep, as gort's HTTP server does for a connection that has been
/// idle for a second. On a plain thread, and inside [`warm_stack`] or
/// [`system_stack`], it does nothing and returns 0.
///
/// [`warm_stack`]: crate::warm_stack
/// [`system_stack`]: crate::system_stack
///
/// ```
/// let released = gort::go!(|| gort::shrink_stack()).join().unwrap();
/// assert!(released > 0);
/// assert_eq!(gort::shrink_stack(), 0, "a plain thread's stack is not gort's");
/// ```
#[inline(never)]
pub fn shrink_stack() -> usize {
    let Some(g) = current_g() else { return 0 };
    let depth = crate::stack::depth();
    if !g.owns_stack_address(depth) {
        return 0; // on a lent stack (`warm_stack`) or the M's: its own is in use above
    }
    let top = (depth - MARGIN) & !(sys::page_size() - 1);
    let floor = g.stack_floor();
    if top <= floor {
        return 0;
    }
    // SAFETY: `floor..top` lies inside the running goroutine's own stack,
    // above its guard page and wholly below its stack pointer (less a margin
    // for this call's frames): nothing live is there, and no other thread
    // touches a running goroutine's stack. The pages stay mapped; a later
    // touch faults in a zeroed page.
    match unsafe { sys::madvise(floor, top - floor, libc::MADV_DONTNEED) } {
        Ok(()) => top - floor,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::shrink_stack;
    use crate::sched::g::current_g;
    use crate::sys;

    /// Resident pages of the running goroutine's stack from its floor up to
    /// the page holding `to` (`mincore`).
    fn resident_up_to(to: usize) -> usize {
        let page = sys::page_size();
        let from = current_g().expect("on a goroutine").stack_floor();
        let len = (to & !(page - 1)) - from;
        let mut vec = vec![0u8; len / page];
        // SAFETY: the range is inside the running goroutine's stack, which
        // is mapped, and `vec` has a byte per page.
        let r = unsafe { libc::mincore(from as *mut libc::c_void, len, vec.as_mut_ptr()) };
        assert_eq!(r, 0, "mincore: {}", std::io::Error::last_os_error());
        vec.iter().filter(|&&b| b & 1 != 0).count()
    }

    /// Recurses `n` frames of about 1 KiB each, touching every frame; the
    /// sum of `0..=n` when the frames held what was written into them.
    #[inline(never)]
    fn deep(n: u64) -> u64 {
        let mut frame = [0u8; 1024];
        frame[0] = (n % 251) as u8;
        std::hint::black_box(&mut frame);
        let below = if n == 0 { 0 } else { deep(n - 1) };
        assert_eq!(frame[0], (n % 251) as u8, "a live frame was lost");
        n + below
    }

    #[test]
    fn pages_below_the_depth_go_back_and_live_frames_survive() {
        let body = || {
            let live = [0x5au8; 2048];
            let here = std::hint::black_box(&live) as *const u8 as usize;
            let measured_top = here - (16 << 10);
            assert_eq!(deep(64), 64 * 65 / 2);
            let before = resident_up_to(measured_top);
            let released = shrink_stack();
            let after = resident_up_to(measured_top);
            assert!(live.iter().all(|&b| b == 0x5a), "a frame above the depth was discarded");
            // The released pages come back, zeroed, on the next deep call.
            assert_eq!(deep(64), 64 * 65 / 2);
            (before, released, after)
        };
        for _ in 0..20 {
            let (before, released, after) = crate::go!(body).join().unwrap();
            // 64 frames of 1 KiB reach at least 48 KiB below the measured top.
            assert!(before >= 12, "the deep call left only {before} pages resident");
            assert!(released >= 64 << 10, "released {released} bytes");
            assert_eq!(after, 0, "pages below the depth are still resident");
        }
    }

    #[test]
    fn many_goroutines_shrink_while_others_run_deep() {
        let hs: Vec<_> = (0..200u64)
            .map(|i| {
                crate::go!(move || {
                    for _ in 0..20 {
                        assert_eq!(deep(i % 40), (i % 40) * (i % 40 + 1) / 2);
                        shrink_stack();
                        crate::yield_now();
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
    }

    #[test]
    fn a_plain_thread_is_left_alone() {
        assert_eq!(shrink_stack(), 0);
    }
}
