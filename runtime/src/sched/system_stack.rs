//! `system_stack`: run a short, non-blocking piece of a goroutine's work on
//! its M's own stack (Go's `systemstack`).
//!
//! # Why
//! A goroutine's stack is its own memory: with many connections, the lines
//! a request's deep calls touch on it have left the cache by the time the
//! goroutine runs again, and every frame pushed there is a store that
//! misses. Counted by callgrind's cache simulation (`--cache-sim=yes`, the
//! 512 KiB L2 as the last level) on `hello` under `wrk -c256`, that was 68
//! missed lines written per request, against hyper's 2, nearly all of them
//! frames (one or two per function of the request path). The M's stack is
//! touched by every switch and stays hot, so a deep leaf that runs there
//! writes lines that are already in cache. The HTTP server parses heads
//! and routes requests there: 45 missed lines instead of 68, for about 50
//! instructions a call.
//!
//! # Rules
//! - `f` runs on the thread stack of the M that resumed the goroutine,
//!   below the frame that resumed it (corosensei's `on_parent_stack`),
//!   with the same thread, P and goroutine-local values.
//! - `f` must not switch out: park, yield or block on a goroutine
//!   primitive. While it runs, the G's yielder is cleared, so a switch
//!   would find none and is a fatal error that says so (rather than a
//!   switch from the wrong stack). sysmon's preemption waits until `f` is
//!   done.
//! - A panic in `f` continues on the goroutine's stack (corosensei carries
//!   it across), after the yielder is put back.
//! - Nested calls, and calls on a plain thread, just run `f`.

use crate::sched::g::current_g;

/// Runs `f` on the running goroutine's M stack and returns its result; on
/// a plain thread (or when already there), runs it in place. For short,
/// deep, non-blocking work on a hot path: parsing, formatting. `f` must
/// not park, yield or block on a goroutine primitive (a channel, a socket,
/// `sleep`): that is a fatal error. Blocking system calls are allowed, as
/// anywhere, but hold the M as they would.
///
/// ```
/// let h = gort::go!(|| gort::system_stack(|| (1..=10u64).product::<u64>()));
/// assert_eq!(h.join().unwrap(), 3_628_800);
/// assert_eq!(gort::system_stack(|| 6 * 7), 42, "a plain thread runs it in place");
/// ```
#[inline]
pub fn system_stack<R>(f: impl FnOnce() -> R + Send) -> R {
    match current_g() {
        Some(g) => g.on_m_stack(f),
        None => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::system_stack;
    use crate::sched::g::current_g;
    use crate::stack::depth as sp;

    #[test]
    fn runs_off_the_goroutines_stack_and_comes_back() {
        let h = crate::go!(|| {
            let g = current_g().expect("on a G");
            let on_g = |a: usize| g.owns_stack_address(a);
            let own = sp();
            let (there, nested) = system_stack(|| (sp(), system_stack(sp)));
            (on_g(own), on_g(there), on_g(nested), on_g(sp()))
        });
        assert_eq!(
            h.join().unwrap(),
            (true, false, false, true),
            "(before, inside, nested, after): on the G's stack"
        );
    }

    #[test]
    fn a_panic_comes_back_to_the_goroutine_which_can_still_park() {
        let h = crate::go!(|| {
            let r = std::panic::catch_unwind(|| system_stack(|| panic!("on the M's stack")));
            let msg = r.unwrap_err().downcast::<&str>().ok().map(|s| *s);
            crate::yield_now();
            crate::time::sleep(std::time::Duration::from_millis(1));
            msg
        });
        assert_eq!(h.join().unwrap(), Some("on the M's stack"));
    }

    #[test]
    fn many_goroutines_on_many_ps_interleave_with_switches() {
        let hs: Vec<_> = (0..200u64)
            .map(|i| {
                crate::go!(move || {
                    let mut sum = 0;
                    for k in 0..200 {
                        sum += system_stack(|| i * k);
                        crate::yield_now();
                    }
                    sum
                })
            })
            .collect();
        for (i, h) in hs.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i as u64 * (199 * 200 / 2));
        }
    }
}
