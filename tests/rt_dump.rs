//! `gort::dump`: a goroutine parked in each wait reason shows with the
//! right text, how long it has waited and where it was spawned; a running
//! one shows its M and P. `SIGQUIT` writes the dump to stderr and the
//! process goes on, or with `GORT_TRACEBACK=crash` exits with status 2
//! (in child processes).

mod common;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use gort::chan;
use gort::sync::{Condvar, Mutex, RwLock, Semaphore, WaitGroup};

fn dump_string() -> String {
    let mut out = Vec::new();
    gort::dump(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The state inside `[...]` of the goroutine named `name`, checking the
/// block's shape on the way.
fn state_of(dump: &str, name: &str) -> Option<String> {
    let tag = format!(" \"{name}\" [");
    let mut lines = dump.lines();
    while let Some(line) = lines.next() {
        let Some(at) = line.find(&tag) else { continue };
        let id =
            line.strip_prefix("goroutine ").and_then(|l| l[..at - "goroutine ".len()].parse::<u64>().ok());
        assert!(id.is_some_and(|id| id > 0), "bad header {line:?}");
        let state =
            line[at + tag.len()..].strip_suffix("]:").unwrap_or_else(|| panic!("bad header {line:?}"));
        let site = lines.next().unwrap_or_default();
        assert!(site.starts_with("  spawned at tests/rt_dump.rs:"), "{name}: bad site line {site:?}");
        return Some(state.to_string());
    }
    None
}

/// The goroutines of `dump_shows_every_wait_reason`, by name, and the
/// start of the state each must show.
const PARKED: [(&str, &str); 14] = [
    ("d-chan-recv", "chan receive"),
    ("d-chan-send", "chan send"),
    ("d-select", "select"),
    ("d-net-read", "IO wait read fd "),
    ("d-sleep", "sleep"),
    ("d-mutex", "mutex"),
    ("d-rwlock", "rwlock"),
    ("d-condvar", "condvar"),
    ("d-semaphore", "semaphore"),
    ("d-waitgroup", "waitgroup"),
    ("d-joinee", "chan receive"),
    ("d-join", "join"),
    ("d-blocking", "blocking call"),
    ("d-spin", "running on M"),
];

fn named(name: &str) -> gort::Builder {
    gort::Builder::new().name(name)
}

#[test]
fn dump_shows_every_wait_reason() {
    let mut hs = Vec::new();
    let (recv_tx, recv_rx) = chan::bounded::<()>(0);
    hs.push(gort::go!(named("d-chan-recv"), move || assert!(recv_rx.recv().is_err())).unwrap());
    let (send_tx, send_rx) = chan::bounded::<()>(0);
    hs.push(gort::go!(named("d-chan-send"), move || assert!(send_tx.send(()).is_err())).unwrap());
    let (sel_tx, sel_rx) = chan::bounded::<()>(0);
    let (_other_tx, other_rx) = chan::bounded::<()>(0);
    hs.push(
        gort::go!(named("d-select"), move || gort::select! {
            recv(sel_rx) -> _v => {},
            recv(other_rx) -> _v => {},
        })
        .unwrap(),
    );
    let (mut client, server) = common::tcp_pair();
    let fd = server.as_raw_fd();
    hs.push(gort::go!(named("d-net-read"), move || drop((&server).read(&mut [0; 1]))).unwrap());
    // Never joined: it sleeps on past the test.
    gort::go!(named("d-sleep"), || gort::time::sleep(Duration::from_secs(600))).unwrap();
    let locks = Arc::new((Mutex::new(()), RwLock::new(()), Semaphore::new(0), Condvar::new()));
    let held = (locks.0.lock(), locks.1.write());
    let l = locks.clone();
    hs.push(gort::go!(named("d-mutex"), move || drop(l.0.lock())).unwrap());
    let l = locks.clone();
    hs.push(gort::go!(named("d-rwlock"), move || drop(l.1.read())).unwrap());
    let l = locks.clone();
    hs.push(gort::go!(named("d-semaphore"), move || l.2.acquire().forget()).unwrap());
    let cv_lock = Arc::new(Mutex::new(false));
    let (l, cl) = (locks.clone(), cv_lock.clone());
    hs.push(gort::go!(named("d-condvar"), move || drop(l.3.wait_while(cl.lock(), |ready| !*ready))).unwrap());
    let wg = WaitGroup::new();
    let w = wg.clone();
    hs.push(gort::go!(named("d-waitgroup"), move || w.wait()).unwrap());
    let (join_tx, join_rx) = chan::bounded::<()>(0);
    let joinee = gort::go!(named("d-joinee"), move || assert!(join_rx.recv().is_err())).unwrap();
    hs.push(gort::go!(named("d-join"), move || joinee.join().unwrap()).unwrap());
    let (block_tx, block_rx) = mpsc::channel::<()>();
    hs.push(gort::go!(named("d-blocking"), move || gort::blocking(|| block_rx.recv()).unwrap()).unwrap());

    let all_parked = |n: usize| {
        let d = dump_string();
        PARKED[..n].iter().all(|(name, want)| state_of(&d, name).is_some_and(|s| s.starts_with(want)))
    };
    assert!(
        common::wait_until(Duration::from_secs(20), || all_parked(PARKED.len() - 1)),
        "{}",
        dump_string()
    );
    let parked_at = Instant::now();
    // Started last: with one P, a spinner started first would hold it.
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let spin = gort::go!(named("d-spin"), move || {
        while !s.load(Ordering::Relaxed) {
            std::hint::spin_loop();
        }
    })
    .unwrap();
    assert!(common::wait_until(Duration::from_secs(20), || all_parked(PARKED.len())), "{}", dump_string());
    std::thread::sleep(Duration::from_millis(1200).saturating_sub(parked_at.elapsed()));

    let d = dump_string();
    for (name, want) in PARKED {
        let state = state_of(&d, name).unwrap_or_else(|| panic!("{name} missing from\n{d}"));
        assert!(state.starts_with(want), "{name}: {state:?} in\n{d}");
    }
    assert!(state_of(&d, "d-net-read").unwrap().starts_with(&format!("IO wait read fd {fd}")), "{d}");
    let waited = state_of(&d, "d-chan-recv").unwrap();
    let secs = waited.strip_prefix("chan receive, ").and_then(|s| s.strip_suffix(" s")?.parse::<u64>().ok());
    assert!(secs.is_some_and(|s| s >= 1), "waited over a second: {waited:?}");
    let running = state_of(&d, "d-spin").unwrap();
    let (m, p) = running.strip_prefix("running on M").and_then(|r| r.split_once(" P")).unwrap();
    assert!(m.parse::<u32>().is_ok() && p.parse::<usize>().unwrap() < gort::stats().ps, "{running:?}");

    stop.store(true, Ordering::Relaxed);
    spin.join().unwrap();
    drop(recv_tx);
    drop(send_rx);
    drop(sel_tx);
    client.write_all(b"x").unwrap();
    drop(held);
    locks.2.add_permits(1);
    *cv_lock.lock() = true;
    locks.3.notify_all();
    drop(wg);
    drop(join_tx);
    block_tx.send(()).unwrap();
    hs.into_iter().for_each(|h| h.join().unwrap());
    // A joined goroutine may still be on its way out of its M.
    let gone = || {
        let d = dump_string();
        PARKED.iter().all(|(name, _)| name == &"d-sleep" || state_of(&d, name).is_none())
    };
    assert!(
        common::wait_until(Duration::from_secs(10), gone),
        "finished goroutines stay listed:\n{}",
        dump_string()
    );
}

/// Printed by the SIGQUIT child once the signal is behind it.
const STILL_RUNNING: &str = "child: still running after SIGQUIT";

/// Parks a named goroutine, sends itself SIGQUIT, and goes on: prints
/// `STILL_RUNNING` and ends the goroutine once the dump is out (with
/// `GORT_TRACEBACK=crash` the runtime exits before that).
fn sigquit_child() {
    let (tx, rx) = chan::bounded::<()>(0);
    let h = gort::go!(named("quit-waiter"), move || assert!(rx.recv().is_ok())).unwrap();
    assert!(common::wait_until(Duration::from_secs(20), || {
        state_of(&dump_string(), "quit-waiter").is_some_and(|s| s.starts_with("chan receive"))
    }));
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGQUIT) }, 0);
    std::thread::sleep(Duration::from_secs(2));
    println!("{STILL_RUNNING}");
    tx.send(()).unwrap();
    h.join().unwrap();
}

fn sigquit_in_child(envs: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = common::run_child("sigquit_dumps_and_goes_on_unless_traceback_crash", envs);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn sigquit_dumps_and_goes_on_unless_traceback_crash() {
    if common::is_child() {
        return sigquit_child();
    }
    for procs in ["1", "4"] {
        let (code, out, err) = sigquit_in_child(&[("GORT_PROCS", procs)]);
        assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
        assert!(out.contains(STILL_RUNNING), "stdout: {out}\nstderr: {err}");
        let dump =
            err.split_once("SIGQUIT: quit\n\n").map(|(_, d)| d).unwrap_or_else(|| panic!("no dump: {err}"));
        assert!(
            state_of(dump, "quit-waiter").is_some_and(|s| s.starts_with("chan receive")),
            "stderr: {err}"
        );

        let (code, out, err) = sigquit_in_child(&[("GORT_PROCS", procs), ("GORT_TRACEBACK", "crash")]);
        assert_eq!(code, Some(2), "stdout: {out}\nstderr: {err}");
        assert!(!out.contains(STILL_RUNNING), "stdout: {out}");
        assert!(
            err.contains("SIGQUIT: quit\n\n") && state_of(&err, "quit-waiter").is_some(),
            "stderr: {err}"
        );
    }
}

/// Goroutines parked for the whole of `dumps_race_spawns_and_frees`.
const PARKED_MANY: usize = 10_000;

/// Dumps taken while goroutines are spawned into fresh and reused boxes,
/// finish, and have their boxes freed by sysmon's sweeps (which unlist
/// them): every dump is well formed and lists every parked goroutine.
#[test]
fn dumps_race_spawns_and_frees() {
    let (tx, rx) = chan::bounded::<()>(0);
    let parked: Vec<_> = (0..PARKED_MANY)
        .map(|_| {
            let rx = rx.clone();
            gort::go!(named("many"), move || assert!(rx.recv().is_err())).unwrap()
        })
        .collect();
    let count = |d: &str| d.lines().filter(|l| l.contains(" \"many\" [chan receive")).count();
    assert!(common::wait_until(Duration::from_secs(30), || count(&dump_string()) == PARKED_MANY));
    let stop = Arc::new(AtomicBool::new(false));
    let churners: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            gort::go!(move || {
                while !stop.load(Ordering::Relaxed) {
                    let hs: Vec<_> = (0..1000).map(|i| gort::go!(move || i)).collect();
                    hs.into_iter().for_each(|h| assert!(h.join().is_ok()));
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut dumps = 0;
    // Past two of sysmon's 1 s sweeps, so dead boxes get freed meanwhile.
    while started.elapsed() < Duration::from_millis(2500) || dumps < 3 {
        let d = dump_string();
        let mut blocks = d.split("\n\n").filter(|b| !b.is_empty());
        assert!(
            blocks.all(|b| b.starts_with("goroutine ") && b.contains("]:\n  spawned at ")),
            "malformed dump"
        );
        assert_eq!(count(&d), PARKED_MANY, "parked goroutines listed");
        dumps += 1;
    }
    stop.store(true, Ordering::Relaxed);
    churners.into_iter().for_each(|h| h.join().unwrap());
    drop((tx, rx));
    parked.into_iter().for_each(|h| h.join().unwrap());
}
