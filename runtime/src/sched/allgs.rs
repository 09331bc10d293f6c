//! allgs: every G allocation, listed so that the goroutine dump and the
//! deadlock check can walk all goroutines (Go's `allgs`).
//!
//! # What is listed, and when
//!
//! Each G box carries a [`Record`]: what another thread may read about the
//! G. A box is listed when it is allocated and unlisted when it is freed
//! (in `G`'s `Drop`); a box reused from the dead lists (`gfree.rs`) stays
//! listed. So the registry's lock is taken only when a G box is allocated
//! or freed, never when a G is spawned into a reused box, switched, parked
//! or readied. Dead Gs in the dead lists stay listed with status `Dead`,
//! which readers skip.
//!
//! The record lives inside the box, not beside it: the hot paths write the
//! state word into a cache line they touch anyway, and a fresh G costs one
//! allocation, not two.
//!
//! # Who touches a record
//!
//! - The G's owner (whoever holds the `Box<G>`: a run queue, the M running
//!   it, what it waits on) writes `state` and `since` at each hand-over,
//!   with relaxed stores: they replace the plain `Cell` the G had, at the
//!   same cost. It writes `goid` and `site` when the box is (re)built, and
//!   takes `name`'s lock only when a named G is built or retired. It
//!   reaches the record through shared references only.
//! - Readers (the dump, the deadlock check) only load the record's atomics
//!   and take its name lock, holding the registry lock throughout. A box
//!   is freed only after it is unlisted under that lock, so a record
//!   cannot vanish under a reader. Readers never touch the rest of the G.
//!
//! A reader sees every field as a value it really had, but the fields of
//! one record may come from two moments (a G parking while it is read):
//! like `gort::stats()`, a dump is a sketch, not a stopped world.
//!
//! # The state word
//!
//! | bits   | Runnable | Running | Waiting         | InBlocking | Dead |
//! |--------|----------|---------|-----------------|------------|------|
//! | 0..8   | 0        | 1       | 2               | 3          | 4    |
//! | 8..16  |          |         | reason code     |            |      |
//! | 16..32 |          | P id    |                 |            |      |
//! | 32..64 |          | M id    | fd (socket wait)|            |      |
//!
//! Reason codes are `WaitReason`'s discriminants. The switch path stores
//! a word packed in advance: an M packs its `Running` once per P
//! ([`RunningOn`]).

use std::collections::HashSet;
use std::panic::Location;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rustc_hash::FxBuildHasher;

use crate::sched::coarse;
use crate::sched::g::{Status, WaitReason};

/// What another thread may read about one G; lives in the G's box.
pub(crate) struct Record {
    goid: AtomicU64,
    /// The packed [`Status`] (see the module doc's table).
    state: AtomicU64,
    /// `coarse::now_ms()` when the G last started waiting or entered a
    /// blocking call.
    since: AtomicU64,
    site: AtomicPtr<Location<'static>>,
    name: Mutex<Option<Arc<str>>>,
}

/// Every listed record, behind the lock that also guards freeing one.
struct AllGs(HashSet<NonNull<Record>, FxBuildHasher>);

// SAFETY: the pointers are to `Record`s, which are `Sync`; the set itself
// is only touched under `ALLGS`'s lock.
unsafe impl Send for AllGs {}

static ALLGS: Mutex<AllGs> = Mutex::new(AllGs(HashSet::with_hasher(FxBuildHasher)));

impl Record {
    /// The record of a new G (not listed yet: see [`register`]).
    pub(crate) fn new(goid: u64, name: Option<Arc<str>>, site: &'static Location<'static>) -> Record {
        Record {
            goid: AtomicU64::new(goid),
            state: AtomicU64::new(pack(Status::Runnable)),
            since: AtomicU64::new(0),
            site: AtomicPtr::new(ptr::from_ref(site).cast_mut()),
            name: Mutex::new(name),
        }
    }

    /// The owner rebuilds a dead G's box for a new goroutine. The name's
    /// lock is taken only for a named one: a retired record has none.
    #[inline]
    pub(crate) fn rebuild(&self, goid: u64, name: Option<&Arc<str>>, site: &'static Location<'static>) {
        // Relaxed: readers take what they find (module doc).
        self.goid.store(goid, Ordering::Relaxed);
        self.site.store(ptr::from_ref(site).cast_mut(), Ordering::Relaxed);
        if let Some(name) = name {
            self.set_name(Some(name.clone()));
        }
        // Still `Dead` (so unlisted by the dump) until `park::ready`,
        // which every new G goes through, marks it runnable.
    }

    /// The owner retires a finished G: dead, and its name gone.
    #[inline]
    pub(crate) fn retire(&self, named: bool) {
        self.set_status(Status::Dead);
        if named {
            self.set_name(None);
        }
    }

    #[cold]
    fn set_name(&self, name: Option<Arc<str>>) {
        *self.name.lock() = name;
    }

    #[inline]
    pub(crate) fn goid(&self) -> u64 {
        // Relaxed: see the module doc.
        self.goid.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn site(&self) -> &'static Location<'static> {
        // SAFETY: `site` is only ever stored from a `&'static Location`.
        // Relaxed: see the module doc.
        unsafe { &*self.site.load(Ordering::Relaxed) }
    }

    /// The G's status (any thread).
    #[inline]
    pub(crate) fn status(&self) -> Status {
        // Relaxed: see the module doc.
        unpack(self.state.load(Ordering::Relaxed))
    }

    /// The owner's hand-over. A G that starts waiting, or enters a
    /// blocking call, also notes when: one relaxed load of the coarse
    /// clock, no clock read.
    #[inline]
    pub(crate) fn set_status(&self, s: Status) {
        if matches!(s, Status::Waiting(_) | Status::InBlocking) {
            // Relaxed: see the module doc.
            self.since.store(coarse::now_ms(), Ordering::Relaxed);
        }
        // Relaxed: see the module doc.
        self.state.store(pack(s), Ordering::Relaxed);
    }
}

/// `Status::Running` on one M and P, packed once for every resume there.
#[derive(Clone, Copy)]
pub(crate) struct RunningOn(u64);

impl RunningOn {
    pub(crate) fn new(m: u32, p: u16) -> RunningOn {
        RunningOn(pack(Status::Running { m, p }))
    }
}

impl Record {
    /// The owner (the M about to resume the G) marks it running.
    #[inline]
    pub(crate) fn set_running(&self, on: RunningOn) {
        // Relaxed: see the module doc.
        self.state.store(on.0, Ordering::Relaxed);
    }
}

/// Lists the record of a newly allocated G box.
///
/// # Safety
/// `rec` stays at its address, alive, until [`unregister`] is called.
pub(crate) unsafe fn register(rec: &Record) {
    ALLGS.lock().0.insert(NonNull::from(rec));
}

/// Unlists a record, as its G box is about to be freed; once this
/// returns no reader holds it.
pub(crate) fn unregister(rec: &Record) {
    ALLGS.lock().0.remove(&NonNull::from(rec));
}

/// The spawn site and name of the goroutine `goid`, if `rec` is still a
/// listed record and still that goroutine's (the blocked-M warning: `rec`
/// was published by the M running it, which may have freed or reused the
/// box since).
pub(crate) fn identity(
    rec: *mut Record,
    goid: u64,
) -> Option<(&'static Location<'static>, Option<Arc<str>>)> {
    let rec = NonNull::new(rec)?;
    let all = ALLGS.lock();
    if !all.0.contains(&rec) {
        return None;
    }
    // SAFETY: listed records are alive while the lock is held.
    let r = unsafe { rec.as_ref() };
    (r.goid() == goid && r.status() != Status::Dead).then(|| (r.site(), r.name.lock().clone()))
}

/// One live goroutine as the dump shows it.
pub(crate) struct Entry {
    pub(crate) goid: u64,
    pub(crate) status: Status,
    pub(crate) since_ms: u64,
    pub(crate) site: &'static Location<'static>,
    pub(crate) name: Option<Arc<str>>,
}

/// Copies out every live goroutine, holding the registry lock only for the
/// copy (no formatting, no I/O), so a dump of 100,000 goroutines delays
/// spawns into fresh boxes by that copy, and switches not at all.
pub(crate) fn snapshot() -> Vec<Entry> {
    let all = ALLGS.lock();
    let mut out = Vec::with_capacity(all.0.len());
    for rec in &all.0 {
        // SAFETY: listed records are alive while the lock is held.
        let r = unsafe { rec.as_ref() };
        let status = r.status();
        if status == Status::Dead {
            continue;
        }
        out.push(Entry {
            goid: r.goid(),
            status,
            // Relaxed: see the module doc.
            since_ms: r.since.load(Ordering::Relaxed),
            site: r.site(),
            name: r.name.lock().clone(),
        });
    }
    out
}

/// Whether every listed G is dead or satisfies `stuck` (the deadlock check).
pub(crate) fn all_live(stuck: impl Fn(Status) -> bool) -> bool {
    let all = ALLGS.lock();
    all.0.iter().all(|rec| {
        // SAFETY: listed records are alive while the lock is held.
        let s = unsafe { rec.as_ref() }.status();
        s == Status::Dead || stuck(s)
    })
}

const RUNNABLE: u64 = 0;
const RUNNING: u64 = 1;
const WAITING: u64 = 2;
const IN_BLOCKING: u64 = 3;
const DEAD: u64 = 4;

#[inline]
fn pack(s: Status) -> u64 {
    match s {
        Status::Runnable => RUNNABLE,
        Status::Running { m, p } => RUNNING | u64::from(p) << 16 | u64::from(m) << 32,
        Status::Waiting(r) => {
            let fd = match r {
                WaitReason::NetRead(fd) | WaitReason::NetWrite(fd) => fd as u32,
                _ => 0,
            };
            WAITING | u64::from(reason_code(r)) << 8 | u64::from(fd) << 32
        }
        Status::InBlocking => IN_BLOCKING,
        Status::Dead => DEAD,
    }
}

#[inline]
fn unpack(w: u64) -> Status {
    let high = (w >> 32) as u32;
    match w & 0xff {
        RUNNABLE => Status::Runnable,
        RUNNING => Status::Running { m: high, p: (w >> 16) as u16 },
        WAITING => Status::Waiting(reason_of((w >> 8) & 0xff, high as i32)),
        IN_BLOCKING => Status::InBlocking,
        _ => Status::Dead,
    }
}

/// A reason's code: its discriminant. A `match` mapping each variant to
/// its number was not folded into this load on the park path.
#[inline]
fn reason_code(r: WaitReason) -> u8 {
    // SAFETY: `WaitReason` is `repr(u8)`, so its first byte is its
    // discriminant (the primitive representation of enums with fields).
    unsafe { *ptr::from_ref(&r).cast::<u8>() }
}

fn reason_of(code: u64, fd: i32) -> WaitReason {
    match code {
        0 => WaitReason::Join,
        1 => WaitReason::Sleep,
        2 => WaitReason::ChanSend,
        3 => WaitReason::ChanRecv,
        4 => WaitReason::Select,
        5 => WaitReason::Mutex,
        6 => WaitReason::RwLock,
        7 => WaitReason::Cond,
        8 => WaitReason::Sema,
        9 => WaitReason::WaitGroup,
        10 => WaitReason::NetRead(fd),
        11 => WaitReason::NetWrite(fd),
        _ => WaitReason::Blocking,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_survives_packing() {
        for code in 0..13 {
            assert_eq!(u64::from(reason_code(reason_of(code, 7))), code);
        }
        let fixed = [
            Status::Runnable,
            Status::Running { m: 70_000, p: 3 },
            Status::InBlocking,
            Status::Dead,
            Status::Waiting(WaitReason::NetRead(12)),
            Status::Waiting(WaitReason::NetWrite(i32::MAX)),
        ];
        let waits = (0..13).map(|code| Status::Waiting(reason_of(code, 7)));
        for s in fixed.into_iter().chain(waits) {
            assert_eq!(unpack(pack(s)), s);
        }
    }
}
