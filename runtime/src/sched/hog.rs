//! The blocked-M warning: sysmon reports, once per goroutine, one that has
//! kept its M for longer than `GORT_DEBUG=blockwarn=<ms>` (100 ms by
//! default) without entering the runtime. That is cooperative scheduling's
//! failure mode: the loop neither parks nor reaches a `preempt_check`, so
//! the 10 ms preemption mark (`preempt.rs`) is never seen, and the P's
//! other goroutines wait.
//!
//! # How sysmon learns who runs
//!
//! sysmon must not touch a G: its owner may finish it and reuse the
//! allocation at any moment. So the M publishes, before each resume, the
//! G's id and the address of its registry record (`allgs::Record`) on its
//! P ([`Running`]), in atomics tagged with the P's schedule tick. The tick
//! is what the preempter already watches: unchanged for 100 ms means one G
//! has run that long, and a copy tagged with that tick is that G's. Three
//! stores per resume, and none when the same G runs again in the same
//! tick; the name and spawn site are read only when a warning is printed,
//! from the record, under the registry lock that keeps a listed record
//! alive (`allgs::identity`), and only if it still belongs to that id.
//!
//! The copy is a small seqlock: the writer clears the tag, writes the
//! fields, then sets the tag; sysmon reads the tag, the fields, and the tag
//! again, and uses the fields only if both reads show the hog's tick. The
//! writer is the hog's own M, stuck in the hog, so in practice the read
//! never races; the check keeps a torn copy from being used if the G ends
//! just then.

use std::collections::HashSet;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{fence, AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::sched::allgs::{self, Record};
use crate::sched::g::G;

/// The tag bit that says the copy is complete, above the 32 tick bits.
const VALID: u64 = 1 << 32;

/// The identity of the G running on a P. Written by the P's holder before
/// each resume, read by sysmon.
pub(crate) struct Running {
    /// `VALID | tick` once the fields below describe the G of that tick;
    /// 0 while they are being written.
    tag: AtomicU64,
    goid: AtomicU64,
    /// The G's registry record; sysmon dereferences it only through
    /// `allgs::identity`.
    record: AtomicPtr<Record>,
}

/// What sysmon read back about a hog.
pub(crate) struct Identity {
    goid: u64,
    site: &'static Location<'static>,
    name: Option<Arc<str>>,
}

impl Running {
    pub(crate) fn new() -> Running {
        Running { tag: AtomicU64::new(0), goid: AtomicU64::new(0), record: AtomicPtr::new(ptr::null_mut()) }
    }

    /// The holder: `g` is about to run as the G of schedule tick `tick`.
    #[inline]
    pub(crate) fn publish(&self, tick: u32, g: &G) {
        let tag = VALID | u64::from(tick);
        // Relaxed: only the holder writes; sysmon checks the tag (below).
        if self.tag.load(Ordering::Relaxed) == tag && self.goid.load(Ordering::Relaxed) == g.id() {
            return;
        }
        self.tag.store(0, Ordering::Relaxed);
        // Release: pairs with the Acquire fence in `read`: a reader that
        // sees any field written below also sees the tag cleared above.
        fence(Ordering::Release);
        self.goid.store(g.id(), Ordering::Relaxed);
        self.record.store(ptr::from_ref(g.record()).cast_mut(), Ordering::Relaxed);
        // Release: pairs with the Acquire load in `read`.
        self.tag.store(tag, Ordering::Release);
    }

    /// sysmon: the identity of the G of tick `tick`, if the copy is that
    /// G's, was not being rewritten while read, and the G is still alive.
    fn read(&self, tick: u32) -> Option<Identity> {
        let tag = VALID | u64::from(tick);
        // Acquire: pairs with the final Release store in `publish`.
        if self.tag.load(Ordering::Acquire) != tag {
            return None;
        }
        // Relaxed: validated by the second tag load below.
        let goid = self.goid.load(Ordering::Relaxed);
        let record = self.record.load(Ordering::Relaxed);
        // Acquire: pairs with the Release fence in `publish`.
        fence(Ordering::Acquire);
        // Relaxed: ordered by the fence above.
        if self.tag.load(Ordering::Relaxed) != tag {
            return None;
        }
        let (site, name) = allgs::identity(record, goid)?;
        Some(Identity { goid, site, name })
    }
}

/// sysmon's half: the goroutines already warned about.
pub(crate) struct Warner {
    threshold: Option<Duration>,
    warned: HashSet<u64>,
}

impl Warner {
    pub(crate) fn new() -> Warner {
        Warner { threshold: crate::debug::settings().blockwarn, warned: HashSet::new() }
    }

    /// The G of `tick` on `running` has held its M for `held`: warns if
    /// that is over the threshold and it was not warned about before.
    pub(crate) fn check(&mut self, running: &Running, tick: u32, held: Duration) {
        if self.threshold.is_none_or(|t| held < t) {
            return;
        }
        let Some(id) = running.read(tick) else { return };
        if self.warned.insert(id.goid) {
            eprintln!("{}", message(&id, held));
        }
    }
}

fn message(id: &Identity, held: Duration) -> String {
    let name = id.name.as_deref().map(|n| format!(" (\"{n}\")")).unwrap_or_default();
    format!(
        "gort: goroutine {}{name}, spawned at {}, has kept its M for {} ms without entering the \
         runtime; other goroutines of its P wait (add gort::yield_now() to long loops, or run \
         the work in gort::blocking)",
        id.goid,
        id.site,
        held.as_millis(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_the_goroutine() {
        let site = Location::caller();
        let id = Identity { goid: 7, site, name: Some("spin".into()) };
        let m = message(&id, Duration::from_millis(120));
        assert!(m.starts_with("gort: goroutine 7 (\"spin\"), spawned at "), "{m}");
        assert!(m.contains(&format!("{site}")) && m.contains("for 120 ms"), "{m}");
    }
}
