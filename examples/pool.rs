//! The connection pool, in numbers: 1,000 sequential GETs to a local
//! server, first with a fresh connection each (keep-alives off), then
//! through the pool. `--connect-delay` makes the server wait before it
//! serves a new connection's first request, standing in for the handshake
//! round trips a real network adds. For each mode it prints the time, the
//! connections the server accepted, and the sockets left in TIME_WAIT on
//! the server's port (from `/proc/net/tcp`) when the run ends, the pooled
//! connection still open: the port-exhaustion story.
//!
//! `--idle N` then measures the heap an idle pooled connection costs: N
//! connections are opened at once, left idle in the pool, and the live
//! heap (a counting allocator) is compared with the same pool emptied.
//!
//! `cargo run --release --example pool -- --connect-delay 1ms --idle 1000`
//!
//! The server runs in a child process (this binary with `--serve`), so
//! neither its CPU nor its memory is counted against the client.

#[path = "common/duration.rs"]
mod duration;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use gort::http::{Client, ConnState, Request, ResponseWriter, Server};

/// Counts the bytes live on the heap.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counter is
// a side effect that does not touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `dealloc` is passed on.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// 1,000 sequential GETs with a fresh connection each, then pooled; with
/// `--idle N`, the heap an idle pooled connection costs.
#[derive(Parser)]
#[command(name = "pool")]
struct Args {
    /// Requests per mode.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    requests: usize,
    /// How long the server waits before serving a new connection
    /// (`250us`, `1ms`, `0`), standing in for a network's handshake.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = duration::parse_duration)]
    connect_delay: Duration,
    /// Idle pooled connections to open for the memory figure (0: skip it).
    #[arg(long, value_name = "N", default_value_t = 0)]
    idle: usize,
    /// Internal: run as the child server.
    #[arg(long, hide = true)]
    serve: bool,
}

/// The child: serves `/` with a short body and `/conns` with the number
/// of connections accepted so far, delaying each new connection.
fn serve(delay: Duration) {
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = accepted.clone();
    let h = move |w: &mut ResponseWriter, r: &mut Request| match r.url_path() {
        "/conns" => write!(w, "{}", a.load(Ordering::SeqCst)),
        "/slow" => {
            gort::time::sleep(Duration::from_millis(200));
            w.write_all(b"ok")
        }
        _ => w.write_all(b"hello, pool"),
    };
    let server = Server::new(h).conn_state(move |_, st| {
        if st == ConnState::New {
            accepted.fetch_add(1, Ordering::SeqCst);
            gort::time::sleep(delay);
        }
    });
    let ln = gort::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("{}", ln.local_addr().expect("local_addr"));
    server.serve(ln).expect("serve");
}

/// Starts the child server; its address.
fn start_server(delay: Duration) -> (Child, String) {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(["--serve", "--connect-delay", &format!("{}us", delay.as_micros())])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("server address");
    (child, line.trim().to_owned())
}

/// Sockets in TIME_WAIT with `port` at either end.
fn time_wait(port: u16) -> usize {
    let port = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| t.lines().skip(1).map(str::to_owned).collect::<Vec<_>>())
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[3] == "06" && (f[1].ends_with(&port) || f[2].ends_with(&port))
        })
        .count()
}

fn get(client: &Client, url: &str) -> String {
    let mut s = String::new();
    client.get(url).expect("GET").body().read_to_string(&mut s).expect("body");
    s
}

/// Runs `n` sequential GETs; prints the time, the connections the server
/// accepted and the TIME_WAIT sockets they left. Returns the time.
fn run(label: &str, client: &Client, base: &str, port: u16, n: usize) -> Duration {
    let probe = Client::new();
    let (conns0, tw0) =
        (get(&probe, &format!("{base}/conns")).parse::<usize>().unwrap_or(0), time_wait(port));
    let t = Instant::now();
    for _ in 0..n {
        assert_eq!(get(client, &format!("{base}/")), "hello, pool");
    }
    let took = t.elapsed();
    std::thread::sleep(Duration::from_millis(50));
    let conns = get(&probe, &format!("{base}/conns")).parse::<usize>().unwrap_or(0) - conns0;
    let tw = time_wait(port).saturating_sub(tw0);
    client.transport().close_idle_connections();
    println!(
        "{label:<26} {n} GETs in {:>8.1} ms  ({:>6.1} µs each)  connections opened {conns:>5}  left in TIME_WAIT {tw:>5}",
        took.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e6 / n as f64,
    );
    took
}

/// Heap bytes per idle pooled connection: `n` at once, idle, against the
/// same pool emptied (after one warm-up round, so caches are settled).
fn idle_memory(base: &str, n: usize) {
    let client = Client::builder().max_idle_conns(n).max_idle_conns_per_host(n).build().expect("client");
    let round = || {
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let (c, u) = (client.clone(), format!("{base}/slow"));
                gort::go!(move || get(&c, &u))
            })
            .collect();
        hs.into_iter().for_each(|h| assert_eq!(h.join().expect("join"), "ok"));
    };
    round();
    client.transport().close_idle_connections();
    gort::time::sleep(Duration::from_millis(100));
    let empty = LIVE.load(Ordering::SeqCst);
    round();
    gort::time::sleep(Duration::from_millis(100));
    let idle = client.transport().idle_connections();
    let full = LIVE.load(Ordering::SeqCst);
    println!(
        "idle pool: {idle} connections hold {} bytes of heap: {:.0} bytes per idle connection (beyond the kernel's socket)",
        full - empty,
        (full - empty) as f64 / idle.max(1) as f64
    );
}

fn main() {
    let a = Args::parse();
    if a.serve {
        return serve(a.connect_delay);
    }
    let (mut child, addr) = start_server(a.connect_delay);
    let base = format!("http://{addr}");
    let port: u16 = addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    println!("server {addr}, connect delay {:?}", a.connect_delay);
    let fresh = run(
        "fresh connection each:",
        &Client::builder().disable_keep_alives(true).build().expect("client"),
        &base,
        port,
        a.requests,
    );
    let pooled = run("through the pool:", &Client::new(), &base, port, a.requests);
    println!("pooled is {:.1}x faster", fresh.as_secs_f64() / pooled.as_secs_f64());
    if a.idle > 0 {
        idle_memory(&base, a.idle);
    }
    let _ = child.kill();
    let _ = child.wait();
}
