//! `GORT_DEBUG` diagnostics, each in a child process with the variable
//! set: the schedtrace line's shape, and the blocked-M warning for a
//! goroutine that spins without entering the runtime.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Env var telling the blocked-M child how long to spin, in ms.
const SPIN_MS: &str = "RT_DEBUG_SPIN_MS";

/// What the blocked-M warning says.
const WARNING: &str = "has kept its M for";

/// Goroutines the schedtrace child keeps busy yielding.
const YIELDERS: usize = 4;

/// The figures of one schedtrace line, by key, and its local queues.
struct TraceLine {
    fields: Vec<(String, u64)>,
    local_queues: Vec<u64>,
}

impl TraceLine {
    /// Parses `SCHED <n>ms: key=value… runqueue=<n> [<n> …] key=value…`.
    fn parse(line: &str) -> Option<TraceLine> {
        let rest = line.strip_prefix("SCHED ")?;
        let (uptime, rest) = rest.split_once("ms: ")?;
        let (head, rest) = rest.split_once(" [")?;
        let (queues, tail) = rest.split_once("] ")?;
        let mut fields = vec![("uptime".to_string(), uptime.parse().ok()?)];
        for kv in head.split(' ').chain(tail.split(' ')) {
            let (k, v) = kv.split_once('=')?;
            fields.push((k.to_string(), v.parse().ok()?));
        }
        let local_queues = queues.split(' ').map(|n| n.parse().ok()).collect::<Option<_>>()?;
        Some(TraceLine { fields, local_queues })
    }

    fn get(&self, key: &str) -> u64 {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v).unwrap_or_else(|| panic!("no {key}"))
    }

    fn keys(&self) -> Vec<&str> {
        self.fields.iter().map(|(k, _)| k.as_str()).collect()
    }
}

#[test]
fn schedtrace_prints_go_shaped_lines() {
    if common::is_child() {
        let stop = Arc::new(AtomicBool::new(false));
        let hs: Vec<_> = (0..YIELDERS)
            .map(|_| {
                let stop = stop.clone();
                gort::go!(move || {
                    while !stop.load(Ordering::Relaxed) {
                        gort::yield_now();
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(400));
        stop.store(true, Ordering::Relaxed);
        hs.into_iter().for_each(|h| h.join().unwrap());
        return;
    }
    let out = common::run_child(
        "schedtrace_prints_go_shaped_lines",
        &[("GORT_DEBUG", "schedtrace=50"), ("GORT_PROCS", "2")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {err}");
    let lines: Vec<_> = err.lines().filter(|l| l.starts_with("SCHED ")).collect();
    assert!(lines.len() >= 2, "stderr: {err}");
    let parsed: Vec<_> =
        lines.iter().map(|l| TraceLine::parse(l).unwrap_or_else(|| panic!("bad line {l:?}"))).collect();
    let want = [
        "uptime",
        "gomaxprocs",
        "idleprocs",
        "threads",
        "spinningthreads",
        "runqueue",
        "goroutines",
        "switches/s",
        "steals/s",
        "netpollwakes/s",
    ];
    for t in &parsed {
        assert_eq!(t.keys(), want);
        assert_eq!(t.get("gomaxprocs"), 2);
        assert_eq!(t.local_queues.len(), 2);
        assert!(t.get("idleprocs") <= 2 && t.get("threads") >= 1);
    }
    assert!(parsed.windows(2).all(|w| w[0].get("uptime") < w[1].get("uptime")), "stderr: {err}");
    assert!(parsed.iter().any(|t| t.get("goroutines") >= YIELDERS as u64), "stderr: {err}");
    assert!(parsed.iter().any(|t| t.get("switches/s") > 0), "stderr: {err}");
}

/// Spins a goroutine named "spinner" for `SPIN_MS` without a runtime call,
/// while another one sleeps in short steps: its timers wake sysmon, which
/// would otherwise sleep up to a second in an idle process (`preempt.rs`).
fn spin_child() {
    let ms: u64 = std::env::var(SPIN_MS).unwrap().parse().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let stop = stop.clone();
        gort::go!(move || {
            while !stop.load(Ordering::Relaxed) {
                gort::time::sleep(Duration::from_millis(2));
            }
        })
    };
    let spinner = gort::go!(gort::Builder::new().name("spinner"), move || {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(ms) {
            std::hint::spin_loop();
        }
    })
    .unwrap();
    spinner.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    ticker.join().unwrap();
}

fn spin_in_child(ms: &str) -> String {
    let out = common::run_child(
        "blocked_m_warning_fires_for_a_long_spin_only",
        &[(SPIN_MS, ms), ("GORT_PROCS", "2")],
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "stderr: {err}");
    err
}

#[test]
fn blocked_m_warning_fires_for_a_long_spin_only() {
    if common::is_child() {
        return spin_child();
    }
    let err = spin_in_child("200");
    let warnings: Vec<_> = err.lines().filter(|l| l.contains(WARNING)).collect();
    assert_eq!(warnings.len(), 1, "stderr: {err}");
    let w = warnings[0];
    assert!(w.starts_with("gort: goroutine ") && w.contains(" (\"spinner\"), spawned at "), "{w}");
    assert!(w.contains("tests/rt_debug.rs:"), "{w}");
    let err = spin_in_child("50");
    assert!(!err.contains(WARNING), "stderr: {err}");
}

/// A goroutine that sleeps in long steps in an otherwise idle process: each
/// wake-up takes an idle P whose tick sysmon last saw before its deep sleep.
fn sleeper_child() {
    gort::go!(gort::Builder::new().name("sleeper"), || {
        for _ in 0..4 {
            gort::time::sleep(Duration::from_millis(300));
        }
    })
    .unwrap()
    .join()
    .unwrap();
    eprintln!("sleeper done");
}

#[test]
fn an_idle_p_taken_after_sysmons_deep_sleep_is_not_a_blocked_m() {
    if common::is_child() {
        return sleeper_child();
    }
    let out = common::run_child(
        "an_idle_p_taken_after_sysmons_deep_sleep_is_not_a_blocked_m",
        &[("GORT_PROCS", "2")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.contains("sleeper done"), "stderr: {err}");
    assert!(!err.contains(WARNING), "stderr: {err}");
}
