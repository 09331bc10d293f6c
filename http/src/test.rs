//! Go's `httptest`: a [`Server`] on a loopback port for tests that speak
//! real sockets, and [`serve_raw`], which runs a handler over an
//! in-memory connection so a test can send exact bytes and read the exact
//! bytes that come back, with no socket at all.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::handler::Handler;
use crate::server::Config;
use crate::stream::Conn;

/// A server on `127.0.0.1` and a free port, serving in a goroutine until
/// dropped (then closed, as Go's `httptest.Server.Close`).
///
/// ```
/// use std::io::{Read, Write};
/// let hello = |w: &mut gort::http::ResponseWriter, _: &mut gort::http::Request| w.write_all(b"hi");
/// let srv = gort::http::test::Server::new(hello);
/// let mut c = std::net::TcpStream::connect(srv.addr()).unwrap();
/// c.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
/// let mut resp = String::new();
/// c.read_to_string(&mut resp).unwrap();
/// assert!(resp.starts_with("HTTP/1.0 200 OK\r\n") && resp.ends_with("\r\n\r\nhi"));
/// ```
pub struct Server {
    server: crate::Server,
    addr: SocketAddr,
    accept: Option<gort_runtime::JoinHandle<io::Result<()>>>,
}

impl Server {
    /// Serves `handler` with the default settings.
    pub fn new(handler: impl Handler) -> Server {
        Server::with(crate::Server::new(handler))
    }

    /// Serves with a [`Server`](crate::Server) configured by the caller.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn with(server: crate::Server) -> Server {
        let ln = gort_net::TcpListener::bind("127.0.0.1:0").expect("test::Server: bind 127.0.0.1:0");
        let addr = ln.local_addr().expect("test::Server: local_addr");
        let s = server.clone();
        let accept = gort_runtime::go!(move || s.serve(ln));
        Server { server, addr, accept: Some(accept) }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The server, to shut down or inspect.
    pub fn server(&self) -> &crate::Server {
        &self.server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.close();
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Runs `handler` over an in-memory connection that reads `request` and
/// then EOF, and returns every byte the server wrote, with the default
/// settings ([`serve_raw_with`] takes a [`Config`]).
///
/// ```
/// use std::io::Write;
/// let hello = |w: &mut gort::http::ResponseWriter, _: &mut gort::http::Request| w.write_all(b"hi");
/// let out = gort::http::test::serve_raw(&hello, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
/// let out = String::from_utf8(out).unwrap();
/// assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(out.contains("\r\nContent-Length: 2\r\n") && out.ends_with("\r\n\r\nhi"));
/// ```
pub fn serve_raw(handler: &dyn Handler, request: &[u8]) -> Vec<u8> {
    serve_raw_with(handler, request, &Config::default())
}

/// [`serve_raw`] with the given settings.
pub fn serve_raw_with(handler: &dyn Handler, request: &[u8], config: &Config) -> Vec<u8> {
    let (conn, out) = MemConn::new([request]);
    crate::serve_conn(conn, handler, config);
    let bytes = std::mem::take(&mut *out.lock());
    bytes
}

/// An in-memory connection: reads come from fixed input chunks (a read
/// never spans two), then EOF; writes are collected.
pub(crate) struct MemConn {
    input: Mutex<VecDeque<Vec<u8>>>,
    output: Arc<Mutex<Vec<u8>>>,
}

impl MemConn {
    /// A connection whose reads return `chunks`; and where its writes go.
    pub(crate) fn new<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> (MemConn, Arc<Mutex<Vec<u8>>>) {
        let output = Arc::new(Mutex::new(Vec::new()));
        let input = Mutex::new(chunks.into_iter().map(<[u8]>::to_vec).collect());
        (MemConn { input, output: Arc::clone(&output) }, output)
    }
}

impl Conn for MemConn {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut input = self.input.lock();
        let Some(chunk) = input.front_mut() else { return Ok(0) };
        let n = chunk.len().min(buf.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        chunk.drain(..n);
        if chunk.is_empty() {
            input.pop_front();
        }
        Ok(n)
    }
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.output.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn set_read_deadline(&self, _: Option<Instant>) -> io::Result<()> {
        Ok(())
    }
    fn set_write_deadline(&self, _: Option<Instant>) -> io::Result<()> {
        Ok(())
    }
    fn shutdown_write(&self) {}
    fn close(&self) {}
}
