//! `Transport`: one round trip (Go's `Transport.roundTrip`): find the
//! request's pool key, get a connection (a still-open idle one, else a
//! dial, else a place in the host's queue), run the exchange on it, and
//! retry once on a fresh connection when Go's `shouldRetryRequest` allows.
//!
//! # Getting a connection
//! The idle list is tried first, most recently used first; each candidate
//! is checked with a non-blocking peek (`peek_now`): `WouldBlock` means the
//! server still holds it open, EOF or data means it closed or broke it
//! while idle, and it is dropped for the next. Failing that, the request
//! registers a [`Want`] and, under `max_conns_per_host`, starts a dial in
//! its own goroutine; the request then waits for whichever comes first,
//! that dial or a connection another request frees (which gets the same
//! peek, and is marked reused for the retry rule). A dial that finishes
//! after its request was served puts its connection in the pool; a dial
//! whose request gave up is cut once no request of the host is waiting.
//! The exchange itself runs on the requesting goroutine.
//!
//! # Retry
//! A reused connection that fails before any response byte arrives was
//! most likely closed by the server while idle, a race the peek narrows
//! but cannot close. Such a request is sent again, once, on a fresh
//! connection, when it is safe: its method is idempotent (`GET`, `HEAD`,
//! `OPTIONS`, `TRACE`) or it has an `Idempotency-Key`, and its body can be
//! replayed (none, or bytes). A fresh connection's failure, a timeout and
//! a context's end are never retried.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort_runtime::context::Context;
use http::request::Parts;
use http::uri::Scheme;
use http::Method;
use rustls::ClientConfig;

use crate::body::Body;
use crate::client::Response;
use crate::client_conn::ClientConn;
use crate::idle_pool::{Checkout, Key, Limits, Pool, Want};
use crate::persist_conn::{Exchange, PersistConn};
use crate::request::Request;
use crate::{gunzip, transfer};

/// Go's `DefaultTransport` dials for at most 30 s.
pub(crate) const DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Go's `DefaultMaxHeaderBytes` for responses: 10 MiB.
pub(crate) const MAX_RESPONSE_HEAD: usize = 10 << 20;

/// Runs HTTP/1.1 round trips over a pool of keep-alive connections (Go's
/// `http.Transport`). Cheap to clone: clones share the pool. Made by
/// [`ClientBuilder`](crate::ClientBuilder); a [`Client`](crate::Client)
/// adds redirects and the whole-exchange timeout on top.
#[derive(Clone)]
pub struct Transport {
    shared: Arc<Shared>,
}

struct Shared {
    pool: Arc<Pool>,
    settings: Settings,
}

/// The transport's settings beyond the pool's limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) response_header_timeout: Option<Duration>,
    pub(crate) max_response_header_bytes: usize,
    pub(crate) disable_keep_alives: bool,
    pub(crate) disable_compression: bool,
}

impl Transport {
    pub(crate) fn new(limits: Limits, settings: Settings, tls: Arc<ClientConfig>) -> Transport {
        Transport { shared: Arc::new(Shared { pool: Arc::new(Pool::new(limits, tls)), settings }) }
    }

    /// Sends `req` and reads the response head; the body is read from the
    /// [`Response`]. No redirects are followed.
    ///
    /// # Errors
    /// As [`Client::send`](crate::Client::send).
    pub fn round_trip(&self, req: Request) -> io::Result<Response> {
        self.round_trip_until(req, None)
    }

    /// Closes every idle connection; connections in use are left alone.
    pub fn close_idle_connections(&self) {
        self.shared.pool.close_idle();
    }

    /// How many idle connections the pool holds now.
    pub fn idle_connections(&self) -> usize {
        self.shared.pool.idle_count()
    }

    /// [`round_trip`](Self::round_trip) with the whole exchange, body
    /// included, bounded by `deadline`.
    pub(crate) fn round_trip_until(&self, req: Request, deadline: Option<Instant>) -> io::Result<Response> {
        let ctx = req.context().clone();
        let (head, body) = req.into_head_body();
        self.exchange(&head, body, &ctx, deadline)
    }

    /// One round trip of the request `head` with `body`, retried as the
    /// module doc says.
    pub(crate) fn exchange(
        &self,
        head: &Parts,
        body: Body,
        ctx: &Context,
        deadline: Option<Instant>,
    ) -> io::Result<Response> {
        let key = key_of(head)?;
        let framing = transfer::request_body_framing(&head.method, &head.headers, body.known_len())
            .map_err(|r| io::Error::new(io::ErrorKind::InvalidInput, r.reason))?;
        let s = &self.shared.settings;
        let x = Exchange {
            head,
            framing,
            ctx,
            deadline,
            header_timeout: s.response_header_timeout,
            max_head: s.max_response_header_bytes,
            keep_alive: !s.disable_keep_alives,
            gzip: gunzip::asks(head, s.disable_compression),
        };
        let mut replay = if idempotent(head) { body.replay() } else { None };
        let mut body = Some(body);
        loop {
            let fresh = body.is_none();
            let pc = self.get_conn(&key, ctx, deadline, fresh)?;
            let b = body.take().or_else(|| replay.take()).unwrap_or_default();
            match pc.round_trip(&x, b) {
                Ok(resp) => return Ok(resp),
                Err(f) if f.retryable && replay.is_some() => {}
                Err(f) => return Err(f.err),
            }
        }
    }

    /// A connection for `key`: see the module doc. `fresh` skips the idle
    /// list (a retry).
    fn get_conn(
        &self,
        key: &Arc<Key>,
        ctx: &Context,
        deadline: Option<Instant>,
        fresh: bool,
    ) -> io::Result<PersistConn> {
        let pool = &self.shared.pool;
        loop {
            let want = match pool.checkout(key, Want::new, fresh) {
                Checkout::Idle(stream) if stream.still_open() => {
                    return Ok(PersistConn::new(stream, Arc::clone(key), Arc::clone(pool), true));
                }
                Checkout::Idle(stream) => {
                    drop(stream);
                    if let Some(w) = pool.closed(key) {
                        dial_for(Arc::clone(pool), Arc::clone(key), w);
                    }
                    continue;
                }
                Checkout::Dial(want) => {
                    dial_for(Arc::clone(pool), Arc::clone(key), Arc::clone(&want));
                    want
                }
                Checkout::Queued(want) => want,
            };
            // One handed over by the request before us gets the idle
            // list's check too: the server may have closed it since, or
            // sent bytes nobody asked for. Dropping it frees its slot.
            let pc = self.wait(key, &want, ctx, deadline)?;
            if !pc.is_reused() || pc.still_open() {
                return Ok(pc);
            }
        }
    }

    /// Waits for `want` to be filled, the context to end or the deadline.
    fn wait(
        &self,
        key: &Arc<Key>,
        want: &Arc<Want>,
        ctx: &Context,
        deadline: Option<Instant>,
    ) -> io::Result<PersistConn> {
        match deadline {
            Some(d) => gort_runtime::select! {
                recv(want.ready()) -> _ => {},
                recv(ctx.done()) -> _ => {},
                default(d.saturating_duration_since(Instant::now())) => {},
            },
            None => gort_runtime::select! {
                recv(want.ready()) -> _ => {},
                recv(ctx.done()) -> _ => {},
            },
        }
        let got = want.take();
        let ended = ctx.err().map(io::Error::from).or_else(|| {
            let late = deadline.is_some_and(|d| Instant::now() >= d);
            late.then(|| {
                io::Error::new(io::ErrorKind::TimedOut, "Client::timeout exceeded while getting a connection")
            })
        });
        match (got, ended) {
            (Some(r), None) => r,
            (got, ended) => {
                self.shared.pool.forget(key, want);
                if let Some(Ok(pc)) = got {
                    self.shared.pool.put(pc);
                }
                Err(ended
                    .unwrap_or_else(|| io::Error::other("Transport::wait: woken with nothing delivered")))
            }
        }
    }
}

/// Dials `key` in a new goroutine for `want` (its slot is reserved); a
/// connection nobody wants by then goes to the pool. The pool cuts the
/// dial if `want` gives up while no other request of the host waits.
pub(crate) fn dial_for(pool: Arc<Pool>, key: Arc<Key>, want: Arc<Want>) {
    let cut = pool.dial_started(&key, &want);
    gort_runtime::go!(move || {
        let (ctx, _cancel) = match pool.limits().dial_timeout {
            Some(t) => cut.with_timeout(t),
            None => cut.with_cancel(),
        };
        let dialed = ClientConn::dial(&key, pool.tls(), &ctx);
        pool.dial_done(&key, &want);
        match dialed {
            Ok(s) => {
                let pc = PersistConn::new(s, Arc::clone(&key), Arc::clone(&pool), false);
                if let Some(Ok(pc)) = want.deliver(Ok(pc)) {
                    pool.put(pc);
                }
            }
            Err(e) => {
                drop(want.deliver(Err(e)));
                if let Some(w) = pool.closed(&key) {
                    dial_for(pool, key, w);
                }
            }
        }
    });
}

/// Go's `isReplayable` method rule.
fn idempotent(head: &Parts) -> bool {
    [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE].contains(&head.method)
        || head.headers.contains_key("idempotency-key")
        || head.headers.contains_key("x-idempotency-key")
}

/// The pool key of a request: its scheme, host and port.
fn key_of(head: &Parts) -> io::Result<Arc<Key>> {
    let uri = &head.uri;
    let invalid = |m: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{m}: {uri}"));
    let scheme = uri.scheme().ok_or_else(|| invalid("request URL has no scheme"))?;
    let (scheme, port) = match scheme.as_str() {
        "http" => (Scheme::HTTP, 80),
        "https" => (Scheme::HTTPS, 443),
        _ => return Err(invalid("unsupported protocol scheme")),
    };
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| invalid("request URL has no host"))?;
    Ok(Arc::new(Key { scheme, host: host.into(), port: uri.port_u16().unwrap_or(port) }))
}
