//! The context-switch lab: what one switch costs, from a raw coroutine
//! through gort's scheduler to OS threads and processes, and what a parked
//! goroutine costs in memory beside a parked thread, all in one run.
//!
//! ```text
//! cargo run --release --example switchlab [-- --json] [--quick]
//! ```
//!
//! Prints the machine (CPU, cores, kernel, whether perf counters work) and
//! two markdown tables, or the same as JSON with `--json`. A *switch* is one
//! hand-off of the CPU in one direction; a ping-pong round trip is two (see
//! `switches.rs`). Each row runs in its own child process (`measure.rs`),
//! with warm-up, repetitions, median and spread; ratios are against gort
//! `yield_now` measured in the same run.

mod measure;
mod memory;
mod perf;
mod report;
mod switches;

#[path = "../common/parked.rs"]
mod parked;

use clap::Parser;
use measure::{Figure, Plan};
use memory::MemRow;
use perf::{Meter, Sample};

/// One row of the switch table: what switches, how, the `GORT_PROCS` of the
/// child process that runs it (None: the row does not use gort), and its
/// loop (`switches.rs`).
struct Row {
    key: &'static str,
    what: &'static str,
    how: &'static str,
    procs: Option<usize>,
    run: fn(u64) -> Sample,
}

/// The switch rows, in table order. A new row is a function
/// `pub fn name<P: Probe>(iters: u64) -> P::Out` in `switches.rs` that runs
/// `iters` switches between `P::start` and `P::stop`, one entry here, and
/// one `bench_function` line in `benches/switch.rs`.
const ROWS: &[Row] = &[
    Row {
        key: "coro",
        what: "raw corosensei resume/yield",
        how: "no scheduler: save/restore callee-saved registers + stack pointer",
        procs: Some(1),
        run: switches::coro::<Meter>,
    },
    Row {
        key: "gort_yield_1p",
        what: "gort `yield_now`, 1 P",
        how: "scheduler round trip: G → M loop → run queue → G",
        procs: Some(1),
        run: switches::gort_yield::<Meter>,
    },
    Row {
        key: "gort_chan_1p",
        what: "gort unbuffered chan ping-pong, 1 P",
        how: "park + ready into runnext: the receiver inherits the time slice",
        procs: Some(1),
        run: switches::gort_chan::<Meter>,
    },
    Row {
        key: "gort_chan_2p",
        what: "gort unbuffered chan ping-pong, 2 Ps",
        how: "as above; the partner may be stolen by, or woken on, the other P",
        procs: Some(2),
        run: switches::gort_chan::<Meter>,
    },
    Row {
        key: "gort_tcp_1p",
        what: "gort TCP loopback ping-pong, 1 P",
        how: "netpoller park/ready: read parks on EAGAIN, epoll readiness readies",
        procs: Some(1),
        run: switches::gort_tcp::<Meter>,
    },
    Row {
        key: "futex_same_core",
        what: "OS threads: futex (parking_lot) ping-pong, same core",
        how: "kernel switch: syscall, scheduler, register + FPU state",
        procs: None,
        run: switches::futex_same_core::<Meter>,
    },
    Row {
        key: "futex_two_cores",
        what: "OS threads: futex (parking_lot) ping-pong, two cores",
        how: "kernel switch + cross-core wake-up (IPI), idle exit",
        procs: None,
        run: switches::futex_two_cores::<Meter>,
    },
    Row {
        key: "thread_mpsc",
        what: "OS threads: std mpsc ping-pong",
        how: "kernel switch, unpinned; mpsc spins a little before it sleeps",
        procs: None,
        run: switches::thread_mpsc::<Meter>,
    },
    Row {
        key: "pipe",
        what: "two processes over a pipe",
        how: "kernel switch + address-space switch (page tables, TLB)",
        procs: None,
        run: switches::pipe::<Meter>,
    },
];

/// The context-switch lab: switch costs from a raw coroutine to OS
/// processes, and parked memory, in one run.
#[derive(Parser)]
#[command(name = "switchlab")]
struct Args {
    /// Print the tables as JSON.
    #[arg(long)]
    json: bool,
    /// Short runs with few repetitions (a smoke test: rough figures).
    #[arg(long)]
    quick: bool,
    /// Child mode: measure this switch row and answer.
    #[arg(long, value_name = "KEY", hide = true, conflicts_with = "mem")]
    row: Option<String>,
    /// Child mode: measure this memory row and answer.
    #[arg(long, value_name = "KEY", hide = true)]
    mem: Option<String>,
}

/// The row a child process runs (`--row KEY` or `--mem KEY`).
enum Child {
    Switch(String),
    Memory(String),
}

fn main() {
    switches::serve_pipe_echo();
    let args = Args::parse();
    let plan = Plan::new(args.quick);
    match args.row.map(Child::Switch).or(args.mem.map(Child::Memory)) {
        Some(c) => child(&c, &plan),
        None => {
            let switch: Vec<_> = ROWS.iter().map(|r| (r, switch_row(r, &plan))).collect();
            let mem: Vec<_> = memory::ROWS.iter().map(|r| (r, mem_row(r, &plan))).collect();
            report::print(args.json, &plan, &switch, &mem);
        }
    }
}

/// Runs one row in this (child) process and prints its answer line.
fn child(c: &Child, plan: &Plan) {
    match c {
        Child::Switch(key) => {
            let row = ROWS.iter().find(|r| r.key == key).expect("switchlab: no such row");
            measure::answer(&measure::switch_figure(row.run, plan).numbers());
        }
        Child::Memory(key) => {
            let row = memory::ROWS.iter().find(|r| r.key == key).expect("switchlab: no such memory row");
            measure::answer(&row.measure(plan.parked).map(Some));
        }
    }
}

fn switch_row(row: &Row, plan: &Plan) -> Result<Figure, String> {
    eprintln!("switchlab: {} …", row.key);
    Figure::from_numbers(&measure::in_child(&["--row", row.key], row.procs, plan)?)
}

/// A memory row's figures: medians of resident and kernel bytes per unit,
/// and the median and spread of their sum.
struct MemFigure {
    resident: f64,
    kernel: f64,
    total: Figure,
}

fn mem_row(row: &MemRow, plan: &Plan) -> Result<MemFigure, String> {
    eprintln!("switchlab: {} ({} parked) …", row.key, plan.parked);
    let mut reps = Vec::new();
    for _ in 0..plan.mem_reps {
        match measure::in_child(&["--mem", row.key], None, plan)?[..] {
            [Some(r), Some(k)] => reps.push([r, k]),
            ref n => return Err(format!("unexpected answer {n:?}")),
        }
    }
    let pick = |i: usize| measure::spread(&reps.iter().map(|x| x[i]).collect::<Vec<_>>()).median;
    let total = measure::spread(&reps.iter().map(|x| x[0] + x[1]).collect::<Vec<_>>());
    Ok(MemFigure { resident: pick(0), kernel: pick(1), total })
}
