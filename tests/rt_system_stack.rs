//! `gort::system_stack` from outside: a goroutine that tries to switch out
//! on its M's stack is a fatal error that says so; sysmon's preemption
//! waits until the call is done; and calls interleave with channel
//! hand-offs across Ps.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[test]
fn parking_on_the_m_stack_aborts_with_a_clear_message() {
    if common::is_child() {
        let (tx, rx) = gort::chan::bounded::<u32>(0);
        let h = gort::go!(move || gort::system_stack(|| rx.recv()));
        std::thread::sleep(Duration::from_millis(50));
        drop(tx);
        let _ = h.join();
        unreachable!("the park must abort the process");
    }
    let out = common::run_child("parking_on_the_m_stack_aborts_with_a_clear_message", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "stderr: {err}");
    assert!(
        err.contains("gort::system_stack: a goroutine parked, yielded or blocked on its M's stack"),
        "stderr: {err}"
    );
}

/// Whether the spinner below is inside its `system_stack` call.
static IN_CALL: AtomicBool = AtomicBool::new(false);

#[test]
fn preemption_waits_until_the_call_returns() {
    if common::is_child() {
        // One P: the spinner holds it. The other goroutine's timer wakes
        // sysmon, which then finds the P held too long and asks the spinner
        // to yield while it is on the M's stack; the other goroutine may run
        // only once the spinner is back on its own stack and yields there.
        // (Without the wait, the request's switch is the fatal error.)
        let other = gort::go!(|| {
            gort::time::sleep(Duration::from_millis(20));
            IN_CALL.load(Ordering::SeqCst)
        });
        std::thread::sleep(Duration::from_millis(2));
        let spin = gort::go!(|| {
            let end = Instant::now() + Duration::from_millis(100);
            let checks = gort::system_stack(|| {
                IN_CALL.store(true, Ordering::SeqCst);
                let mut checks = 0u64;
                while Instant::now() < end {
                    gort::preempt_check();
                    checks += 1;
                }
                IN_CALL.store(false, Ordering::SeqCst);
                checks
            });
            let back = Instant::now();
            while Instant::now() < back + Duration::from_millis(30) {
                gort::preempt_check();
            }
            checks
        });
        assert!(spin.join().unwrap() > 0);
        let during = other.join().unwrap();
        println!("MARK the other goroutine ran {}", if during { "during the call" } else { "outside it" });
        return;
    }
    let out = common::run_child("preemption_waits_until_the_call_returns", &[("GORT_PROCS", "1")]);
    let (so, se) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "stdout: {so}\nstderr: {se}");
    assert!(so.contains("MARK the other goroutine ran outside it"), "stdout: {so}");
}

#[test]
fn calls_interleave_with_hand_offs_across_ps() {
    for _ in 0..5 {
        let (tx, rx) = gort::chan::bounded::<u64>(0);
        let consumers: Vec<_> = (0..8)
            .map(|_| {
                let rx = rx.clone();
                gort::go!(move || {
                    let mut sum = 0;
                    while let Ok(v) = rx.recv() {
                        sum += gort::system_stack(|| v * 2);
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        let producers: Vec<_> = (0..8u64)
            .map(|p| {
                let tx = tx.clone();
                gort::go!(move || {
                    for i in 0..500 {
                        let v = gort::system_stack(|| p * 1000 + i);
                        tx.send(v).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        producers.into_iter().for_each(|h| h.join().unwrap());
        let total: u64 = consumers.into_iter().map(|h| h.join().unwrap()).sum();
        let expect: u64 = (0..8u64).flat_map(|p| (0..500).map(move |i| (p * 1000 + i) * 2)).sum();
        assert_eq!(total, expect);
    }
}
