//! `JoinHandle` and the packet a goroutine leaves its result in.
//!
//! Packet states (one byte):
//!
//! | state   | result   | waiter            | next                          |
//! |---------|----------|-------------------|-------------------------------|
//! | EMPTY   | none     | none              | WAITING (joiner), DONE (G)    |
//! | WAITING | none     | the joiner's      | DONE (G, which wakes it)      |
//! | DONE    | set      | none              | final                         |
//!
//! The joiner writes its waiter before publishing WAITING; the finishing G
//! writes the result before publishing DONE and takes the waiter only if it
//! saw WAITING. Each cell therefore has one writer at a time.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::thread;

use crate::sched::g::WaitReason;
use crate::sched::park::{self, Waiter};

const EMPTY: u8 = 0;
const WAITING: u8 = 1;
const DONE: u8 = 2;

pub(crate) struct Packet<T> {
    state: AtomicU8,
    waiter: UnsafeCell<Option<Waiter>>,
    result: UnsafeCell<Option<thread::Result<T>>>,
}

// SAFETY: the cells are handed between threads by the state protocol above
// (each has one writer at a time, published by Release and read after
// Acquire); `T: Send` because the result crosses from the G to the joiner.
unsafe impl<T: Send> Sync for Packet<T> {}
// SAFETY: as above; a `Waiter` is Send (a G box or a thread handle).
unsafe impl<T: Send> Send for Packet<T> {}

impl<T> Packet<T> {
    pub(crate) fn new() -> Packet<T> {
        Packet { state: AtomicU8::new(EMPTY), waiter: UnsafeCell::new(None), result: UnsafeCell::new(None) }
    }

    /// Called once by the finishing G with its result.
    pub(crate) fn finish(&self, r: thread::Result<T>) {
        // SAFETY: only the finishing G writes `result`, before DONE is
        // published; the joiner reads it only after seeing DONE.
        unsafe { *self.result.get() = Some(r) };
        // AcqRel: Release publishes the result to the joiner's Acquire load;
        // Acquire pairs with the joiner's Release CAS so we see its waiter.
        if self.state.swap(DONE, Ordering::AcqRel) == WAITING {
            // SAFETY: WAITING means the joiner wrote the waiter and will not
            // touch the cell again; we are its only reader now.
            let w = unsafe { (*self.waiter.get()).take() };
            w.expect("Packet::finish: WAITING without a waiter").wake();
        }
    }

    /// The joiner's park callback: publish `w`, unless the G already finished.
    fn register(&self, w: Waiter) -> Result<(), Waiter> {
        // SAFETY: before WAITING is published only the (single) joiner
        // touches the waiter cell.
        unsafe { *self.waiter.get() = Some(w) };
        // Release: pairs with the AcqRel swap in `finish`.
        match self.state.compare_exchange(EMPTY, WAITING, Ordering::Release, Ordering::Acquire) {
            Ok(_) => Ok(()),
            // SAFETY: DONE was published without WAITING, so `finish` never
            // looked at the cell; it is still ours.
            Err(_) => Err(unsafe { (*self.waiter.get()).take() }.expect("Packet::register: waiter vanished")),
        }
    }

    fn is_done(&self) -> bool {
        // Acquire: pairs with the Release in `finish`.
        self.state.load(Ordering::Acquire) == DONE
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
    packet: Arc<Packet<T>>,
    id: u64,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(packet: Arc<Packet<T>>, id: u64) -> JoinHandle<T> {
        JoinHandle { packet, id }
    }

    /// Waits for the goroutine to finish and returns its result, or the
    /// payload of its panic as `Err`. Parks the calling goroutine, or blocks
    /// the calling thread when called outside a goroutine.
    pub fn join(self) -> thread::Result<T> {
        if !self.packet.is_done() {
            park::park(WaitReason::Join, |w| self.packet.register(w));
        }
        debug_assert!(self.packet.is_done(), "JoinHandle::join: woken before the G finished");
        // SAFETY: DONE was observed (Acquire), so `finish` wrote the result
        // and will not touch it again; this handle is the only reader.
        unsafe { (*self.packet.result.get()).take() }.expect("JoinHandle::join: no result")
    }

    /// Whether the goroutine has finished (its result is ready).
    pub fn is_finished(&self) -> bool {
        self.packet.is_done()
    }

    /// The goroutine's id (Go's goid): unique for the life of the process.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).field("finished", &self.is_finished()).finish()
    }
}
