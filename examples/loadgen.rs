//! A `wrk`-like load generator built on `gort::http::Client`: N
//! goroutines, each sending GETs one after another over the shared pool
//! for a while, then the rate, latency percentiles, and requests per
//! CPU-second of this process (user + system), the figure to hold against
//! `wrk`'s. gort testing gort.
//!
//! `cargo run --release --example loadgen -- --url http://127.0.0.1:8080/hello/gopher -c 50 -d 10s`
//!
//! `--serve ADDR` runs a hello server instead (`GET /hello/{name}` →
//! `Hello, {name}!`), for a comparison that needs nothing else running.

#[path = "common/addr.rs"]
mod addr;
#[path = "common/duration.rs"]
mod duration;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use clap::Parser;
use gort::http::{Client, Request, ResponseWriter, Server};

/// A closed-loop HTTP load generator on gort's client: `-c` goroutines,
/// each sending GETs back to back through one shared pool.
#[derive(Parser)]
#[command(name = "loadgen")]
struct Args {
    /// The URL every request gets.
    #[arg(long, default_value = "http://127.0.0.1:8080/hello/gopher")]
    url: String,
    /// Concurrent requesters (goroutines), each with its own connection.
    #[arg(short = 'c', long = "connections", value_name = "N", default_value_t = 50)]
    conns: usize,
    /// How long to run (`10s`, `500ms`).
    #[arg(short = 'd', long, value_name = "DURATION", default_value = "10s", value_parser = duration::parse_duration)]
    duration: Duration,
    /// Serve a hello handler on ADDR instead of generating load.
    #[arg(long, value_name = "ADDR", value_parser = addr::Addr::parse)]
    serve: Option<addr::Addr>,
}

fn hello(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    match r.url_path().strip_prefix("/hello/") {
        Some(name) => write!(w, "Hello, {name}!"),
        None => write!(w, "Hello, World!"),
    }
}

/// This process's CPU time so far (user + system), from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    let field = |i| after.split_whitespace().nth(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let ticks = field(11) + field(12);
    Duration::from_secs_f64(ticks as f64 / 100.0)
}

/// What one goroutine measured: the latency of each successful GET, in
/// µs, how many failed, and the first failure.
struct Tally {
    lat: Vec<u32>,
    errors: usize,
    first_error: Option<String>,
}

/// One goroutine's loop: GETs until `end`.
fn worker(client: Client, url: String, end: Instant) -> Tally {
    let mut tally = Tally { lat: Vec::with_capacity(1 << 16), errors: 0, first_error: None };
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        let t = Instant::now();
        let status = client.get(&url).and_then(|mut r| loop {
            if r.body().read(&mut buf)? == 0 {
                return Ok(r.status());
            }
        });
        let failure = match status {
            Ok(s) if s.is_success() => {
                tally.lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                continue;
            }
            Ok(s) => format!("status {s}"),
            Err(e) => e.to_string(),
        };
        tally.errors += 1;
        tally.first_error.get_or_insert(failure);
    }
    tally
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).map_or(0.0, |&v| f64::from(v) / 1e3)
}

fn main() {
    let a = Args::parse();
    if let Some(addr) = a.serve {
        let served = gort::net::TcpListener::bind(addr.resolved()).and_then(|ln| {
            println!("loadgen: serving hello on {}", ln.local_addr()?);
            Server::new(hello).serve(ln)
        });
        if let Err(e) = served {
            eprintln!("loadgen: cannot serve on {addr}: {e}");
            std::process::exit(1);
        }
        return;
    }
    let client = Client::builder().max_idle_conns(a.conns.max(100)).build().expect("client");
    let (cpu0, t0) = (cpu_time(), Instant::now());
    let end = t0 + a.duration;
    let hs: Vec<_> = (0..a.conns)
        .map(|_| {
            let (c, u) = (client.clone(), a.url.clone());
            gort::go!(move || worker(c, u, end))
        })
        .collect();
    let (mut lat, mut errors, mut first_error) = (Vec::new(), 0, None);
    for h in hs {
        let t = h.join().expect("worker");
        lat.extend(t.lat);
        errors += t.errors;
        first_error = first_error.or(t.first_error);
    }
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), (cpu_time() - cpu0).as_secs_f64());
    lat.sort_unstable();
    let n = lat.len();
    println!("{} goroutines, {:.1} s, {n} requests, {errors} errors", a.conns, wall);
    if let Some(e) = first_error {
        println!("first error: {e}");
    }
    println!(
        "requests/s {:.0}   client CPU {cpu:.2} s   requests per client CPU-second {:.0}",
        n as f64 / wall,
        n as f64 / cpu.max(1e-9)
    );
    println!(
        "latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
        percentile(&lat, 0.50),
        percentile(&lat, 0.90),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
}
