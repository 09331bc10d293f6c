//! Hardware counters around a measured loop: instructions and cycles from
//! `perf_event_open` (PERF_TYPE_HARDWARE), beside the wall time.
//!
//! The `Meter` probe opens one counter pair on *every thread of the process*
//! that exists when the loop starts (read from /proc/self/task), plus every
//! thread of the peer processes a row names (the pipe's echo process), and
//! sums them: both sides of a ping-pong are counted, idle threads add
//! nothing. Threads created during the loop are not counted. Kernel work is
//! counted too where `perf_event_paranoid` (or root) allows; otherwise user
//! space only, and the header says so. Counts are scaled by
//! time-enabled / time-running in case the kernel multiplexed the counters.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::switches::Probe;

const PERF_TYPE_HARDWARE: u32 = 0;
const HW_CPU_CYCLES: u64 = 0;
const HW_INSTRUCTIONS: u64 = 1;
/// read_format: TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING.
const READ_TIMES: u64 = 1 | 2;
/// attr flag bits: disabled, exclude_kernel, exclude_hv.
const DISABLED: u64 = 1;
const EXCLUDE_KERNEL: u64 = 1 << 5;
const EXCLUDE_HV: u64 = 1 << 6;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
const IOC_ENABLE: libc::c_ulong = 0x2400;
const IOC_DISABLE: libc::c_ulong = 0x2401;

/// `struct perf_event_attr` up to `config1` (PERF_ATTR_SIZE_VER0, 64 bytes).
#[repr(C)]
struct Attr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

/// Counter totals of one measured loop.
#[derive(Clone, Copy)]
pub struct Counts {
    pub instructions: f64,
    pub cycles: f64,
}

/// What `Meter` measured.
pub struct Sample {
    pub elapsed: Duration,
    pub counts: Option<Counts>,
}

/// The attr flags the kernel accepted, or why counting is impossible.
fn flags() -> &'static Result<u64, String> {
    static FLAGS: OnceLock<Result<u64, String>> = OnceLock::new();
    FLAGS.get_or_init(|| {
        let all = DISABLED | EXCLUDE_HV;
        let user = all | EXCLUDE_KERNEL;
        let all_err = match open(0, HW_INSTRUCTIONS, all) {
            Ok(_) => return Ok(all),
            Err(e) => e,
        };
        open(0, HW_INSTRUCTIONS, user).map(|_| user).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => format!("perf_event_open: {e} (no hardware PMU, e.g. a VM without one)"),
            _ => format!("perf_event_open: user + kernel: {all_err}; user only: {e}"),
        })
    })
}

/// One line for the header: what the counters cover, or why they are off.
pub fn describe() -> String {
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid");
    let paranoid = paranoid.as_deref().map_or("?", str::trim).to_string();
    match flags() {
        Ok(f) if f & EXCLUDE_KERNEL == 0 => {
            format!("yes, user + kernel, all threads of both sides (perf_event_paranoid = {paranoid})")
        }
        Ok(_) => format!("user space only, all threads of both sides (perf_event_paranoid = {paranoid})"),
        Err(e) => format!("not available: {e} (perf_event_paranoid = {paranoid})"),
    }
}

fn open(tid: i32, config: u64, flags: u64) -> io::Result<File> {
    let attr = Attr {
        kind: PERF_TYPE_HARDWARE,
        size: size_of::<Attr>() as u32,
        config,
        sample_period: 0,
        sample_type: 0,
        read_format: READ_TIMES,
        flags,
        wakeup_events: 0,
        bp_type: 0,
        config1: 0,
    };
    // SAFETY: `attr` is a valid PERF_ATTR_SIZE_VER0 attr that outlives the
    // call; the other arguments are plain integers.
    let fd = unsafe { libc::syscall(libc::SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us and nobody else owns it.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
}

fn ioctl(f: &File, req: libc::c_ulong) {
    // SAFETY: `f` is a live perf event fd; ENABLE/DISABLE take no argument.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), req, 0) };
    debug_assert_eq!(rc, 0, "switchlab: perf ioctl {req:#x}: {}", io::Error::last_os_error());
}

/// The count of one event, scaled for multiplexing. A thread that never ran
/// counts 0; a counter that was enabled but never got a hardware slot, None.
fn read_scaled(mut f: &File) -> Option<f64> {
    let mut buf = [0u8; 24];
    f.read_exact(&mut buf).ok()?;
    let word = |i: usize| u64::from_ne_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap());
    match (word(0), word(1), word(2)) {
        (_, 0, _) => Some(0.0),
        (_, _, 0) => None,
        (value, enabled, running) => Some(value as f64 * enabled as f64 / running as f64),
    }
}

/// Every thread id of this process and of `peers`.
fn tasks(peers: &[u32]) -> Vec<i32> {
    let dirs =
        std::iter::once("/proc/self/task".to_string()).chain(peers.iter().map(|p| format!("/proc/{p}/task")));
    dirs.filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Wall time plus, where allowed, instructions and cycles of every thread.
pub struct Meter {
    counters: Vec<(File, File)>,
    start: Instant,
}

impl Probe for Meter {
    type Out = Sample;

    fn start(peers: &[u32]) -> Meter {
        let counters = match flags() {
            Ok(f) => {
                let pair = |t| Some((open(t, HW_INSTRUCTIONS, *f).ok()?, open(t, HW_CPU_CYCLES, *f).ok()?));
                tasks(peers).into_iter().filter_map(pair).collect()
            }
            Err(_) => Vec::new(),
        };
        for (i, c) in &counters {
            ioctl(i, IOC_ENABLE);
            ioctl(c, IOC_ENABLE);
        }
        Meter { counters, start: Instant::now() }
    }

    fn stop(self) -> Sample {
        let elapsed = self.start.elapsed();
        for (i, c) in &self.counters {
            ioctl(i, IOC_DISABLE);
            ioctl(c, IOC_DISABLE);
        }
        let sum = |pick: fn(&(File, File)) -> &File| -> Option<f64> {
            self.counters.iter().map(|p| read_scaled(pick(p))).sum()
        };
        let counts = match (sum(|p| &p.0), sum(|p| &p.1)) {
            (Some(instructions), Some(cycles)) if !self.counters.is_empty() => {
                Some(Counts { instructions, cycles })
            }
            _ => None,
        };
        Sample { elapsed, counts }
    }
}
