//! c10k: the same echo workload served goroutine-per-connection (gort) and
//! thread-per-connection (std threads), N connections held at once, one
//! table row per model. With `--http` the workload is HTTP/1.1 keep-alive
//! `GET /hello/x` instead of echo: gort's `http::Server` against the same
//! `serve_conn` on std sockets with a thread per connection, both on the
//! `hello` example's routes.
//!
//! `cargo run --release --example c10k -- --conns 10000 --secs 5 [--shared] [--http]`;
//! `--floor` measures the echo against its floor instead (`versus.rs`).
//! (`--help` lists the flags and their defaults).
//!
//! Three processes per model, so neither model's leftovers skew the
//! other's figures and each stays under the per-process fd limit: this one
//! (the orchestrator, which samples memory), a server (`--server
//! gort|threads|floor`), and a load generator (`--client`, `loadgen.rs`) whose N
//! connections each send a request (64 bytes, or a GET) and wait for the
//! whole response (the echo, or the HTTP response), in a loop. Memory
//! per connection is counted whole: the server's peak RSS plus the growth
//! of the kernel's `KernelStack` and `PageTables` (a thread keeps most of
//! its cost there).
//!
//! # Method: a cheap load generator on a CPU of its own
//!
//! Both models face the identical load generator. On a small machine its
//! CPU time would otherwise be taken from whichever server runs beside it,
//! turning the comparison into "client + server" (with client and servers
//! sharing 2 vCPUs, gort measured 0.74x of threads; the kernel's TCP path
//! is most of every party's cost). So:
//!
//! - the load generator is an epoll event loop per CPU it may use, as `wrk`
//!   is (it was a goroutine per connection, which cost it a stack switch
//!   and scheduling per request on top of the socket calls);
//! - when the process may use two or more CPUs, the load generator is
//!   pinned to the first of them and the server to all the others, with
//!   `GORT_PROCS` = their number so gort runs one P per CPU it got. Both
//!   models are placed identically, and the header says where. With a
//!   single CPU, or with `--shared`, nothing is pinned and the two share
//!   the CPUs (the kernel then places each woken thread-per-connection
//!   server thread beside the client that woke it, which favours threads).
//!   Each child pins itself (`--cpus`) before it starts a thread, so every
//!   thread it spawns inherits the mask.
//!
//! # The wall
//!
//! Past some thousands of connections the thread server cannot start
//! another thread (`EAGAIN`: the thread, memory or map limits). That is the
//! c10k story, so it is a result, not a crash: the server says where it
//! stopped (`failed at thread N: …`) and holds what it has, the
//! orchestrator stops the load generator and prints that as the row, and
//! the run goes on and exits 0.

use std::io::{self, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use gort::http::{serve_conn, Config, Handler};
use gort::net::TcpListener;
use parking_lot::Mutex;

// Only its /proc reader is used here; the parking helpers serve the other examples.
#[allow(dead_code)]
#[path = "../common/parked.rs"]
mod parked;

#[path = "../common/cpus.rs"]
mod cpus;
#[path = "../common/flags.rs"]
mod flags;
#[path = "../common/hello_routes.rs"]
mod hello_routes;

mod floor;
mod loadgen;
mod run;
mod versus;

/// c10k: the same echo load served goroutine-per-connection (gort) and
/// thread-per-connection (std threads), N connections held at once.
#[derive(Parser)]
#[command(name = "c10k")]
struct Args {
    /// Connections held at once, per model.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = flags::count)]
    conns: usize,
    /// Seconds of echo load per model.
    #[arg(long, value_name = "S", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    secs: u64,
    /// Pin nothing: the load generator and the server share every CPU.
    #[arg(long)]
    shared: bool,
    /// Serve and load HTTP/1.1 keep-alive GETs instead of echo.
    #[arg(long)]
    http: bool,
    /// The echo against its floor (a plain epoll loop), Go and threads,
    /// each server on one CPU, in rounds: req per server CPU-second.
    #[arg(long, conflicts_with_all = ["http", "shared"])]
    floor: bool,
    /// Rounds of the `--floor` table (each runs every server once).
    #[arg(long, value_name = "N", default_value_t = 2, requires = "floor", value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
    /// Child mode: serve with this model until killed.
    #[arg(long, value_enum, hide = true)]
    server: Option<Model>,
    /// Child mode: the load generator, against `--addr`.
    #[arg(long, hide = true, requires = "addr", conflicts_with = "server")]
    client: bool,
    /// The server the load generator drives.
    #[arg(long, hide = true)]
    addr: Option<String>,
    /// Pin this process to these CPUs before anything else.
    #[arg(long, hide = true, value_delimiter = ',')]
    cpus: Vec<usize>,
}

/// A server model: one row of the table.
#[derive(Clone, Copy, ValueEnum)]
enum Model {
    Gort,
    Threads,
    /// The floor: one thread, plain epoll (`floor.rs`).
    Floor,
}

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::Gort => "gort",
            Model::Threads => "threads",
            Model::Floor => "floor",
        }
    }
}

/// How the thread server's wall line starts.
pub(crate) const WALL: &str = "failed at thread ";

/// How the load generator's last line starts when the load could not go
/// on; the row shows the line in place of its figures.
pub(crate) const FAILED: &str = "failed: ";

/// The stack reservation of gort's echo goroutines. Their frames take
/// about a kilobyte, and the reservation is what sets how far apart the
/// 10,000 stack tops lie: at the 256 KiB default they span 2.5 GB of
/// address space, whose page tables (1,250 pages of them) the page walks
/// of every request miss in, where at 64 KiB they are a quarter of that.
/// README's floor section has the figures.
const ECHO_STACK: usize = 64 << 10;

/// Echoes whatever arrives, as a real server reads: into a roomy buffer.
fn echo_loop(mut c: impl Read + Write) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = c.read(&mut buf) {
        if c.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

/// gort's echo: waits for bytes holding no buffer (`wait_readable`), then
/// reads them into a pooled buffer that goes back before the next wait, as
/// `gort::http`'s idle connections do. A connection between echoes then
/// costs its goroutine's shallow stack, not a 4 KiB buffer as well.
fn echo_pooled(c: &gort::net::TcpStream) {
    let mut w = c;
    loop {
        if c.wait_readable().is_err() {
            return;
        }
        let mut buf = gort::sync::BufPool::get(4096);
        match c.try_read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if w.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// `--server gort|threads`: prints the address, then serves until killed.
fn server(model: Model, http: bool) {
    let ln = TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("{}", ln.local_addr().expect("local_addr"));
    if http {
        return http_server(model, ln);
    }
    match model {
        // A failed accept, or a goroutine that cannot start, costs that
        // connection only.
        Model::Gort => {
            for c in ln.incoming().flatten() {
                let _ = gort::go!(gort::Builder::new().stack_size(ECHO_STACK), move || echo_pooled(&c));
            }
        }
        // The same listener (somaxconn backlog), back in blocking mode.
        Model::Threads => {
            let ln = ln.into_std().expect("into_std");
            for (n, c) in ln.incoming().flatten().enumerate() {
                // Shared, so that the connection stays open if its thread
                // cannot start.
                let c = Arc::new(c);
                let served = Arc::clone(&c);
                if let Err(e) = std::thread::Builder::new().spawn(move || echo_loop(&*served)) {
                    stall(n + 1, &e, (&ln, c));
                }
            }
        }
        Model::Floor => floor::serve(ln.into_std().expect("into_std")),
    }
}

/// `--server gort|threads --http`: the `hello` routes until killed.
fn http_server(model: Model, ln: TcpListener) {
    match model {
        Model::Gort => {
            if let Err(e) = gort::http::Server::new(hello_routes::mux()).serve(ln) {
                panic!("c10k: http serve: {e}");
            }
        }
        Model::Floor => panic!("c10k: the floor serves echo only"),
        Model::Threads => {
            let ln = ln.into_std().expect("into_std");
            let handler: Arc<dyn Handler> = Arc::new(hello_routes::mux());
            let config = Arc::new(Config::default());
            for (n, c) in ln.incoming().flatten().enumerate() {
                // Held here too, so that the connection stays open if its
                // thread cannot start.
                let slot = Arc::new(Mutex::new(Some(c)));
                let (taken, handler, config) = (Arc::clone(&slot), Arc::clone(&handler), Arc::clone(&config));
                let spawned = std::thread::Builder::new().spawn(move || {
                    if let Some(c) = taken.lock().take() {
                        serve_conn(c, &*handler, &config);
                    }
                });
                if let Err(e) = spawned {
                    stall(n + 1, &e, (&ln, slot));
                }
            }
        }
    }
}

/// The thread server's wall: says where it stopped, then holds the
/// listener and every connection open until killed, so the load generator
/// meets a stalled server, not errors, until the orchestrator stops it.
fn stall<T>(thread: usize, e: &io::Error, _hold: T) -> ! {
    println!("{WALL}{thread}: {e}");
    loop {
        std::thread::park();
    }
}

/// `--client --addr A --conns N --secs S`: connects N, runs S seconds of
/// request/response on all of them (`loadgen.rs`, one event-loop thread per
/// CPU this process may use), prints `reqs p50_us p99_us`, or `failed: why`
/// (then exits 1) when a connection could not be made or the load could
/// not go on.
fn client(addr: &str, conns: usize, secs: u64, proto: loadgen::Proto) {
    let fail = |why: String| -> ! {
        println!("{FAILED}{why}");
        std::process::exit(1)
    };
    let conns: Vec<std::net::TcpStream> = (0..conns)
        .map(|n| {
            std::net::TcpStream::connect(addr)
                .unwrap_or_else(|e| fail(format!("connection {} of {conns} to {addr}: {e}", n + 1)))
        })
        .collect();
    println!("connected");
    let end = Instant::now() + Duration::from_secs(secs);
    let counts = loadgen::run(conns, proto, end, cpus::allowed_cpus().len()).unwrap_or_else(|why| fail(why));
    let total: u64 = counts.iter().sum();
    let pct = |p: f64| {
        let mut seen = 0;
        let at = (total as f64 * p) as u64;
        counts
            .iter()
            .position(|&c| {
                seen += c;
                seen > at
            })
            .map_or(0.0, |i| 1.1f64.powi(i as i32 + 1))
    };
    println!("{} {:.0} {:.0}", total, pct(0.50), pct(0.99));
}

/// Where the load generator and the server run: `pinned` to these CPU
/// lists (load generator, server), or `None` when nothing is pinned (a
/// single CPU, or `--shared`; see the module doc).
struct Placement {
    pinned: Option<(Vec<usize>, Vec<usize>)>,
}

impl Placement {
    /// `shared`: pin nothing, so the two processes share every CPU.
    fn new(shared: bool) -> Placement {
        match &cpus::allowed_cpus()[..] {
            [first, rest @ ..] if !rest.is_empty() && !shared => {
                Placement { pinned: Some((vec![*first], rest.to_vec())) }
            }
            _ => Placement { pinned: None },
        }
    }

    fn describe(&self) -> String {
        match &self.pinned {
            Some((c, s)) => format!("load generator pinned to CPU {c:?}, server to CPUs {s:?}"),
            None => "nothing pinned: load generator and server share the CPUs".to_string(),
        }
    }
}

/// Starts this program with `args`, pinned to `cpus` (if any) with one P per CPU.
fn spawn_self(args: &[&str], cpus: Option<&[usize]>) -> Child {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args(args).stdout(Stdio::piped());
    if let Some(cpus) = cpus {
        let list: Vec<String> = cpus.iter().map(usize::to_string).collect();
        cmd.args(["--cpus", &list.join(",")]).env("GORT_PROCS", cpus.len().to_string());
    }
    cmd.spawn().expect("spawn child")
}

/// Runs one model under load and prints its row: the load's figures, or
/// the wall its server hit.
fn run_model(model: Model, conns: usize, secs: u64, http: bool, place: &Placement) {
    let proto: &[&str] = if http { &["--http"] } else { &[] };
    let srv_args = [&["--server", model.name()], proto].concat();
    let srv = spawn_self(&srv_args, place.pinned.as_ref().map(|(_, s)| &s[..]));
    let run = run::load(srv, conns, secs, http, place.pinned.as_ref().map(|(c, _)| &c[..]));
    let p = &run.peaks;
    print_row(model, conns, secs, run.load, [p.rss, p.kstack, p.ptables], p.threads);
}

/// One table row; `mem` is the server's RSS and the kernel's KernelStack
/// and PageTables growth, in KiB.
fn print_row(
    model: Model,
    conns: usize,
    secs: u64,
    load: Result<[f64; 3], String>,
    mem: [u64; 3],
    threads: u64,
) {
    let [rss, dk, dp] = mem;
    let (rate, p50, p99, per_conn) = match load {
        Ok([reqs, p50, p99]) => (
            format!("{:>9.0}", reqs / secs as f64),
            format!("{p50:>7.0}"),
            format!("{p99:>7.0}"),
            format!("{:>8.1}", (rss + dk + dp) as f64 / conns as f64),
        ),
        Err(wall) => (wall, format!("{:>7}", "—"), format!("{:>7}", "—"), format!("{:>8}", "—")),
    };
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "| {:<7} | {conns:>6} | {rate} | {p50} | {p99} | {:>8.1} | {:>11.1} | {:>12.1} | {per_conn} | {threads:>7} |",
        model.name(),
        mib(rss),
        mib(dk),
        mib(dp),
    );
}

fn main() {
    let args = Args::parse();
    if !args.cpus.is_empty() {
        cpus::pin(&args.cpus);
    }
    if let Some(model) = args.server {
        return server(model, args.http);
    }
    if let (true, Some(addr)) = (args.client, &args.addr) {
        let proto = if args.http { loadgen::Proto::Http } else { loadgen::Proto::Echo };
        return client(addr, args.conns, args.secs, proto);
    }
    let (conns, secs) = (args.conns, args.secs);
    if args.floor {
        return versus::table(conns, secs, args.rounds as usize);
    }
    let place = Placement::new(args.shared);
    let load = if args.http { "keep-alive GET /hello/x" } else { "64-byte echo" };
    println!("c10k: {conns} connections, {secs} s of {load} per model; {}\n", place.describe());
    println!("| model   |  conns |     req/s |  p50 µs |  p99 µs |  RSS MiB | +kstack MiB | +ptables MiB | KiB/conn | threads |");
    println!("|---------|--------|-----------|---------|---------|----------|-------------|--------------|----------|---------|");
    for model in [Model::Gort, Model::Threads] {
        run_model(model, conns, secs, args.http, &place);
    }
}
