//! The `hello` routes and the same gort::http connection code
//! (`serve_conn`), on std's blocking sockets with one OS thread per
//! connection: the baseline that `hello` is compared against. Only the
//! concurrency model differs.
//!
//! `cargo run --release --example thread_per_conn_http -- --addr 127.0.0.1:8081`

use std::sync::Arc;

use clap::Parser;
use gort::http::{serve_conn, Config, Handler};

#[path = "common/addr.rs"]
mod addr;
#[path = "common/hello_routes.rs"]
mod hello_routes;

/// Serves the `hello` routes, one OS thread per connection.
#[derive(Parser)]
#[command(name = "thread_per_conn_http")]
struct Args {
    /// Address to listen on (a malformed one, or a name that does not
    /// resolve, is a usage error).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8081", value_parser = addr::Addr::parse)]
    addr: addr::Addr,
}

fn main() {
    let args = Args::parse();
    let ln = std::net::TcpListener::bind(args.addr.resolved()).unwrap_or_else(|e| {
        eprintln!("thread_per_conn_http: cannot listen on {}: {e}", args.addr);
        std::process::exit(1)
    });
    println!(
        "thread_per_conn_http: listening on http://{}",
        ln.local_addr().map_or(args.addr.to_string(), |a| a.to_string())
    );
    let handler: Arc<dyn Handler> = Arc::new(hello_routes::mux());
    let config = Arc::new(Config::default());
    for conn in ln.incoming() {
        let Ok(conn) = conn else { continue };
        let _ = conn.set_nodelay(true);
        let (handler, config) = (Arc::clone(&handler), Arc::clone(&config));
        let spawned = std::thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(move || serve_conn(conn, &*handler, &config));
        if let Err(e) = spawned {
            eprintln!("thread_per_conn_http: cannot start a thread: {e}");
        }
    }
}
