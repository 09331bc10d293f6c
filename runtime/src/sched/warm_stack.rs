//! `warm_stack`: run a piece of a goroutine's work on a stack its P lends,
//! the one the last such call on this P ran on, so its lines are still in
//! the cache. `system_stack`'s counterpart for work that may block.
//!
//! # Why
//! With thousands of connections, a goroutine's own stack has left the
//! cache by the time it runs again, and every frame a request pushes there
//! is a store that misses (`system_stack.rs` has the count). A connection's
//! goroutine waits between requests at a shallow depth; what it does per
//! request runs deeper, and that part needs no memory of its own between
//! requests. Lent per P, the deep frames of every connection's request land
//! on the same few warm lines, whichever goroutine runs: callgrind's cache
//! simulation (512 KiB last level) of `hello` at 10,000 connections counted
//! 48 missed lines written per request with the request on the goroutine's
//! stack and 21 with it on a lent one.
//!
//! # Rules
//! - The lent stack is a pooled stack of the goroutine's own size, taken
//!   from the top of the P's stack cache (the one given back last: the
//!   warmest) and given back there, to whichever P the goroutine is on when
//!   `f` returns. Back to back, calls on one P run on one stack. A
//!   goroutine spawned with another size than the default borrows from the
//!   global pool instead, a lock each way, as its own stack came.
//! - `f` may do anything goroutine code may: park, yield, block. A
//!   goroutine that parks inside keeps the lent stack until `f` returns
//!   (its frames are there); meanwhile its P lends the next stack of its
//!   cache to the next caller. So a parked call costs a second stack,
//!   resident for the pages it touched, and an idle one that parks outside
//!   costs only the shallow frames of its own.
//! - A stack overflow on the lent stack hits its guard page and is reported
//!   as the goroutine's, as on its own stack.
//! - A panic in `f` continues on the goroutine's own stack, after the lent
//!   stack went back.
//! - Nested calls, calls inside `system_stack`, calls on a plain thread,
//!   and calls when no stack can be had run `f` in place.

use crate::coro;
use crate::sched::g::{current_g, current_p};
use crate::stack::{self, Stack};

/// Runs `f` on a stack the running goroutine's P lends and returns its
/// result; on a plain thread (or when already off the goroutine's own
/// stack), runs it in place. For the deep, per-request part of a
/// goroutine that waits shallow in between, as gort's HTTP server runs
/// each request's handler. Unlike [`system_stack`](crate::system_stack),
/// `f` may park, yield and block.
///
/// ```
/// let h = gort::go!(|| {
///     gort::warm_stack(|| {
///         gort::time::sleep(std::time::Duration::from_millis(1));
///         (1..=10u64).product::<u64>()
///     })
/// });
/// assert_eq!(h.join().unwrap(), 3_628_800);
/// assert_eq!(gort::warm_stack(|| 6 * 7), 42, "a plain thread runs it in place");
/// ```
#[inline]
pub fn warm_stack<R>(f: impl FnOnce() -> R) -> R {
    let Some(g) = current_g() else { return f() };
    if g.on_system_stack() || !g.owns_stack_address(stack::depth()) {
        return f();
    }
    let Some(p) = current_p() else { return f() };
    // SAFETY: we run on the G of the M holding `p`, and the borrow ends
    // here, before any switch.
    let Ok(lent) = (unsafe { p.local() }).cache.stacks.get(g.stack_size()) else { return f() };
    let mut back = GiveBack(Some(lent));
    let stack = back.0.as_mut().expect("warm_stack: the lent stack");
    coro::on_stack(stack, f)
}

/// Gives the lent stack to the P the goroutine is on once `f` is done, on
/// return or panic.
struct GiveBack(Option<Stack>);

impl Drop for GiveBack {
    fn drop(&mut self) {
        let Some(s) = self.0.take() else { return };
        match current_p() {
            // SAFETY: we run on the G of the M holding `p` (a goroutine
            // always does), and the borrow ends here.
            Some(p) => unsafe { p.local() }.cache.stacks.put(s),
            None => stack::free(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::warm_stack;
    use crate::sched::g::current_g;
    use crate::stack::depth as sp;

    fn on_own_stack() -> bool {
        current_g().expect("on a G").owns_stack_address(sp())
    }

    #[test]
    fn runs_off_the_goroutines_stack_and_comes_back() {
        let h = crate::go!(|| (on_own_stack(), warm_stack(on_own_stack), on_own_stack()));
        assert_eq!(h.join().unwrap(), (true, false, true), "(before, inside, after): on the G's own stack");
    }

    #[test]
    fn nested_calls_and_calls_in_system_stack_run_in_place() {
        // Within a few frames of the caller's: the same stack.
        let in_place = || {
            let here = sp();
            here.abs_diff(warm_stack(sp)) < 4096
        };
        let h = crate::go!(move || (warm_stack(in_place), crate::system_stack(in_place)));
        assert_eq!(h.join().unwrap(), (true, true), "(nested, inside system_stack): in place");
    }

    #[test]
    fn back_to_back_calls_on_one_p_share_one_stack() {
        let h = crate::go!(|| {
            let a = warm_stack(sp);
            let b = warm_stack(sp);
            a == b
        });
        assert!(h.join().unwrap(), "the second call got another stack");
    }

    /// A goroutine parked inside keeps its lent stack: its frames survive
    /// while others on its P borrow stacks of their own and write theirs.
    #[test]
    fn frames_survive_a_park_while_others_borrow() {
        let hs: Vec<_> = (0..200u64)
            .map(|i| {
                crate::go!(move || {
                    let mut sum = 0;
                    for k in 0..20u64 {
                        sum += warm_stack(|| {
                            let frame = std::hint::black_box([(i * 31 + k) as u8; 1024]);
                            if k % 2 == 0 {
                                crate::yield_now();
                            } else {
                                crate::time::sleep(Duration::from_micros(200));
                            }
                            assert!(
                                frame.iter().all(|&b| b == (i * 31 + k) as u8),
                                "a parked frame was overwritten"
                            );
                            i * k
                        });
                    }
                    sum
                })
            })
            .collect();
        for (i, h) in hs.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i as u64 * (19 * 20 / 2));
        }
    }

    #[test]
    fn a_goroutine_of_another_stack_size_borrows_too() {
        let body = || {
            warm_stack(|| {
                let lent = sp();
                crate::time::sleep(Duration::from_millis(1));
                let g = current_g().expect("on a G");
                // Its own size, and a lent stack that is not its own.
                (g.stack_size(), g.owns_stack_address(lent))
            })
        };
        // SAFETY: no thread-local borrow is held across a blocking call.
        let h = unsafe { crate::Builder::new().stack_size(64 << 10).spawn(body) }.unwrap();
        assert_eq!(h.join().unwrap(), (64 << 10, false));
    }

    #[test]
    fn a_panic_comes_back_and_the_stack_goes_back() {
        let h = crate::go!(|| {
            let lent = std::cell::Cell::new(0);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                warm_stack(|| {
                    lent.set(sp());
                    panic!("on a lent stack")
                })
            }));
            let msg = r.unwrap_err().downcast::<&str>().ok().map(|s| *s);
            // The stack went back to the top of the P's cache: the next call gets it.
            let again = warm_stack(sp);
            crate::time::sleep(Duration::from_millis(1));
            (msg, lent.get().abs_diff(again) < 4096)
        });
        assert_eq!(h.join().unwrap(), (Some("on a lent stack"), true));
    }

    #[test]
    fn shrink_stack_on_a_lent_stack_gives_back_nothing() {
        let h = crate::go!(|| {
            warm_stack(|| {
                let live = std::hint::black_box([0x5au8; 2048]);
                let released = crate::shrink_stack();
                (released, live.iter().all(|&b| b == 0x5a))
            })
        });
        assert_eq!(h.join().unwrap(), (0, true));
    }
}
