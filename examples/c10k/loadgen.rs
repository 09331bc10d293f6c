//! The load generator of the c10k example (`--client`): N connections, each
//! sending a request and waiting for its whole response, over and over, with
//! one request in flight per connection. The request is 64 bytes to be
//! echoed, or with `--http` a keep-alive `GET /hello/x` whose response is
//! read by its Content-Length.
//!
//! It is an event loop, as `wrk` is, not a goroutine or thread per
//! connection: one thread per CPU it may use, each owning a share of the
//! connections and a level-triggered epoll instance. A ready connection
//! costs one `recv` (and, once its echo is whole, one `send`); there are no
//! stacks to switch and nothing to schedule, so the generator spends as
//! little of the machine as it can, and what it spends is the same whichever
//! server model it drives.
//!
//! A connection whose echo completes after the deadline is done: it is
//! closed with a reset (linger 0), so the server's side ends at once.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Request and echo size.
const MSG: usize = 64;
/// The `--http` request.
const GET: &[u8] = b"GET /hello/x HTTP/1.1\r\nHost: c10k\r\n\r\n";
/// Latency histogram: bucket i holds latencies in [1.1^i, 1.1^(i+1)) µs.
pub const BUCKETS: usize = 200;
/// How many ready connections one `epoll_wait` returns at most.
const BATCH: usize = 256;

/// What the connections speak.
#[derive(Clone, Copy)]
pub enum Proto {
    /// 64 bytes out, the same 64 back.
    Echo,
    /// HTTP/1.1 keep-alive GETs.
    Http,
}

impl Proto {
    fn request(self) -> &'static [u8] {
        match self {
            Proto::Echo => &[7u8; MSG],
            Proto::Http => GET,
        }
    }

    /// Removes one whole response from the front of `got`, if there is one.
    fn take_response(self, got: &mut Vec<u8>) -> bool {
        let len = match self {
            Proto::Echo => Some(MSG).filter(|&n| got.len() >= n),
            Proto::Http => http_response_len(got),
        };
        len.inspect(|&n| drop(got.drain(..n))).is_some()
    }
}

/// The length of the HTTP response at the front of `got` (head and a
/// Content-Length body), once all of it has arrived.
fn http_response_len(got: &[u8]) -> Option<usize> {
    let head = got.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let body = std::str::from_utf8(&got[..head])
        .expect("loadgen: a response head that is not UTF-8")
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .map(|(_, v)| v.trim().parse::<usize>().expect("loadgen: a bad Content-Length"))
        .expect("loadgen: a response without Content-Length");
    Some(head + body).filter(|&n| got.len() >= n)
}

/// One connection: its socket, the bytes of the current response received
/// so far, and when its request went out.
struct Conn {
    sock: TcpStream,
    got: Vec<u8>,
    sent_at: Instant,
}

impl Conn {
    fn send(&mut self, proto: Proto) {
        self.sent_at = Instant::now();
        // One small request at a time never fills a socket's send buffer.
        let req = proto.request();
        match (&self.sock).write(req) {
            Ok(n) if n == req.len() => {}
            r => panic!("loadgen: a {}-byte send did not complete at once: {r:?}", req.len()),
        }
    }
}

/// Drives `conns` (connected, blocking) with `proto` until `end` on
/// `threads` threads; returns the latency histogram of every completed
/// round trip, or why the load could not go on (the server closed a
/// connection, say).
pub fn run(conns: Vec<TcpStream>, proto: Proto, end: Instant, threads: usize) -> Result<Vec<u64>, String> {
    let per = conns.len().div_ceil(threads.max(1)).max(1);
    let mut conns = conns.into_iter();
    let hs: Vec<_> = (0..threads.max(1))
        .map(|_| conns.by_ref().take(per).collect::<Vec<_>>())
        .filter(|share| !share.is_empty())
        .map(|share| std::thread::spawn(move || drive(share, proto, end)))
        .collect();
    let mut hist = vec![0u64; BUCKETS];
    for h in hs {
        let part = h.join().expect("loadgen thread")?;
        hist.iter_mut().zip(part).for_each(|(a, b)| *a += b);
    }
    Ok(hist)
}

/// One thread's event loop over its share of the connections.
fn drive(socks: Vec<TcpStream>, proto: Proto, end: Instant) -> Result<Vec<u64>, String> {
    let ep = Epoll::new();
    let mut conns: Vec<Conn> = socks
        .into_iter()
        .enumerate()
        .map(|(i, sock)| {
            sock.set_nonblocking(true).expect("loadgen: set_nonblocking");
            ep.add(&sock, i as u64);
            Conn { sock, got: Vec::with_capacity(256), sent_at: Instant::now() }
        })
        .collect();
    conns.iter_mut().for_each(|c| c.send(proto));
    let mut hist = vec![0u64; BUCKETS];
    let mut open = conns.len();
    let mut buf = [0u8; 4096];
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; BATCH];
    while open > 0 {
        for i in ep.wait(&mut events) {
            let c = &mut conns[i];
            match (&c.sock).read(&mut buf) {
                Ok(0) => return Err("the server closed a connection".into()),
                Ok(n) => c.got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => return Err(format!("read: {e}")),
            }
            if !proto.take_response(&mut c.got) {
                continue;
            }
            record(&mut hist, c.sent_at.elapsed());
            if Instant::now() < end {
                c.send(proto);
            } else {
                ep.delete(&c.sock);
                socket2::SockRef::from(&c.sock).set_linger(Some(Duration::ZERO)).expect("loadgen: linger");
                open -= 1;
            }
        }
    }
    Ok(hist)
}

fn record(hist: &mut [u64], latency: Duration) {
    let us = latency.as_secs_f64() * 1e6;
    let b = (us.max(1.0).ln() / 1.1f64.ln()) as usize;
    hist[b.min(BUCKETS - 1)] += 1;
}

/// A level-triggered epoll instance whose tokens are connection indices.
struct Epoll(OwnedFd);

impl Epoll {
    fn new() -> Epoll {
        // SAFETY: epoll_create1 takes no pointers.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(fd >= 0, "loadgen: epoll_create1: {}", std::io::Error::last_os_error());
        // SAFETY: a fresh descriptor that nothing else owns.
        Epoll(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    fn ctl(&self, op: libc::c_int, sock: &TcpStream, token: u64) {
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: token };
        // SAFETY: `ev` is live for the call; `sock` keeps its fd open.
        let rc = unsafe { libc::epoll_ctl(self.0.as_raw_fd(), op, sock.as_raw_fd(), &mut ev) };
        assert_eq!(rc, 0, "loadgen: epoll_ctl: {}", std::io::Error::last_os_error());
    }

    fn add(&self, sock: &TcpStream, token: u64) {
        self.ctl(libc::EPOLL_CTL_ADD, sock, token);
    }

    fn delete(&self, sock: &TcpStream) {
        self.ctl(libc::EPOLL_CTL_DEL, sock, 0);
    }

    /// Waits (at most 100 ms) and returns the tokens of ready connections.
    fn wait<'a>(&self, events: &'a mut [libc::epoll_event; BATCH]) -> impl Iterator<Item = usize> + 'a {
        // SAFETY: `events` is a live array of BATCH entries for the call.
        let n =
            unsafe { libc::epoll_wait(self.0.as_raw_fd(), events.as_mut_ptr(), BATCH as libc::c_int, 100) };
        let n = match n {
            n if n >= 0 => n as usize,
            _ if std::io::Error::last_os_error().kind() == ErrorKind::Interrupted => 0,
            _ => panic!("loadgen: epoll_wait: {}", std::io::Error::last_os_error()),
        };
        events[..n].iter().map(|ev| ev.u64 as usize)
    }
}
