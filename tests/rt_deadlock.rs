//! The deadlock report, each case in a child process of this binary with
//! `GORT_PROCS=1` and `4`. It fires (exit status 2, Go's message, then
//! the dump) for a two-goroutine channel cycle that `main` joins, and for
//! `main` joining a goroutine that waits on a channel nobody else holds.
//! It stays quiet for a server idle in `accept`, a sleeping goroutine, a
//! goroutine waiting on a channel that a plain thread sends on later, and
//! with `GORT_DEBUG=deadlock=0`.
//!
//! `harness = false`: the detector needs `main` to be the thread that
//! blocks, and libtest runs every test on a thread of its own. The child
//! modes that never end by themselves are bounded by `alarm(2)`, a kernel
//! timer that gort cannot see (a gort timer or a helper thread would keep
//! the detector quiet for the wrong reason): its handler prints
//! [`BOUNDED`] and exits with status 0.

use std::process::Command;
use std::time::{Duration, Instant};

use gort::chan;

/// Names the child mode to run.
const MODE: &str = "RT_DEADLOCK_MODE";

/// Go's message.
const FATAL: &str = "fatal error: all goroutines are asleep - deadlock!\n\n";

/// What the alarm handler prints before exiting with status 0.
const BOUNDED: &str = "child: bounded run over\n";

/// Seconds a child may run before its alarm ends it: long enough for
/// sysmon's looks, which come at least once a second, to see a false
/// deadlock twice.
const ALARM_SECS: u32 = 3;

extern "C" fn on_alarm(_: libc::c_int) {
    // SAFETY: write and _exit are async-signal-safe; the buffer is static.
    unsafe {
        libc::write(1, BOUNDED.as_ptr().cast(), BOUNDED.len());
        libc::_exit(0);
    }
}

fn arm_alarm() {
    // SAFETY: installs a handler that only calls async-signal-safe
    // functions; alarm has no preconditions.
    unsafe {
        let handler: extern "C" fn(libc::c_int) = on_alarm;
        libc::signal(libc::SIGALRM, handler as libc::sighandler_t);
        libc::alarm(ALARM_SECS);
    }
}

fn named(name: &str) -> gort::Builder {
    gort::Builder::new().name(name)
}

/// Two goroutines, each receiving from the other before it sends.
fn cycle() {
    let (a_tx, a_rx) = chan::bounded::<u32>(0);
    let (b_tx, b_rx) = chan::bounded::<u32>(0);
    let relay =
        |rx: chan::Receiver<u32>, tx: chan::Sender<u32>| move || rx.recv().map(|v| tx.send(v).is_ok());
    let a = gort::go!(named("cycle-a"), relay(a_rx, b_tx)).unwrap();
    let b = gort::go!(named("cycle-b"), relay(b_rx, a_tx)).unwrap();
    let _ = a.join();
    let _ = b.join();
}

/// A goroutine waits on a channel whose only sender it holds itself.
fn orphan() {
    let h = gort::go!(named("orphan"), || {
        let (tx, rx) = chan::bounded::<()>(0);
        let _keep = tx;
        rx.recv()
    })
    .unwrap();
    let _ = h.join();
}

/// A server goroutine idle in `accept`.
fn accept() {
    let ln = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let h = gort::go!(named("server"), move || ln.accept().map(|_| ())).unwrap();
    let _ = h.join();
}

/// A goroutine sleeping, then done.
fn sleep() {
    let h = gort::go!(named("sleeper"), || gort::time::sleep(Duration::from_secs(ALARM_SECS.into()) / 2))
        .unwrap();
    h.join().unwrap();
    println!("child: sleeper woke");
}

/// A goroutine waits on a channel that a plain thread sends on later.
fn thread_sends() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(ALARM_SECS.into()) / 2);
        tx.send(7).unwrap();
    });
    let h = gort::go!(named("waiter"), move || rx.recv().unwrap()).unwrap();
    assert_eq!(h.join().unwrap(), 7);
    t.join().unwrap();
    println!("child: waiter got 7");
}

struct Case {
    mode: &'static str,
    run: fn(),
    debug: &'static str,
    /// Exit status, and what stdout must contain.
    want: (i32, &'static str),
    /// Names the dump must list (for a report).
    listed: &'static [&'static str],
}

const CASES: [Case; 6] = [
    Case { mode: "cycle", run: cycle, debug: "", want: (2, ""), listed: &["cycle-a", "cycle-b"] },
    Case { mode: "orphan", run: orphan, debug: "", want: (2, ""), listed: &["orphan"] },
    Case { mode: "accept", run: accept, debug: "", want: (0, BOUNDED), listed: &[] },
    Case { mode: "sleep", run: sleep, debug: "", want: (0, "child: sleeper woke"), listed: &[] },
    Case {
        mode: "thread_sends",
        run: thread_sends,
        debug: "",
        want: (0, "child: waiter got 7"),
        listed: &[],
    },
    Case { mode: "cycle", run: cycle, debug: "deadlock=0", want: (0, BOUNDED), listed: &[] },
];

/// Runs one case in a child; `Err` says what went wrong.
fn check(case: &Case, procs: &str) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .env(MODE, case.mode)
        .env("GORT_PROCS", procs)
        .env("GORT_DEBUG", case.debug)
        .output()
        .map_err(|e| format!("cannot run the child: {e}"))?;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let fail =
        |why: &str| Err(format!("{why}\n  status: {}\n  stdout: {stdout}\n  stderr: {stderr}", out.status));
    if out.status.code() != Some(case.want.0) || !stdout.contains(case.want.1) {
        return fail(&format!("expected status {} and stdout with {:?}", case.want.0, case.want.1));
    }
    let reported = stderr.contains("deadlock!");
    if case.want.0 != 2 {
        return if reported { fail("reported a deadlock") } else { Ok(()) };
    }
    let Some(dump) = stderr.strip_prefix(FATAL) else { return fail("no deadlock message first") };
    for name in case.listed {
        let header = format!(" \"{name}\" [chan receive");
        if !dump.lines().any(|l| l.starts_with("goroutine ") && l.contains(&header)) {
            return fail(&format!("{name} not in the dump as waiting on a channel"));
        }
    }
    Ok(())
}

fn main() {
    if let Ok(mode) = std::env::var(MODE) {
        arm_alarm();
        let case = CASES.iter().find(|c| c.mode == mode).expect("unknown mode");
        return (case.run)();
    }
    let started = Instant::now();
    let runs: Vec<_> = CASES
        .iter()
        .flat_map(|c| ["1", "4"].map(|p| (c, p)))
        .map(|(c, p)| (c, p, std::thread::spawn(move || check(c, p))))
        .collect();
    let mut failed = 0;
    for (case, procs, run) in runs {
        let name = format!("{} GORT_DEBUG={:?} GORT_PROCS={procs}", case.mode, case.debug);
        match run.join().expect("checker thread") {
            Ok(()) => println!("test {name} ... ok"),
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED\n{why}");
            }
        }
    }
    let passed = CASES.len() * 2 - failed;
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out; \
         finished in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    std::process::exit(i32::from(failed > 0));
}
