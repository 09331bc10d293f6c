//! `TlsStream`: a rustls session over a gort `TcpStream`, as a [`Conn`].
//! The server side (`tls.rs`, a `ServerConnection`) and the client side
//! (`tls_client.rs`, a `ClientConnection`) are the same code, generic over
//! rustls's `ConnectionCommon`; each side adds only its handshake's start.
//!
//! # Locks
//! The rustls state (`session`) sits behind a lock that is never held
//! across a socket call, so a write never waits for a read blocked on the
//! socket, nor the other way round:
//! - a read takes `reading` (one reader at a time: records must reach
//!   rustls in the order they came), reads the socket into a stack buffer
//!   with no other lock held, then feeds rustls under `session`;
//! - a write takes `writing`, encrypts under `session` into a local
//!   buffer, lets `session` go, then writes the socket. `writing` keeps the
//!   records in order on the socket; whatever rustls owes the peer after a
//!   read (alerts, key updates) goes out the same way.
//!
//! The lock order is `writing` before `session`; `reading` is never held
//! together with `writing` for more than a flush. `reading` and `writing`
//! are held across socket waits, so they are gort's `Mutex`: a goroutine
//! waiting for one parks, leaving its thread to others (with a thread
//! lock, a reader waiting behind a writer stalled on a slow peer held its
//! M for as long). `session` is a thread lock, never held across a call
//! into gort.
//!
//! # Idle
//! An idle stream holds no buffer of its own: a fill borrows one from
//! `BufPool` (not the stack, whose touched pages would stay resident).
//! rustls keeps its session (~1.5 KiB) and a receive buffer that its
//! buffered API never shrinks below 4 KiB; README counts both (5.7 KiB
//! over a plain idle connection). Giving that buffer back while idle
//! would take rustls's unbuffered API, which moves the record loop here. A client checks an idle
//! stream before reuse with [`TlsStream::still_open`], which reads what
//! the server sent meanwhile without waiting: session tickets and key
//! updates are handshake traffic and keep it usable; a `close_notify`,
//! application data nobody asked for, an alert or EOF mean it is not.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::ops::DerefMut;
use std::sync::OnceLock;
use std::time::Instant;

use gort_net::TcpStream;
use gort_runtime::sync::{BufPool, Mutex as GoMutex};
use parking_lot::Mutex;
use rustls::{CipherSuite, CommonState, ConnectionCommon, ProtocolVersion, SideData};

use crate::stream::Conn;
use crate::TlsInfo;

/// How much of the socket one fill reads (a TLS record is at most ~16 KiB;
/// rustls reassembles records from any number of pieces).
const FILL: usize = 4096;

/// A TLS session over a gort TCP connection; see the module doc.
pub(crate) struct TlsStream<S> {
    tcp: TcpStream,
    session: Mutex<S>,
    reading: GoMutex<()>,
    writing: GoMutex<()>,
    /// Set once the handshake is done.
    info: OnceLock<TlsInfo>,
}

/// A rustls failure as an `io::Error` payload: `tls: ` and rustls's
/// reason; the client reads the rustls error back to name the host.
#[derive(Debug)]
pub(crate) struct TlsError(pub(crate) rustls::Error);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tls: {}", self.0)
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl<S, D> TlsStream<S>
where
    S: DerefMut<Target = ConnectionCommon<D>> + Send + 'static,
    D: SideData + 'static,
{
    /// `session` over `tcp`, before its handshake.
    pub(crate) fn new(tcp: TcpStream, session: S) -> TlsStream<S> {
        TlsStream {
            tcp,
            session: Mutex::new(session),
            reading: GoMutex::new(()),
            writing: GoMutex::new(()),
            info: OnceLock::new(),
        }
    }

    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Runs the handshake to its end, then records what it negotiated
    /// (`server_name`: the SNI, as the side knows it).
    ///
    /// # Errors
    /// [`TlsError`] (`InvalidData`) when the handshake fails,
    /// `UnexpectedEof` when the peer closes during it, socket errors.
    pub(crate) fn handshake(&self, server_name: impl FnOnce(&S) -> Option<String>) -> io::Result<()> {
        loop {
            self.flush()?;
            if !self.session.lock().is_handshaking() {
                break;
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "tls: peer closed during the handshake",
                ));
            }
        }
        let s = self.session.lock();
        let _ = self.info.set(TlsInfo::of(&s, server_name(&s)));
        Ok(())
    }

    /// Reads what the socket has into rustls and processes it; returns the
    /// bytes read (0: the peer closed, which rustls is told as well).
    fn fill(&self) -> io::Result<usize> {
        self.fill_with(|tcp, buf| io::Read::read(&mut &*tcp, buf))
    }

    /// [`fill`](Self::fill) with a socket read that does not wait:
    /// `WouldBlock` when nothing is queued.
    fn try_fill(&self) -> io::Result<usize> {
        self.fill_with(TcpStream::try_read)
    }

    fn fill_with(&self, read: impl FnOnce(&TcpStream, &mut [u8]) -> io::Result<usize>) -> io::Result<usize> {
        let mut buf = BufPool::get(FILL);
        let n = read(&self.tcp, &mut buf)?;
        self.absorb(&buf[..n])?;
        Ok(n)
    }

    /// Decrypted bytes into `buf`, filling from the socket with `fill`
    /// until there are some (or EOF, or `fill`'s error).
    fn read_with(&self, buf: &mut [u8], fill: fn(&Self) -> io::Result<usize>) -> io::Result<usize> {
        let _r = self.reading.lock();
        loop {
            match self.session.lock().reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return done,
            }
            fill(self)?;
            self.flush()?;
        }
    }

    /// Feeds `data` (all of it) to rustls and processes it.
    fn absorb(&self, mut data: &[u8]) -> io::Result<()> {
        let mut s = self.session.lock();
        loop {
            let taken = s.read_tls(&mut data)?;
            if let Err(e) = s.process_new_packets() {
                drop(s);
                // The alert rustls queued tells the peer why, if it listens.
                let _ = self.flush();
                return Err(io::Error::new(io::ErrorKind::InvalidData, TlsError(e)));
            }
            if taken == 0 || data.is_empty() {
                return Ok(());
            }
        }
    }

    /// Sends whatever rustls has queued for the peer, in order.
    pub(crate) fn flush(&self) -> io::Result<()> {
        let _w = self.writing.lock();
        self.send_queued()
    }

    /// Sends what rustls has queued; the caller holds `writing`.
    fn send_queued(&self) -> io::Result<()> {
        let mut out = Vec::new();
        {
            let mut s = self.session.lock();
            while s.wants_write() {
                s.write_tls(&mut out)?;
            }
        }
        Conn::write_all(&self.tcp, &out)
    }

    /// Plaintext already decrypted and waiting to be read.
    fn buffered(&self) -> bool {
        self.session.lock().process_new_packets().is_ok_and(|st| st.plaintext_bytes_to_read() > 0)
    }

    /// Whether an idle stream may carry another exchange, without waiting
    /// (the module doc's rule). Bytes the server sent while it was idle
    /// are read and processed here.
    pub(crate) fn still_open(&self) -> bool {
        let _r = self.reading.lock();
        let mut buf = BufPool::get(FILL);
        loop {
            match self.tcp.peek_now(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Ok(0) | Err(_) => return false,
                // The peeked bytes are queued, so this read returns them at once.
                Ok(n) => match io::Read::read(&mut &self.tcp, &mut buf[..n]) {
                    Ok(got) if got > 0 && self.absorb(&buf[..got]).is_ok() => {}
                    _ => return false,
                },
            }
        }
        let s = self.session.lock().process_new_packets();
        s.is_ok_and(|st| !st.peer_has_closed() && st.plaintext_bytes_to_read() == 0)
    }
}

impl TlsInfo {
    /// The negotiated parameters of a finished handshake.
    fn of(s: &CommonState, server_name: Option<String>) -> TlsInfo {
        TlsInfo {
            version: s.protocol_version().unwrap_or(ProtocolVersion::Unknown(0)),
            cipher_suite: s.negotiated_cipher_suite().map_or(CipherSuite::Unknown(0), |c| c.suite()),
            server_name,
            alpn: s.alpn_protocol().map(<[u8]>::to_vec),
        }
    }
}

impl<S, D> Conn for TlsStream<S>
where
    S: DerefMut<Target = ConnectionCommon<D>> + Send + 'static,
    D: SideData + 'static,
{
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(buf, Self::fill)
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(buf, Self::try_fill)
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let _w = self.writing.lock();
        let n = self.session.lock().writer().write(buf)?;
        self.send_queued()?;
        Ok(n)
    }

    fn wait_readable(&self) -> io::Result<()> {
        if self.buffered() {
            return Ok(());
        }
        self.tcp.wait_readable()
    }

    /// Decrypted data counts as queued. Otherwise, once records arrive,
    /// they are taken in (when no reader is at them: then any bytes
    /// count), so that a `close_notify` with no data before it reads as
    /// the peer's close, as the socket's EOF does, and handshake traffic
    /// (a key update, say) as nothing yet. No plaintext is consumed, and
    /// `reading` is only tried, never waited for.
    fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.buffered() {
                return Ok(1.min(buf.len()));
            }
            let n = self.tcp.peek(buf)?;
            let Some(_r) = self.reading.try_lock().filter(|_| n > 0) else { return Ok(n) };
            match self.try_fill() {
                Ok(0) => return Ok(0),
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
            // What rustls owes the peer now (a key update's answer) goes out
            // with the next write: `writing` may be held by a write parked on
            // the socket, which this must not wait for.
            let st = self.session.lock().process_new_packets();
            if st.is_ok_and(|st| st.peer_has_closed() && st.plaintext_bytes_to_read() == 0) {
                return Ok(0);
            }
        }
    }

    fn set_read_deadline(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.tcp.set_read_deadline(deadline);
        Ok(())
    }

    fn set_write_deadline(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.tcp.set_write_deadline(deadline);
        Ok(())
    }

    /// Sends `close_notify`, then the FIN.
    fn shutdown_write(&self) {
        self.session.lock().send_close_notify();
        let _ = self.flush();
        let _ = self.tcp.shutdown(std::net::Shutdown::Write);
    }

    /// Sends `close_notify` first, so the peer can tell the end from a
    /// truncation, when the handshake is done, no write is under way and
    /// the socket takes it at once (a deadline already passed makes the
    /// write a single try: `close` never waits, the server calls it on
    /// every connection in turn); then closes the socket.
    fn close(&self) {
        if let Some(_w) = self.writing.try_lock().filter(|_| self.info.get().is_some()) {
            self.session.lock().send_close_notify();
            self.tcp.set_write_deadline(Some(Instant::now()));
            let _ = self.send_queued();
        }
        self.tcp.close();
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        self.tcp.peer_addr().ok()
    }

    fn tls(&self) -> Option<&TlsInfo> {
        self.info.get()
    }
}
