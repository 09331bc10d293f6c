//! `--flag 1ms`-style durations for the http examples (`pool`, `loadgen`),
//! each including this file with `#[path]`.

use std::time::Duration;

/// `"250us"`, `"1ms"`, `"10s"` or `"0"` as a `Duration`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "" if n == 0.0 => 0.0,
        _ => return Err(format!("bad duration {s:?}: use us, ms or s")),
    };
    Ok(Duration::from_secs_f64(secs))
}
