//! One connection's loop (Go's `conn.serve`): wait for a request holding
//! no buffer, read and parse its head, run the handler (through
//! `recover.rs`, which turns its errors and panics into a 500), finish the
//! response and the body, decide whether the connection goes on. Written
//! over any [`Conn`], so the goroutine server, the thread-per-connection
//! example and TLS all run this same code.
//!
//! # Buffers
//! The read buffer and write buffer come from `BufPool` and go back to it
//! whenever the connection waits for a new request with nothing buffered,
//! so an idle keep-alive connection holds no buffer at all. Responses to
//! pipelined requests stay in the write buffer while another complete
//! request is already buffered, so they go out in one write. The loop owns
//! the read buffer; it lends it to the wire (`Loop::lend_rbuf`) only while
//! a request whose body or buffered bytes others may read is served.
//!
//! # The request slot
//! A connection keeps one `Request` and one response header map and fills
//! them in place for each request (`Request::slot`, `recycle`), so a
//! request moves no struct of a few hundred bytes through the loop's
//! steps and reuses its header maps' room while requests are buffered
//! (pipelined); a connection that waits with nothing buffered, or ends,
//! gives the maps back to `header_pool`, as it does its buffers.
//!
//! # Stack depth
//! Past the buffers, an idle connection costs the stack pages its goroutine
//! keeps. A connection idle for [`SHRINK_AFTER`] (or half of it, when its
//! wait kept an earlier wait's deadline) gives back the pages below
//! the depth it waits at (`Loop::wait_idle`), so that depth is kept small:
//! the steps of a request (`read_request` with its header slots, `serve`
//! with the response writer, `reject`) are out of line, and their
//! frames exist only while a request is in hand.
//!
//! # Rejections
//! A head that cannot be served gets its status, `Connection: close`, and
//! a lingering close: stop writing, read and discard for a moment, then
//! close, so the client reads the status rather than a reset.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort_runtime::sync::BufPool;
use http::header::{HeaderMap, HeaderName, EXPECT};
use http::{Method, StatusCode, Version};

use crate::body::Body;
use crate::buf::{ReadBuf, WriteBuf};
use crate::handler::Handler;
use crate::header_pool;
use crate::parse::{self, Reject};
use crate::recover;
use crate::request::Request;
use crate::response::ResponseWriter;
use crate::server::{Config, ConnState};
use crate::stream::Conn;
use crate::transfer;
use crate::wire::Wire;

/// What the handler may leave unread and the connection still be reused.
const MAX_DRAIN: u64 = 256 << 10;
/// How long a lingering close reads before it closes.
const LINGER: Duration = Duration::from_millis(500);
/// What one read of a lingering close takes in (a pool class).
const LINGER_READ: usize = 16 << 10;
/// How long a connection idles before it gives back its deep stack pages.
const SHRINK_AFTER: Duration = Duration::from_secs(1);

/// Serves HTTP/1.x on one connection until it closes (Go's `conn.serve`),
/// with the settings of `config`. This is the loop [`Server`] runs in a
/// goroutine per connection; call it directly to serve a stream of your
/// own, on a goroutine or on a plain thread.
///
/// [`Server`]: crate::Server
///
/// ```no_run
/// use std::io::Write;
/// let ln = std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
/// let hello = |w: &mut gort::http::ResponseWriter, _: &mut gort::http::Request| w.write_all(b"hi");
/// let config = gort::http::Config::default();
/// for c in ln.incoming() {
///     gort::http::serve_conn(c.unwrap(), &hello, &config); // one at a time, for brevity
/// }
/// ```
pub fn serve_conn(conn: impl Conn, handler: &dyn Handler, config: &Config) {
    let remote = conn.peer_addr();
    serve_accepted(conn, remote, handler, config);
}

/// [`serve_conn`] for a connection whose peer `accept` already named: no
/// `getpeername`, and the address stays known for a peer that reset the
/// connection before its goroutine ran.
pub(crate) fn serve_accepted(
    conn: impl Conn,
    remote: Option<SocketAddr>,
    handler: &dyn Handler,
    config: &Config,
) {
    let limit = config.max_header_bytes.saturating_add(4096);
    let wire = Arc::new(Wire::new(Box::new(conn), limit, config.shutdown_flag(), config.base_context()));
    let id = config.track(&wire);
    config.state(remote, ConnState::New);
    let req = Request::slot(remote, Arc::clone(&wire));
    let mut c = Loop {
        writer_wire: Some(Arc::clone(&wire)),
        wire,
        handler,
        config,
        req,
        resp_headers: HeaderMap::new(),
        wbuf: WriteBuf::new(),
        rbuf: ReadBuf::new(),
        rbuf_lent: false,
        known_deadline: None,
        names: Vec::new(),
        remote,
    };
    let end = c.run();
    c.release_maps();
    config.untrack(id);
    config.state(remote, end);
}

struct Loop<'a> {
    wire: Arc<Wire>,
    /// The response writer's handle on the wire, lent to each response
    /// and given back by `finish`: one reference for the connection's
    /// life rather than a count taken and dropped per response.
    writer_wire: Option<Arc<Wire>>,
    handler: &'a dyn Handler,
    config: &'a Config,
    /// The request being served, filled in place for each (`Request::slot`).
    req: Request,
    /// The response header map between responses (cleared), or none.
    resp_headers: HeaderMap,
    wbuf: WriteBuf,
    /// The read buffer, while the loop has it (`lend_rbuf`).
    rbuf: ReadBuf,
    /// `rbuf` is lent to the wire (this one holds no storage meanwhile).
    rbuf_lent: bool,
    /// The read deadline the loop last set on the connection, while
    /// nothing else can have changed it (`None`: not known). It lets an
    /// idle wait keep the stack-shrink deadline an earlier wait set
    /// (`wait_idle`) instead of moving it a request later each time, which
    /// would take the poll descriptor's lock every request.
    known_deadline: Option<Option<Instant>>,
    /// Scratch for header names between parse and build.
    names: Vec<(HeaderName, usize, usize)>,
    remote: Option<SocketAddr>,
}

/// How reading a request ended.
enum ReadErr {
    /// The client went away or went quiet: close without a word.
    Gone,
    /// Answer with this status and close.
    Reject(Reject),
}

impl Loop<'_> {
    /// The loop itself; returns the state the connection ended in.
    fn run(&mut self) -> ConnState {
        let mut first = true;
        loop {
            if !self.idle(std::mem::take(&mut first)) {
                break;
            }
            let close = match self.read_request() {
                Ok(close) => close,
                Err(ReadErr::Gone) => break,
                Err(ReadErr::Reject(r)) => {
                    self.reject(r);
                    return ConnState::Closed;
                }
            };
            self.config.state(self.remote, ConnState::Active);
            // The request's frames, the handler's among them, go on the
            // stack the P lends (`gort::warm_stack`), which the last
            // request on this P left in the cache; this goroutine's own
            // holds only the shallow frames it waits in.
            if !gort_runtime::warm_stack(|| self.serve(close)) {
                break;
            }
            if self.wire.hijacked() {
                return ConnState::Hijacked;
            }
        }
        if self.wire.hijacked() {
            return ConnState::Hijacked;
        }
        let _ = self.wbuf.flush_to(&*self.wire.conn);
        self.close();
        ConnState::Closed
    }

    /// Before each request. With a complete request already buffered, go
    /// straight on (the responses so far stay buffered, to go out in one
    /// write). Otherwise the waiting responses are written, and the
    /// connection is idle until the request's
    /// first bytes arrive (`read_request` clears the mark), and shutdown
    /// may close it; with nothing buffered at all it gives both buffers
    /// back and waits for readability holding none. A new connection
    /// (`first`) is not idle: shutdown leaves it a while for its first
    /// request (`Wire::new_and_old`), as Go does. False when it should
    /// close instead (EOF, idle timeout, shutdown).
    fn idle(&mut self, first: bool) -> bool {
        if first || head_buffered(self.rbuf.data()) {
            return true;
        }
        let released = self.rbuf.release();
        if self.wbuf.flush_to(&*self.wire.conn).is_err() {
            return false;
        }
        self.wbuf.release();
        self.config.state(self.remote, ConnState::Idle);
        if !self.config.enter_idle(&self.wire) {
            return false;
        }
        // Deadlines a second and more away: the coarse clock (within about
        // 10 ms) saves a clock read per request.
        let now = gort_runtime::time::coarse_now();
        let idle = self.config.idle_timeout.or(self.config.read_timeout).map(|d| now + d);
        if !released {
            return self.set_read_deadline(idle).is_ok();
        }
        self.release_maps();
        self.wait_idle(idle, now + SHRINK_AFTER)
    }

    /// Waits, holding no buffers, for the next request's first bytes or
    /// the `idle` deadline, and reads them (`shrink_at`: [`SHRINK_AFTER`]
    /// from when the wait began). The buffer is taken only for a
    /// read that finds data: readiness reported for bytes an earlier read
    /// already took is stale, and the wait goes on holding none. A wait
    /// that lasts [`SHRINK_AFTER`] first gives back the stack pages the
    /// last request touched below this depth (`gort::shrink_stack`), so a
    /// connection idle for long costs its shallow frames only; a busy
    /// connection never pays for it. A shrink deadline an earlier wait set
    /// and at least half of [`SHRINK_AFTER`] away is kept rather than moved
    /// (the shrink may then come up to half of it early). False when the
    /// connection should close (EOF, an error, the idle deadline).
    fn wait_idle(&mut self, idle: Option<Instant>, shrink_at: Instant) -> bool {
        let mut shrunk = idle.is_some_and(|d| d <= shrink_at);
        let half = shrink_at - SHRINK_AFTER / 2;
        let keep = !shrunk && matches!(self.known_deadline, Some(Some(t)) if t > half && t <= shrink_at);
        if !keep && self.set_read_deadline(if shrunk { idle } else { Some(shrink_at) }).is_err() {
            return false;
        }
        loop {
            let conn = &*self.wire.conn;
            // A stream whose `try_read` blocks (the default) may time out
            // in either step.
            let r = conn.wait_readable().and_then(|()| self.rbuf.try_fill(conn, self.wire.rbuf_limit));
            match r {
                Ok(n) => return n > 0,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut && !shrunk => {
                    gort_runtime::shrink_stack();
                    shrunk = true;
                    if self.set_read_deadline(idle).is_err() {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// Sets the connection's read deadline, and notes it as known.
    fn set_read_deadline(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        let r = self.wire.conn.set_read_deadline(deadline);
        self.known_deadline = r.is_ok().then_some(deadline);
        r
    }

    /// Gives the header maps back to their pools, as the buffers go back
    /// (a connection waiting with nothing buffered, or ending); the next
    /// request takes them again.
    fn release_maps(&mut self) {
        self.req.release_room();
        header_pool::MAPS.put(std::mem::take(&mut self.resp_headers));
    }

    /// Reads and parses the next request head into the slot; whether the
    /// connection must close after it.
    #[inline(never)]
    fn read_request(&mut self) -> Result<bool, ReadErr> {
        let cfg = self.config;
        // When the head's first read began; read only when a deadline needs
        // it: a head already buffered whole (the keep-alive case, read by
        // `wait_idle`) reads no more, so it needs no header deadline.
        let mut start = None;
        let seen = loop {
            if !self.rbuf.data().is_empty() && !cfg.leave_idle(&self.wire) {
                return Err(ReadErr::Gone);
            }
            let (rbuf, names, parts) = (&mut self.rbuf, &mut self.names, self.req.parts_mut());
            let limits = cfg.limits();
            let parsed = gort_runtime::system_stack(|| parse_buffered(rbuf, &limits, names, parts));
            if let Some(seen) = parsed.map_err(ReadErr::Reject)? {
                break seen;
            }
            if start.is_none() {
                let now = *start.insert(Instant::now());
                let header_deadline = cfg.read_header_timeout.or(cfg.read_timeout).map(|d| now + d);
                self.set_read_deadline(header_deadline).map_err(|_| ReadErr::Gone)?;
            }
            match self.rbuf.fill(&*self.wire.conn, self.wire.rbuf_limit) {
                Ok(n) if n > 0 => {}
                Err(e) if e.kind() == io::ErrorKind::OutOfMemory => {
                    return Err(ReadErr::Reject(Reject::new(
                        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                        "request head too large",
                    )));
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut && !self.rbuf.data().is_empty() => {
                    return Err(ReadErr::Reject(Reject::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "request head too slow",
                    )));
                }
                _ => return Err(ReadErr::Gone),
            }
        };
        let parts = self.req.parts_mut();
        let framing = transfer::request_framing(seen.framing.then_some(&parts.headers), parts.version)
            .map_err(ReadErr::Reject)?;
        let expects =
            seen.expect && expects_continue(&parts.headers, parts.version).map_err(ReadErr::Reject)?;
        self.wire.owe_continue(expects && framing != transfer::Framing::Empty);
        let close = !transfer::keep_alive(parts.version, seen.connection.then_some(&parts.headers));
        let body_deadline = cfg.read_timeout.map(|d| start.unwrap_or_else(Instant::now) + d);
        if framing == transfer::Framing::Empty {
            // Nothing will read until the next wait sets its own deadline,
            // unless the handler asks for the context (`defer_read_deadline`):
            // a bodyless request saves a deadline change, which takes the
            // poll descriptor's lock.
            self.req.defer_read_deadline(body_deadline);
        } else {
            self.set_read_deadline(body_deadline).map_err(|_| ReadErr::Gone)?;
        }
        self.req.set_body(Body::wire(&self.wire, framing));
        let bodyless = framing == transfer::Framing::Empty;
        self.wire.set_body_done(bodyless);
        if !bodyless || !self.rbuf.data().is_empty() {
            self.lend_rbuf();
        }
        Ok(close)
    }

    /// Lends the read buffer to the wire, where the request's body reads
    /// it and `hijack` takes what it holds (see `wire.rs`); `serve` takes
    /// it back. A request with no body and nothing buffered behind it
    /// needs neither, so it is served with no lock on the buffer at all.
    fn lend_rbuf(&mut self) {
        std::mem::swap(&mut self.rbuf, &mut *self.wire.rbuf.lock());
        self.rbuf_lent = true;
    }

    /// Runs the handler on the slot's request and finishes the exchange,
    /// recycling the slot; false when the connection must not serve
    /// another request.
    #[inline(never)]
    fn serve(&mut self, close: bool) -> bool {
        let wire = &self.wire;
        if wire.take_continue() {
            // Earlier pipelined responses go out before a 100 Continue can.
            wire.owe_continue(self.wbuf.flush_to(&*wire.conn).is_ok());
        }
        let req = &mut self.req;
        let head_request = req.method() == Method::HEAD;
        let headers = match self.resp_headers.capacity() {
            0 => header_pool::MAPS.get(0),
            _ => std::mem::take(&mut self.resp_headers),
        };
        let mut w = ResponseWriter::new(
            self.writer_wire.take().unwrap_or_else(|| Arc::clone(wire)),
            std::mem::replace(&mut self.wbuf, WriteBuf::new()),
            headers,
            head_request,
            req.version(),
            close,
        );
        let _ = wire.conn.set_write_deadline(self.config.write_timeout.map(|d| Instant::now() + d));
        let ok = recover::run_handler(self.handler, self.config, wire, self.remote, &mut w, req);
        if req.end_context() {
            self.known_deadline = None;
        }
        if wire.hijacked() {
            return false;
        }
        let fault = wire.take_body_fault();
        if let Some(status) = fault.filter(|_| !w.committed()) {
            let reason = status.canonical_reason().unwrap_or("");
            w.fail(status, &format!("{} {reason}: the request body was refused\n", status.as_str()));
        }
        // Go's order: what is left of an unread body is drained before the
        // head goes out, so that the head says `Connection: close` when the
        // connection cannot go on (more than MAX_DRAIN left, bad framing, a
        // body moved out of the request unread). Nothing is read for a
        // connection that closes anyway, nor a body whose 100 Continue was
        // never sent (`commit` closes then); the close lingers instead.
        // Pipelined responses before this one go out first, as a body may
        // be slow to come.
        let drain = ok && !w.committed() && !w.closes() && !wire.owes_continue();
        if drain && !req.body().is_empty() {
            let _ = w.send_earlier();
        }
        if drain && !req.body().finish(wire, MAX_DRAIN) {
            w.close_after();
        }
        let fin = w.finish();
        (self.writer_wire, self.wbuf, self.resp_headers) = (Some(fin.wire), fin.wbuf, fin.headers);
        let reusable = ok && !fin.close && fault.is_none() && {
            if !req.body().is_empty() {
                let _ = self.wbuf.flush_to(&*wire.conn);
            }
            req.body().finish(wire, MAX_DRAIN)
        };
        if std::mem::take(&mut self.rbuf_lent) {
            std::mem::swap(&mut self.rbuf, &mut *wire.rbuf.lock());
        }
        req.recycle(self.remote, wire);
        reusable
    }

    /// Answers a head that cannot be served, then closes lingering.
    #[inline(never)]
    fn reject(&mut self, r: Reject) {
        self.config.log(&format!(
            "http: rejected request from {}: {} {}",
            recover::peer(self.remote),
            r.status,
            r.reason
        ));
        let text =
            format!("{} {}: {}\n", r.status.as_str(), r.status.canonical_reason().unwrap_or(""), r.reason);
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            r.status.as_str(),
            r.status.canonical_reason().unwrap_or(""),
            text.len(),
        );
        let _ = self.wbuf.flush_to(&*self.wire.conn);
        let _ = self.wire.conn.set_write_deadline(Some(Instant::now() + LINGER));
        let sent = self
            .wire
            .conn
            .write_all(head.as_bytes())
            .and_then(|()| self.wire.conn.write_all(text.as_bytes()));
        if sent.is_ok() {
            self.linger();
        }
        self.wire.conn.close();
    }

    /// Closes after the last response; lingers when unread bytes may sit
    /// in the socket (buffered, or the rest of a body not read to its
    /// end), whose close would otherwise reset the connection.
    fn close(&mut self) {
        if !self.rbuf.data().is_empty() || !self.wire.body_done() {
            self.linger();
        }
        self.wire.conn.close();
    }

    fn linger(&self) {
        linger(&*self.wire.conn);
    }
}

/// Go's `closeWriteAndWait`: send a FIN, then read and discard until EOF
/// or [`LINGER`] passes, so the peer reads what was sent rather than a
/// reset. Only time bounds it, as it bounds Go's wait: a client still
/// sending a body (written whole before it reads, as `ab` does) finishes
/// its writes, reads the response and closes, however large the body.
/// The reads yield to sysmon as every socket call does.
pub(crate) fn linger(conn: &dyn Conn) {
    conn.shutdown_write();
    let _ = conn.set_read_deadline(Some(Instant::now() + LINGER));
    let mut sink = BufPool::get(LINGER_READ);
    while let Ok(1..) = conn.read(&mut sink) {}
}

/// Parses a complete head at the front of `rbuf` into `parts`; `None`
/// while it is incomplete. Run on the M's stack (`gort::system_stack`):
/// the parser's frames are the deepest of a request, and there they write
/// lines that are already in cache, where the goroutine's own stack has
/// gone cold since it last ran.
fn parse_buffered(
    rbuf: &mut ReadBuf,
    limits: &parse::Limits,
    names: &mut Vec<(HeaderName, usize, usize)>,
    parts: &mut http::request::Parts,
) -> Result<Option<parse::Seen>, Reject> {
    let Some(raw) = parse::parse_head(rbuf.data(), limits, names)? else { return Ok(None) };
    let (whole, base) = rbuf.split_head(raw.len);
    raw.build(whole, base, names, parts).map(Some)
}

/// Whether `data` holds a complete request head.
fn head_buffered(data: &[u8]) -> bool {
    memchr::memmem::find(parse::skip_leading_crlf(data), b"\r\n\r\n").is_some()
}

/// Go's reading of `Expect`: a value naming `100-continue` is honoured on
/// HTTP/1.1 (and ignored on 1.0), an empty one is ignored, and any other
/// expectation is refused with 417 (RFC 9110 §10.1.1).
fn expects_continue(headers: &http::HeaderMap, version: Version) -> Result<bool, Reject> {
    let Some(v) = headers.get(EXPECT) else { return Ok(false) };
    if transfer::list_has(v, "100-continue") {
        return Ok(version == Version::HTTP_11);
    }
    if v.is_empty() {
        return Ok(false);
    }
    Err(Reject::new(StatusCode::EXPECTATION_FAILED, "unsupported expectation"))
}
