//! c10k: the same echo workload served goroutine-per-connection (gort) and
//! thread-per-connection (std threads), N connections held at once, one
//! table row per model.
//!
//! `cargo run --release --example c10k -- --conns 10000 --secs 5 [--shared]`
//!
//! Three processes per model, so neither model's leftovers skew the
//! other's figures and each stays under the per-process fd limit: this one
//! (the orchestrator, which samples memory), a server (`--server
//! gort|threads`), and a load generator (`--client`, `loadgen.rs`) whose N
//! connections each send 64 bytes and wait for the echo, in a loop. Memory
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

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gort::net::TcpListener;

// Only its /proc reader is used here; the parking helpers serve the other examples.
#[allow(dead_code)]
#[path = "../common/parked.rs"]
mod parked;

#[path = "../common/cpus.rs"]
mod cpus;

mod loadgen;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// Echoes whatever arrives, as a real server reads: into a roomy buffer.
fn echo_loop(mut c: impl Read + Write) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = c.read(&mut buf) {
        if c.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

/// `--server gort|threads`: prints the address, then serves until killed.
fn server(model: &str) {
    let ln = TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("{}", ln.local_addr().expect("local_addr"));
    if model == "gort" {
        // A failed accept costs that connection only.
        for c in ln.incoming().flatten() {
            gort::go!(move || echo_loop(&c));
        }
    } else {
        // The same listener (somaxconn backlog), back in blocking mode.
        let ln = ln.into_std().expect("into_std");
        for c in ln.incoming().flatten() {
            std::thread::spawn(move || echo_loop(&c));
        }
    }
}

/// `--client --addr A --conns N --secs S`: connects N, runs S seconds of
/// request/response on all of them (`loadgen.rs`, one event-loop thread per
/// CPU this process may use), prints `reqs p50_us p99_us`.
fn client(addr: &str, conns: usize, secs: u64) {
    let conns: Vec<std::net::TcpStream> =
        (0..conns).map(|_| std::net::TcpStream::connect(addr).expect("connect")).collect();
    println!("connected");
    let end = Instant::now() + Duration::from_secs(secs);
    let counts = loadgen::run(conns, end, cpus::allowed_cpus().len());
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

fn meminfo_kib(key: &str) -> u64 {
    parked::field(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default(), key)
}

fn status_field(pid: u32, key: &str) -> u64 {
    parked::field(&std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default(), key)
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

/// Peaks sampled every 20 ms: server RSS, threads, KernelStack, PageTables (KiB).
#[derive(Default)]
struct Peaks {
    rss: u64,
    threads: u64,
    kstack: u64,
    ptables: u64,
}

fn run_model(model: &str, conns: usize, secs: u64, place: &Placement) {
    let base_k = meminfo_kib("KernelStack:");
    let base_p = meminfo_kib("PageTables:");
    let mut srv = spawn_self(&["--server", model], place.pinned.as_ref().map(|(_, s)| &s[..]));
    let mut srv_out = BufReader::new(srv.stdout.take().expect("server stdout"));
    let mut addr = String::new();
    srv_out.read_line(&mut addr).expect("server address");
    let (n, s) = (conns.to_string(), secs.to_string());
    let cli_args = ["--client", "--addr", addr.trim(), "--conns", &n, "--secs", &s];
    let mut cli = spawn_self(&cli_args, place.pinned.as_ref().map(|(c, _)| &c[..]));
    let mut peaks = Peaks::default();
    while cli.try_wait().expect("client status").is_none() {
        peaks.rss = peaks.rss.max(status_field(srv.id(), "VmRSS:"));
        peaks.threads = peaks.threads.max(status_field(srv.id(), "Threads:"));
        peaks.kstack = peaks.kstack.max(meminfo_kib("KernelStack:"));
        peaks.ptables = peaks.ptables.max(meminfo_kib("PageTables:"));
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut out = String::new();
    cli.stdout.take().expect("client stdout").read_to_string(&mut out).expect("client output");
    let _ = srv.kill();
    let _ = srv.wait();
    let line = out.lines().last().unwrap_or("");
    let f: Vec<f64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    let [reqs, p50, p99] = f[..] else { panic!("client failed: {out:?}") };
    let (dk, dp) = (peaks.kstack.saturating_sub(base_k), peaks.ptables.saturating_sub(base_p));
    let per_conn = (peaks.rss + dk + dp) as f64 / conns as f64;
    println!(
        "| {model:<7} | {conns:>6} | {:>9.0} | {:>7.0} | {:>7.0} | {:>8.1} | {:>11.1} | {:>12.1} | {:>8.1} | {:>7} |",
        reqs / secs as f64,
        p50,
        p99,
        peaks.rss as f64 / 1024.0,
        dk as f64 / 1024.0,
        dp as f64 / 1024.0,
        per_conn,
        peaks.threads
    );
}

fn main() {
    if let Some(list) = arg("--cpus") {
        let cpus: Vec<usize> = list.split(',').map(|c| c.parse().expect("--cpus: a CPU number")).collect();
        cpus::pin(&cpus);
    }
    if let Some(model) = arg("--server") {
        return server(&model);
    }
    let conns: usize = arg("--conns").and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let secs: u64 = arg("--secs").and_then(|v| v.parse().ok()).unwrap_or(5);
    if std::env::args().any(|a| a == "--client") {
        return client(&arg("--addr").expect("--addr"), conns, secs);
    }
    let place = Placement::new(std::env::args().any(|a| a == "--shared"));
    println!("c10k: {conns} connections, {secs} s of 64-byte echo per model; {}\n", place.describe());
    println!("| model   |  conns |     req/s |  p50 µs |  p99 µs |  RSS MiB | +kstack MiB | +ptables MiB | KiB/conn | threads |");
    println!("|---------|--------|-----------|---------|---------|----------|-------------|--------------|----------|---------|");
    for model in ["gort", "threads"] {
        run_model(model, conns, secs, &place);
    }
}
