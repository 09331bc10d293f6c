//! How a row is measured: calibration (which is the warm-up), repetitions,
//! median and spread; and the one-line protocol by which a child process
//! running a row hands its figure to the parent.
//!
//! Every row runs in its own child process (this program re-executed with
//! `--row KEY` or `--mem KEY` and `GORT_PROCS` set for the row), because the
//! runtime reads `GORT_PROCS` once at start, and so that no row inherits
//! another's threads, heap or page cache state. The child prints one line,
//! `SWITCHLAB <numbers…>`, that the parent parses.

use std::process::Command;
use std::time::Duration;

use crate::perf::Sample;

/// How long and how often to measure.
pub struct Plan {
    pub quick: bool,
    /// Wall time of one repetition.
    pub target: Duration,
    pub reps: usize,
    /// Units parked at once by a memory row.
    pub parked: usize,
    /// Child processes per memory row.
    pub mem_reps: usize,
}

impl Plan {
    pub fn new(quick: bool) -> Plan {
        match quick {
            true => Plan { quick, target: Duration::from_millis(2), reps: 3, parked: 200, mem_reps: 1 },
            false => Plan { quick, target: Duration::from_millis(40), reps: 7, parked: 10_000, mem_reps: 3 },
        }
    }
}

/// Median and spread over repetitions, with the counters' medians.
pub struct Figure {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub instructions: Option<f64>,
    pub cycles: Option<f64>,
}

impl Figure {
    /// The numbers a child answers with.
    pub fn numbers(&self) -> [Option<f64>; 5] {
        [Some(self.median), Some(self.min), Some(self.max), self.instructions, self.cycles]
    }

    /// Back from a child's numbers.
    pub fn from_numbers(n: &[Option<f64>]) -> Result<Figure, String> {
        match *n {
            [Some(median), Some(min), Some(max), instructions, cycles] => {
                Ok(Figure { median, min, max, instructions, cycles })
            }
            _ => Err(format!("unexpected answer {n:?}")),
        }
    }
}

/// Measures a switch row in this process: calibration runs grow the count
/// until one run lasts a quarter of the target (they are the warm-up and
/// are discarded), then `reps` runs of about `target` each.
pub fn switch_figure(run: fn(u64) -> Sample, plan: &Plan) -> Figure {
    let iters = calibrate(run, plan.target);
    let samples: Vec<Sample> = (0..plan.reps).map(|_| run(iters)).collect();
    let per = |x: f64| x / iters as f64;
    let ns: Vec<f64> = samples.iter().map(|s| per(s.elapsed.as_nanos() as f64)).collect();
    let counts: Option<Vec<_>> = samples.iter().map(|s| s.counts).collect();
    let count = |pick: fn(&crate::perf::Counts) -> f64| {
        counts.as_ref().map(|c| median(&c.iter().map(|x| per(pick(x))).collect::<Vec<_>>()))
    };
    Figure { instructions: count(|c| c.instructions), cycles: count(|c| c.cycles), ..spread(&ns) }
}

/// An even switch count for which one run lasts about `target`.
fn calibrate(run: fn(u64) -> Sample, target: Duration) -> u64 {
    let mut n = 2u64;
    loop {
        let took = run(n).elapsed;
        if took >= target / 4 || n >= 1 << 40 {
            let scaled = n as f64 * target.as_secs_f64() / took.as_secs_f64().max(1e-9);
            return (scaled as u64).next_multiple_of(2).max(2);
        }
        n *= 4;
    }
}

/// Median, min and max of `xs` (not empty), without counters.
pub fn spread(xs: &[f64]) -> Figure {
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Figure { median: median(xs), min, max, instructions: None, cycles: None }
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() % 2 {
        1 => v[v.len() / 2],
        _ => (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0,
    }
}

/// Prints the child's answer: `SWITCHLAB` and the numbers, `-` for none.
pub fn answer(numbers: &[Option<f64>]) {
    let words: Vec<String> = numbers.iter().map(|n| n.map_or("-".into(), |x| format!("{x}"))).collect();
    println!("SWITCHLAB {}", words.join(" "));
}

/// Runs this program with `args` (and `GORT_PROCS=procs` if given, else
/// this process's environment), and returns the numbers of its `SWITCHLAB`
/// line, or what went wrong.
pub fn in_child(args: &[&str], procs: Option<usize>, plan: &Plan) -> Result<Vec<Option<f64>>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args(args);
    if let Some(n) = procs {
        cmd.env("GORT_PROCS", n.to_string());
    }
    if plan.quick {
        cmd.arg("--quick");
    }
    let out = cmd.output().map_err(|e| format!("spawn: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("SWITCHLAB "));
    match line {
        Some(l) if out.status.success() => Ok(l.split(' ').map(|w| w.parse().ok()).collect()),
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            let why = err.lines().skip_while(|l| !l.contains("panicked")).nth(1).unwrap_or("");
            Err(format!("{}: {why}", out.status))
        }
    }
}
