//! Go's hello-world HTTP server on goroutines: one goroutine per
//! connection, plain blocking handlers, Go 1.22 routing.
//!
//! `cargo run --release --example hello` then
//! `curl http://127.0.0.1:8080/hello/gopher` (`-- --addr 127.0.0.1:9000`
//! picks another address).

use clap::Parser;
use gort::http::Server;

#[path = "common/hello_routes.rs"]
mod hello_routes;

/// Serves `GET /` (Hello, World!) and `GET /hello/{name}` over HTTP/1.1.
#[derive(Parser)]
#[command(name = "hello")]
struct Args {
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    addr: String,
}

fn main() {
    let args = Args::parse();
    let ln = gort::net::TcpListener::bind(args.addr.as_str()).unwrap_or_else(|e| {
        eprintln!("hello: cannot listen on {}: {e}", args.addr);
        std::process::exit(1)
    });
    println!("hello: listening on http://{}", ln.local_addr().map_or(args.addr.clone(), |a| a.to_string()));
    if let Err(e) = Server::new(hello_routes::mux()).serve(ln) {
        eprintln!("hello: {e}");
        std::process::exit(1);
    }
}
