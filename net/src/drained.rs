//! The drained hint of a stream socket: whether its last read came back
//! short, so that the next read may wait for readiness (`PollDesc::wait`)
//! before trying, instead of paying a read that finds nothing.
//! A request/response server saves one `EAGAIN` read per request this way.
//!
//! # When the hint is set, and why it is safe
//!
//! A short read means the receive queue was empty when the read finished;
//! anything arriving later raises a new edge-triggered event, which sets
//! the descriptor's readiness or wakes a waiter, so a reader that waits
//! first cannot miss it; a FIN or reset queued behind the data it read
//! left the descriptor's sticky hang-up set, so the wait returns at once
//! (`PollDesc`'s module doc). That argument needs the short read to be the
//! *last* read, which only holds for a reader that was alone: with two at
//! once, one's short read may finish before the other's full read leaves
//! data behind. So the hint is set only by a read that ran alone from
//! start to finish, and every read that starts clears it (using it, if it
//! was set). EOF (a read of 0) does not set it: EOF repeats at once.
//!
//! The premise, that a short read finds the queue empty, holds for TCP
//! with one exception and not for Unix streams (`fd::Stream`): a TCP read
//! stops short at the urgent mark with the bytes after it queued (so once
//! an event reports urgent data, `PollDesc::urgent`, the hint is off for
//! the socket's life), and a Unix stream read stops short at a message
//! that carries descriptors or another writer's credentials.
//!
//! # The state word
//!
//! | bits   | meaning                                                    |
//! |--------|------------------------------------------------------------|
//! | 0..30  | reads in progress                                          |
//! | 30     | `SHARED`: another read overlapped one in progress          |
//! | 31     | `DRAINED`: the last read ran alone and came back short     |
//!
//! `SHARED` is cleared when the count returns to 0; `DRAINED` is only set
//! by the read that takes the count from 1 to 0 without `SHARED`.

use std::sync::atomic::{AtomicU32, Ordering};

const COUNT: u32 = (1 << 30) - 1;
const SHARED: u32 = 1 << 30;
const DRAINED: u32 = 1 << 31;

/// See the module doc.
#[derive(Default)]
pub(crate) struct Drained(AtomicU32);

impl Drained {
    /// A read starts: returns whether the hint was set (the read may wait
    /// first), and clears it.
    #[inline]
    pub(crate) fn begin(&self) -> bool {
        let prev = self.update(|s| {
            let shared = if s & COUNT != 0 { SHARED } else { 0 };
            (s & (COUNT | SHARED) | shared) + 1
        });
        prev == DRAINED
    }

    /// The read that `begin` started finished; `short` when it returned
    /// fewer bytes than asked but more than zero.
    #[inline]
    pub(crate) fn end(&self, short: bool) {
        self.update(|s| {
            let left = (s & COUNT) - 1;
            match (left, s & SHARED != 0) {
                (0, false) if short => DRAINED,
                (0, _) => 0,
                _ => left | (s & SHARED),
            }
        });
    }

    /// Applies `f` atomically; returns the previous state.
    #[inline]
    fn update(&self, f: impl Fn(u32) -> u32) -> u32 {
        // AcqRel: a reader that sees `DRAINED` (Acquire) sees the read that
        // set it (Release) finished, so the events it relies on come after.
        match self.0.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| Some(f(s))) {
            Ok(prev) | Err(prev) => prev,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Drained;

    #[test]
    fn a_lone_short_read_sets_the_hint_once() {
        let h = Drained::default();
        assert!(!h.begin());
        h.end(true);
        assert!(h.begin(), "a lone short read leaves the hint");
        h.end(false);
        assert!(!h.begin(), "a full read clears it");
        h.end(true);
        assert!(h.begin());
        assert!(!Drained::default().begin());
    }

    #[test]
    fn overlapping_reads_never_set_the_hint() {
        let h = Drained::default();
        assert!(!h.begin());
        assert!(!h.begin());
        h.end(true);
        h.end(true);
        assert!(!h.begin(), "the short reads overlapped: neither was the last alone");
        h.end(true);
        assert!(h.begin(), "SHARED ends with the reads that overlapped");
        h.end(false);
    }
}
