//! `Wire`: the state one connection's loop, its request body and its
//! response writer share (Go's `conn` as `response` and `body` see it).
//!
//! # Who touches what
//! - `conn`: everyone, through `&self` (the `Conn` contract).
//! - `rbuf`: behind a lock, and empty unless the loop lent it its read
//!   buffer: it does for a request with a body, or with bytes buffered
//!   behind its head, and takes it back after the handler (`conn.rs`).
//!   The body locks it while one `read` runs, `hijack` while it takes the
//!   data out. In practice one goroutine does both, so the lock is never
//!   contended; it exists so a body moved to another goroutine stays safe.
//!   It is gort's `Mutex` (Go's `body.mu`), which parks the goroutine, not
//!   the thread: a read holds it across socket waits, and the loop taking
//!   the buffer back behind a body still read elsewhere waits for that
//!   read to end without holding its M.
//!   A request with neither is served without it: its body reads nothing,
//!   and `hijack` finds nothing buffered, which is the truth.
//! - the flags: set by one side, read by another; each says which.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort_runtime::context::Context;
use http::StatusCode;

use gort_runtime::sync::Mutex;

use crate::buf::ReadBuf;
use crate::stream::Conn;

/// How long shutdown lets a new connection, on which no request has begun,
/// stay open for its first request (Go's 5 s).
pub(crate) const NEW_GRACE: Duration = Duration::from_secs(5);

/// The interim response a client that sent `Expect: 100-continue` waits for.
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// See the module doc.
pub(crate) struct Wire {
    pub(crate) conn: Box<dyn Conn>,
    pub(crate) rbuf: Mutex<ReadBuf>,
    /// The most bytes `rbuf` may grow to (a head's limit).
    pub(crate) rbuf_limit: usize,
    /// A `100 Continue` is owed: set by the loop for a request that
    /// expects one, taken by the body's first read (which sends it) or by
    /// the response head going out first (then it is never sent).
    continue_owed: AtomicBool,
    /// The status a body read failed with (0: none): 413 past a
    /// `max_bytes` limit, 400 for bad chunked framing. Set by the body,
    /// read by the loop, which answers it (if nothing was written yet) and
    /// closes.
    body_fault: AtomicU16,
    /// The handler took the connection over: set by `hijack`, read by the
    /// loop, which then leaves the connection alone.
    hijacked: AtomicBool,
    /// The request's body was read to its end: set by the loop for each
    /// request (true for one without a body), and by the body when it
    /// reaches its end. It tells the loop whether a body the handler took
    /// out of the request left the connection at the next request's first
    /// byte (`Body::finish`), and whether closing must linger.
    body_done: AtomicBool,
    /// Waiting for its next request: set and cleared by the loop, read by
    /// `Server::shutdown` (SeqCst: the protocol in `server.rs`).
    idle: AtomicBool,
    /// No request has begun on it yet (Go's `StateNew`): cleared by the
    /// loop when the first request's bytes arrive. Shutdown closes such a
    /// connection only once it is [`NEW_GRACE`] old (`new_and_old`).
    fresh: AtomicBool,
    /// When the connection began.
    born: Instant,
    /// The server's shutdown flag (SeqCst: `server.rs`), if a server owns
    /// the connection: a response committed after it is set says
    /// `Connection: close`.
    shutdown: Option<Arc<AtomicBool>>,
    /// The context request contexts derive from: the server's, ended by
    /// shutdown and close; `background()` outside a server.
    pub(crate) base: Context,
}

impl Wire {
    pub(crate) fn new(
        conn: Box<dyn Conn>,
        rbuf_limit: usize,
        shutdown: Option<Arc<AtomicBool>>,
        base: Context,
    ) -> Wire {
        Wire {
            conn,
            rbuf: Mutex::new(ReadBuf::new()),
            rbuf_limit,
            continue_owed: AtomicBool::new(false),
            body_fault: AtomicU16::new(0),
            hijacked: AtomicBool::new(false),
            body_done: AtomicBool::new(false),
            idle: AtomicBool::new(false),
            fresh: AtomicBool::new(true),
            born: Instant::now(),
            shutdown,
            base,
        }
    }

    // Relaxed throughout: each flag is set and read by the connection's
    // goroutine, or by one the handler handed the body or writer to, which
    // a channel or join ordered; no other memory hangs on the flags. The
    // takers load before they swap: almost every request finds the flag
    // clear, and a load costs nothing where a swap is a locked
    // read-modify-write.

    pub(crate) fn owe_continue(&self, owed: bool) {
        self.continue_owed.store(owed, Ordering::Relaxed);
    }

    /// Whether a `100 Continue` is owed (not taking it).
    pub(crate) fn owes_continue(&self) -> bool {
        self.continue_owed.load(Ordering::Relaxed)
    }

    /// Takes the owed `100 Continue`, if any.
    pub(crate) fn take_continue(&self) -> bool {
        self.continue_owed.load(Ordering::Relaxed) && self.continue_owed.swap(false, Ordering::Relaxed)
    }

    pub(crate) fn set_body_fault(&self, status: StatusCode) {
        self.body_fault.store(status.as_u16(), Ordering::Relaxed);
    }

    /// Takes the body fault, if any.
    pub(crate) fn take_body_fault(&self) -> Option<StatusCode> {
        if self.body_fault.load(Ordering::Relaxed) == 0 {
            return None;
        }
        StatusCode::from_u16(self.body_fault.swap(0, Ordering::Relaxed)).ok()
    }

    pub(crate) fn set_body_done(&self, done: bool) {
        self.body_done.store(done, Ordering::Relaxed);
    }

    pub(crate) fn body_done(&self) -> bool {
        self.body_done.load(Ordering::Relaxed)
    }

    pub(crate) fn set_hijacked(&self) {
        self.hijacked.store(true, Ordering::Relaxed);
    }

    pub(crate) fn hijacked(&self) -> bool {
        self.hijacked.load(Ordering::Relaxed)
    }

    pub(crate) fn set_idle(&self) {
        self.idle.store(true, Ordering::SeqCst);
    }

    /// Whether the server owning the connection is shutting down.
    pub(crate) fn shutting_down(&self) -> bool {
        self.shutdown.as_ref().is_some_and(|f| f.load(Ordering::SeqCst))
    }

    /// Clears the idle mark; returns whether it was set.
    pub(crate) fn take_idle(&self) -> bool {
        self.idle.swap(false, Ordering::SeqCst)
    }

    pub(crate) fn idle(&self) -> bool {
        self.idle.load(Ordering::SeqCst)
    }

    /// A request has begun: the connection is no longer new.
    pub(crate) fn begin(&self) {
        if self.fresh.load(Ordering::Relaxed) {
            self.fresh.store(false, Ordering::SeqCst);
        }
    }

    /// Whether no request has begun on it in the [`NEW_GRACE`] since it
    /// began, at `now`: shutdown then treats it as idle, as Go does.
    pub(crate) fn new_and_old(&self, now: Instant) -> bool {
        self.fresh.load(Ordering::SeqCst) && now.saturating_duration_since(self.born) >= NEW_GRACE
    }
}
