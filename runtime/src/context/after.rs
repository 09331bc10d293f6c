//! `after_func` (Go 1.21's `context.AfterFunc`): a callback that starts in
//! its own goroutine when a context ends.
//!
//! The callback sits in the registry of the context's node (`tree.rs`).
//! Ending the node takes the registry under the node's lock, and `stop`
//! removes the callback under the same lock, so exactly one of them gets
//! it: either the callback starts, or `stop` returns `true` and it never
//! does. A context that never ends registers nothing: its callback is
//! dropped at once, with no goroutine and no timer.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use super::tree::{Key, Node};

/// Where the callback of an [`AfterFunc`] went.
enum Reg {
    /// The context can never end: the callback was dropped unrun.
    Never,
    /// The context had ended: the callback started at once.
    Started,
    /// Waiting in the registry of a node, under `Key`.
    On(Weak<Node>, Key),
}

/// The handle [`Context::after_func`](super::Context::after_func) returns.
/// Dropping it leaves the callback registered.
pub struct AfterFunc {
    reg: Reg,
    /// Set by the first `stop`.
    stopped: AtomicBool,
}

impl AfterFunc {
    /// Registers `f` on `node`, the context's cancellable node (`None`:
    /// it never ends, and `f` is dropped here).
    pub(super) fn register<F: FnOnce() + Send + 'static>(node: Option<&Arc<Node>>, f: F) -> AfterFunc {
        let reg = match node {
            None => Reg::Never,
            Some(n) => match n.after(Box::new(f)) {
                Some(key) => Reg::On(Arc::downgrade(n), key),
                None => Reg::Started,
            },
        };
        AfterFunc { reg, stopped: AtomicBool::new(false) }
    }

    /// Makes sure the callback never starts. Returns `true` if this call
    /// did that: the callback had not started, and now never will. Returns
    /// `false` if it had started already (the context ended first), and on
    /// every call after the first.
    ///
    /// A callback whose context can no longer end (it never could, or all
    /// its handles were dropped) has not started, so the first `stop`
    /// returns `true`.
    ///
    /// ```
    /// use gort::context::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let f = ctx.after_func(|| unreachable!("stopped first"));
    /// assert!(f.stop());
    /// assert!(!f.stop());
    /// cancel.cancel();
    /// ```
    pub fn stop(&self) -> bool {
        // Relaxed: the node's lock orders what matters; this flag only
        // makes later calls answer `false`.
        if self.stopped.swap(true, Ordering::Relaxed) {
            return false;
        }
        match &self.reg {
            Reg::Never => true,
            Reg::Started => false,
            Reg::On(node, key) => node.upgrade().is_none_or(|n| n.unregister(*key)),
        }
    }
}

impl fmt::Debug for AfterFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterFunc").finish_non_exhaustive()
    }
}
