//! Poll descriptors: what a parked reader or writer of one fd waits on
//! (Go's `pollDesc`), and the slab that names them in epoll.
//!
//! # Slots and tokens
//!
//! Slots live in a slab of lazily allocated chunks that are never freed, so a
//! `&'static Slot` stays valid forever and a slot is reused after its
//! descriptor is dropped. The token registered with the backend is
//! `index << 32 | generation`; dropping a descriptor bumps the generation
//! (before the fd can be closed and its number reused), so an event or a
//! timer that was already on its way for the old descriptor finds a
//! different generation and is ignored: no stale wake-up reaches a new socket.
//!
//! # The protocol
//!
//! What a wait, a readiness event, a deadline and an eviction do to a
//! descriptor, and the one lazily re-armed deadline timer per direction,
//! live in `Slot` (`pd/slot.rs`), behind an `Env` so that the loom
//! models (`pd/loom_pd.rs`) run the same methods on a model clock and
//! timers. `PollDesc` adds the fd's registration and the slab around a
//! slot.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

// The slab's free list is a const-built static outside the protocol the
// models check, so it keeps `parking_lot`'s lock in every build.
use parking_lot::Mutex as SlabLock;

use crate::netpoll::{poller, Backend, Event};
use crate::sched::g::WaitReason;
use crate::sched::park::Waiter;

mod slot;

pub(crate) use slot::any_parked;
use slot::{closed, Slot};

const CHUNK: usize = 1024;
const CHUNKS: usize = 1024;

/// Which half of a descriptor an operation waits on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Interest {
    /// Readable (or accept-able, or hung up).
    Read,
    /// Writable (or connected, or failed).
    Write,
}

struct Slab {
    chunks: [OnceLock<Box<[Slot]>>; CHUNKS],
    /// Indices never handed out start here.
    next: AtomicUsize,
    free: SlabLock<Vec<u32>>,
}

static SLAB: Slab = Slab {
    chunks: [const { OnceLock::new() }; CHUNKS],
    next: AtomicUsize::new(0),
    free: SlabLock::new(Vec::new()),
};

impl Slab {
    fn get(&'static self, index: u32) -> Option<&'static Slot> {
        let i = index as usize;
        self.chunks.get(i / CHUNK)?.get().map(|c| &c[i % CHUNK])
    }

    fn alloc(&'static self) -> io::Result<(u32, &'static Slot)> {
        if let Some(i) = self.free.lock().pop() {
            return Ok((i, self.get(i).expect("Slab::alloc: freed index without a chunk")));
        }
        // Relaxed: only uniqueness matters; the chunk's OnceLock orders its init.
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= CHUNK * CHUNKS {
            return Err(io::Error::other("gort netpoll: more than 1,048,576 sockets open"));
        }
        let chunk = self.chunks[i / CHUNK].get_or_init(|| (0..CHUNK).map(|_| Slot::default()).collect());
        Ok((i as u32, &chunk[i % CHUNK]))
    }
}

/// A socket's registration with the netpoller: where goroutines that got
/// `WouldBlock` from it park until it is ready, with Go's deadlines.
///
/// Drop the `PollDesc` *before* closing its fd (declare it first in the
/// owning struct): dropping unregisters the fd, so its number can be reused
/// safely. `gort::net` builds every socket on it; use it directly only for
/// other pollable fds.
///
/// ```
/// use std::io::{ErrorKind, Read};
/// use std::os::fd::AsFd;
/// use std::time::{Duration, Instant};
/// use gort::netpoll::{Interest, PollDesc};
///
/// let (mut a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let pd = PollDesc::new(a.as_fd()).unwrap();
/// assert_eq!(a.read(&mut [0; 1]).unwrap_err().kind(), ErrorKind::WouldBlock);
/// let soon = Some(Instant::now() + Duration::from_millis(10));
/// assert_eq!(pd.wait(Interest::Read, soon).unwrap_err().kind(), ErrorKind::TimedOut);
/// drop(pd); // before `a` closes the fd
/// ```
pub struct PollDesc {
    slot: &'static Slot,
    index: u32,
    fd: RawFd,
}

impl std::fmt::Debug for PollDesc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollDesc").field("fd", &self.fd).field("index", &self.index).finish()
    }
}

impl PollDesc {
    /// Registers `fd` (which must be in non-blocking mode) with the
    /// netpoller, edge-triggered for read and write.
    ///
    /// # Errors
    /// When epoll refuses the fd (a regular file, say).
    pub fn new(fd: BorrowedFd<'_>) -> io::Result<PollDesc> {
        let (index, slot) = SLAB.alloc()?;
        let gen = slot.reset();
        if let Err(e) = poller().backend().register(fd.as_raw_fd(), token(index, gen)) {
            SLAB.free.lock().push(index);
            return Err(e);
        }
        Ok(PollDesc { slot, index, fd: fd.as_raw_fd() })
    }

    /// Fails with `ConnectionAborted` once [`evict`](Self::evict) was
    /// called, so every operation on a closed socket fails the same way (a
    /// lock-free load: callers check it before each operation).
    ///
    /// # Errors
    /// As described.
    #[inline]
    pub fn check_open(&self) -> io::Result<()> {
        // Acquire: pairs with the Release in `evict`.
        if self.slot.evicted.load(Ordering::Acquire) {
            return Err(closed());
        }
        Ok(())
    }

    /// Parks the caller until the descriptor may be ready for `dir`, then
    /// returns `Ok` so the caller retries its operation (readiness may be
    /// spurious; the retry sees `WouldBlock` again and parks again).
    ///
    /// `op_deadline` bounds this one wait (std's per-operation timeouts);
    /// the descriptor's own deadline ([`set_deadline`](Self::set_deadline))
    /// applies too, whichever is earlier.
    ///
    /// # Errors
    /// `TimedOut` when a deadline passes; `ConnectionAborted` after
    /// [`evict`](Self::evict).
    pub fn wait(&self, dir: Interest, op_deadline: Option<Instant>) -> io::Result<()> {
        let reason = match dir {
            Interest::Read => WaitReason::NetRead(self.fd),
            Interest::Write => WaitReason::NetWrite(self.fd),
        };
        self.slot.wait(dir, op_deadline, reason)
    }

    /// Whether TCP urgent data ever arrived on the descriptor. A read then
    /// may stop short with data still queued (at the urgent mark), so a
    /// short read proves nothing about the queue: `net`'s drained hint is
    /// off from then on.
    #[inline]
    pub fn urgent(&self) -> bool {
        // Acquire: pairs with the Release in `Slot::notify`.
        self.slot.urgent.load(Ordering::Acquire)
    }

    /// Sets Go's absolute deadline for `dir` (`None`: no deadline). A wait
    /// in progress is re-timed; a deadline in the past fails waits at once.
    pub fn set_deadline(&self, dir: Interest, deadline: Option<Instant>) {
        self.slot.set_deadline(dir, deadline);
    }

    /// Go's `Close` for a shared socket: wakes every goroutine parked on
    /// this descriptor with `ConnectionAborted` and fails later waits. The
    /// fd stays registered until the `PollDesc` is dropped.
    pub fn evict(&self) {
        self.slot.evict(None);
    }

    /// A handle that can [`evict`](Self::evict) this descriptor from
    /// anywhere (a context's `after_func`, say) for as long as it lives;
    /// once it is dropped, the handle does nothing.
    pub fn evictor(&self) -> Evictor {
        Evictor { slot: self.slot, gen: self.slot.st.lock().gen }
    }
}

/// What [`PollDesc::evictor`] returns: `Copy`, `Send`, `'static`.
#[derive(Clone, Copy)]
pub struct Evictor {
    slot: &'static Slot,
    /// The descriptor's generation: a slot reused by another descriptor
    /// has a newer one, and is left alone.
    gen: u32,
}

impl std::fmt::Debug for Evictor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evictor").field("gen", &self.gen).finish_non_exhaustive()
    }
}

impl Evictor {
    /// [`PollDesc::evict`], if the descriptor is still registered.
    pub fn evict(self) {
        self.slot.evict(Some(self.gen));
    }
}

impl Drop for PollDesc {
    fn drop(&mut self) {
        // No waiter can be parked: waiting borrows `self`.
        self.slot.release();
        let r = poller().backend().deregister(self.fd);
        debug_assert!(r.is_ok(), "PollDesc::drop: EPOLL_CTL_DEL of fd {} failed: {r:?}", self.fd);
        SLAB.free.lock().push(self.index);
    }
}

fn token(index: u32, gen: u32) -> u64 {
    (u64::from(index) << 32) | u64::from(gen)
}

/// Brings in the slot an event's `token` names, ahead of its `dispatch`
/// (`prefetch.rs`); tokens naming no slot are ignored.
pub(crate) fn prefetch(token: u64) {
    if let Some(slot) = SLAB.get((token >> 32) as u32) {
        crate::prefetch::lines(std::ptr::from_ref(slot).addr(), std::mem::size_of::<Slot>());
    }
}

/// Applies one readiness event; the waiters it woke are pushed to `out`.
pub(crate) fn dispatch(ev: Event, out: &mut Vec<Waiter>) {
    if let Some(slot) = SLAB.get((ev.token >> 32) as u32) {
        slot.notify(ev.token as u32, &ev, out);
    }
}

#[cfg(all(test, loom))]
mod loom_pd;

#[cfg(all(test, not(loom)))]
mod tests;
