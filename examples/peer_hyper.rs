//! The best-known Rust peer for `benches/http.sh`: hyper 1 on tokio's
//! current-thread runtime, serving the `hello` example's `GET /hello/{name}`
//! (and `Hello, World!` for any other path) over HTTP/1.1 keep-alive. It
//! has hyper's own semantics and nothing more: no routing table, no header
//! or idle timeouts, no request limits beyond hyper's defaults. The bench
//! script runs it beside `hello` so the two are compared in one run.
//!
//! `cargo run --release --example peer_hyper -- --addr 127.0.0.1:8081`

use std::convert::Infallible;

use clap::Parser;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// Serves `GET /hello/{name}` with hyper on one tokio thread.
#[derive(Parser)]
#[command(name = "peer_hyper")]
struct Args {
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8081")]
    addr: String,
}

async fn hello(r: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match r.uri().path().strip_prefix("/hello/") {
        Some(name) => format!("Hello, {name}!"),
        None => "Hello, World!".to_owned(),
    };
    Ok(Response::new(Full::new(Bytes::from(body))))
}

fn main() {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().expect("tokio runtime");
    rt.block_on(async move {
        let ln = tokio::net::TcpListener::bind(&args.addr).await.unwrap_or_else(|e| {
            eprintln!("peer_hyper: cannot listen on {}: {e}", args.addr);
            std::process::exit(1)
        });
        println!("peer_hyper: listening on http://{}", args.addr);
        loop {
            let Ok((tcp, _)) = ln.accept().await else { continue };
            let _ = tcp.set_nodelay(true);
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(tcp), service_fn(hello)));
        }
    });
}
