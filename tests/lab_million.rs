//! The `million` example end to end (built beside the tests, in
//! target/<profile>/examples/), at a size CI affords: both rows report a
//! plausible resident cost per parked unit, and the closing ratio follows
//! from them. Its thread row was once measured while the runtime gave the
//! goroutine burst's pages back, and printed a wrapped-around VmRSS growth
//! (1.8e12 KiB per thread).

use std::path::PathBuf;
use std::process::Command;

fn million() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
    profile.join("examples").join("million")
}

/// The resident KiB per parked unit on the table row of `model`.
fn resident_kib(out: &str, model: &str) -> f64 {
    let row = out
        .lines()
        .find(|l| l.starts_with(&format!("| {model} |")))
        .unwrap_or_else(|| panic!("no {model} row in:\n{out}"));
    let cell = row.split('|').nth(4).expect("resident column").trim();
    cell.strip_suffix(" KiB").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("resident cell {cell:?}"))
}

#[test]
fn both_rows_report_a_plausible_memory_per_parked_unit() {
    let out = Command::new(million())
        .args(["--gs", "200000", "--threads", "5000"])
        .output()
        .expect("run the million example (cargo test builds it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "million failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // Measured after the goroutines, the thread row would race the runtime
    // giving their pages back (at the default size it did, within a second).
    let (threads, goroutines) = (stdout.find("threads: VmRSS"), stdout.find("goroutines: "));
    assert!(threads.is_some() && threads < goroutines, "threads are not measured first:\n{stdout}");
    let (g, t) = (resident_kib(&stdout, "goroutine"), resident_kib(&stdout, "OS thread"));
    // A parked goroutine touches a page or two of stack; a parked thread
    // its stack's top pages and glibc's per-thread state.
    assert!((0.5..64.0).contains(&g), "goroutine row: {g} KiB\n{stdout}");
    assert!((1.0..256.0).contains(&t), "thread row: {t} KiB\n{stdout}");
    let ratio = stdout
        .lines()
        .find_map(|l| l.strip_prefix("a parked goroutine costs "))
        .and_then(|l| l.split('x').next()?.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no ratio line in:\n{stdout}"));
    assert!((1.0..1000.0).contains(&ratio), "ratio {ratio}\n{stdout}");
}
