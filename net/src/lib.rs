//! gort-net: std-shaped sockets on gort's netpoller.
//!
//! `read` on an empty socket parks the goroutine, not the thread: the
//! socket is non-blocking underneath, registered once with the runtime's
//! netpoller, and every call goes through one loop (`fd.rs`): try, on
//! `WouldBlock` park until the socket may be ready, retry. On a plain
//! thread the same call blocks the thread. Besides std's per-call timeouts
//! every socket has Go's deadlines (`set_deadline`, `set_read_deadline`,
//! `set_write_deadline`), and `close(&self)` for sockets shared between
//! goroutines.
//!
//! ```no_run
//! let ln = gort_net::TcpListener::bind("127.0.0.1:7000")?;
//! for conn in ln.incoming() {
//!     let c = conn?;
//!     gort::go!(move || std::io::copy(&mut &c, &mut &c));
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
// `unsafe` only in `FromRawFd` impls, whose trait makes them unsafe fns.
#![deny(unsafe_code)]

mod drained;
mod fd;
mod methods;
mod resolve;
mod tcp;
mod udp;
mod unix;

pub use resolve::{lookup_host, ToSocketAddrs};
pub use tcp::{default_backlog, Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
