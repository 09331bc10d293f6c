//! Channel stress: 64 producers × 64 consumers with an exact multiset
//! check, over each channel kind, and the races that can lose or duplicate
//! a wake-up (close racing receive, timeout racing send, a select woken
//! while another select competes). Run again with 2 and 4 Ps in child
//! processes (the P count is fixed when the runtime starts).

mod common;

use std::time::Duration;

use gort::chan;

const PRODUCERS: u64 = 64;
const CONSUMERS: u64 = 64;
/// Items per run over all producers (the 100k, in total).
const ITEMS: u64 = 100_032;

fn multiset(cap: Option<usize>) {
    let (tx, rx) = match cap {
        Some(n) => chan::bounded::<u64>(n),
        None => chan::unbounded(),
    };
    let per = ITEMS / PRODUCERS;
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let rx = rx.clone();
            gort::go!(move || rx.iter().collect::<Vec<u64>>())
        })
        .collect();
    drop(rx);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            gort::go!(move || (0..per).for_each(|i| tx.send(p * per + i).unwrap()))
        })
        .collect();
    drop(tx);
    producers.into_iter().for_each(|h| h.join().unwrap());
    let mut all: Vec<u64> = consumers.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(all.len() as u64, per * PRODUCERS, "cap {cap:?}: lost or duplicated items");
    assert!(all.iter().enumerate().all(|(i, &v)| i as u64 == v), "cap {cap:?}: wrong multiset");
}

#[test]
fn producers_consumers_exact_multiset() {
    for cap in [Some(0), Some(1), Some(64), None] {
        multiset(cap);
    }
}

/// A receiver blocked while the channel closes gets every sent value and
/// then exactly one error, whatever the interleaving.
#[test]
fn close_races_recv() {
    for round in 0..300u64 {
        let (tx, rx) = chan::bounded::<u64>(round as usize % 3);
        let h = gort::go!(move || rx.iter().sum::<u64>());
        let sender = gort::go!(move || {
            (1..=3).for_each(|i| tx.send(i).unwrap());
            tx.close();
        });
        sender.join().unwrap();
        assert_eq!(h.join().unwrap(), 6, "round {round}");
    }
}

/// A send whose timeout races a receiver either delivers (and the receiver
/// has it) or times out (and the value comes back): never both, never
/// neither.
#[test]
fn timeout_races_send() {
    let (tx, rx) = chan::bounded::<u64>(0);
    let receiver = gort::go!(move || {
        let mut got = Vec::new();
        while let Ok(v) = rx.recv() {
            got.push(v);
            if v % 7 == 0 {
                gort::time::sleep(Duration::from_micros(200));
            }
        }
        got
    });
    let mut delivered = Vec::new();
    for v in 0..400u64 {
        match tx.send_timeout(v, Duration::from_micros(100 + v % 5 * 50)) {
            Ok(()) => delivered.push(v),
            Err(e) => assert_eq!(e.into_inner(), v),
        }
    }
    drop(tx);
    assert_eq!(receiver.join().unwrap(), delivered);
}

/// A select's timeout races a sender: a value is either taken by the select
/// (and the send succeeds) or not at all (and the send times out).
#[test]
fn select_timeout_races_send() {
    let (tx, rx) = chan::bounded::<u64>(0);
    let sender = gort::go!(move || {
        (0..300u64)
            .filter(|&v| tx.send_timeout(v, Duration::from_micros(150 + v % 4 * 50)).is_ok())
            .collect::<Vec<_>>()
    });
    let mut got = Vec::new();
    while !sender.is_finished() {
        gort::select! {
            recv(rx) -> v => match v {
                Ok(v) => got.push(v),
                Err(_) => break,
            },
            default(Duration::from_micros(100 + got.len() as u64 % 3 * 100)) => {},
        }
    }
    assert_eq!(sender.join().unwrap(), got);
}

/// Two selects wait on the same channels; every value is taken exactly
/// once, so a select woken by one sender is never also woken by another.
#[test]
fn select_wakeup_races_another_select() {
    const N: u64 = 20_000;
    let (tx_a, rx_a) = chan::bounded::<u64>(0);
    let (tx_b, rx_b) = chan::bounded::<u64>(0);
    let (done_tx, done_rx) = chan::bounded::<()>(0);
    let selectors: Vec<_> = (0..2)
        .map(|_| {
            let (rx_a, rx_b, done_rx) = (rx_a.clone(), rx_b.clone(), done_rx.clone());
            gort::go!(move || {
                let mut got = Vec::new();
                loop {
                    gort::select! {
                        recv(rx_a) -> v => got.push(v.unwrap()),
                        recv(rx_b) -> v => got.push(v.unwrap()),
                        recv(done_rx) -> _ => return got,
                    }
                }
            })
        })
        .collect();
    // Each sender outlives its sends: a closed channel would make its arm
    // ready (with an error) forever.
    let a = gort::go!(move || {
        (0..N).step_by(2).for_each(|v| tx_a.send(v).unwrap());
        tx_a
    });
    (1..N).step_by(2).for_each(|v| tx_b.send(v).unwrap());
    let tx_a = a.join().unwrap();
    drop(done_tx);
    let mut all: Vec<u64> = selectors.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..N).collect::<Vec<_>>());
    drop((tx_a, tx_b));
}

#[test]
fn stress_passes_with_2_and_4_procs() {
    if common::is_child() {
        return;
    }
    for procs in ["2", "4"] {
        for test in [
            "producers_consumers_exact_multiset",
            "close_races_recv",
            "timeout_races_send",
            "select_timeout_races_send",
            "select_wakeup_races_another_select",
        ] {
            let out = common::run_child(test, &[("GORT_PROCS", procs)]);
            assert!(
                out.status.success(),
                "{test} with GORT_PROCS={procs}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
