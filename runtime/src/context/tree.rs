//! The cancellation tree: one [`Node`] per `with_cancel`, `with_timeout`
//! or `with_deadline`, linked to its nearest cancellable ancestor.
//!
//! # Who holds what
//!
//! - A child holds its parent strongly (`Node::parent`): while a child
//!   lives, its parent can still end it (its cancel, its timer, its own
//!   parent), so the parent must live too.
//! - A parent holds its children weakly, in its [`Registry`], next to the
//!   `after_func` callbacks waiting for it to end. The timer of a node holds
//!   it weakly too. So the strong handles are exactly: `Context` clones,
//!   `Cancel`s and live children.
//! - When the last strong handle drops, the node leaves its parent's
//!   registry and cancels its timer (`Node::release`): a context nobody
//!   cancels costs nothing once it is gone, however long its parent lives.
//!
//! # Ending: at most once, in linear time
//!
//! `state` is a short lock; no two nodes' locks are ever held at once (a
//! node takes its parent's lock only after releasing its own). The first
//! call to [`Node::end`] that finds `err` unset under the lock ends the
//! node: it stores `err`, takes the registry and the timer, and, after
//! unlocking, closes the done channel, cancels the timer, starts the
//! callbacks and ends the children. Every later attempt (a racing cancel,
//! the timer, the parent) finds `err` set and does nothing. Descendants
//! are ended from a work list, not by recursion, so each is visited once
//! and a deep chain cannot overflow the stack; dropping a chain unwinds it
//! in a loop for the same reason.
//!
//! # Registry keys
//!
//! A key is a slot index and a generation unique within its registry, so
//! removing a stale key (of a child its parent already ended, or an
//! `after_func` that already ran) finds a different generation and removes
//! nothing. A node that ended takes no new entries.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use parking_lot::Mutex;

use super::{Cause, Error};
use crate::chan::{bounded, Receiver, Sender};
use crate::sched::sched;
use crate::timer::{Fire, TimerId};

/// `Node::err` while the node has not ended.
const LIVE: u8 = 0;

/// What a node tells when it ends.
enum Entry {
    /// A child context, to end with the same error and cause.
    Child(Weak<Node>),
    /// An `after_func` callback, to start in a goroutine.
    Func(Box<dyn FnOnce() + Send>),
}

/// Names an entry of a [`Registry`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Key {
    index: usize,
    gen: u64,
}

struct Slot {
    gen: u64,
    entry: Option<Entry>,
}

/// A slab of entries with generational keys; it keeps its largest size
/// until the node ends, so a parent with short-lived children stays flat.
#[derive(Default)]
struct Registry {
    slots: Vec<Slot>,
    /// Indices of empty slots.
    free: Vec<usize>,
    next_gen: u64,
}

impl Registry {
    fn insert(&mut self, entry: Entry) -> Key {
        let gen = self.next_gen;
        self.next_gen += 1;
        let slot = Slot { gen, entry: Some(entry) };
        let index = match self.free.pop() {
            Some(i) => {
                self.slots[i] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        Key { index, gen }
    }

    /// Removes the entry of `key`, if it is still there.
    fn remove(&mut self, key: Key) -> Option<Entry> {
        let slot = self.slots.get_mut(key.index).filter(|s| s.gen == key.gen)?;
        let entry = slot.entry.take()?;
        self.free.push(key.index);
        Some(entry)
    }

    /// Every entry, leaving the registry empty (generations go on).
    fn take_all(&mut self) -> impl Iterator<Item = Entry> {
        self.free.clear();
        std::mem::take(&mut self.slots).into_iter().filter_map(|s| s.entry)
    }

    fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

/// The done channel, made on the first `done()`.
enum Done {
    /// Not ended when first asked: closed when the node ends. The sender
    /// only keeps the channel open; nothing is ever sent.
    Open { _tx: Sender<()>, rx: Receiver<()> },
    /// Ended before anyone asked: the shared closed channel.
    Closed,
}

impl Done {
    fn rx(&self) -> &Receiver<()> {
        match self {
            Done::Open { rx, .. } => rx,
            Done::Closed => closed(),
        }
    }
}

/// A channel that is always closed, for contexts asked for `done()` only
/// after they ended (Go's `closedchan`).
fn closed() -> &'static Receiver<()> {
    static CLOSED: OnceLock<Receiver<()>> = OnceLock::new();
    // The sender drops at once, which closes the channel for good.
    CLOSED.get_or_init(|| bounded(0).1)
}

/// What `state` guards.
struct State {
    /// Set when the node ends by `cancel_with`, or by a parent that had one.
    cause: Option<Cause>,
    /// Children and `after_func` callbacks; emptied when the node ends.
    registry: Registry,
    /// This node's entry in its parent's registry.
    key: Option<Key>,
    /// The deadline timer, while pending.
    timer: Option<TimerId>,
}

/// A cancellable context. Shared by its `Context` handles, its `Cancel`,
/// its children (strongly) and its parent and timer (weakly).
pub(super) struct Node {
    /// The nearest cancellable ancestor; `None` under `background()` or
    /// `without_cancel()`.
    parent: Option<Arc<Node>>,
    /// The earlier of this node's own deadline and its parent's.
    deadline: Option<Instant>,
    /// `LIVE`, or the [`Error`] it ended with. Written once, under `state`
    /// (Release: pairs with the Acquire in `err`, so whoever sees it set
    /// also sees the cause written before it).
    err: AtomicU8,
    /// Written once, under `state`; read without it once set.
    done: OnceLock<Done>,
    state: Mutex<State>,
}

impl Node {
    /// A child of `parent` ending at `deadline` at the latest (or when
    /// `parent` does). Ends at once if the parent has ended or the
    /// deadline has passed.
    pub(super) fn new(parent: Option<&Arc<Node>>, deadline: Option<Instant>) -> Arc<Node> {
        let inherited = parent.and_then(|p| p.deadline);
        // A deadline no earlier than the parent's needs no timer of its own.
        let own = deadline.filter(|d| inherited.is_none_or(|p| *d < p));
        let node = Arc::new(Node {
            parent: parent.cloned(),
            deadline: own.or(inherited),
            err: AtomicU8::new(LIVE),
            done: OnceLock::new(),
            state: Mutex::new(State { cause: None, registry: Registry::default(), key: None, timer: None }),
        });
        if let Some(p) = parent {
            node.attach(p);
        }
        if let Some(when) = own {
            node.arm(when);
        }
        node
    }

    /// Registers with `parent`, or ends now if `parent` already has.
    fn attach(self: &Arc<Node>, parent: &Node) {
        let mut ps = parent.state.lock();
        if let Some(err) = parent.err() {
            let cause = ps.cause.clone();
            drop(ps);
            self.end(err, cause);
            return;
        }
        let key = ps.registry.insert(Entry::Child(Arc::downgrade(self)));
        drop(ps);
        // Had the parent ended in between, the key is stale: harmless.
        self.state.lock().key = Some(key);
    }

    /// Starts the deadline timer, or ends now if `when` has passed.
    fn arm(self: &Arc<Node>, when: Instant) {
        if when <= Instant::now() {
            self.end(Error::DeadlineExceeded, None);
            return;
        }
        let weak = Arc::downgrade(self);
        let fire = Fire::Call(Box::new(move || {
            if let Some(node) = weak.upgrade() {
                node.end(Error::DeadlineExceeded, None);
            }
        }));
        let mut st = self.state.lock();
        // Added under the lock, so an `end` racing it either comes first
        // (and no timer is added) or finds the id to cancel.
        if self.err().is_none() {
            st.timer = Some(sched().timers.add(when, fire));
        }
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub(super) fn err(&self) -> Option<Error> {
        // Acquire: pairs with the Release in `end_one`.
        Error::from_code(self.err.load(Ordering::Acquire))
    }

    pub(super) fn cause(&self) -> Option<Cause> {
        let cause = self.state.lock().cause.clone();
        cause.or_else(|| self.err().map(|e| Arc::new(e) as Cause))
    }

    /// The done channel, made on first use.
    #[inline]
    pub(super) fn done(&self) -> &Receiver<()> {
        match self.done.get() {
            Some(d) => d.rx(),
            None => self.done_slow(),
        }
    }

    #[cold]
    fn done_slow(&self) -> &Receiver<()> {
        // Under the lock, so `end_one` either sees the channel (and closes
        // it) or ended before it was made (and it is made closed).
        let _st = self.state.lock();
        let done = self.done.get_or_init(|| match self.err() {
            Some(_) => Done::Closed,
            None => {
                let (_tx, rx) = bounded(0);
                Done::Open { _tx, rx }
            }
        });
        done.rx()
    }

    /// Ends this node and every descendant with `err` and `cause`, unless
    /// it has ended already. Returns whether this call ended it.
    pub(super) fn end(&self, err: Error, cause: Option<Cause>) -> bool {
        let mut children = Vec::new();
        let Some(key) = self.end_one(err, &cause, &mut children) else { return false };
        self.detach(key);
        while let Some(child) = children.pop() {
            // Ended by its parent, whose registry is already emptied: no
            // detaching.
            child.end_one(err, &cause, &mut children);
        }
        true
    }

    /// Ends this node alone: closes its done channel, cancels its timer,
    /// starts its callbacks and pushes its live children. Returns `None`
    /// if it had ended already, else its key in its parent's registry.
    fn end_one(
        &self,
        err: Error,
        cause: &Option<Cause>,
        children: &mut Vec<Arc<Node>>,
    ) -> Option<Option<Key>> {
        let mut st = self.state.lock();
        if self.err.load(Ordering::Relaxed) != LIVE {
            return None; // Relaxed: only written under the lock we hold
        }
        st.cause.clone_from(cause);
        // Release: pairs with the Acquire in `err`.
        self.err.store(err.code(), Ordering::Release);
        let (timer, key) = (st.timer.take(), st.key.take());
        // Most entries are children: room for them all, in one allocation.
        children.reserve(st.registry.len());
        let entries = st.registry.take_all();
        let done = self.done.get();
        drop(st);
        if let Some(Done::Open { rx, .. }) = done {
            rx.close();
        }
        if let Some(id) = timer {
            drop(sched().timers.cancel(id));
        }
        for entry in entries {
            match entry {
                Entry::Child(w) => children.extend(w.upgrade()),
                Entry::Func(f) => start(f),
            }
        }
        Some(key)
    }

    /// Leaves the parent's registry.
    fn detach(&self, key: Option<Key>) {
        if let (Some(parent), Some(key)) = (&self.parent, key) {
            let gone = parent.state.lock().registry.remove(key);
            drop(gone);
        }
    }

    /// Registers `f` to start when the node ends; starts it now (and
    /// returns `None`) if it has ended.
    pub(super) fn after(&self, f: Box<dyn FnOnce() + Send>) -> Option<Key> {
        let mut st = self.state.lock();
        if self.err().is_some() {
            drop(st);
            start(f);
            return None;
        }
        Some(st.registry.insert(Entry::Func(f)))
    }

    /// Removes the callback of `key`; whether it was still waiting.
    pub(super) fn unregister(&self, key: Key) -> bool {
        let gone = self.state.lock().registry.remove(key);
        gone.is_some()
    }

    /// Children and callbacks registered now, for tests.
    #[cfg(test)]
    fn registered(&self) -> usize {
        self.state.lock().registry.len()
    }

    /// What dropping the last handle does: stop the timer, leave the
    /// parent, and hand back the parent for the caller to release.
    fn release(&mut self) -> Option<Arc<Node>> {
        let st = self.state.get_mut();
        if let Some(id) = st.timer.take() {
            drop(sched().timers.cancel(id));
        }
        let key = st.key.take();
        self.detach(key);
        self.parent.take()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Unwinds a chain of parents this node held last, in a loop.
        let mut next = self.release();
        while let Some(parent) = next {
            next = Arc::into_inner(parent).and_then(|mut p| p.release());
        }
    }
}

/// Starts an `after_func` callback in its own goroutine.
fn start(f: Box<dyn FnOnce() + Send>) {
    // SAFETY: `after_func` documents that `f` runs as a goroutine under
    // `spawn`'s contract, as `go!` does; its caller accepted it there.
    drop(unsafe { crate::spawn(f) });
}

#[cfg(test)]
mod tests {
    use super::{Entry, Error, Node, Registry};

    #[test]
    fn stale_keys_remove_nothing() {
        let mut r = Registry::default();
        let a = r.insert(Entry::Func(Box::new(|| {})));
        assert!(r.remove(a).is_some());
        let b = r.insert(Entry::Func(Box::new(|| {})));
        assert!(r.remove(a).is_none(), "a's slot now holds b");
        assert_eq!(r.len(), 1);
        assert_eq!(r.take_all().count(), 1);
        assert!(r.remove(b).is_none());
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn children_leave_when_dropped_or_ended() {
        let root = Node::new(None, None);
        let kids: Vec<_> = (0..100).map(|_| Node::new(Some(&root), None)).collect();
        assert_eq!(root.registered(), 100);
        assert!(kids[0].end(Error::Canceled, None));
        assert!(!kids[0].end(Error::DeadlineExceeded, None), "a node ends once");
        assert_eq!(root.registered(), 99);
        drop(kids);
        assert_eq!(root.registered(), 0);
        assert!(root.err().is_none());
    }
}
