//! Go's hello-world HTTP server on goroutines: one goroutine per
//! connection, plain blocking handlers, Go 1.22 routing.
//!
//! `cargo run --release --example hello` then
//! `curl http://127.0.0.1:8080/hello/gopher` (`-- --addr 127.0.0.1:9000`
//! picks another address). With `--tls-cert cert.pem --tls-key key.pem`
//! it serves the same routes over HTTPS. `/debug/gort/` shows the
//! runtime live: goroutines, switches/s, run queues and netpoll wake-ups
//! charted over the last minutes, plus `stats`, `history` and the
//! goroutine dump (`goroutines?reason=…`).

use clap::Parser;
use gort::http::Server;

#[path = "common/addr.rs"]
mod addr;
#[path = "common/hello_routes.rs"]
mod hello_routes;

/// Serves `GET /` (Hello, World!), `GET /hello/{name}` and the live
/// runtime page `/debug/gort/` over HTTP/1.1.
#[derive(Parser)]
#[command(name = "hello")]
struct Args {
    /// Address to listen on (a malformed one, or a name that does not
    /// resolve, is a usage error).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080", value_parser = addr::Addr::parse)]
    addr: addr::Addr,
    /// PEM certificate chain: serve HTTPS (needs --tls-key).
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
}

fn main() {
    let args = Args::parse();
    let ln = gort::net::TcpListener::bind(args.addr.resolved()).unwrap_or_else(|e| {
        eprintln!("hello: cannot listen on {}: {e}", args.addr);
        std::process::exit(1)
    });
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(gort::http::server_config_from_pem(cert, key).unwrap_or_else(|e| {
            eprintln!("hello: {e}");
            std::process::exit(1)
        })),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "hello: listening on {scheme}://{}",
        ln.local_addr().map_or(args.addr.to_string(), |a| a.to_string())
    );
    let mut mux = hello_routes::mux();
    mux.handle("/debug/gort/", gort::http::debug::handler());
    let server = Server::new(mux);
    let served = match tls {
        Some(config) => server.serve_tls(ln, config),
        None => server.serve(ln),
    };
    if let Err(e) = served {
        eprintln!("hello: {e}");
        std::process::exit(1);
    }
}
