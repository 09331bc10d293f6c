//! Starting goroutines: `spawn`, `go!`, `Builder`, and what a goroutine can
//! ask about itself (`current`, `yield_now`).
//!
//! `go!` takes every closure shape: one that returns a value, one declared
//! `-> !`, and one that never returns (an accept loop, whose `!` type falls
//! back to `()` on edition 2021). It must therefore not put the generic call
//! inside its `unsafe` block: rustc denies never-type fallback flowing into
//! an unsafe call (`never_type_fallback_flowing_into_unsafe`). The block
//! holds only the non-generic [`__go::Accepted::new`]; the spawn itself is a
//! safe call that takes that token. `spawn/editions.rs` compiles each shape
//! on editions 2021 and 2024.

use std::io;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::Arc;

use crate::coro::Req;
use crate::join::{self, JoinHandle};
use crate::sched::cache;
use crate::sched::g::{current_g, current_p, G};
use crate::sched::p::bump;
use crate::sched::{park, sched};
use crate::stack;

#[cfg(doctest)]
mod editions;

/// Configures a goroutine before it starts: its name (shown in panic and
/// stack-overflow messages and by [`current`]) and its stack reservation.
///
/// ```
/// let b = gort::Builder::new().name("worker").stack_size(64 << 10);
/// // SAFETY: the closure keeps no thread-local borrow across a blocking call.
/// let h = unsafe { b.spawn(|| gort::current().unwrap().name().map(String::from)) }.unwrap();
/// assert_eq!(h.join().unwrap().as_deref(), Some("worker"));
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with the defaults: no name, the runtime's stack size
    /// (256 KiB, or `GORT_STACK_SIZE`).
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the goroutine.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Sets the stack reservation in bytes, rounded up to whole pages. Only
    /// touched pages use memory, so a generous reservation costs address
    /// space, not RAM.
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts the goroutine.
    ///
    /// # Errors
    /// When no stack can be reserved (address space or, on kernels without
    /// guard regions, the `vm.max_map_count` limit).
    ///
    /// # Safety
    /// The same contract as [`spawn`]: `f` must not hold a thread-local
    /// borrow or a thread-bound guard across a call that may block, because
    /// the goroutine can resume on another OS thread.
    ///
    /// A closure that never returns (`move || loop { .. }`) fails to compile
    /// here on edition 2021: its `!` type falls back to `()` inside your
    /// `unsafe` block, which rustc denies. Write
    /// [`go!(builder, f)`](crate::go) instead, which also accepts the
    /// contract for you.
    #[track_caller]
    pub unsafe fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let size = self.stack_size.map_or(sched().stack_size, stack::round_size);
        start(self.name.map(Arc::from), size, Location::caller(), f)
    }
}

/// Starts a goroutine running `f` and returns its [`JoinHandle`].
///
/// The goroutine runs on whichever M holds a P, and may move to another OS
/// thread each time it blocks. [`go!`](crate::go) is the everyday spelling.
///
/// # Safety
/// `f` must not keep a borrow of a `thread_local!` value, or a guard bound to
/// the OS thread (a `std::sync::MutexGuard` used for thread-affine data, a
/// `RefCell` borrow of thread-local state…), across a call that may block
/// (join, sleep, yield, channel and lock operations, socket I/O): after the
/// call the goroutine may be running on a different thread, and such a
/// borrow would touch another thread's data. This cannot be checked, so the
/// caller accepts it here. Everything else about `f` is checked as usual
/// (`Send + 'static`).
///
/// # Panics
/// When no stack can be reserved; use [`Builder::spawn`] to handle that.
#[track_caller]
pub unsafe fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    start(None, sched().stack_size, Location::caller(), f).unwrap_or_else(|e| panic!("gort::spawn: {e}"))
}

/// Starts a goroutine: `gort::go!(move || work(x))` returns a
/// [`JoinHandle`], and `gort::go!(builder, move || work(x))` starts it as
/// configured by a [`Builder`], returning `io::Result<JoinHandle<T>>`.
///
/// Writing `go!` accepts the safety contract of [`spawn`]: the closure keeps
/// no thread-local borrow across a blocking call. Any closure shape works,
/// including one that never returns:
///
/// ```
/// let hs: Vec<_> = (0..100u64).map(|i| gort::go!(move || i * 2)).collect();
/// let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
/// assert_eq!(sum, 9900);
///
/// use std::io::{Read, Write};
/// let ln = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = ln.local_addr().unwrap();
/// gort::go!(gort::Builder::new().name("accept"), move || loop {
///     let (c, _) = ln.accept().unwrap();
///     gort::go!(move || std::io::copy(&mut &c, &mut &c));
/// })
/// .unwrap();
/// let mut c = gort::net::TcpStream::connect(addr).unwrap();
/// c.write_all(b"ping").unwrap();
/// let mut buf = [0; 4];
/// c.read_exact(&mut buf).unwrap();
/// assert_eq!(&buf, b"ping");
/// ```
#[macro_export]
macro_rules! go {
    ($f:expr) => {
        $crate::__go::spawn(
            // SAFETY: writing `go!` accepts `spawn`'s contract (see its docs).
            unsafe { $crate::__go::Accepted::new() },
            $f,
        )
    };
    ($builder:expr, $f:expr) => {
        $crate::__go::spawn_with(
            // SAFETY: writing `go!` accepts `spawn`'s contract (see its docs).
            unsafe { $crate::__go::Accepted::new() },
            $builder,
            $f,
        )
    };
}

/// What [`go!`](crate::go) expands to; not for direct use.
#[doc(hidden)]
pub mod __go {
    use std::io;

    use super::Builder;
    use crate::JoinHandle;

    /// The caller's word that every closure spawned with this token keeps
    /// [`spawn`](super::spawn)'s contract. Making one is the only unsafe
    /// step, and it is not generic, so a closure's `!` type never flows
    /// into an unsafe call.
    #[derive(Debug, Clone, Copy)]
    pub struct Accepted(());

    impl Accepted {
        /// # Safety
        /// The closures passed with the token keep [`spawn`](super::spawn)'s
        /// contract.
        #[inline]
        pub const unsafe fn new() -> Accepted {
            Accepted(())
        }
    }

    /// [`spawn`](super::spawn), with the contract already accepted.
    #[inline]
    #[track_caller]
    pub fn spawn<F, T>(_: Accepted, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // SAFETY: the `Accepted` token is the caller's word that `f` keeps
        // the contract.
        unsafe { super::spawn(f) }
    }

    /// [`Builder::spawn`], with the contract already accepted.
    #[inline]
    #[track_caller]
    pub fn spawn_with<F, T>(_: Accepted, b: Builder, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // SAFETY: as in `spawn` above.
        unsafe { b.spawn(f) }
    }
}

fn start<F, T>(
    name: Option<Arc<str>>,
    size: usize,
    site: &'static Location<'static>,
    f: F,
) -> io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // A spawn is a runtime entry that never switches: a G spawning in a
    // long loop yields here when sysmon asks (before reading its P, which a
    // yield may change).
    crate::sched::preempt::preempt_check();
    let s = sched();
    let p = current_p();
    let (id, stack, dead) = match p {
        // SAFETY: this thread's M holds `p`; the borrow ends in this arm.
        Some(p) => unsafe { p.local() }.cache.take(size, &s.gfree)?,
        None => cache::take_on_thread(size)?,
    };
    let (finisher, handle) = join::packet(id);
    let g = G::new(dead, id, name, site, stack, move || {
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        // Locals drop before joiners can see the result; a panicking
        // destructor is reported by the hook and otherwise ignored.
        let _ = panic::catch_unwind(crate::local::drop_current);
        finisher.finish(result)
    });
    match p {
        Some(p) => bump(&p.counters.spawned),
        None => s.count_foreign_spawn(),
    }
    park::ready(g);
    Ok(handle)
}

/// Lets other goroutines run: the caller goes to the back of its P's run
/// queue (Go's `Gosched`). On a plain thread, yields the thread.
#[inline]
pub fn yield_now() {
    match current_g() {
        Some(g) => g.suspend(Req::Yield),
        None => std::thread::yield_now(),
    }
}

/// The running goroutine, as seen by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goroutine {
    id: u64,
    name: Option<String>,
}

impl Goroutine {
    /// Its goid.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Its name, if it was given one with [`Builder::name`].
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// The goroutine the caller runs on, or `None` on a plain thread.
///
/// ```
/// assert!(gort::current().is_none());
/// let id = gort::go!(|| gort::current().unwrap().id()).join().unwrap();
/// assert!(id > 0);
/// ```
pub fn current() -> Option<Goroutine> {
    current_g().map(|g| Goroutine { id: g.id(), name: g.name().map(String::from) })
}
