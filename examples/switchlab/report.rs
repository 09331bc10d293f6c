//! What the lab prints: the machine header, the switch and memory tables in
//! markdown with the figures the runtime must clear, or all of it as JSON
//! (written by hand: the lab has no serde) for comparing runs across commits.

use std::fmt::Write;

use crate::measure::{Figure, Plan};
use crate::memory::MemRow;
use crate::{perf, MemFigure, Row};

type SwitchRows<'a> = [(&'a Row, Result<Figure, String>)];
type MemRows<'a> = [(&'a MemRow, Result<MemFigure, String>)];

const CONVENTION: &str = "one switch = one hand-off of the CPU in one direction; \
                          a ping-pong round trip = 2 switches";

/// The machine the figures come from.
struct Machine {
    cpu: String,
    cores: usize,
    kernel: String,
    perf: String,
}

impl Machine {
    fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo.lines().find_map(|l| l.strip_prefix("model name")?.split_once(':'));
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        Machine {
            cpu: cpu.map_or("unknown", |(_, m)| m.trim()).to_string(),
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            kernel: kernel.trim().to_string(),
            perf: perf::describe(),
        }
    }
}

pub fn print(json: bool, plan: &Plan, switch: &SwitchRows, mem: &MemRows) {
    let m = Machine::read();
    match json {
        true => println!("{}", to_json(&m, plan, switch, mem)),
        false => println!("{}", to_markdown(&m, plan, switch, mem)),
    }
}

/// The gort yield median of this run, the unit of the "vs" column.
fn gort_yield(switch: &SwitchRows) -> Option<f64> {
    switch.iter().find(|(r, _)| r.key == "gort_yield_1p").and_then(|(_, f)| Some(f.as_ref().ok()?.median))
}

fn to_markdown(m: &Machine, plan: &Plan, switch: &SwitchRows, mem: &MemRows) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# gort context-switch lab\n");
    let _ = writeln!(s, "- CPU: {} · {} cores available · Linux {}", m.cpu, m.cores, m.kernel);
    let _ = writeln!(s, "- perf counters (instructions, cycles): {}", m.perf);
    let _ = writeln!(s, "- convention: {CONVENTION}");
    let _ = writeln!(
        s,
        "- method: each row in its own process; warm-up runs, then {} runs of ~{} ms; median and min–max\n",
        plan.reps,
        plan.target.as_millis()
    );
    let _ = writeln!(s, "| what switches | how | ns per switch (median) | spread (min–max) | instructions/switch | cycles/switch | vs gort yield |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    let base = gort_yield(switch);
    for (r, f) in switch {
        let cells = match f {
            Ok(f) => format!(
                "{} | {}–{} | {} | {} | {}",
                num(f.median),
                num(f.min),
                num(f.max),
                f.instructions.map_or("n/a".into(), num),
                f.cycles.map_or("n/a".into(), num),
                base.map_or("n/a".into(), |b| ratio(f.median / b))
            ),
            Err(e) => format!("n/a ({e}) | | | | |"),
        };
        let _ = writeln!(s, "| {} | {} | {cells} |", r.what, r.how);
    }
    memory_markdown(&mut s, plan, mem);
    bars(&mut s, switch);
    s
}

fn memory_markdown(s: &mut String, plan: &Plan, mem: &MemRows) {
    let _ = writeln!(s, "\n{} parked at once, {} process(es) per row:\n", plan.parked, plan.mem_reps);
    let _ = writeln!(s, "| what is parked | stack | resident (RSS + PTE) | + kernel stack | total per parked (median) | spread (min–max) | vs parked G |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    let base = mem.first().and_then(|(_, f)| Some(f.as_ref().ok()?.total.median));
    for (r, f) in mem {
        let cells = match f {
            Ok(f) => format!(
                "{} | {} | {} | {}–{} | {}",
                bytes(f.resident),
                bytes(f.kernel),
                bytes(f.total.median),
                bytes(f.total.min),
                bytes(f.total.max),
                base.map_or("n/a".into(), |b| ratio(f.total.median / b))
            ),
            Err(e) => format!("n/a ({e}) | | | | |"),
        };
        let _ = writeln!(s, "| {} | {} | {cells} |", r.what, r.stack);
    }
}

/// The figures the runtime must clear, checked against this run.
fn bars(s: &mut String, switch: &SwitchRows) {
    let median = |key: &str| switch.iter().find(|(r, _)| r.key == key)?.1.as_ref().ok().map(|f| f.median);
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let _ = writeln!(s);
    if let Some(y) = median("gort_yield_1p") {
        let _ = writeln!(s, "- gort yield ≤ 25 ns per switch: {} ns, {}", num(y), verdict(y <= 25.0));
    }
    if let Some(c) = median("gort_chan_1p") {
        let rt = 2.0 * c;
        let _ = writeln!(
            s,
            "- gort chan ping-pong ≤ 100 ns per round trip: {} ns, {}",
            num(rt),
            verdict(rt <= 100.0)
        );
    }
    for (key, what) in [("gort_yield_1p", "yield"), ("gort_chan_1p", "chan ping-pong")] {
        if let (Some(g), Some(f)) = (median(key), median("futex_two_cores")) {
            let _ = writeln!(
                s,
                "- gort {what} ≥ 20x cheaper than futex on two cores: {}, {}",
                ratio(f / g),
                verdict(f / g >= 20.0)
            );
        }
    }
}

/// Three significant figures, no exponent.
fn num(x: f64) -> String {
    match x.abs() {
        a if a >= 100.0 => format!("{x:.0}"),
        a if a >= 10.0 => format!("{x:.1}"),
        _ => format!("{x:.2}"),
    }
}

fn ratio(x: f64) -> String {
    format!("{}x", num(x))
}

fn bytes(b: f64) -> String {
    format!("{} KiB", num(b / 1024.0))
}

fn to_json(m: &Machine, plan: &Plan, switch: &SwitchRows, mem: &MemRows) -> String {
    let base = gort_yield(switch);
    let rows: Vec<String> = switch.iter().map(|(r, f)| switch_json(r, f, base)).collect();
    let mems: Vec<String> = mem.iter().map(|(r, f)| mem_json(r, f, plan.parked)).collect();
    format!(
        "{{\"cpu\":{},\"cores\":{},\"kernel\":{},\"perf\":{},\"convention\":{},\"reps\":{},\"rep_ms\":{},\
         \"switch\":[{}],\"memory\":[{}]}}",
        string(&m.cpu),
        m.cores,
        string(&m.kernel),
        string(&m.perf),
        string(CONVENTION),
        plan.reps,
        plan.target.as_millis(),
        rows.join(","),
        mems.join(",")
    )
}

fn switch_json(r: &Row, f: &Result<Figure, String>, base: Option<f64>) -> String {
    let head = format!(
        "\"key\":{},\"what\":{},\"how\":{},\"procs\":{}",
        string(r.key),
        string(r.what),
        string(r.how),
        opt(r.procs.map(|n| n as f64))
    );
    match f {
        Ok(f) => format!(
            "{{{head},\"ns_median\":{},\"ns_min\":{},\"ns_max\":{},\"instructions\":{},\"cycles\":{},\"vs_gort_yield\":{}}}",
            f.median,
            f.min,
            f.max,
            opt(f.instructions),
            opt(f.cycles),
            opt(base.map(|b| f.median / b))
        ),
        Err(e) => format!("{{{head},\"error\":{}}}", string(e)),
    }
}

fn mem_json(r: &MemRow, f: &Result<MemFigure, String>, parked: usize) -> String {
    let head = format!(
        "\"key\":{},\"what\":{},\"stack\":{},\"parked\":{parked}",
        string(r.key),
        string(r.what),
        string(r.stack)
    );
    match f {
        Ok(f) => format!(
            "{{{head},\"resident_bytes\":{},\"kernel_bytes\":{},\"total_bytes\":{},\"total_min\":{},\"total_max\":{}}}",
            f.resident, f.kernel, f.total.median, f.total.min, f.total.max
        ),
        Err(e) => format!("{{{head},\"error\":{}}}", string(e)),
    }
}

fn opt(x: Option<f64>) -> String {
    x.map_or("null".into(), |v| v.to_string())
}

/// A JSON string literal.
fn string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
