//! The global run queue (Go's `sched.runq`): a lock-free injector that any
//! thread may push to. Gs land here when spawned or readied off an M, when a
//! local queue overflows, and when timers fire. Ms take from it in batches.

use crossbeam_deque::{Injector, Steal};

use crate::sched::g::G;
use crate::sched::p::P;
use crate::sched::runq::RUNQ_SIZE;

pub(crate) struct Global {
    q: Injector<Box<G>>,
}

impl Global {
    pub(crate) fn new() -> Global {
        Global { q: Injector::new() }
    }

    pub(crate) fn push(&self, g: Box<G>) {
        self.q.push(g);
    }

    pub(crate) fn push_batch(&self, gs: &mut dyn Iterator<Item = Box<G>>) {
        gs.for_each(|g| self.q.push(g));
    }

    pub(crate) fn pop(&self) -> Option<Box<G>> {
        loop {
            match self.q.steal() {
                Steal::Success(g) => return Some(g),
                Steal::Empty => return None,
                Steal::Retry => std::hint::spin_loop(),
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }

    /// Go's `globrunqget`: takes a fair share (len / procs + 1, at most half a
    /// local queue) into `p`'s local queue and returns one of them to run.
    /// Called only by the M holding `p`.
    pub(crate) fn get_batch(&self, p: &P, procs: usize) -> Option<Box<G>> {
        let n = (self.len() / procs + 1).min(RUNQ_SIZE / 2);
        let first = self.pop()?;
        let rest = (1..n).map_while(|_| self.pop());
        p.runq.push_batch(rest, |extra| self.push_batch(extra));
        Some(first)
    }
}
