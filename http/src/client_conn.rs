//! `ClientConn`: what the Transport dials and pools, a plain TCP stream
//! for `http://` or a TLS session over one for `https://`, and the dial
//! itself (TCP connect, then the TLS handshake, both under the dial's
//! context).
//!
//! An enum rather than a `Box<dyn Conn>`: the pool needs one operation the
//! `Conn` trait has no business offering, the non-blocking liveness check
//! ([`ClientConn::still_open`]), and the two kinds are all there is.
//! Deadlines and `close` act on the TCP socket in both, so they wake a
//! blocked handshake, read or write alike.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use gort_net::TcpStream;
use gort_runtime::context::Context;
use http::uri::Scheme;
use rustls::{ClientConfig, ClientConnection};

use crate::idle_pool::Key;
use crate::stream::Conn;
use crate::tls_client;
use crate::tls_stream::TlsStream;
use crate::TlsInfo;

/// One client connection's stream; see the module doc.
pub(crate) enum ClientConn {
    Plain(TcpStream),
    /// Boxed: a rustls session is over 1 KiB, a socket 40 bytes.
    Tls(Box<TlsStream<ClientConnection>>),
}

impl ClientConn {
    /// Dials `key` under `ctx`: connects, then for `https` runs the TLS
    /// handshake with `tls`, cut by the context's deadline or its end.
    ///
    /// # Errors
    /// `dial tcp …` errors naming the address; `TimedOut` past the
    /// deadline; the context's error once it ended; `tls: <host>: …`
    /// verification and handshake errors (`tls_client.rs`).
    pub(crate) fn dial(key: &Key, tls: &Arc<ClientConfig>, ctx: &Context) -> io::Result<Arc<ClientConn>> {
        let addr = key.addr();
        let tcp = TcpStream::connect_context(addr.as_str(), ctx).map_err(|e| match e.kind() {
            io::ErrorKind::TimedOut => {
                io::Error::new(io::ErrorKind::TimedOut, format!("dial tcp {addr}: i/o timeout"))
            }
            _ => io::Error::new(e.kind(), format!("dial tcp {addr}: {e}")),
        })?;
        tcp.set_nodelay(true)?;
        if key.scheme != Scheme::HTTPS {
            return Ok(Arc::new(ClientConn::Plain(tcp)));
        }
        let conn =
            Arc::new(ClientConn::Tls(Box::new(TlsStream::new(tcp, tls_client::session(tls, &key.host)?))));
        let ClientConn::Tls(s) = &*conn else { unreachable!("ClientConn::dial: made as Tls just above") };
        let closer = Arc::clone(&conn);
        let hook = ctx.after_func(move || closer.close());
        let shook = tls_client::handshake(s, &key.host);
        match (shook, hook.stop()) {
            (Ok(()), true) => Ok(conn),
            (Err(e), true) => Err(e),
            // The context ended and its hook closed the socket.
            (_, false) => Err(tls_client::ended(ctx, &addr)),
        }
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            ClientConn::Plain(s) => s,
            ClientConn::Tls(s) => s.tcp(),
        }
    }

    fn conn(&self) -> &dyn Conn {
        match self {
            ClientConn::Plain(s) => s,
            ClientConn::Tls(s) => &**s,
        }
    }

    /// Whether an idle connection is still open, without waiting: for TCP,
    /// nothing to read and no EOF; for TLS, `TlsStream::still_open`'s rule.
    pub(crate) fn still_open(&self) -> bool {
        match self {
            ClientConn::Plain(s) => {
                matches!(s.peek_now(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
            ClientConn::Tls(s) => s.still_open(),
        }
    }

    pub(crate) fn set_read_deadline(&self, deadline: Option<Instant>) {
        self.tcp().set_read_deadline(deadline);
    }

    pub(crate) fn set_write_deadline(&self, deadline: Option<Instant>) {
        self.tcp().set_write_deadline(deadline);
    }

    pub(crate) fn close(&self) {
        self.tcp().close();
    }
}

impl Conn for ClientConn {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.conn().read(buf)
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.conn().write(buf)
    }

    fn wait_readable(&self) -> io::Result<()> {
        self.conn().wait_readable()
    }

    fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.conn().peek(buf)
    }

    fn set_read_deadline(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.conn().set_read_deadline(deadline)
    }

    fn set_write_deadline(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.conn().set_write_deadline(deadline)
    }

    fn shutdown_write(&self) {
        self.conn().shutdown_write();
    }

    fn close(&self) {
        self.conn().close();
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        self.conn().peer_addr()
    }

    fn tls(&self) -> Option<&TlsInfo> {
        self.conn().tls()
    }
}
