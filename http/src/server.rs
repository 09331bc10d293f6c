//! `Server`: the accept loop, one goroutine per connection running
//! `serve_conn`, the settings ([`Config`]), and shutdown.
//!
//! # Shutdown without a lost connection
//! `shutdown` sets `shutting_down`, closes the listeners, then closes
//! every connection marked idle and waits for the rest to finish their
//! request (their responses carry `Connection: close`). A connection marks
//! itself idle and *then* checks `shutting_down`; shutdown sets the flag
//! and *then* looks at the idle marks. Both sides use SeqCst, so either the
//! connection sees the flag (and closes itself) or shutdown sees the mark
//! (and closes it): none can slip into an idle wait unseen.
//!
//! # TLS
//! `serve_tls` runs the same loop; each connection's goroutine runs the
//! handshake first (cut by `read_header_timeout`), then `serve_conn` over
//! the session. The config is read per connection, so `set_tls_config`
//! (a certificate reload) applies to the next handshake.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort_net::{TcpListener, ToSocketAddrs};
use gort_runtime::context::{Cancel, Context};
use parking_lot::Mutex;
use rustls::ServerConfig;

use crate::conn::serve_accepted;
use crate::handler::Handler;
use crate::parse::{Limits, HEADER_SLOTS};
use crate::tls::{self, TlsConn};
use crate::wire::Wire;

/// A connection's state, reported to [`Server::conn_state`] (Go's
/// `http.ConnState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Just accepted; no request read yet.
    New,
    /// A request is being read or served.
    Active,
    /// Between requests, waiting for the next one.
    Idle,
    /// A handler took the connection over; the server is done with it.
    Hijacked,
    /// Closed.
    Closed,
}

type StateHook = Arc<dyn Fn(Option<SocketAddr>, ConnState) + Send + Sync>;
type LogHook = Arc<dyn Fn(&str) + Send + Sync>;

/// The settings one connection is served with ([`serve_conn`](crate::serve_conn)); a
/// [`Server`] builds it from its own.
#[derive(Clone)]
pub struct Config {
    /// How long reading a request head may take (from its first byte).
    pub read_header_timeout: Option<Duration>,
    /// How long reading a whole request (head and body) may take.
    pub read_timeout: Option<Duration>,
    /// How long writing a response may take, from the end of its head.
    pub write_timeout: Option<Duration>,
    /// How long a keep-alive connection may wait for its next request
    /// (`read_timeout` when unset).
    pub idle_timeout: Option<Duration>,
    /// The most bytes a request head may have (431 past it).
    pub max_header_bytes: usize,
    /// The most header lines a request may have (431 past it; at most 256).
    pub max_header_lines: usize,
    /// The longest request line (414 past it).
    pub max_request_line: usize,
    conn_state: Option<StateHook>,
    error_log: LogHook,
    /// The server this connection belongs to, for shutdown.
    tracker: Option<Arc<Tracker>>,
}

impl Default for Config {
    /// Safe defaults where Go's zero values are not: a 10 s header timeout
    /// and a 120 s idle timeout cut slow and idle clients.
    fn default() -> Config {
        Config {
            read_header_timeout: Some(Duration::from_secs(10)),
            read_timeout: None,
            write_timeout: None,
            idle_timeout: Some(Duration::from_secs(120)),
            max_header_bytes: 1 << 20,
            max_header_lines: 100,
            max_request_line: 64 << 10,
            conn_state: None,
            error_log: Arc::new(|msg| eprintln!("{msg}")),
            tracker: None,
        }
    }
}

impl Config {
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_head_bytes: self.max_header_bytes,
            max_line_bytes: self.max_request_line,
            max_headers: self.max_header_lines.min(HEADER_SLOTS),
        }
    }

    pub(crate) fn state(&self, remote: Option<SocketAddr>, s: ConnState) {
        if let Some(hook) = &self.conn_state {
            hook(remote, s);
        }
    }

    pub(crate) fn log(&self, msg: &str) {
        (self.error_log)(msg);
    }

    pub(crate) fn shutting_down(&self) -> bool {
        self.tracker.as_ref().is_some_and(|t| t.shutting_down.load(Ordering::SeqCst))
    }

    /// The context request contexts derive from.
    pub(crate) fn base_context(&self) -> Context {
        self.tracker.as_ref().map_or_else(Context::background, |t| t.base.0.clone())
    }

    /// The server's shutdown flag, for the connection's response writers.
    pub(crate) fn shutdown_flag(&self) -> Option<Arc<AtomicBool>> {
        self.tracker.as_ref().map(|t| Arc::clone(&t.shutting_down))
    }

    pub(crate) fn track(&self, wire: &Arc<Wire>) -> u64 {
        self.tracker.as_ref().map_or(0, |t| t.add(wire))
    }

    pub(crate) fn untrack(&self, id: u64) {
        if let Some(t) = &self.tracker {
            t.conns.lock().remove(&id);
        }
    }

    /// Marks the connection idle; false when the server is shutting down.
    pub(crate) fn enter_idle(&self, wire: &Wire) -> bool {
        wire.set_idle();
        !self.shutting_down()
    }

    /// Clears the idle mark (a request's first bytes arrived). False when
    /// the server shut down while the connection was idle: shutdown may be
    /// closing it, so the request is not served.
    pub(crate) fn leave_idle(&self, wire: &Wire) -> bool {
        wire.begin();
        !wire.take_idle() || !self.shutting_down()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("read_header_timeout", &self.read_header_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_header_bytes", &self.max_header_bytes)
            .finish_non_exhaustive()
    }
}

/// The live connections and listeners of one server.
struct Tracker {
    shutting_down: Arc<AtomicBool>,
    /// The server's context and what ends it (shutdown, close).
    base: (Context, Cancel),
    next: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Wire>>>,
    listeners: Mutex<Vec<Arc<TcpListener>>>,
    /// What `serve_tls` handshakes with; replaced by `set_tls_config`.
    tls: Mutex<Option<Arc<ServerConfig>>>,
}

impl Default for Tracker {
    fn default() -> Tracker {
        Tracker {
            shutting_down: Arc::default(),
            base: Context::background().with_cancel(),
            next: AtomicU64::new(0),
            conns: Mutex::default(),
            listeners: Mutex::default(),
            tls: Mutex::default(),
        }
    }
}

impl Tracker {
    fn add(&self, wire: &Arc<Wire>) -> u64 {
        // Relaxed: only uniqueness matters.
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.conns.lock().insert(id, Arc::clone(wire));
        id
    }

    /// Closes the idle connections, and the new ones that have waited
    /// too long for a first request (`Wire::new_and_old`); returns how
    /// many are left in all.
    fn close_idle(&self) -> usize {
        let now = Instant::now();
        self.close_where(|w| w.idle() || w.new_and_old(now))
    }

    /// Closes the connections `pick` chooses; returns how many there are
    /// in all. They are closed after the lock is let go: closing a TLS
    /// connection writes its `close_notify`, a socket call at which a
    /// goroutine past its time slice yields, and one switched out holding
    /// this (thread) lock would block every connection's goroutine that
    /// ends or starts meanwhile, and their Ms with them.
    fn close_where(&self, pick: impl Fn(&Wire) -> bool) -> usize {
        let (picked, all): (Vec<Arc<Wire>>, usize) = {
            let conns = self.conns.lock();
            (conns.values().filter(|w| pick(w)).cloned().collect(), conns.len())
        };
        picked.iter().for_each(|w| w.conn.close());
        all
    }
}

/// An HTTP/1.1 server: one goroutine accepts, one goroutine per
/// connection serves it (Go's `http.Server`). Clones share one server, so
/// one clone can `shutdown` what another serves.
///
/// ```no_run
/// use std::io::Write;
/// use gort::http::{Request, ResponseWriter, ServeMux, Server};
/// let mut mux = ServeMux::new();
/// mux.handle_func("GET /hello/{name}", |w: &mut ResponseWriter, r: &mut Request| {
///     write!(w, "Hello, {}!", r.path_value("name").unwrap_or("world"))
/// });
/// Server::new(mux).listen_and_serve("127.0.0.1:8080").unwrap();
/// ```
#[derive(Clone)]
pub struct Server {
    handler: Arc<dyn Handler>,
    config: Arc<Config>,
    tracker: Arc<Tracker>,
}

impl Server {
    /// A server for `handler` with safe defaults ([`Config::default`]).
    pub fn new(handler: impl Handler) -> Server {
        let tracker = Arc::new(Tracker::default());
        let config = Config { tracker: Some(Arc::clone(&tracker)), ..Config::default() };
        Server { handler: Arc::new(handler), config: Arc::new(config), tracker }
    }

    fn with(mut self, f: impl FnOnce(&mut Config)) -> Server {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// Sets [`Config::read_header_timeout`] (default 10 s; `None`: none).
    pub fn read_header_timeout(self, t: impl Into<Option<Duration>>) -> Server {
        let t = t.into();
        self.with(|c| c.read_header_timeout = t)
    }

    /// Sets [`Config::read_timeout`] (default none).
    pub fn read_timeout(self, t: impl Into<Option<Duration>>) -> Server {
        let t = t.into();
        self.with(|c| c.read_timeout = t)
    }

    /// Sets [`Config::write_timeout`] (default none).
    pub fn write_timeout(self, t: impl Into<Option<Duration>>) -> Server {
        let t = t.into();
        self.with(|c| c.write_timeout = t)
    }

    /// Sets [`Config::idle_timeout`] (default 120 s).
    pub fn idle_timeout(self, t: impl Into<Option<Duration>>) -> Server {
        let t = t.into();
        self.with(|c| c.idle_timeout = t)
    }

    /// Sets [`Config::max_header_bytes`] (default 1 MiB).
    pub fn max_header_bytes(self, n: usize) -> Server {
        self.with(|c| c.max_header_bytes = n)
    }

    /// Calls `f` on every connection state change (Go's `ConnState`).
    pub fn conn_state(self, f: impl Fn(Option<SocketAddr>, ConnState) + Send + Sync + 'static) -> Server {
        self.with(|c| c.conn_state = Some(Arc::new(f)))
    }

    /// Where errors go (handler panics and errors, accept failures,
    /// rejected requests); stderr by default (Go's `ErrorLog`). A handler
    /// error that follows a failed write to the client is not logged. Out
    /// of descriptors, `accept` waits and retries inside `gort::net`, which
    /// says so on stderr itself.
    pub fn error_log(self, f: impl Fn(&str) + Send + Sync + 'static) -> Server {
        self.with(|c| c.error_log = Arc::new(f))
    }

    /// The settings connections are served with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Listens on `addr` and serves until shut down (Go's
    /// `ListenAndServe`). Blocks the caller.
    ///
    /// # Errors
    /// Binding errors; after `shutdown` or `close`, an error whose text is
    /// Go's `http: Server closed`.
    pub fn listen_and_serve(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.serve(TcpListener::bind(addr)?)
    }

    /// Serves connections accepted on `ln` until shut down (Go's `Serve`).
    ///
    /// # Errors
    /// As [`listen_and_serve`](Self::listen_and_serve).
    pub fn serve(&self, ln: TcpListener) -> io::Result<()> {
        self.accept_loop(ln, false)
    }

    /// Listens on `addr` and serves HTTPS with the PEM certificate chain
    /// and private key in `cert` and `key` (Go's `ListenAndServeTLS`).
    ///
    /// # Errors
    /// `InvalidInput` naming a file that cannot be read or used; otherwise
    /// as [`listen_and_serve`](Self::listen_and_serve).
    pub fn listen_and_serve_tls(
        &self,
        addr: impl ToSocketAddrs,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> io::Result<()> {
        let config = tls::server_config_from_pem(cert, key)?;
        self.serve_tls(TcpListener::bind(addr)?, config)
    }

    /// Serves HTTPS on `ln` with `config` (Go's `ServeTLS`). A config
    /// that advertises no ALPN protocol gets `http/1.1`. A connection's
    /// handshake must finish within `read_header_timeout`; one that fails
    /// (plain HTTP sent to this port, a stalled client) is logged and closed.
    ///
    /// # Errors
    /// As [`serve`](Self::serve).
    pub fn serve_tls(&self, ln: TcpListener, config: Arc<ServerConfig>) -> io::Result<()> {
        self.set_tls_config(config);
        self.accept_loop(ln, true)
    }

    /// Replaces the TLS config: connections accepted from now on handshake
    /// with it (a certificate reload without a restart); established ones
    /// keep theirs.
    pub fn set_tls_config(&self, config: Arc<ServerConfig>) {
        let config = match config.alpn_protocols.is_empty() {
            true => Arc::new(tls::with_alpn((*config).clone())),
            false => config,
        };
        *self.tracker.tls.lock() = Some(config);
    }

    fn accept_loop(&self, ln: TcpListener, tls: bool) -> io::Result<()> {
        let ln = Arc::new(ln);
        self.tracker.listeners.lock().push(Arc::clone(&ln));
        if self.tracker.shutting_down.load(Ordering::SeqCst) {
            return Err(closed());
        }
        loop {
            match ln.accept() {
                Ok((c, addr)) => self.spawn_conn(c, addr, tls),
                Err(_) if self.tracker.shutting_down.load(Ordering::SeqCst) => return Err(closed()),
                Err(e) => {
                    self.config.log(&format!("http: accept error: {e}; retrying in 5ms"));
                    gort_runtime::time::sleep(Duration::from_millis(5));
                }
            }
        }
    }

    /// Starts the goroutine serving `c`, named as Go's traceback would show
    /// it (for panics and dumps); with `tls`, it shakes hands first, under
    /// `read_header_timeout`.
    fn spawn_conn(&self, c: gort_net::TcpStream, addr: SocketAddr, tls: bool) {
        let tls = match tls {
            true => match self.tracker.tls.lock().clone() {
                Some(t) => Some(t),
                None => return,
            },
            false => None,
        };
        let (handler, config) = (Arc::clone(&self.handler), Arc::clone(&self.config));
        let _ = c.set_nodelay(true);
        let run = move || match tls {
            None => serve_accepted(c, Some(addr), &*handler, &config),
            Some(tls) => serve_tls_conn(c, addr, tls, &*handler, &config),
        };
        let b = gort_runtime::Builder::new().name(format!("http conn {addr}"));
        if let Err(e) = gort_runtime::go!(b, run) {
            self.config.log(&format!("http: cannot start a goroutine for {addr}: {e}"));
        }
    }

    /// Go's `Shutdown`: stops accepting, closes idle connections, lets
    /// active ones finish their request (their responses carry
    /// `Connection: close`), and returns once none is left. A connection
    /// on which no request has begun yet counts as idle once it is 5 s
    /// old, as in Go; until then its first request is served.
    ///
    /// # Errors
    /// `TimedOut` when connections are still active after `timeout`.
    pub fn shutdown(&self, timeout: Duration) -> io::Result<()> {
        let until = Instant::now() + timeout;
        self.stop_listening();
        while self.tracker.close_idle() > 0 {
            if Instant::now() >= until {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "http: shutdown timed out with active connections",
                ));
            }
            gort_runtime::time::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Go's `Close`: stops accepting and closes every connection now.
    pub fn close(&self) {
        self.stop_listening();
        self.tracker.close_where(|_| true);
    }

    fn stop_listening(&self) {
        self.tracker.shutting_down.store(true, Ordering::SeqCst);
        self.tracker.listeners.lock().drain(..).for_each(|l| l.close());
        self.tracker.base.1.cancel();
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("config", &self.config).finish_non_exhaustive()
    }
}

fn closed() -> io::Error {
    io::Error::other("http: Server closed")
}

/// The handshake, then the connection's loop over TLS. Kept out of line so
/// that a plain connection's goroutine does not carry the TLS frames: its
/// stack depth while idle is what an idle connection costs
/// (`conn.rs`, `Loop::wait_idle`).
#[inline(never)]
fn serve_tls_conn(
    c: gort_net::TcpStream,
    addr: SocketAddr,
    tls: Arc<ServerConfig>,
    handler: &dyn Handler,
    config: &Config,
) {
    let deadline = config.read_header_timeout.map(|t| Instant::now() + t);
    match TlsConn::accept(c, tls, deadline) {
        Ok(c) => serve_accepted(c, Some(addr), handler, config),
        Err(e) => config.log(&format!("http: TLS handshake error from {addr}: {e}")),
    }
}
