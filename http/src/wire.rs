//! `Wire`: the state one connection's loop, its request body and its
//! response writer share (Go's `conn` as `response` and `body` see it).
//!
//! # Who touches what
//! - `conn`: everyone, through `&self` (the `Conn` contract).
//! - `rbuf`: behind a lock. The loop holds it while parsing a head, the
//!   body while one `read` runs, `hijack` while it takes the data out. In
//!   practice one goroutine does all three, so the lock is never
//!   contended; it exists so a body moved to another goroutine stays safe.
//! - the flags: set by one side, read by another; each says which.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::buf::ReadBuf;
use crate::stream::Conn;

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
    /// A body read passed a `max_bytes` limit: set by the body, read by the
    /// loop, which then answers 413 (if nothing was written) and closes.
    too_large: AtomicBool,
    /// The handler took the connection over: set by `hijack`, read by the
    /// loop, which then leaves the connection alone.
    hijacked: AtomicBool,
    /// Waiting for its next request: set and cleared by the loop, read by
    /// `Server::shutdown` (SeqCst: the protocol in `server.rs`).
    idle: AtomicBool,
}

impl Wire {
    pub(crate) fn new(conn: Box<dyn Conn>, rbuf_limit: usize) -> Wire {
        Wire {
            conn,
            rbuf: Mutex::new(ReadBuf::new()),
            rbuf_limit,
            continue_owed: AtomicBool::new(false),
            too_large: AtomicBool::new(false),
            hijacked: AtomicBool::new(false),
            idle: AtomicBool::new(false),
        }
    }

    // Relaxed throughout: each flag is set and read by the connection's
    // goroutine, or by one the handler handed the body or writer to, which
    // a channel or join ordered; no other memory hangs on the flags.

    pub(crate) fn owe_continue(&self, owed: bool) {
        self.continue_owed.store(owed, Ordering::Relaxed);
    }

    /// Takes the owed `100 Continue`, if any.
    pub(crate) fn take_continue(&self) -> bool {
        self.continue_owed.swap(false, Ordering::Relaxed)
    }

    pub(crate) fn set_too_large(&self) {
        self.too_large.store(true, Ordering::Relaxed);
    }

    pub(crate) fn too_large(&self) -> bool {
        self.too_large.load(Ordering::Relaxed)
    }

    pub(crate) fn set_hijacked(&self) {
        self.hijacked.store(true, Ordering::Relaxed);
    }

    pub(crate) fn hijacked(&self) -> bool {
        self.hijacked.load(Ordering::Relaxed)
    }

    pub(crate) fn set_idle(&self, idle: bool) {
        self.idle.store(idle, Ordering::SeqCst);
    }

    pub(crate) fn idle(&self) -> bool {
        self.idle.load(Ordering::SeqCst)
    }
}
