//! A TCP echo server: one goroutine per connection, plain blocking code,
//! with Go-style deadlines so an idle or stuck peer cannot hold a
//! goroutine forever.
//!
//! `cargo run --release --example echo -- --addr 127.0.0.1:7000`
//! then e.g. `nc 127.0.0.1 7000`.

use std::io::{self, ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use gort::net::{TcpListener, TcpStream};

/// A connection that sends nothing for this long is closed.
const IDLE: Duration = Duration::from_secs(60);
/// A peer that does not read its echo for this long is dropped.
const WRITE: Duration = Duration::from_secs(10);

fn serve(c: TcpStream) -> io::Result<()> {
    c.set_nodelay(true)?;
    let mut buf = [0u8; 16 << 10];
    loop {
        c.set_read_deadline(Some(Instant::now() + IDLE));
        let n = match (&c).read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::TimedOut => return Ok(()),
            Err(e) => return Err(e),
        };
        c.set_write_deadline(Some(Instant::now() + WRITE));
        (&c).write_all(&buf[..n])?;
    }
}

/// `--addr HOST:PORT` (default 127.0.0.1:7000); anything else is a usage error.
fn addr_from_args() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:7000");
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--addr", Some(v)) => addr = v,
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    Ok(addr)
}

fn main() {
    let addr = addr_from_args().unwrap_or_else(|e| {
        eprintln!("echo: {e}\nusage: echo [--addr HOST:PORT]");
        std::process::exit(2)
    });
    let ln = TcpListener::bind(&addr).unwrap_or_else(|e| {
        eprintln!("echo: cannot listen on {addr}: {e}");
        std::process::exit(1)
    });
    println!("echo: listening on {}", ln.local_addr().map_or(addr, |a| a.to_string()));
    for conn in ln.incoming() {
        // A failed accept (a peer that reset before we took it, say) costs
        // that connection only; the server keeps serving.
        let c = match conn {
            Ok(c) => c,
            Err(e) => {
                eprintln!("echo: accept: {e}");
                continue;
            }
        };
        gort::go!(move || {
            let peer = c.peer_addr().map_or_else(|_| "a peer".to_string(), |a| a.to_string());
            if let Err(e) = serve(c) {
                eprintln!("echo: {peer}: {e}");
            }
        });
    }
}
