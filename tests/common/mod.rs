//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Env var that tells a test it runs as the child of `run_child`.
pub const CHILD: &str = "GORT_TEST_CHILD";

/// Whether this process is a child started by `run_child`.
pub fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Re-runs the current test binary with only `test` selected and `envs` set,
/// and returns what it printed. The child sees `is_child() == true`.
pub fn run_child(test: &str, envs: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"]).env(CHILD, "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("spawn child test process")
}

/// target/<profile>/examples/`name`, the example binary `cargo test` builds
/// beside the tests; fails, naming the command, when it is missing.
pub fn example_bin(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
    let bin = profile.join("examples").join(name);
    assert!(bin.exists(), "{} is missing: build it with `cargo build --example {name}`", bin.display());
    bin
}

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    cond()
}

/// Asserts that a goroutine spawned now runs within 5 s: no M is held
/// by a wait that should have parked. When it does not, `wedged` (the
/// server and connections of the test) is leaked rather than dropped,
/// since dropping it would wait for the stuck goroutines forever, and the
/// test panics with `while`.
pub fn assert_a_new_goroutine_runs<T>(wedged: T, while_: &str) -> T {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    gort::go!(move || done_tx.send(6 * 7).unwrap());
    if done_rx.recv_timeout(Duration::from_secs(5)) != Ok(42) {
        std::mem::forget(wedged);
        panic!("a new goroutine did not run while {while_}");
    }
    wedged
}

/// A connected TCP pair over loopback: (client, server side).
pub fn tcp_pair() -> (gort::net::TcpStream, gort::net::TcpStream) {
    let ln = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = gort::net::TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    (c, ln.accept().unwrap().0)
}

/// Reads from `r` into a roomy buffer (so every read may come back short)
/// until `n` bytes came; fails, naming `what`, on EOF or an error (a read
/// timeout, say) before that.
pub fn read_n_in_pieces(mut r: impl std::io::Read, n: usize, what: &str) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 100];
    while got.len() < n {
        match r.read(&mut buf) {
            Ok(k @ 1..) => got.extend_from_slice(&buf[..k]),
            r => panic!("{what}: {r:?} after {:?}", String::from_utf8_lossy(&got)),
        }
    }
    got
}
