//! The context-switch lab works end to end: the `switchlab` example (which
//! `cargo test` builds beside the tests, in target/<profile>/examples/) run
//! with `--quick --json` reports every row with a positive figure.

use std::path::PathBuf;
use std::process::Command;

const SWITCH_ROWS: [&str; 9] = [
    "coro",
    "gort_yield_1p",
    "gort_chan_1p",
    "gort_chan_2p",
    "gort_tcp_1p",
    "futex_same_core",
    "futex_two_cores",
    "thread_mpsc",
    "pipe",
];
const MEMORY_ROWS: [&str; 4] = ["g_default", "g_min", "thread_default", "thread_min"];

/// target/<profile>/examples/switchlab, beside this test's deps directory.
fn switchlab() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
    profile.join("examples").join("switchlab")
}

/// The number after `"field":` in the object whose key is `key`.
fn field(json: &str, key: &str, field: &str) -> f64 {
    let object =
        json.split(&format!("\"key\":\"{key}\"")).nth(1).unwrap_or_else(|| panic!("row {key} missing"));
    let object = &object[..object.find('}').unwrap_or(object.len())];
    let value = object
        .split(&format!("\"{field}\":"))
        .nth(1)
        .unwrap_or_else(|| panic!("{key}: no {field} in {object}"));
    let number = value.split([',', '}']).next().unwrap();
    number.parse().unwrap_or_else(|_| panic!("{key}: {field} is {number:?}"))
}

#[test]
fn quick_json_reports_every_row_with_a_positive_figure() {
    let bin = switchlab();
    assert!(bin.exists(), "{} is missing: build it with `cargo build --example switchlab`", bin.display());
    let out = Command::new(&bin).args(["--quick", "--json"]).output().expect("run switchlab");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "switchlab failed: {stderr}");
    let json = String::from_utf8(out.stdout).expect("utf-8");
    let cores = json.split("\"cores\":").nth(1).and_then(|v| v.split(',').next()?.parse::<u32>().ok());
    for key in SWITCH_ROWS {
        if key == "futex_two_cores" && cores < Some(2) {
            continue;
        }
        assert!(field(&json, key, "ns_median") > 0.0, "{key}: {json}");
    }
    for key in MEMORY_ROWS {
        assert!(field(&json, key, "total_bytes") > 0.0, "{key}: {json}");
    }
    assert!(field(&json, "gort_yield_1p", "vs_gort_yield") == 1.0, "{json}");
}
