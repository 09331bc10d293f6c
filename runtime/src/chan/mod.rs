//! Go's channels: multi-producer, multi-consumer, bounded or unbounded,
//! shaped like std's `mpsc`. A blocked operation parks the goroutine (or
//! blocks the thread, outside goroutines), and `select!` waits on several.
//!
//! ```
//! let (tx, rx) = gort::chan::bounded::<u32>(0); // unbuffered: a rendezvous
//! let h = gort::go!(move || rx.iter().sum::<u32>());
//! for i in 1..=4 {
//!     tx.send(i).unwrap();
//! }
//! drop(tx); // the last sender closes the channel; the loop above ends
//! assert_eq!(h.join().unwrap(), 10);
//! ```
//!
//! Go's semantics, without panics: a send on a closed channel returns its
//! value in `Err`; a receive on a closed channel drains what is buffered,
//! then returns `Err`. The channel closes when every `Sender` is dropped,
//! when every `Receiver` is dropped (nothing could receive; buffered values
//! are dropped), or on [`Sender::close`] / [`Receiver::close`].
//!
//! A plain `send` or `recv`, and the blocking iterators over `recv`, are
//! `#[inline(always)]` down to the goroutine's switch, blocking path
//! included: each runtime frame between the caller and the switch is a
//! return that, on every resume, the CPU's return-stack predictor gets
//! wrong (the M ran other call chains in between). With `send_slow` and
//! `recv_slow` out of line the unbuffered ping-pong took 134 ns per round
//! trip on the development machine; inline, 70 ns. The timed variants
//! share the code but are not inlined into the caller.
//!
//! Files: `core.rs` (the locked channel state), `select.rs` (waiting, for
//! single operations and `select!` alike), `macros.rs`, `error.rs`.

mod core;
mod error;
mod macros;
mod select;

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use self::core::{Chan, Locked, Recvd, Sent};
pub use error::{RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
use select::{block_locked, RecvArm, SendArm};

use crate::sched::g::WaitReason;
use crate::sched::preempt::preempt_check;
use crate::sched::waitq::wake;

/// What `select!` expands to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use super::select::{select, Arm, RecvArm, SendArm, Timeout};
}

/// A channel with a buffer of `cap` values; `cap == 0` makes a rendezvous
/// channel, where a send waits for a receiver and hands it the value
/// directly (Go's unbuffered channel).
///
/// ```
/// let (tx, rx) = gort::chan::bounded(1);
/// tx.send("hi").unwrap();
/// assert_eq!(tx.try_send("full"), Err(gort::chan::TrySendError::Full("full")));
/// assert_eq!(rx.recv(), Ok("hi"));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(cap));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// A channel whose sends never block.
///
/// ```
/// let (tx, rx) = gort::chan::unbounded();
/// (0..1000).for_each(|i| tx.send(i).unwrap());
/// drop(tx);
/// assert_eq!(rx.iter().count(), 1000);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    bounded(usize::MAX)
}

/// The sending end; clone it for more producers.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving end; clone it for more consumers (each value goes to one).
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `v`, waiting while the buffer is full (for a receiver, when
    /// unbuffered). Fails, handing `v` back, once the channel is closed.
    #[inline(always)]
    pub fn send(&self, v: T) -> Result<(), SendError<T>> {
        self.send_until(v, None).map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `v` if that needs no waiting. A goroutine that has run for
    /// over 10 ms yields here first (see the crate doc on preemption).
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        preempt_check();
        let sent = self.chan.lock().send(v);
        match sent {
            Sent::Done(w) => {
                wake(w);
                Ok(())
            }
            Sent::Full(v) => Err(TrySendError::Full(v)),
            Sent::Closed(v) => Err(TrySendError::Disconnected(v)),
        }
    }

    /// Sends `v`, waiting at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use gort::chan::SendTimeoutError;
    /// let (tx, _rx) = gort::chan::bounded(0);
    /// assert_eq!(tx.send_timeout(1, Duration::from_millis(1)), Err(SendTimeoutError::Timeout(1)));
    /// ```
    pub fn send_timeout(&self, v: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        // A timeout past what `Instant` can hold waits untimed.
        self.send_until(v, Instant::now().checked_add(timeout))
    }

    /// Sends `v`, waiting until `deadline` at most.
    pub fn send_deadline(&self, v: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(v, Some(deadline))
    }

    #[inline(always)]
    fn send_until(&self, v: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let mut s = self.chan.lock();
        match s.send(v) {
            Sent::Done(w) => {
                drop(s);
                wake(w);
                Ok(())
            }
            Sent::Closed(v) => Err(SendTimeoutError::Disconnected(v)),
            Sent::Full(v) => self.send_slow(s, v, deadline),
        }
    }

    /// Waits with the lock of the failed attempt still held (see
    /// `block_locked`); inline for the reason in the module doc.
    #[inline(always)]
    fn send_slow(
        &self,
        held: Locked<'_, T>,
        v: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return Err(SendTimeoutError::Timeout(v));
        }
        let arm = SendArm::new(self, v);
        let fired = block_locked(&arm, held, WaitReason::ChanSend, deadline);
        match (arm.result(), fired) {
            (Ok(()), _) => Ok(()),
            (Err(SendError(v)), true) => Err(SendTimeoutError::Disconnected(v)),
            (Err(SendError(v)), false) => Err(SendTimeoutError::Timeout(v)),
        }
    }
}

impl<T> Receiver<T> {
    /// Receives a value, waiting for one. Fails once the channel is closed
    /// and drained.
    #[inline(always)]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_until(None).map_err(|_| RecvError)
    }

    /// Receives a value if one is ready. A goroutine that has run for over
    /// 10 ms yields here first (see the crate doc on preemption).
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        preempt_check();
        let got = self.chan.lock().recv();
        match got {
            Recvd::Got(v, w) => {
                wake(w);
                Ok(v)
            }
            Recvd::Empty => Err(TryRecvError::Empty),
            Recvd::Closed => Err(TryRecvError::Disconnected),
        }
    }

    /// Receives a value, waiting at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = gort::chan::bounded::<u8>(1);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(gort::chan::RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        // A timeout past what `Instant` can hold waits untimed.
        self.recv_until(Instant::now().checked_add(timeout))
    }

    /// Receives a value, waiting until `deadline` at most.
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    #[inline(always)]
    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let mut s = self.chan.lock();
        match s.recv() {
            Recvd::Got(v, w) => {
                drop(s);
                wake(w);
                Ok(v)
            }
            Recvd::Closed => Err(RecvTimeoutError::Disconnected),
            Recvd::Empty => self.recv_slow(s, deadline),
        }
    }

    /// Waits with the lock of the failed attempt still held (see
    /// `block_locked`); inline for the reason in the module doc.
    #[inline(always)]
    fn recv_slow(&self, held: Locked<'_, T>, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return Err(RecvTimeoutError::Timeout);
        }
        let arm = RecvArm::new(self);
        let fired = block_locked(&arm, held, WaitReason::ChanRecv, deadline);
        match arm.result() {
            Ok(v) => Ok(v),
            Err(RecvError) if fired => Err(RecvTimeoutError::Disconnected),
            Err(RecvError) => Err(RecvTimeoutError::Timeout),
        }
    }

    /// A blocking iterator: yields values until the channel is closed and
    /// drained.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values ready now.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

/// What both ends of a channel share: closing, the state queries, and the
/// handle count that closes the channel when the last handle of a kind
/// drops (dropping the last receiver also drops what is buffered).
macro_rules! channel_end {
    ($end:ident, $count:ident, $drop_buffered:expr) => {
        impl<T> $end<T> {
            /// Closes the channel: receivers drain what is buffered, then see
            /// `Err`; every send fails. Closing twice does nothing.
            pub fn close(&self) {
                self.chan.close(false);
            }

            /// Whether the channel is closed (values may still be buffered).
            pub fn is_closed(&self) -> bool {
                self.chan.lock().is_closed()
            }

            /// Values buffered now.
            pub fn len(&self) -> usize {
                self.chan.len()
            }

            /// Whether nothing is buffered now.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// The buffer's capacity (`Some(0)` for a rendezvous channel);
            /// `None` when unbounded.
            pub fn capacity(&self) -> Option<usize> {
                self.chan.capacity()
            }
        }

        impl<T> Clone for $end<T> {
            fn clone(&self) -> Self {
                // Relaxed: a new handle from a live one; the count is only read
                // by the decrement that reaches zero (AcqRel in `Chan::release`).
                self.chan.$count.fetch_add(1, Ordering::Relaxed);
                $end { chan: self.chan.clone() }
            }
        }

        impl<T> Drop for $end<T> {
            fn drop(&mut self) {
                self.chan.release(&self.chan.$count, $drop_buffered);
            }
        }

        impl<T> std::fmt::Debug for $end<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($end)).finish_non_exhaustive()
            }
        }
    };
}

channel_end!(Sender, senders, false);
channel_end!(Receiver, receivers, true);

// A panic cannot leave a channel broken: its state changes only under the
// lock, in runtime code that does not panic, and no value is dropped under
// the lock (`core.rs`). So a handle is as good after a caught panic as
// before it, as crossbeam's and std's are.
impl<T> UnwindSafe for Sender<T> {}
impl<T> RefUnwindSafe for Sender<T> {}
impl<T> UnwindSafe for Receiver<T> {}
impl<T> RefUnwindSafe for Receiver<T> {}

/// Blocking iterator of [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

/// Non-blocking iterator of [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

/// Owning blocking iterator of `Receiver::into_iter`.
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    #[inline(always)]
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    #[inline(always)]
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}
