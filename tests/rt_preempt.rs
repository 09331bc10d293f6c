//! Cooperative preemption: goroutines that busy-poll through the runtime
//! (a `select!` taking `default`, `try_recv`, an uncontended `Mutex::lock`,
//! `Pool` get/put, a spawn, a socket write that never parks) yield once sysmon sees
//! them hold their M for 10 ms, so they cannot starve the goroutine that
//! would release them, with as many pollers as Ps. Each case runs in a
//! child process at `GORT_PROCS` 1 and 2; a watchdog thread in the child
//! fails it, rather than letting it hang, if the release never comes.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gort::chan::{self, TryRecvError};

/// Printed by a child whose pollers were all released.
const MARKER: &str = "preempt ok";

/// Ends the process with a failure after `limit`: a starved release would
/// otherwise hang the test run.
fn watchdog(limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("watchdog: the pollers were not released within {limit:?}");
        std::process::exit(2);
    });
}

/// Spawns `pollers` (each counts itself in as it starts), waits until all
/// of them run, then spawns `release`, and joins everything.
fn run_pollers(pollers: Vec<Box<dyn FnOnce() + Send>>, release: impl FnOnce() + Send + 'static) {
    watchdog(Duration::from_secs(30));
    let started = Arc::new(AtomicUsize::new(0));
    let n = pollers.len();
    let handles: Vec<_> = pollers
        .into_iter()
        .map(|poll| {
            let started = started.clone();
            gort::go!(move || {
                started.fetch_add(1, Ordering::SeqCst);
                poll();
            })
        })
        .collect();
    // Even at one P every poller starts, as each is preempted in turn.
    assert!(common::wait_until(Duration::from_secs(20), || started.load(Ordering::SeqCst) == n));
    gort::go!(release).join().unwrap();
    handles.into_iter().for_each(|h| h.join().unwrap());
    println!("{MARKER}");
}

/// A `select!` spinning on its `default` until a receiver comes, and a
/// `try_recv` loop waiting for a value that the receiver sends next.
fn channel_pollers_child() {
    let (a_tx, a_rx) = chan::bounded::<()>(0);
    let (b_tx, b_rx) = chan::bounded::<()>(1);
    let sender: Box<dyn FnOnce() + Send> = Box::new(move || loop {
        gort::select! {
            send(a_tx, ()) -> res => break res.unwrap(),
            default => {}
        }
    });
    let receiver: Box<dyn FnOnce() + Send> = Box::new(move || loop {
        match b_rx.try_recv() {
            Ok(()) => break,
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => panic!("the releaser dropped its sender"),
        }
    });
    run_pollers(vec![sender, receiver], move || {
        a_rx.recv().unwrap();
        b_tx.send(()).unwrap();
    });
}

/// Loops on an uncontended `Mutex::lock`, on `Pool` get/put, on spawning
/// goroutines that do nothing, and on UDP writes (which never park), each
/// until the releaser sets its flag.
fn other_entry_pollers_child() {
    let locked = Arc::new(gort::sync::Mutex::new(false));
    let pool_done = Arc::new(AtomicBool::new(false));
    let spawn_done = Arc::new(AtomicBool::new(false));
    let udp_done = Arc::new(AtomicBool::new(false));
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = sink.local_addr().unwrap();
    let (l, p, g, u) = (locked.clone(), pool_done.clone(), spawn_done.clone(), udp_done.clone());
    let mutex: Box<dyn FnOnce() + Send> = Box::new(move || while !*l.lock() {});
    let pool: Box<dyn FnOnce() + Send> = Box::new(move || {
        let pool = gort::sync::Pool::new(|| vec![0u8; 64]);
        while !p.load(Ordering::Relaxed) {
            pool.put(pool.get());
        }
    });
    let spawner: Box<dyn FnOnce() + Send> = Box::new(move || {
        while !g.load(Ordering::Relaxed) {
            drop(gort::go!(|| {}));
        }
    });
    let udp: Box<dyn FnOnce() + Send> = Box::new(move || {
        let sock = gort::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        while !u.load(Ordering::Relaxed) {
            sock.send_to(b"x", to).unwrap();
        }
    });
    run_pollers(vec![mutex, pool, spawner, udp], move || {
        *locked.lock() = true;
        pool_done.store(true, Ordering::Relaxed);
        spawn_done.store(true, Ordering::Relaxed);
        udp_done.store(true, Ordering::Relaxed);
    });
    drop(sink);
}

#[test]
fn channel_pollers_are_preempted() {
    if common::is_child() {
        return channel_pollers_child();
    }
    check_in_children("channel_pollers_are_preempted");
}

#[test]
fn mutex_pool_spawn_and_socket_pollers_are_preempted() {
    if common::is_child() {
        return other_entry_pollers_child();
    }
    check_in_children("mutex_pool_spawn_and_socket_pollers_are_preempted");
}

fn check_in_children(test: &str) {
    for procs in ["1", "2"] {
        let out = common::run_child(test, &[("GORT_PROCS", procs)]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(MARKER),
            "{test} with GORT_PROCS={procs}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
