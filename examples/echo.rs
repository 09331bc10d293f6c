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

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let addr =
        args.iter().position(|a| a == "--addr").and_then(|i| args.get(i + 1)).map_or("127.0.0.1:7000", |s| s);
    let ln = TcpListener::bind(addr)?;
    println!("echo: listening on {}", ln.local_addr()?);
    for conn in ln.incoming() {
        let c = conn?;
        let peer = c.peer_addr()?;
        gort::go!(move || {
            if let Err(e) = serve(c) {
                eprintln!("echo: {peer}: {e}");
            }
        });
    }
    Ok(())
}
