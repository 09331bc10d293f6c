//! A TCP echo server: one goroutine per connection, plain blocking code,
//! with Go-style deadlines so an idle or stuck peer cannot hold a
//! goroutine forever.
//!
//! `cargo run --release --example echo -- --addr 127.0.0.1:7000`
//! then e.g. `nc 127.0.0.1 7000`.

use std::io::{self, ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use clap::Parser;
use gort::net::{TcpListener, TcpStream};

#[path = "common/addr.rs"]
mod addr;

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

/// A TCP echo server: one goroutine per connection, with deadlines.
#[derive(Parser)]
#[command(name = "echo")]
struct Args {
    /// Address to listen on (a malformed one, or a name that does not
    /// resolve, is a usage error).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7000", value_parser = addr::Addr::parse)]
    addr: addr::Addr,
}

fn main() {
    let addr = Args::parse().addr;
    let ln = TcpListener::bind(addr.resolved()).unwrap_or_else(|e| {
        eprintln!("echo: cannot listen on {addr}: {e}");
        std::process::exit(1)
    });
    println!("echo: listening on {}", ln.local_addr().map_or(addr.to_string(), |a| a.to_string()));
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
