//! A goroutine's body while it waits for its first run: the closure, kept
//! inside the G's box instead of on its stack.
//!
//! corosensei writes a coroutine's closure onto its stack when the coroutine
//! is built. Building it at spawn time made the spawner write to a stack that
//! another CPU last ran on, and then the M running the G touch it again; in a
//! batch of a thousand spawns each stack top was a TLB and cache miss twice
//! (a third of the batch's profile). So a new G holds only its body, and the
//! M that first runs it builds the coroutine there, on the stack it just
//! freed (`G::start`): a spawner never touches stack memory.
//!
//! A closure of up to `INLINE` bytes (align up to 16) is stored in place; a
//! bigger one is boxed, and the box stored in place.
//!
//! # Who touches a body
//!
//! The spawner fills it (`G::new`) before the G is published to a run
//! queue, which orders the writes before the M's first resume; the G itself
//! runs it in place (`run`) at the start of its coroutine, on its own stack,
//! reading the closure out first. A body
//! dropped before it ran (a G freed without ever running) drops its closure.

use std::marker::PhantomData;
use std::mem::{self, MaybeUninit};
use std::ptr;

/// Bytes of closure stored without a box: a `TcpStream`, a couple of `Arc`s
/// and the join packet's pointer fit.
const INLINE: usize = 64;

#[repr(C, align(16))]
struct Buf([MaybeUninit<u8>; INLINE]);

/// A type-erased `FnOnce()` waiting to run, stored in place.
pub(crate) struct Body {
    buf: Buf,
    /// Reads the closure out of `buf` and calls it, or drops it; `None`
    /// when empty.
    vtable: Option<&'static VTable>,
}

struct VTable {
    call: unsafe fn(*mut Buf),
    drop: unsafe fn(*mut Buf),
}

// SAFETY: a body holds an `F: Send` (both constructors require it), moved
// between threads only with its G.
unsafe impl Send for Body {}

impl Body {
    /// An empty body: nothing to run.
    pub(crate) const fn empty() -> Body {
        Body { buf: Buf([MaybeUninit::uninit(); INLINE]), vtable: None }
    }

    /// Stores `f`, in place when it fits, else boxed. Written straight into
    /// the G's box: no copy of the buffer.
    #[inline]
    pub(crate) fn set<F: FnOnce() + Send + 'static>(&mut self, f: F) {
        if self.vtable.is_some() {
            self.clear();
        }
        if fits::<F>() {
            self.store(f)
        } else {
            self.store(Box::new(f))
        }
    }

    #[inline]
    fn store<F: FnOnce()>(&mut self, f: F) {
        // Folded away: `set` calls this only for closures that fit.
        assert!(fits::<F>(), "Body::store: closure too big");
        // SAFETY: `F` fits `buf` in size and alignment (asserted above), and
        // the buffer is empty (`set` cleared it).
        unsafe { self.buf.0.as_mut_ptr().cast::<F>().write(f) };
        self.vtable = Some(&Erased::<F>::VTABLE);
    }

    /// Runs the closure in place, leaving the body empty. Panics when it is
    /// empty.
    ///
    /// # Safety
    /// `this` is a live body, which nobody else touches until the closure
    /// has been read out of it (the first thing the closure's call does).
    #[inline]
    pub(crate) unsafe fn run(this: *mut Body) {
        // SAFETY: guaranteed by the caller.
        let vt = unsafe { (*this).vtable.take() }.expect("Body::run: no closure");
        // SAFETY: `vtable` was set together with a closure of its type in
        // `buf`; clearing it first means the closure is read out only once.
        unsafe { (vt.call)(&raw mut (*this).buf) }
    }

    /// Drops a closure that never ran.
    #[cold]
    fn clear(&mut self) {
        if let Some(vt) = self.vtable.take() {
            // SAFETY: as in `run`: the closure is there, and dropped once.
            unsafe { (vt.drop)(&mut self.buf) }
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The vtable of closures of type `F`.
struct Erased<F>(PhantomData<F>);

impl<F: FnOnce()> Erased<F> {
    const VTABLE: VTable = VTable { call: call::<F>, drop: drop_in_place::<F> };
}

const fn fits<F>() -> bool {
    mem::size_of::<F>() <= INLINE && mem::align_of::<F>() <= mem::align_of::<Buf>()
}

/// # Safety
/// `buf` holds an `F`, which the caller never reads again.
unsafe fn call<F: FnOnce()>(buf: *mut Buf) {
    // SAFETY: guaranteed by the caller.
    let f = unsafe { ptr::read(buf.cast::<F>()) };
    f()
}

/// # Safety
/// As for `call`.
unsafe fn drop_in_place<F>(buf: *mut Buf) {
    // SAFETY: guaranteed by the caller.
    unsafe { ptr::drop_in_place(buf.cast::<F>()) }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::Body;

    #[test]
    fn small_and_big_closures_run_once() {
        let n = Arc::new(AtomicUsize::new(0));
        let big = [7u8; 200];
        let (a, b) = (n.clone(), n.clone());
        let (mut small, mut boxed) = (Body::empty(), Body::empty());
        small.set(move || {
            a.fetch_add(1, Ordering::Relaxed);
        });
        boxed.set(move || {
            b.fetch_add(usize::from(big[199]), Ordering::Relaxed);
        });
        // SAFETY: both bodies are live and touched by nobody else.
        unsafe { (Body::run(&mut small), Body::run(&mut boxed)) };
        assert_eq!(n.load(Ordering::Relaxed), 8);
        assert!(small.vtable.is_none() && boxed.vtable.is_none());
    }

    #[test]
    fn a_body_dropped_unrun_drops_its_closure() {
        let n = Arc::new(());
        let (a, b) = (n.clone(), n.clone());
        let big = [0u8; 100];
        let mut body = Body::empty();
        body.set(move || drop(a));
        body.set(move || drop((b, big)));
        assert_eq!(Arc::strong_count(&n), 2, "a second closure drops the first");
        drop(body);
        assert_eq!(Arc::strong_count(&n), 1);
    }
}
