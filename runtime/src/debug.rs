//! `GORT_DEBUG`: the runtime's diagnostic switches (Go's `GODEBUG`), read
//! once at start, and the schedtrace thread they can start.
//!
//! `GORT_DEBUG` is a comma-separated list of `key=value`:
//!
//! - `schedtrace=<ms>`: every `<ms>` milliseconds a thread of its own
//!   (`gort-schedtrace`, so that sysmon's deep sleeps do not delay it)
//!   prints one line to stderr in the shape of Go's schedtrace:
//!
//!   ```text
//!   SCHED 1000ms: gomaxprocs=2 idleprocs=1 threads=3 spinningthreads=0 runqueue=0 [0 3] goroutines=12 switches/s=5400 steals/s=3 netpollwakes/s=200
//!   ```
//!
//!   uptime since the runtime started, the Ps, the idle Ps, the Ms, the
//!   spinning Ms, the global queue's length and each P's local queue
//!   (`runnext` included), the live goroutines, and the rates of switches,
//!   steals and goroutines readied by the netpoller over the last period.
//!   Every figure is read without stopping the world (`gort::stats()`),
//!   so a line is a sketch, not an atomic snapshot.
//! - `blockwarn=<ms>`: how long a goroutine may keep its M without a
//!   runtime call before sysmon warns (`preempt.rs`); 100 by default, 0
//!   turns the warning off.
//! - `deadlock=0`: no deadlock report. By default, when every goroutine
//!   and the main thread wait on each other for good, sysmon prints
//!   `fatal error: all goroutines are asleep - deadlock!` and the
//!   goroutine dump, and exits with status 2 (`sched/deadlock.rs` says
//!   exactly when).
//!
//! An unknown key or a value that is not a number is reported on stderr
//! and ignored.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use crate::sched::deadlock::RuntimeThread;
use crate::stats::{stats, Stats};

/// The blocked-M warning's threshold unless `blockwarn` sets one.
const DEFAULT_BLOCKWARN: Duration = Duration::from_millis(100);

/// What `GORT_DEBUG` asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    /// The schedtrace period; `None`: no trace.
    pub(crate) schedtrace: Option<Duration>,
    /// The blocked-M warning's threshold; `None`: no warning.
    pub(crate) blockwarn: Option<Duration>,
    /// Whether sysmon reports a deadlock.
    pub(crate) deadlock: bool,
}

/// The settings, parsed from the environment on first use.
pub(crate) fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| parse(&std::env::var("GORT_DEBUG").unwrap_or_default()))
}

fn parse(v: &str) -> Settings {
    let mut s = Settings { schedtrace: None, blockwarn: Some(DEFAULT_BLOCKWARN), deadlock: true };
    for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, ms) = item.split_once('=').unwrap_or((item, ""));
        let Ok(ms) = ms.trim().parse::<u64>() else {
            eprintln!("gort: ignoring GORT_DEBUG item {item:?}: expected key=<number>");
            continue;
        };
        let period = Some(Duration::from_millis(ms)).filter(|d| !d.is_zero());
        match key.trim() {
            "schedtrace" => s.schedtrace = period,
            "blockwarn" => s.blockwarn = period,
            "deadlock" => s.deadlock = ms != 0,
            other => eprintln!("gort: ignoring unknown GORT_DEBUG key {other:?}"),
        }
    }
    s
}

/// Starts the schedtrace thread if `GORT_DEBUG` asks for it. Called once,
/// while the scheduler starts; the thread waits for it to finish.
pub(crate) fn start() {
    let Some(period) = settings().schedtrace else { return };
    let started = Instant::now();
    let spawned = thread::Builder::new().name("gort-schedtrace".into()).spawn(move || {
        let _counted = RuntimeThread::enter();
        trace(started, period)
    });
    if let Err(e) = spawned {
        eprintln!("gort: cannot start the schedtrace thread: {e}");
    }
}

fn trace(started: Instant, period: Duration) -> ! {
    let mut prev = (Instant::now(), stats());
    loop {
        thread::sleep(period);
        let now = (Instant::now(), stats());
        eprintln!("{}", line(now.0 - started, &now.1, &prev.1, now.0 - prev.0));
        prev = now;
    }
}

/// One schedtrace line: `now` at `uptime`, with rates against `prev`,
/// taken `dt` earlier.
fn line(uptime: Duration, now: &Stats, prev: &Stats, dt: Duration) -> String {
    let rate = |f: fn(&Stats) -> u64| {
        let per_s = f(now).saturating_sub(f(prev)) as f64 / dt.as_secs_f64().max(1e-9);
        per_s.round() as u64
    };
    let mut out = format!(
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} runqueue={} [",
        uptime.as_millis(),
        now.ps,
        now.idle_ps,
        now.ms,
        now.spinning,
        now.global_queue,
    );
    for (i, n) in now.local_queue_per_p.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = write!(out, "{sep}{n}");
    }
    let _ = write!(
        out,
        "] goroutines={} switches/s={} steals/s={} netpollwakes/s={}",
        now.gs,
        rate(|s| s.switches),
        rate(|s| s.steals),
        rate(|s| s.netpoll_wakes),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_keys_and_ignore_junk() {
        let s = parse("schedtrace=1000, blockwarn=50,bogus=1,schedtrace");
        assert_eq!(s.schedtrace, Some(Duration::from_millis(1000)));
        assert_eq!(s.blockwarn, Some(Duration::from_millis(50)));
        assert_eq!(parse("").blockwarn, Some(DEFAULT_BLOCKWARN));
        assert_eq!(parse("blockwarn=0").blockwarn, None);
        assert_eq!(parse("schedtrace=0").schedtrace, None);
        assert!(parse("").deadlock && parse("deadlock=1").deadlock);
        assert!(!parse("deadlock=0").deadlock);
    }

    #[test]
    fn line_has_go_shape_and_rates() {
        let prev = Stats { switches: 100, steals: 1, netpoll_wakes: 10, ..Stats::default() };
        let now = Stats {
            ps: 2,
            idle_ps: 1,
            ms: 3,
            global_queue: 4,
            local_queue_per_p: vec![0, 5],
            gs: 7,
            switches: 600,
            steals: 3,
            netpoll_wakes: 10,
            ..Stats::default()
        };
        let l = line(Duration::from_millis(2500), &now, &prev, Duration::from_millis(500));
        assert_eq!(
            l,
            "SCHED 2500ms: gomaxprocs=2 idleprocs=1 threads=3 spinningthreads=0 runqueue=4 [0 5] \
             goroutines=7 switches/s=1000 steals/s=4 netpollwakes/s=0"
        );
    }
}
