//! Servers for the client tests: a gort `test::Server` that counts the
//! connections it accepted, and a std-socket server that runs a script per
//! connection, to misbehave on purpose.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use gort::http::{ConnState, Handler, Request, ResponseWriter};

/// A gort server and the number of connections it has accepted.
pub struct Counted {
    pub srv: gort::http::test::Server,
    conns: Arc<AtomicUsize>,
}

impl Counted {
    pub fn new(h: impl Handler) -> Counted {
        Counted::with(gort::http::Server::new(h))
    }

    pub fn with(server: gort::http::Server) -> Counted {
        let conns = Arc::new(AtomicUsize::new(0));
        let c = conns.clone();
        let server = server.conn_state(move |_, st| {
            if st == ConnState::New {
                c.fetch_add(1, Ordering::SeqCst);
            }
        });
        Counted { srv: gort::http::test::Server::with(server), conns }
    }

    pub fn url(&self, path: &str) -> String {
        self.srv.url(path)
    }

    pub fn conns(&self) -> usize {
        self.conns.load(Ordering::SeqCst)
    }
}

/// A handler that writes `body`.
pub fn text(body: &'static str) -> impl Handler {
    move |w: &mut ResponseWriter, _: &mut Request| w.write_all(body.as_bytes())
}

/// A std-socket server: each accepted connection runs `script(stream, n)`
/// on its own thread, `n` counting connections from 0.
pub struct Raw {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Raw {
    pub fn new(script: impl Fn(TcpStream, usize) + Send + Sync + 'static) -> Raw {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let (accepted, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (a, s, script) = (accepted.clone(), stop.clone(), Arc::new(script));
        let thread = std::thread::spawn(move || {
            for c in ln.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(c) = c else { continue };
                let n = a.fetch_add(1, Ordering::SeqCst);
                let script = script.clone();
                std::thread::spawn(move || script(c, n));
            }
        });
        Raw { addr, accepted, stop, thread: Some(thread) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        let _ = self.thread.take().map(std::thread::JoinHandle::join);
    }
}

/// Reads one request head (and a `Content-Length` body) off `s`; `None`
/// at EOF. Returns the head's text and the body.
pub fn read_request(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => buf.push(b[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8(buf).unwrap();
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    s.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// Writes `bytes`, ignoring a peer that went away.
pub fn send(s: &mut TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
}

/// Reads all of `body` into a string.
pub fn read_all(mut body: impl Read) -> io::Result<String> {
    let mut s = String::new();
    body.read_to_string(&mut s)?;
    Ok(s)
}

/// Runs `curl -sS ARGS` and returns its stdout; a missing curl fails the
/// test, naming it, and so does a curl that failed.
pub fn curl(args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("curl")
        .arg("-sS")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `curl` (install curl for the http tests): {e}"));
    assert!(out.status.success(), "curl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}
