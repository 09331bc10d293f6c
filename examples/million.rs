//! One million goroutines parked at once, and what each costs, beside the
//! same measurement for parked OS threads in the same run.
//!
//! ```text
//! cargo run --release --example million [-- --gs 1000000 --threads 10000]
//! ```
//!
//! Each goroutine parks joining its predecessor, so the million form one
//! chain; the first waits for a flag. Resident cost is VmRSS + VmPTE from
//! /proc/self/status, before and after, divided by the count; for threads the
//! growth of `KernelStack` in /proc/meminfo is shown too, since a thread keeps
//! part of its cost in the kernel. The threads are measured first: after
//! the goroutines' burst, the runtime gives their stacks' pages back over
//! the next seconds (README: "Memory comes back after a burst"), which
//! would shrink VmRSS under a thread measurement made then. The parking
//! and reading live in `common/parked.rs`, shared with `switchlab`.

use std::time::{Duration, Instant};

use clap::Parser;

#[path = "common/flags.rs"]
mod flags;
#[path = "common/parked.rs"]
mod parked;

use parked::{Chain, Mem, Sleepers};

/// One million goroutines parked at once, beside parked OS threads.
#[derive(Parser)]
#[command(name = "million")]
struct Args {
    /// Goroutines to park at once.
    #[arg(long, value_name = "N", default_value_t = 1_000_000, value_parser = flags::count)]
    gs: usize,
    /// OS threads to park at once.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = flags::count)]
    threads: usize,
}

fn main() {
    let Args { gs, threads } = Args::parse();
    println!("gort million: {gs} goroutines vs {threads} OS threads, all parked at once\n");
    let t = os_threads(threads);
    let g = goroutines(gs);
    println!(
        "| model | parked at once | spawn per unit | resident per parked (RSS + PTE) | + kernel stack |"
    );
    println!("|---|---|---|---|---|");
    for r in [&g, &t] {
        println!(
            "| {} | {} | {:.0} ns | {:.2} KiB | {:.2} KiB |",
            r.model,
            r.count,
            r.spawn.as_nanos() as f64 / r.count as f64,
            r.resident as f64 / r.count as f64 / 1024.0,
            r.kernel as f64 / r.count as f64 / 1024.0
        );
    }
    let per_g = (g.resident + g.kernel) as f64 / g.count as f64;
    let per_t = (t.resident + t.kernel) as f64 / t.count as f64;
    println!("\na parked goroutine costs {:.1}x less memory than a parked OS thread", per_t / per_g);
}

struct Row {
    model: &'static str,
    count: usize,
    spawn: Duration,
    resident: u64,
    kernel: u64,
}

fn goroutines(n: usize) -> Row {
    gort::go!(|| ()).join().unwrap(); // start the runtime before the baseline
    let before = Mem::now();
    let start = Instant::now();
    let chain = Chain::spawn(n, None);
    let spawn = start.elapsed();
    chain.wait_parked();
    let grew = Mem::now().growth(&before);
    let s = gort::stats();
    println!(
        "goroutines: {} live, {} stacks reserved, {} Ms, VmRSS +{} MiB, VmPTE +{} MiB, /proc/self/maps {} lines",
        s.gs,
        s.stacks,
        s.ms,
        grew.rss >> 20,
        grew.pte >> 20,
        maps_lines()
    );
    let t = Instant::now();
    chain.release();
    println!("goroutines: released the chain of {n} joins in {:?}\n", t.elapsed());
    Row { model: "goroutine", count: n, spawn, resident: grew.resident(), kernel: 0 }
}

fn os_threads(n: usize) -> Row {
    let before = Mem::now();
    let start = Instant::now();
    let sleepers = Sleepers::spawn(n, None);
    let spawn = start.elapsed();
    sleepers.wait_parked();
    let grew = Mem::now().growth(&before);
    println!(
        "threads: VmRSS +{} MiB, VmPTE +{} MiB, KernelStack +{} MiB",
        grew.rss >> 20,
        grew.pte >> 20,
        grew.kernel_stack >> 20
    );
    sleepers.release();
    Row { model: "OS thread", count: n, spawn, resident: grew.resident(), kernel: grew.kernel_stack }
}

fn maps_lines() -> usize {
    std::fs::read_to_string("/proc/self/maps").map_or(0, |m| m.lines().count())
}
