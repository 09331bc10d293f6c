//! The Transport's connection pool: idle connections per (scheme, host,
//! port), the count of open connections per host behind
//! `max_conns_per_host`, and the requests waiting for one (Go's
//! `idleConn`, `connsPerHost` and `wantConn`, in one place under one lock).
//!
//! An idle connection here is an [`Idle`]: the stream (a [`ClientConn`],
//! plain or TLS) and the instant it went idle. No goroutine waits on it, no buffer stays with it (its read
//! buffer went back to `BufPool` when its last response ended), no timer
//! watches it.
//!
//! # Who touches what
//! - `Inner` (everything below the lock): any goroutine or thread that
//!   checks a connection out, puts one back, or drops one; each holds the
//!   lock only to move entries, never across a syscall or a wait. Sockets
//!   that must close are moved out first and closed after the unlock.
//! - A [`Want`]'s slot: the pool delivers into it under the pool lock; the
//!   waiting request takes from it or gives up under the slot's own lock.
//!   Lock order: pool, then slot; never the other way. The request is
//!   woken after both are released (`Want::wake`): no gort call that may
//!   switch the goroutine out is made under either.
//! - A checked-out connection ([`PersistConn`]) is owned by exactly one
//!   request, then by its response body; the pool does not see it until it
//!   comes back through [`Pool::put`] or its drop calls [`Pool::closed`].
//!
//! # The invariants
//! - `Host::conns` counts the connections of that host that are open or
//!   being dialed: idle ones, checked-out ones, and reserved dial slots.
//!   It is at most `max_conns_per_host` when that is set.
//! - Each host's `idle` is ordered by the instant it went idle, oldest
//!   first, so the most recently used is taken first (`pop`) and the
//!   expired ones sit at the front.
//! - `idle_total` is the sum of the `idle` lengths, at most `max_idle`;
//!   each `idle` is at most `max_idle_per_host` long.
//! - A host has a waiter only while it has no usable idle connection: a
//!   connection coming back goes to the first live waiter before the
//!   idle list.
//! - A host entry with no connections and no waiters is removed.
//! - `Host::dials` lists the host's dials in flight, each with the want
//!   it was started for and the cancel of its context. A dial is cut only
//!   when its want was given up and no waiter of the host is waiting, so
//!   no dial a request still waits for is cut, and a dial whose request
//!   was served by another connection runs on into the pool (issue #15).
//!
//! # Why no connection is handed out twice
//! A connection is a value, moved, never shared: `put` moves it into an
//! idle list or into one waiter's slot, `checkout` moves it out of the
//! list, and a slot that took one refuses any other (`Want::fill`).
//! Both moves happen under the pool lock, and a waiter that gives up takes
//! what was delivered back out under the slot lock and returns it through
//! `put`. No path copies the socket handle into two places that could both
//! use it; the one extra handle, the cancellation hook's, only closes it.
//!
//! # Expiry without timers
//! `idle_conn_timeout` is checked against each connection's `since` when
//! it would be taken (an expired one is closed instead, and with it every
//! older one of that host), and every host's idle list is pruned at most
//! once per half timeout by whichever pool call comes first.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort_runtime::chan::{bounded, Receiver, Sender};
use gort_runtime::context::{Cancel, Context};
use http::uri::Scheme;
use parking_lot::Mutex;
use rustls::ClientConfig;

use crate::client_conn::ClientConn;
use crate::persist_conn::PersistConn;

/// What idle connections are pooled under: Go's `connectMethodKey`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) scheme: Scheme,
    pub(crate) host: Box<str>,
    pub(crate) port: u16,
}

impl Key {
    /// The address to dial, `host:port` (IPv6 literals keep their brackets).
    pub(crate) fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The pool's limits (see `Transport`'s builder for the defaults).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_idle: usize,
    pub(crate) max_idle_per_host: usize,
    /// 0: no limit.
    pub(crate) max_conns_per_host: usize,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) dial_timeout: Option<Duration>,
}

/// An idle connection: see the module doc.
pub(crate) struct Idle {
    pub(crate) stream: Arc<ClientConn>,
    since: Instant,
}

/// What [`Pool::checkout`] found.
pub(crate) enum Checkout {
    /// The most recently used idle connection: check it is still open.
    Idle(Arc<ClientConn>),
    /// A slot was reserved and the want queued: dial for it.
    Dial(Arc<Want>),
    /// At `max_conns_per_host`: the want is queued for a freed connection
    /// or slot.
    Queued(Arc<Want>),
}

/// See the module doc.
pub(crate) struct Pool {
    limits: Limits,
    /// The config of every `https` dial.
    tls: Arc<ClientConfig>,
    inner: Mutex<Inner>,
}

struct Inner {
    hosts: HashMap<Arc<Key>, Host>,
    idle_total: usize,
    /// When every host's idle list is next pruned of expired connections.
    sweep_at: Instant,
}

#[derive(Default)]
struct Host {
    idle: Vec<Idle>,
    conns: usize,
    waiters: VecDeque<Arc<Want>>,
    /// The dials in flight: the want each was started for, and its cancel.
    dials: Vec<(Arc<Want>, Cancel)>,
}

impl Pool {
    pub(crate) fn new(limits: Limits, tls: Arc<ClientConfig>) -> Pool {
        let inner = Inner { hosts: HashMap::new(), idle_total: 0, sweep_at: Instant::now() };
        Pool { limits, tls, inner: Mutex::new(inner) }
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn tls(&self) -> &Arc<ClientConfig> {
        &self.tls
    }

    /// Takes the most recently used idle connection of `key` (unless
    /// `fresh`), else queues a new want (made by `want`) and reserves a
    /// dial slot for it if the host has one free. Expired connections met
    /// on the way are closed.
    pub(crate) fn checkout(&self, key: &Arc<Key>, want: impl FnOnce() -> Arc<Want>, fresh: bool) -> Checkout {
        let now = Instant::now();
        let mut dead = Vec::new();
        let mut inner = self.inner.lock();
        self.sweep(&mut inner, now, &mut dead);
        let inner = &mut *inner;
        let host = inner.hosts.entry(Arc::clone(key)).or_default();
        if !fresh {
            if let Some(idle) = host.idle.pop() {
                inner.idle_total -= 1;
                if !self.expired(&idle, now) {
                    return Checkout::Idle(idle.stream);
                }
                // Everything older expired too.
                inner.idle_total -= host.idle.len();
                host.conns -= host.idle.len() + 1;
                dead.push(idle);
                dead.append(&mut host.idle);
            }
        }
        let want = want();
        host.waiters.push_back(Arc::clone(&want));
        let max = self.limits.max_conns_per_host;
        if max == 0 || host.conns < max {
            host.conns += 1;
            return Checkout::Dial(want);
        }
        Checkout::Queued(want)
    }

    /// A connection whose exchange ended cleanly: to the first waiter of
    /// its host, else to the idle list (evicting the oldest idle
    /// connection of any host when the pool is full), else closed.
    pub(crate) fn put(&self, mut pc: PersistConn) {
        pc.mark_reused();
        let key = Arc::clone(pc.key());
        let mut evicted = None;
        {
            let mut inner = self.inner.lock();
            let Some(host) = inner.hosts.get_mut(&key) else {
                debug_assert!(false, "Pool::put: a connection of a host the pool does not know");
                return;
            };
            while let Some(w) = host.waiters.pop_front() {
                match w.fill(Ok(pc)) {
                    None => {
                        drop(inner);
                        return w.wake();
                    }
                    Some(Ok(back)) => pc = back,
                    Some(Err(_)) => unreachable!("Want::fill gives back what it was given"),
                }
            }
            if host.idle.len() >= self.limits.max_idle_per_host || self.limits.max_idle == 0 {
                drop(inner);
                return drop(pc);
            }
            let idle = Idle { stream: pc.into_idle(), since: Instant::now() };
            host.idle.push(idle);
            inner.idle_total += 1;
            if inner.idle_total > self.limits.max_idle {
                evicted = evict_oldest(&mut inner);
            }
        }
        drop(evicted);
    }

    /// A connection of `key` closed, or a dial for it failed: frees its
    /// slot and, if a request is waiting for one, reserves it again for
    /// that request, which the caller must then dial for.
    pub(crate) fn closed(&self, key: &Arc<Key>) -> Option<Arc<Want>> {
        let mut inner = self.inner.lock();
        let host = inner.hosts.get_mut(key)?;
        host.conns -= 1;
        while let Some(w) = host.waiters.pop_front() {
            if w.is_waiting() {
                host.conns += 1;
                host.waiters.push_front(Arc::clone(&w));
                return Some(w);
            }
        }
        if host.conns == 0 && host.idle.is_empty() {
            inner.hosts.remove(key);
        }
        None
    }

    /// The context a dial of `key` for `want` runs under, listed until
    /// [`Pool::dial_done`] (see [`Pool::forget`]).
    pub(crate) fn dial_started(&self, key: &Arc<Key>, want: &Arc<Want>) -> Context {
        let (ctx, cancel) = Context::background().with_cancel();
        let mut inner = self.inner.lock();
        inner.hosts.entry(Arc::clone(key)).or_default().dials.push((Arc::clone(want), cancel));
        ctx
    }

    /// The dial for `want` ended, well or not.
    pub(crate) fn dial_done(&self, key: &Arc<Key>, want: &Arc<Want>) {
        if let Some(host) = self.inner.lock().hosts.get_mut(key) {
            host.dials.retain(|(w, _)| !Arc::ptr_eq(w, want));
        }
    }

    /// A waiter that gave up: forget it. If no request of its host is
    /// waiting any more, the dials started for given-up requests are cut
    /// (issue #15): nobody waits for them, and one may hang until its
    /// timeout. Otherwise they run on, and a connection the waiter no
    /// longer takes comes back through `put`.
    pub(crate) fn forget(&self, key: &Arc<Key>, want: &Arc<Want>) {
        want.abandoned.store(true, Ordering::Relaxed);
        let mut cut = Vec::new();
        if let Some(host) = self.inner.lock().hosts.get_mut(key) {
            host.waiters.retain(|w| !Arc::ptr_eq(w, want));
            if !host.waiters.iter().any(|w| w.is_waiting()) {
                // Relaxed: each store comes before its `forget` takes the
                // pool lock, and this load is under that lock, which
                // orders the two.
                let (gone, live) =
                    host.dials.drain(..).partition(|(w, _)| w.abandoned.load(Ordering::Relaxed));
                (cut, host.dials) = (gone, live);
            }
        }
        cut.into_iter().for_each(|(_, c)| c.cancel());
    }

    /// Closes every idle connection (Go's `CloseIdleConnections`).
    pub(crate) fn close_idle(&self) {
        let mut dead = Vec::new();
        let mut inner = self.inner.lock();
        for host in inner.hosts.values_mut() {
            host.conns -= host.idle.len();
            dead.append(&mut host.idle);
        }
        inner.idle_total = 0;
        inner.hosts.retain(|_, h| h.conns > 0 || !h.waiters.is_empty());
        drop(inner);
        drop(dead);
    }

    /// The number of idle connections, for tests and examples.
    pub(crate) fn idle_count(&self) -> usize {
        self.inner.lock().idle_total
    }

    fn expired(&self, idle: &Idle, now: Instant) -> bool {
        self.limits.idle_timeout.is_some_and(|t| now.saturating_duration_since(idle.since) >= t)
    }

    /// At most once per half timeout: prunes every host's expired idle
    /// connections into `dead`.
    fn sweep(&self, inner: &mut Inner, now: Instant, dead: &mut Vec<Idle>) {
        let Some(timeout) = self.limits.idle_timeout else { return };
        if now < inner.sweep_at {
            return;
        }
        inner.sweep_at = now + timeout / 2;
        for host in inner.hosts.values_mut() {
            let n = host.idle.iter().take_while(|i| self.expired(i, now)).count();
            host.conns -= n;
            inner.idle_total -= n;
            dead.extend(host.idle.drain(..n));
        }
        inner.hosts.retain(|_, h| h.conns > 0 || !h.waiters.is_empty());
    }
}

/// Removes the oldest idle connection of all hosts (Go's `idleLRU`): a
/// scan over hosts, only when the pool is over `max_idle`.
fn evict_oldest(inner: &mut Inner) -> Option<Idle> {
    let host = inner.hosts.values_mut().filter(|h| !h.idle.is_empty()).min_by_key(|h| h.idle[0].since)?;
    host.conns -= 1;
    inner.idle_total -= 1;
    Some(host.idle.remove(0))
}

/// A request waiting for a connection (Go's `wantConn`): the first of a
/// dial it started or a connection another request freed fills it.
pub(crate) struct Want {
    slot: Mutex<Slot>,
    /// Set by [`Pool::forget`]: the request gave up.
    abandoned: AtomicBool,
    ready_tx: Sender<()>,
    ready: Receiver<()>,
}

enum Slot {
    Waiting,
    Filled(io::Result<PersistConn>),
    /// Taken, or given up: refuses any further delivery.
    Closed,
}

impl Want {
    pub(crate) fn new() -> Arc<Want> {
        let (ready_tx, ready) = bounded(1);
        Arc::new(Want { slot: Mutex::new(Slot::Waiting), abandoned: AtomicBool::new(false), ready_tx, ready })
    }

    /// Fills the slot and wakes the request, or gives `r` back when the slot
    /// is filled or closed. The caller holds no lock (see [`Want::wake`]).
    pub(crate) fn deliver(&self, r: io::Result<PersistConn>) -> Option<io::Result<PersistConn>> {
        let back = self.fill(r);
        if back.is_none() {
            self.wake();
        }
        back
    }

    /// [`Want::deliver`]'s first half, for the pool under its lock, which
    /// wakes the request once it has let go.
    fn fill(&self, r: io::Result<PersistConn>) -> Option<io::Result<PersistConn>> {
        let mut slot = self.slot.lock();
        if !matches!(*slot, Slot::Waiting) {
            return Some(r);
        }
        *slot = Slot::Filled(r);
        None
    }

    /// Tells the waiting request its slot was filled. Never under a lock
    /// that blocks the thread: a channel operation is where a goroutine
    /// past its time slice yields, and one switched out holding the pool's
    /// lock would block every M that reaches for it, until none is left to
    /// run the holder.
    fn wake(&self) {
        let _ = self.ready_tx.try_send(());
    }

    fn is_waiting(&self) -> bool {
        matches!(*self.slot.lock(), Slot::Waiting)
    }

    /// The channel that gets a value once the slot is filled.
    pub(crate) fn ready(&self) -> &Receiver<()> {
        &self.ready
    }

    /// Closes the slot; returns what it held, if anything.
    pub(crate) fn take(&self) -> Option<io::Result<PersistConn>> {
        match std::mem::replace(&mut *self.slot.lock(), Slot::Closed) {
            Slot::Filled(r) => Some(r),
            Slot::Waiting | Slot::Closed => None,
        }
    }
}
