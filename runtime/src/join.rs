//! `JoinHandle` and the packet a goroutine leaves its result in.
//!
//! The packet is shared by exactly two parties, the finishing G and the
//! handle, and one state byte says both what has happened and who frees the
//! packet, so spawn+join costs two atomic read-modify-writes and no
//! reference count:
//!
//! | state    | result | waiter       | next                                  |
//! |----------|--------|--------------|---------------------------------------|
//! | EMPTY    | none   | none         | WAITING (join), DONE (G), DETACHED (drop) |
//! | WAITING  | none   | the joiner's | DONE (G, which wakes the joiner)      |
//! | DONE     | set    | none         | final: the handle reads and frees     |
//! | DETACHED | none   | none         | final: the G frees when it finishes   |
//!
//! The joiner writes its waiter before publishing WAITING; the finishing G
//! writes the result before publishing DONE and takes the waiter only if it
//! saw WAITING. Each cell therefore has one writer at a time. The party that
//! makes the second transition out of EMPTY (or the joiner woken out of
//! WAITING) is the last to touch the packet and frees it.
//!
//! A packet that fits a block lives in one from per-thread magazines and a
//! shared depot (`join/blocks.rs`) rather than in its own malloc.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread;

use crate::sched::g::WaitReason;
use crate::sched::park::{self, Waiter};

mod blocks;

pub(crate) use blocks::sweep;

const EMPTY: u8 = 0;
const WAITING: u8 = 1;
const DONE: u8 = 2;
const DETACHED: u8 = 3;

struct Packet<T> {
    state: AtomicU8,
    waiter: UnsafeCell<Option<Waiter>>,
    result: UnsafeCell<Option<thread::Result<T>>>,
}

/// The finishing G's half of a packet.
pub(crate) struct Finisher<T>(NonNull<Packet<T>>);

// SAFETY: the finisher and the handle reach the packet only through the
// state protocol above; `T: Send` because the result crosses threads.
unsafe impl<T: Send> Send for Finisher<T> {}

/// A new packet's two halves.
pub(crate) fn packet<T>(id: u64) -> (Finisher<T>, JoinHandle<T>) {
    let packet =
        Packet { state: AtomicU8::new(EMPTY), waiter: UnsafeCell::new(None), result: UnsafeCell::new(None) };
    let p = if blocks::fits::<Packet<T>>() {
        let p = blocks::alloc::<Packet<T>>();
        // SAFETY: a fresh block, big and aligned enough for the packet.
        unsafe { p.as_ptr().write(packet) };
        p
    } else {
        NonNull::from(Box::leak(Box::new(packet)))
    };
    (Finisher(p), JoinHandle { packet: p, id })
}

/// Moves the packet out of its memory and frees that memory.
///
/// # Safety
/// The caller is the packet's last user (module table).
unsafe fn take<T>(p: NonNull<Packet<T>>) -> Packet<T> {
    if blocks::fits::<Packet<T>>() {
        // SAFETY: the packet was written into a block by `packet` and nobody
        // else touches it; it is read once, then the block is given back.
        unsafe {
            let packet = p.as_ptr().read();
            blocks::free(p);
            packet
        }
    } else {
        // SAFETY: as above, for a packet `packet` boxed.
        *unsafe { Box::from_raw(p.as_ptr()) }
    }
}

impl<T> Finisher<T> {
    /// Called once by the finishing G with its result.
    pub(crate) fn finish(self, r: thread::Result<T>) {
        let p = self.0.as_ptr();
        // SAFETY: the packet lives until both halves are done with it, and
        // only the finisher writes `result`, before DONE is published.
        unsafe { *(*p).result.get() = Some(r) };
        // AcqRel: Release publishes the result to the handle's Acquire;
        // Acquire pairs with the handle's Release (its waiter, or DETACHED).
        // SAFETY: as above: the handle has not freed the packet, since it
        // frees only after seeing DONE, which we have not published yet.
        match unsafe { (*p).state.swap(DONE, Ordering::AcqRel) } {
            WAITING => {
                // SAFETY: WAITING means the joiner wrote the waiter and will not
                // touch the cell until woken; the packet is alive until then.
                let w = unsafe { (*(*p).waiter.get()).take() };
                w.expect("Finisher::finish: WAITING without a waiter").wake();
            }
            // SAFETY: the handle was dropped unjoined and never touches the
            // packet again: we are its last user (module table).
            DETACHED => drop(unsafe { take(self.0) }),
            _ => {}
        }
    }
}

/// An owned permission to join a goroutine (wait for it to finish).
///
/// Dropping it detaches the goroutine, which runs on regardless.
///
/// ```
/// let h = gort::go!(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    packet: NonNull<Packet<T>>,
    id: u64,
}

// SAFETY: a handle only reads the result after DONE (it crosses threads, so
// `T: Send`), and its shared methods only load the state byte.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: as above: `&JoinHandle` allows only `is_finished` and `id`.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    fn packet(&self) -> &Packet<T> {
        // SAFETY: the packet is freed by the handle itself (after DONE, in
        // `join` or `drop`) or by the finisher after DETACHED, which only
        // `drop` publishes; so it is alive while `self` is.
        unsafe { self.packet.as_ref() }
    }

    /// Waits for the goroutine to finish and returns its result, or the
    /// payload of its panic as `Err`. Parks the calling goroutine, or blocks
    /// the calling thread when called outside a goroutine.
    // Inline, so that no runtime frame sits between the caller and the
    // switch (see `chan`'s module doc): spawn + join one at a time on one
    // P went from 139 to 79 ns.
    #[inline]
    pub fn join(self) -> thread::Result<T> {
        if !self.is_finished() {
            park::park(WaitReason::Join, |w| self.register(w));
        }
        debug_assert!(self.is_finished(), "JoinHandle::join: woken before the G finished");
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: DONE was observed (Acquire), so the finisher wrote the result
        // and is done with the packet: we are its last user and free it.
        let p = unsafe { take(this.packet) };
        p.result.into_inner().expect("JoinHandle::join: no result")
    }

    /// The joiner's park callback: publish `w`, unless the G already finished.
    fn register(&self, w: Waiter) -> Result<(), Waiter> {
        let p = self.packet();
        // SAFETY: before WAITING is published only the (single) joiner
        // touches the waiter cell.
        unsafe { *p.waiter.get() = Some(w) };
        // Release: pairs with the AcqRel swap in `finish`.
        match p.state.compare_exchange(EMPTY, WAITING, Ordering::Release, Ordering::Acquire) {
            Ok(_) => Ok(()),
            Err(_) => {
                // SAFETY: DONE was published without WAITING, so `finish`
                // never looked at the cell; it is still ours.
                let w = unsafe { (*p.waiter.get()).take() };
                Err(w.expect("JoinHandle::register: waiter vanished"))
            }
        }
    }

    /// Whether the goroutine has finished (its result is ready).
    pub fn is_finished(&self) -> bool {
        // Acquire: pairs with the Release in `finish`.
        self.packet().state.load(Ordering::Acquire) == DONE
    }

    /// The goroutine's id (Go's goid): unique for the life of the process.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl<T> Drop for JoinHandle<T> {
    /// Detaches: the goroutine frees the packet when it finishes, or we free
    /// it now (with its unread result) if it already has.
    fn drop(&mut self) {
        // AcqRel: Release hands the packet to the finisher; Acquire pairs with
        // its Release so a result we drop is fully written.
        if self.packet().state.swap(DETACHED, Ordering::AcqRel) == DONE {
            // SAFETY: the finisher published DONE and is done with the packet.
            drop(unsafe { take(self.packet) });
        }
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).field("finished", &self.is_finished()).finish()
    }
}
