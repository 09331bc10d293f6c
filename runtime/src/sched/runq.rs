//! A P's local run queue (Go's `runq` in `proc.go`: `runqput`, `runqputslow`,
//! `runqget`, `runqgrab`, `runqsteal`): a 256-slot ring plus a `runnext`
//! slot. Generic over the item so the protocol is tested without goroutines.
//!
//! # Who touches what
//!
//! The **owner** is the one thread holding the P (hand-offs between threads
//! go through the idle lists' lock, which orders one holder before the next).
//! Only the owner writes `tail`, writes ring slots, or stores a non-null
//! `runnext`. **Stealers** (any thread) read `head`, `tail` and slots, claim
//! ring items by a CAS on `head`, and take `runnext` by swapping in null.
//! The owner claims from the head (`pop_head`, overflow) by the same CAS, so
//! `head` is the only word that owner and stealers both write.
//!
//! # Invariants
//!
//! - `head` and `tail` count up forever (wrapping `u32`); item `i` lives in
//!   slot `i % 256`, and items `head..tail` (at most 256) are in the ring.
//! - Every non-null pointer in `head..tail` or in `runnext` is a leaked
//!   `Box<T>` owned by the queue. Slots outside `head..tail` hold stale
//!   copies that nobody may free.
//!
//! # Why no item is taken twice or lost
//!
//! Taking items `h..h+n` from the ring is: read the slots, then CAS `head`
//! from `h` to `h+n`. Only one CAS from `h` can succeed, so each item has
//! one taker; a taker whose CAS fails discards what it read (it never built a
//! `Box` from it) and starts over. A successful taker read the right pointers:
//! the owner wrote slot `i` before its Release store of a `tail` past `i`,
//! which the taker loaded with Acquire; and the owner rewrites slot `i` (as
//! item `i + 256`) only after an Acquire load of `head` shows `head > i`,
//! which synchronizes with the taker's Release CAS (later CASes continue its
//! release sequence), so the taker's reads came first. Pushes lose nothing:
//! the owner writes only free slots (`tail - head < 256`) and publishes them
//! with a Release store of `tail`.
//!
//! A stealer loads `head` then `tail`; a snapshot claiming more than half the
//! ring (a stale `head`) is retried, as in Go. A stealer that sleeps through
//! 2³² queue operations could see `head` come back round to its `h` (ABA);
//! Go accepts this, and so do we.
//!
//! # Overflow cannot race with stealers
//!
//! When the ring is full, `push_back` claims the oldest half with the same
//! CAS on `head` a stealer uses, so the owner and a stealer can never both
//! hold an item; if a stealer wins, there is now room and the push retries.
//! The claimed half plus the new item go to the caller's `overflow` (the
//! global queue) in FIFO order, in one call.
//!
//! # Stealing
//!
//! `steal_into` copies the claimed items straight into the free slots of the
//! thief's own ring (Go's `runqsteal`; a stack buffer would cost a second
//! copy) and publishes them with one `tail` store; the last one is returned
//! to run now instead. It takes at most as many as fit, so the thief's ring
//! never overflows. `runnext` is taken only from an empty ring, and only
//! when the caller asks (see `steal.rs`).
//!
//! # A sole queue
//!
//! With one P there is nobody to steal from its queue and no other P to
//! wake, so a queue built `sole` takes and replaces `runnext` with plain
//! loads and stores: the two read-modify-writes a goroutine hand-off
//! (`push_next`, then `pop_next`) would cost take an unbuffered channel
//! round trip from 70 to 100 ns on the development machine. Nothing
//! steals from a sole queue (`steal_into` asserts it); other threads still
//! only read it (`len`, `is_empty`).
//!
//! # Prefetching the next item
//!
//! A goroutine parking on a socket, just before the owner takes the next
//! item `i`, asks the CPU for item `i + 1`'s memory (`prefetch_upcoming`,
//! [`Hint`]) when `i + 1` came in a batch (`push_batch`: a netpoll's
//! readied goroutines, or a share of the global queue). With thousands of
//! connections such a G and its stack top are cache misses, and item `i`
//! runs for microseconds first, long enough for the lines to arrive. One
//! by one pushes (a yield, a wake-up by a channel) record no hint: those
//! goroutines ran a moment ago. The ask is made by socket waits only
//! (`netpoll/pd/slot.rs`): made by every take, it cost a yield between two
//! goroutines 2.8 ns of its 11.
//!
//! What to prefetch is recorded beside each item at its push (`Slot::hint`,
//! in the item's cache line), while the pusher owns the item, so the asker
//! never reads an item it has not claimed: a stealer may have taken item
//! `i + 1`, run it and freed it, and then the prefetch was a wasted hint,
//! nothing more. The hints are plain relaxed words outside the protocol
//! (stale ones are harmless), so loom does not track them.
//!
//! The owner-only methods are safe fns whose contract is the P's: only the M
//! holding the P calls them. Breaking it is memory-unsafe (two "owners"
//! could fill one slot and both publish it), so keep them behind `P`.

use std::iter;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{self, Acquire, Relaxed, Release, SeqCst};

use crate::loom::sync::atomic::{AtomicPtr, AtomicU32};

/// Ring capacity (Go's `len(p.runq)`); 4 under loom, so that a model fills,
/// overflows and wraps the ring in a few steps.
pub(crate) const RUNQ_SIZE: usize = if cfg!(loom) { 4 } else { 256 };

const CAP: u32 = RUNQ_SIZE as u32;
const HALF: u32 = CAP / 2;

// Slot indexing by `u32` counters modulo the size needs a power of two.
const _: () = assert!(RUNQ_SIZE.is_power_of_two());

/// What a queue asks the CPU for before an item is taken (see "Prefetching
/// the next item"). The defaults prefetch nothing.
pub(crate) trait Hint {
    /// A word for [`Hint::prefetch`], read while the item is owned; 0 for
    /// nothing to prefetch.
    fn hint(&self) -> usize {
        0
    }

    /// Asks for the memory the item at `item` touches first when it runs.
    /// `item` must not be dereferenced: it may have been taken and freed.
    fn prefetch(_item: *const Self, _hint: usize) {}
}

/// A ring slot: an item and what to prefetch for it (`Hint::hint`),
/// written together by the owner.
struct Slot<T> {
    item: AtomicPtr<T>,
    hint: AtomicUsize,
}

/// A local run queue: the owner pushes and pops; any thread may steal.
pub(crate) struct RunQueue<T: Hint> {
    /// Next item to take. CASed by the owner and stealers.
    head: AtomicU32,
    /// Next free slot. Written by the owner, read by stealers.
    tail: AtomicU32,
    /// The item to run next. Set by the owner, taken by the owner or a stealer.
    runnext: AtomicPtr<T>,
    /// Written by the owner; read by the owner and stealers.
    buf: [Slot<T>; RUNQ_SIZE],
    /// No stealers: `runnext` is the owner's alone (see "A sole queue").
    sole: bool,
    /// The queue owns its items: `Send` only if `T` is, and dropck knows.
    _owns: PhantomData<Box<T>>,
}

// SAFETY: shared access only moves whole items between threads (never hands
// out `&T`), with the protocol in the module doc deciding a single taker, and
// the prefetch hints beside them are atomic words that name memory without
// reading it (`Hint`); so `T: Send` is enough.
unsafe impl<T: Send + Hint> Sync for RunQueue<T> {}

impl<T: Hint> RunQueue<T> {
    /// An empty queue; `sole` when nothing will ever steal from it.
    pub(crate) fn new(sole: bool) -> Self {
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            runnext: AtomicPtr::new(ptr::null_mut()),
            buf: std::array::from_fn(|_| Slot {
                item: AtomicPtr::new(ptr::null_mut()),
                hint: AtomicUsize::new(0),
            }),
            sole,
            _owns: PhantomData,
        }
    }

    /// Owner only. Puts `t` at the tail. If the ring is full, hands its older
    /// half plus `t` (129 items, oldest first) to `overflow` in one call.
    #[inline]
    pub(crate) fn push_back<F>(&self, mut t: Box<T>, mut overflow: F)
    where
        F: FnOnce(&mut dyn Iterator<Item = Box<T>>),
    {
        loop {
            // Acquire: pairs with the Release CAS on `head` in `grab`: the
            // stealers' slot reads are done before we reuse their slots.
            let h = self.head.load(Acquire);
            // Relaxed: only we write `tail`.
            let tail = self.tail.load(Relaxed);
            if tail.wrapping_sub(h) < CAP {
                self.put(tail, t, 0);
                // Release: pairs with the Acquire load of `tail` in `ends`.
                self.tail.store(tail.wrapping_add(1), Release);
                return;
            }
            match self.push_overflow(h, tail, t, overflow) {
                Ok(()) => return,
                Err(back) => (t, overflow) = back,
            }
        }
    }

    /// `push_back` on a full ring, out of line (its 128-item batch would
    /// otherwise sit in the frame of every caller): hands the older half
    /// plus `t` to `overflow`, or gives both back when a stealer made room.
    #[cold]
    #[inline(never)]
    fn push_overflow<F>(&self, h: u32, tail: u32, t: Box<T>, overflow: F) -> Result<(), (Box<T>, F)>
    where
        F: FnOnce(&mut dyn Iterator<Item = Box<T>>),
    {
        match self.claim_half(h, tail) {
            Some(half) => {
                overflow(&mut half.into_iter().chain(iter::once(t)));
                Ok(())
            }
            None => Err((t, overflow)),
        }
    }

    /// Go's `runqputslow`: claims the older half of the full ring `h..tail`,
    /// or returns `None` if a stealer moved `head` first (there is room now).
    #[cold]
    fn claim_half(&self, h: u32, tail: u32) -> Option<[Box<T>; HALF as usize]> {
        assert_eq!(tail.wrapping_sub(h), CAP, "runq claim_half: queue is not full");
        let mut raw = [ptr::null_mut(); HALF as usize];
        for (i, p) in (0..HALF).zip(raw.iter_mut()) {
            // Relaxed: we wrote these slots ourselves.
            *p = self.slot(h.wrapping_add(i)).load(Relaxed);
        }
        // Release: pairs with the Acquire load of `head` in `ends`, so a
        // stealer that sees the new head sees a tail at least as new.
        self.head.compare_exchange(h, h.wrapping_add(HALF), Release, Relaxed).ok()?;
        // SAFETY: the CAS made us the only taker of items h..h+HALF, each a
        // leaked `Box<T>` (module invariants), read before we gave them up.
        Some(raw.map(|p| unsafe { Box::from_raw(p) }))
    }

    /// Owner only. Puts `t` in `runnext`; a previous `runnext` is kicked to
    /// the tail through `push_back` (and so may overflow).
    #[inline]
    pub(crate) fn push_next(&self, t: Box<T>, overflow: impl FnOnce(&mut dyn Iterator<Item = Box<T>>)) {
        // Release: pairs with the Acquire swap in `steal_runnext`, publishing
        // `*t`. No Acquire needed: a non-null old value was stored by us.
        // SeqCst: this swap is also the submitter's half of the lost-wakeup
        // protocol (it pairs with the fence in `Idle::recheck`), which lets
        // `Idle::wakep` skip a fence of its own. On x86 a swap is a locked
        // instruction whatever the ordering, so this costs nothing extra.
        let old = self.exchange_next(Box::into_raw(t), SeqCst);
        if !old.is_null() {
            // SAFETY: we took `old` out of `runnext` (by the swap, or as its
            // sole taker), so we are its only holder, and it is a leaked
            // `Box<T>` (module invariants).
            self.push_back(unsafe { Box::from_raw(old) }, overflow);
        }
    }

    /// Owner only. Takes `runnext`.
    #[inline]
    pub(crate) fn pop_next(&self) -> Option<Box<T>> {
        // Relaxed: a hint to skip the swap; the swap decides.
        if self.runnext.load(Relaxed).is_null() {
            return None;
        }
        // Release: pairs with the Acquire load of `runnext` in `is_empty`: a
        // checker that sees it emptied sees the tail we published before.
        let p = self.exchange_next(ptr::null_mut(), Release);
        // SAFETY: we took `p` out of `runnext`, so we are its only holder; it
        // is null or a leaked `Box<T>` (module invariants).
        (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
    }

    /// Owner only. Puts `new` in `runnext` and returns what was there: a
    /// swap with `order`, or, in a sole queue, where nobody else takes it,
    /// a load and a Release store (Release as the swap's, for readers of
    /// `is_empty`; a sole queue has no other P for `wakep` to wake, which
    /// is what `push_next`'s SeqCst is for).
    #[inline]
    fn exchange_next(&self, new: *mut T, order: Ordering) -> *mut T {
        if self.sole {
            // Relaxed: only we write `runnext`.
            let old = self.runnext.load(Relaxed);
            self.runnext.store(new, Release);
            old
        } else {
            self.runnext.swap(new, order)
        }
    }

    /// Owner only. Takes from the head of the ring (not `runnext`).
    #[inline]
    pub(crate) fn pop_head(&self) -> Option<Box<T>> {
        loop {
            // Relaxed: a stale `head` fails the CAS below; we read only slots
            // we wrote. Only we write `tail`.
            let h = self.head.load(Relaxed);
            if h == self.tail.load(Relaxed) {
                return None;
            }
            let p = self.slot(h).load(Relaxed);
            // Release: pairs with the Acquire load of `head` in `ends`.
            if self.head.compare_exchange(h, h.wrapping_add(1), Release, Relaxed).is_ok() {
                // SAFETY: the CAS made us the only taker of item `h`, a leaked
                // `Box<T>` that we wrote into its slot (module invariants).
                return Some(unsafe { Box::from_raw(p) });
            }
        }
    }

    /// Any thread; `self` is the victim and `dst` the caller's own queue.
    /// Steals half the victim's ring (rounded up, at most what fits in `dst`
    /// plus one) into `dst` and returns one of them to run now. With the ring
    /// empty and `take_runnext`, takes the victim's `runnext` instead.
    pub(crate) fn steal_into(&self, dst: &RunQueue<T>, take_runnext: bool) -> Option<Box<T>> {
        assert!(!ptr::eq(self, dst), "runq steal_into: a queue cannot steal from itself");
        assert!(!self.sole, "runq steal_into: a sole queue has no stealers");
        // Relaxed: we own `dst`, so only we write its tail.
        let dt = dst.tail.load(Relaxed);
        // Acquire: as in `push_back`: stealers from `dst` are done reading
        // the slots we are about to fill. Their `head` moves only make room.
        let room = CAP - dt.wrapping_sub(dst.head.load(Acquire));
        loop {
            let (h, t) = self.ends();
            let n = t.wrapping_sub(h);
            let n = n - n / 2;
            if n == 0 {
                return if take_runnext { self.steal_runnext() } else { None };
            }
            if n > HALF {
                continue; // inconsistent snapshot: `head` moved after we read it
            }
            if let Some(last) = self.grab(h, n.min(room + 1), dst, dt) {
                return Some(last);
            }
        }
    }

    /// Copies items `h..h+n` into `dst` from its slot `dt` on, except the
    /// last, and claims them. `None` if another taker moved `head` first.
    fn grab(&self, h: u32, n: u32, dst: &RunQueue<T>, dt: u32) -> Option<Box<T>> {
        for i in 0..n - 1 {
            // Relaxed: ordered by the Acquire load of `tail` in `ends`, and
            // for `dst` published by its Release `tail` store below.
            let p = self.slot(h.wrapping_add(i)).load(Relaxed);
            dst.slot(dt.wrapping_add(i)).store(p, Relaxed);
            // Relaxed: a hint, stale or not (module doc).
            let hint = self.hint(h.wrapping_add(i)).load(Relaxed);
            dst.hint(dt.wrapping_add(i)).store(hint, Relaxed);
        }
        // Relaxed: as above.
        let last = self.slot(h.wrapping_add(n - 1)).load(Relaxed);
        // Release: pairs with the Acquire load of `head` in the victim's
        // `push_back`: our slot reads come before it reuses the slots.
        self.head.compare_exchange(h, h.wrapping_add(n), Release, Relaxed).ok()?;
        if n > 1 {
            // Release: pairs with the Acquire load of `tail` in `ends`.
            dst.tail.store(dt.wrapping_add(n - 1), Release);
        }
        // SAFETY: the CAS made us the only taker of items h..h+n, each a
        // leaked `Box<T>` read before the CAS (module doc); the others now
        // belong to `dst`'s ring.
        Some(unsafe { Box::from_raw(last) })
    }

    #[cold]
    fn steal_runnext(&self) -> Option<Box<T>> {
        // Relaxed: a hint to skip the swap; the swap decides.
        if self.runnext.load(Relaxed).is_null() {
            return None;
        }
        // Acquire: pairs with the Release swap in `push_next`, so `*p` is visible.
        let p = self.runnext.swap(ptr::null_mut(), Acquire);
        // SAFETY: the swap made us the only holder of `p`, null or a leaked
        // `Box<T>` (module invariants).
        (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
    }

    /// Owner only. Pushes `ts` at the tail with one `tail` store. What does
    /// not fit in the ring goes to `overflow` in order (the batch's own tail,
    /// not half the ring: the batch usually came from the global queue).
    pub(crate) fn push_batch(
        &self,
        ts: impl IntoIterator<Item = Box<T>>,
        overflow: impl FnOnce(&mut dyn Iterator<Item = Box<T>>),
    ) {
        let mut ts = ts.into_iter().peekable();
        // Acquire: as in `push_back`.
        let h = self.head.load(Acquire);
        // Relaxed: only we write `tail`.
        let mut tail = self.tail.load(Relaxed);
        let room = CAP - tail.wrapping_sub(h);
        for t in ts.by_ref().take(room as usize) {
            let hint = t.hint();
            self.put(tail, t, hint);
            tail = tail.wrapping_add(1);
        }
        // Release: pairs with the Acquire load of `tail` in `ends`.
        self.tail.store(tail, Release);
        if ts.peek().is_some() {
            overflow(&mut ts);
        }
    }

    /// Any thread. Approximate number of items, counting `runnext`.
    pub(crate) fn len(&self) -> usize {
        let (h, t) = self.ends();
        let ring = t.wrapping_sub(h).min(CAP) as usize;
        // Relaxed: only null-ness is read, for an estimate.
        ring + usize::from(!self.runnext.load(Relaxed).is_null())
    }

    /// Any thread. Whether ring and `runnext` are both empty (Go's
    /// `runqempty`). Callers in the lost-wakeup protocol fence first.
    pub(crate) fn is_empty(&self) -> bool {
        // An owner's push_next(b) kicking `a` to the ring, then pop_next()
        // taking `b`, could show us an empty ring and then an empty
        // `runnext`; an unchanged `tail` rules that out.
        loop {
            let (h, t) = self.ends();
            // Acquire: pairs with the Release swap in `pop_next`, and keeps
            // the `tail` re-load below after this load.
            let next = self.runnext.load(Acquire);
            // Acquire: as in `ends`.
            if t == self.tail.load(Acquire) {
                return h == t && next.is_null();
            }
        }
    }

    /// A `(head, tail)` snapshot as any thread may take it.
    #[inline]
    fn ends(&self) -> (u32, u32) {
        // Acquire: pairs with the Release CASes on `head`: the tail a taker
        // saw is visible to us, so the `tail` below is not behind `head`.
        let h = self.head.load(Acquire);
        // Acquire: pairs with the Release stores of `tail` in `push_back`,
        // `push_batch` and `grab`: the slots below it are written.
        let t = self.tail.load(Acquire);
        (h, t)
    }

    /// Owner only. Writes `t` and `hint` into the free slot `i`, to be
    /// published by the caller's Release store of `tail`.
    #[inline]
    fn put(&self, i: u32, t: Box<T>, hint: usize) {
        // Relaxed: a hint (module doc).
        self.hint(i).store(hint, Relaxed);
        // Relaxed: published by the caller's Release store of `tail`.
        self.slot(i).store(Box::into_raw(t), Relaxed);
    }

    /// Owner only. Prefetches for the item after the next one, when the
    /// ring holds it with a hint (see "Prefetching the next item").
    pub(crate) fn prefetch_upcoming(&self) {
        // Relaxed: a stale `head` names an item taken since, whose stale
        // slot and hint are only prefetched, never read (`Hint`). Only we
        // write `tail`.
        let i = self.head.load(Relaxed).wrapping_add(1);
        let queued_from_i = self.tail.load(Relaxed).wrapping_sub(i);
        if queued_from_i == 0 || queued_from_i > CAP {
            return;
        }
        // Relaxed: a hint (module doc).
        let hint = self.hint(i).load(Relaxed);
        if hint != 0 {
            T::prefetch(self.slot(i).load(Relaxed), hint);
        }
    }

    #[inline]
    fn slot(&self, i: u32) -> &AtomicPtr<T> {
        &self.buf[i as usize % RUNQ_SIZE].item
    }

    #[inline]
    fn hint(&self, i: u32) -> &AtomicUsize {
        &self.buf[i as usize % RUNQ_SIZE].hint
    }
}

impl<T: Hint> Drop for RunQueue<T> {
    fn drop(&mut self) {
        // Relaxed: `&mut self`, so no other thread is here.
        let next = self.runnext.load(Relaxed);
        let (h, t) = (self.head.load(Relaxed), self.tail.load(Relaxed));
        let ring = (0..t.wrapping_sub(h)).map(|i| self.slot(h.wrapping_add(i)).load(Relaxed));
        for p in iter::once(next).chain(ring).filter(|p| !p.is_null()) {
            // SAFETY: `&mut self` rules out other takers; `runnext` and items
            // head..tail are leaked `Box<T>`s owned by the queue (invariants).
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_runq;
