//! Go's `context`: cancellation, deadlines and request-scoped values, one
//! tree per request. A context's [`done`](Context::done) is a gort channel
//! that is closed (never sent on) when the context ends, so it works in
//! `select!`, and with `recv` from goroutines and plain threads alike.
//!
//! ```
//! use gort::context::{Context, Error};
//! use std::time::Duration;
//!
//! let (jobs_tx, jobs) = gort::chan::bounded::<u32>(0);
//! let (ctx, cancel) = Context::background().with_timeout(Duration::from_secs(5));
//! let worker = {
//!     let ctx = ctx.clone();
//!     gort::go!(move || loop {
//!         gort::select! {
//!             recv(ctx.done()) -> _ => return ctx.err(),
//!             recv(jobs) -> j => drop(j),
//!         }
//!     })
//! };
//! jobs_tx.send(1).unwrap();
//! cancel.cancel(); // or let the 5 s run out
//! assert_eq!(worker.join().unwrap(), Some(Error::Canceled));
//! ```
//!
//! # Design
//!
//! A [`Context`] is two pointers: its nearest cancellable node (`tree.rs`)
//! and its innermost value (`value.rs`). The chains are separate, so
//! `done`, `err` and `deadline` are one hop whatever the number of values,
//! a value lookup walks values only, and `background()` is two `None`s.
//! Cloning costs at most two reference-count increments.
//!
//! Go's tree differs in who keeps whom alive: a Go parent holds its
//! children until they are cancelled, which is why a lost `cancel` leaks
//! and why `vet` checks for it. Here a parent holds its children weakly,
//! and a child whose last handle drops leaves its parent and stops its
//! timer. So dropping a [`Cancel`] does not cancel anything, and need not:
//! the context ends by its deadline or its parent, or is freed with its
//! last handle.
//!
//! A context that can never end (`background()`, `without_cancel()`, and
//! values over them) shares one channel that nobody closes: `done()` costs
//! a load, and `after_func` on it costs neither a goroutine nor a timer.
//! A cancellable context makes its channel on the first `done()`; one that
//! ended before that gets a shared closed channel (Go's `closedchan`).

mod after;
mod error;
mod tree;
mod value;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub use after::AfterFunc;
pub use error::{Cause, Error};
use tree::Node;
use value::Value;

use crate::chan::{bounded, Receiver, Sender};

/// A context: a place in a cancellation tree, a deadline, and values.
/// `Clone + Send + Sync`; cloning is cheap and every clone is the same
/// context.
#[derive(Clone, Default)]
pub struct Context {
    /// This context's cancellable node, or its nearest ancestor's; `None`
    /// when it can never end.
    node: Option<Arc<Node>>,
    /// The innermost value.
    values: Option<Arc<Value>>,
}

/// Ends the context it came with, and its descendants.
///
/// Dropping a `Cancel` does not end the context: it gives up the right to
/// end it early. The context still ends by its deadline or its parent, and
/// once its last handle is gone (every `Context` clone, every `Cancel`
/// clone and every descendant) it leaves its parent and stops its timer,
/// so nothing leaks when `cancel` is never called. Call `cancel` when the
/// work is done to end the goroutines and callbacks waiting on it.
#[must_use = "without its Cancel a context ends only by its deadline or its parent; dropping it cancels nothing"]
#[derive(Clone)]
pub struct Cancel {
    node: Arc<Node>,
}

impl Context {
    /// The root context: it never ends and holds no values.
    pub const fn background() -> Context {
        Context { node: None, values: None }
    }

    /// A child that also ends when the returned [`Cancel`] is called.
    ///
    /// ```
    /// use gort::context::{Context, Error};
    /// let (parent, end_parent) = Context::background().with_cancel();
    /// let (child, _end_child) = parent.with_cancel();
    /// end_parent.cancel();
    /// assert_eq!(child.err(), Some(Error::Canceled));
    /// assert!(child.done().recv().is_err(), "closed");
    /// ```
    pub fn with_cancel(&self) -> (Context, Cancel) {
        self.child(None)
    }

    /// A child that ends at `deadline`, or earlier by its [`Cancel`] or
    /// its parent. Its deadline is the earlier of `deadline` and the
    /// parent's.
    pub fn with_deadline(&self, deadline: Instant) -> (Context, Cancel) {
        self.child(Some(deadline))
    }

    /// [`with_deadline`](Self::with_deadline) at `timeout` from now.
    ///
    /// ```
    /// use gort::context::{Context, Error};
    /// use std::time::Duration;
    /// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(5));
    /// assert!(ctx.done().recv().is_err());
    /// assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> (Context, Cancel) {
        // A timeout past what `Instant` can hold is no deadline.
        self.child(Instant::now().checked_add(timeout))
    }

    fn child(&self, deadline: Option<Instant>) -> (Context, Cancel) {
        let node = Node::new(self.node.as_ref(), deadline);
        (Context { node: Some(node.clone()), values: self.values.clone() }, Cancel { node })
    }

    /// A child holding `v`, found by [`value::<T>`](Self::value) here and
    /// in every descendant that does not hold a `T` of its own. The type is
    /// the key: wrap values in a type of your own to keep them apart.
    ///
    /// ```
    /// use gort::context::Context;
    /// struct RequestId(u64);
    /// let ctx = Context::background().with_value(RequestId(7)).with_value("user");
    /// assert_eq!(ctx.value::<RequestId>().map(|r| r.0), Some(7));
    /// assert_eq!(ctx.value::<&str>(), Some(&"user"));
    /// assert!(ctx.value::<u8>().is_none());
    /// ```
    pub fn with_value<T: Send + Sync + 'static>(&self, v: T) -> Context {
        Context { node: self.node.clone(), values: Some(value::push(self.values.as_ref(), v)) }
    }

    /// The value of type `T` nearest to this context (itself first, then
    /// its ancestors), if any.
    pub fn value<T: 'static>(&self) -> Option<&T> {
        value::find(self.values.as_ref())
    }

    /// A child with the same values that never ends, whatever happens to
    /// this context (Go 1.21's `WithoutCancel`), for work that must outlive
    /// the request that started it.
    pub fn without_cancel(&self) -> Context {
        Context { node: None, values: self.values.clone() }
    }

    /// A channel that is closed when the context ends; nothing is ever
    /// sent on it. Receive from it in `select!`, with `recv()` (which
    /// blocks a goroutine or a plain thread until it ends), or with
    /// `for _ in ctx.done() {}`. For a context that never ends this costs
    /// one load.
    ///
    /// The channel belongs to the context: do not close it (the receiver's
    /// `close` would end waiters without ending the context, and the
    /// channel of every context that never ends is one shared channel). A
    /// clone of it that outlives every handle of its context sees it
    /// closed then, though the context did not end: nothing could end it
    /// any more, and nothing else would wake its waiters.
    #[inline]
    pub fn done(&self) -> &Receiver<()> {
        match &self.node {
            Some(n) => n.done(),
            None => never(),
        }
    }

    /// `None` while the context runs; why it ended once it has.
    pub fn err(&self) -> Option<Error> {
        self.node.as_ref().and_then(|n| n.err())
    }

    /// Why the context ended (Go 1.20's `context.Cause`): the cause given
    /// to [`Cancel::cancel_with`] of this context or of the ancestor that
    /// ended it, else its [`Error`]. `None` while it runs.
    ///
    /// ```
    /// use gort::context::Context;
    /// let (parent, cancel) = Context::background().with_cancel();
    /// let (child, _c) = parent.with_cancel();
    /// cancel.cancel_with("client went away");
    /// assert_eq!(child.cause().unwrap().to_string(), "client went away");
    /// ```
    pub fn cause(&self) -> Option<Cause> {
        self.node.as_ref().and_then(|n| n.cause())
    }

    /// When the context will end on its own (its deadline, or an
    /// ancestor's if earlier), if ever.
    pub fn deadline(&self) -> Option<Instant> {
        self.node.as_ref().and_then(|n| n.deadline())
    }

    /// Runs `f` in its own goroutine once the context ends, at once if it
    /// already has (Go 1.21's `context.AfterFunc`). [`AfterFunc::stop`]
    /// unregisters it. On a context that never ends, `f` is dropped here:
    /// no goroutine, no timer.
    ///
    /// `f` runs once at most, and only if the context ends while a handle
    /// of it (a `Context`, its `Cancel`, a descendant) is alive: once the
    /// last one drops, nothing can end it, and `f` is dropped unrun.
    ///
    /// `f` is a goroutine: writing `after_func` accepts the contract of
    /// [`spawn`](crate::spawn), as [`go!`](crate::go) does.
    ///
    /// ```
    /// use gort::context::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let (tx, rx) = gort::chan::bounded(1);
    /// ctx.after_func(move || tx.send("ended").unwrap());
    /// cancel.cancel();
    /// assert_eq!(rx.recv(), Ok("ended"));
    /// ```
    pub fn after_func<F: FnOnce() + Send + 'static>(&self, f: F) -> AfterFunc {
        AfterFunc::register(self.node.as_ref(), f)
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("err", &self.err())
            .field("deadline", &self.deadline())
            .finish_non_exhaustive()
    }
}

impl Cancel {
    /// Ends the context with [`Error::Canceled`], and every descendant
    /// that has not ended yet. Later calls, and calls after the context
    /// ended otherwise, do nothing.
    pub fn cancel(&self) {
        self.node.end(Error::Canceled, None);
    }

    /// [`cancel`](Self::cancel), recording why: the context's and its
    /// descendants' [`Context::cause`] return `cause` (Go 1.20's
    /// `WithCancelCause`). Ignored if the context has already ended.
    pub fn cancel_with(&self, cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) {
        self.node.end(Error::Canceled, Some(Arc::from(cause.into())));
    }
}

impl fmt::Debug for Cancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancel").field("err", &self.node.err()).finish_non_exhaustive()
    }
}

/// The done channel of every context that never ends: its sender lives in
/// the static, so it never closes.
fn never() -> &'static Receiver<()> {
    static NEVER: OnceLock<(Sender<()>, Receiver<()>)> = OnceLock::new();
    &NEVER.get_or_init(|| bounded(0)).1
}
