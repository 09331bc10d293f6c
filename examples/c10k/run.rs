//! One server under load: starts the load generator against a running
//! server, samples the server's memory every 20 ms while the load runs,
//! and counts the server's CPU time from the moment every connection is
//! up to the moment the load generator exits. Both tables (`main.rs`'s
//! and `versus.rs`'s) come from here, so every row is measured the same
//! way.
//!
//! The server, whatever it is (this program's `--server` or Go's), prints
//! its address as its first line; the thread server may print its wall
//! line later. The load generator prints `connected`, then its figures as
//! its last line.

use std::io::{BufRead, BufReader, Read};
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use crate::{parked, spawn_self, FAILED, WALL};

/// Peaks sampled every 20 ms: the server's RSS and threads, and the growth
/// of the kernel's KernelStack and PageTables since the load began (KiB).
#[derive(Default)]
pub struct Peaks {
    pub rss: u64,
    pub threads: u64,
    pub kstack: u64,
    pub ptables: u64,
}

impl Peaks {
    fn sample(&mut self, server: u32) {
        self.rss = self.rss.max(status_field(server, "VmRSS:"));
        self.threads = self.threads.max(status_field(server, "Threads:"));
        self.kstack = self.kstack.max(meminfo_kib("KernelStack:"));
        self.ptables = self.ptables.max(meminfo_kib("PageTables:"));
    }
}

/// What one server came to under the load.
pub struct Run {
    /// The load generator's `reqs p50_us p99_us`, or the thread server's wall line.
    pub load: Result<[f64; 3], String>,
    pub peaks: Peaks,
    /// The server's utime + stime while the load ran, in seconds.
    pub cpu_secs: f64,
}

/// Drives the started server `srv` with `conns` connections for `secs`
/// seconds (HTTP if `http`), the load generator pinned to `client_cpus`
/// if given; kills the server when done.
pub fn load(mut srv: Child, conns: usize, secs: u64, http: bool, client_cpus: Option<&[usize]>) -> Run {
    let (base_k, base_p) = (meminfo_kib("KernelStack:"), meminfo_kib("PageTables:"));
    let mut srv_out = BufReader::new(srv.stdout.take().expect("server stdout"));
    let mut addr = String::new();
    srv_out.read_line(&mut addr).expect("server address");
    let wall = lines(srv_out);
    let (n, s) = (conns.to_string(), secs.to_string());
    let proto: &[&str] = if http { &["--http"] } else { &[] };
    let cli_args = [&["--client", "--addr", addr.trim(), "--conns", &n, "--secs", &s], proto].concat();
    let mut cli = spawn_self(&cli_args, client_cpus);
    let cli_out = lines(BufReader::new(cli.stdout.take().expect("client stdout")));
    let (mut peaks, mut hit, mut last) = (Peaks::default(), None, String::new());
    let mut cpu_from = None;
    while cli.try_wait().expect("client status").is_none() {
        if let Some(line) = wall.try_iter().find(|l| l.starts_with(WALL)) {
            let _ = cli.kill();
            hit = Some(line);
        }
        for line in cli_out.try_iter() {
            cpu_from = cpu_from.or_else(|| (line == "connected").then(|| cpu_ticks(srv.id())));
            last = line;
        }
        peaks.sample(srv.id());
        std::thread::sleep(Duration::from_millis(20));
    }
    let cpu_to = cpu_ticks(srv.id());
    let _ = srv.kill();
    let _ = srv.wait();
    last = cli_out.iter().last().unwrap_or(last);
    peaks.kstack = peaks.kstack.saturating_sub(base_k);
    peaks.ptables = peaks.ptables.saturating_sub(base_p);
    let cpu_secs = (cpu_to - cpu_from.unwrap_or(cpu_to)) as f64 / clock_ticks_per_sec();
    Run { load: hit.map_or_else(|| figures(&last), Err), peaks, cpu_secs }
}

/// Hands on each line `out` prints, from a thread of its own, so that a
/// child that stalls cannot stall the sampling loop.
fn lines(out: BufReader<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The load generator's last line: `reqs p50_us p99_us`, or `failed: why`.
fn figures(line: &str) -> Result<[f64; 3], String> {
    if line.starts_with(FAILED) {
        return Err(format!("load generator {line}"));
    }
    let f: Vec<f64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    let [reqs, p50, p99] = f[..] else { panic!("client failed: its last line was {line:?}") };
    Ok([reqs, p50, p99])
}

/// utime + stime of `pid`, every thread's, in clock ticks: fields 14 and
/// 15 of /proc/PID/stat, counted from after the parenthesised name.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    after_name.split_whitespace().skip(11).take(2).filter_map(|f| f.parse::<u64>().ok()).sum()
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf takes no pointers.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

fn meminfo_kib(key: &str) -> u64 {
    parked::field(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default(), key)
}

fn status_field(pid: u32, key: &str) -> u64 {
    parked::field(&std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default(), key)
}
