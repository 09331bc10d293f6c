//! How `select!` chooses, measured: uniformly among the ready arms whatever
//! their place, and, once it has blocked, uniformly among arms on one
//! channel. Each count is held to 6 standard deviations of the binomial it
//! should follow, so a fair select fails about once in 500 million runs,
//! while the old bias (3:1 for the arm after two not-ready ones; the first
//! queued arm always winning) fails every run.

use gort::chan::{self, TryRecvError, TrySendError};

/// Asserts that `hits` out of `trials` is within 6 sigma of share `p`.
fn assert_binomial(what: &str, hits: usize, trials: usize, p: f64) {
    let sigma = (p * (1.0 - p) / trials as f64).sqrt();
    let share = hits as f64 / trials as f64;
    assert!(
        (share - p).abs() <= 6.0 * sigma,
        "{what}: {hits} of {trials} is {share:.4}, expected {p:.4} ± {:.4}",
        6.0 * sigma
    );
}

/// Four arms, the first two never ready and the last two always: each
/// ready one must win half the time (a random start then a forward scan
/// gave the third arm three quarters).
#[test]
fn ready_arms_behind_idle_ones_win_equally() {
    const TRIALS: usize = 10_000;
    let counts = gort::go!(|| {
        let (_idle_a_tx, idle_a) = chan::bounded::<u8>(0);
        let (_idle_b_tx, idle_b) = chan::bounded::<u8>(0);
        let (tx3, rx3) = chan::bounded::<u8>(1);
        let (tx4, rx4) = chan::bounded::<u8>(1);
        tx3.send(3).unwrap();
        tx4.send(4).unwrap();
        let mut counts = [0usize; 2];
        for _ in 0..TRIALS {
            let got = gort::select! {
                recv(idle_a) -> _ => unreachable!("never sent on"),
                recv(idle_b) -> _ => unreachable!("never sent on"),
                recv(rx3) -> v => v.unwrap(),
                recv(rx4) -> v => v.unwrap(),
            };
            counts[usize::from(got - 3)] += 1;
            [&tx3, &tx4][usize::from(got - 3)].send(got).unwrap();
        }
        counts
    })
    .join()
    .unwrap();
    assert_eq!(counts[0] + counts[1], TRIALS);
    assert_binomial("third arm", counts[0], TRIALS, 0.5);
}

/// Six arms with three ready ones scattered among them (a send among the
/// receives), behind one, none and two idle arms: each ready one wins a
/// third of the time (a random start and a forward scan gave 2:1:3).
#[test]
fn scattered_ready_arms_win_equally() {
    const TRIALS: usize = 12_000;
    let counts = gort::go!(|| {
        let idle: Vec<_> = (0..3).map(|_| chan::bounded::<u8>(0)).collect();
        let (tx_a, rx_a) = chan::bounded::<u8>(1);
        let (tx_c, rx_c) = chan::bounded::<u8>(1);
        let (room_tx, room_rx) = chan::bounded::<u8>(1);
        let mut counts = [0usize; 3];
        for _ in 0..TRIALS {
            if tx_a.is_empty() {
                tx_a.send(0).unwrap();
            }
            if tx_c.is_empty() {
                tx_c.send(2).unwrap();
            }
            let _ = room_rx.try_recv(); // room for the send arm
            let won: usize = gort::select! {
                recv(idle[0].1) -> _ => unreachable!("never sent on"),
                recv(rx_a) -> _ => 0,
                send(room_tx, 1) -> res => { res.unwrap(); 1 }
                recv(idle[1].1) -> _ => unreachable!("never sent on"),
                recv(idle[2].1) -> _ => unreachable!("never sent on"),
                recv(rx_c) -> _ => 2,
            };
            counts[won] += 1;
        }
        counts
    })
    .join()
    .unwrap();
    for (arm, &n) in counts.iter().enumerate() {
        assert_binomial(&format!("ready arm {arm} ({counts:?})"), n, TRIALS, 1.0 / 3.0);
    }
}

/// A select blocked on five receive arms of one channel: the peer that
/// completes it picks a queued arm, and each must be as likely. The sender
/// hands over with `try_send`, which on a rendezvous channel succeeds only
/// when a receiver is queued, so every round goes through the blocked path.
#[test]
fn blocked_arms_on_one_channel_fire_equally() {
    const ROUNDS: usize = 5_000;
    let (tx, rx) = chan::bounded::<()>(0);
    let selector = gort::go!(move || {
        let mut counts = [0usize; 5];
        for _ in 0..ROUNDS {
            let arm = gort::select! {
                recv(rx) -> _ => 0,
                recv(rx) -> _ => 1,
                recv(rx) -> _ => 2,
                recv(rx) -> _ => 3,
                recv(rx) -> _ => 4,
            };
            counts[arm] += 1;
        }
        counts
    });
    for _ in 0..ROUNDS {
        while let Err(TrySendError::Full(())) = tx.try_send(()) {
            std::thread::yield_now();
        }
    }
    let counts = selector.join().unwrap();
    for (arm, &n) in counts.iter().enumerate() {
        assert_binomial(&format!("arm {arm} ({counts:?})"), n, ROUNDS, 0.2);
    }
}

/// A select blocked on two send arms to one rendezvous channel: a receiver
/// that completes it gets either arm's value as often. `try_recv` succeeds
/// only from a queued sender, so every round goes through the blocked path.
#[test]
fn blocked_send_arms_on_one_channel_deliver_equally() {
    const ROUNDS: usize = 5_000;
    let (tx, rx) = chan::bounded::<u8>(0);
    let selector = gort::go!(move || {
        for _ in 0..ROUNDS {
            gort::select! {
                send(tx, 1) -> res => res.unwrap(),
                send(tx, 2) -> res => res.unwrap(),
            }
        }
    });
    let mut ones = 0;
    for _ in 0..ROUNDS {
        let v = loop {
            match rx.try_recv() {
                Ok(v) => break v,
                Err(TryRecvError::Empty) => std::thread::yield_now(),
                Err(TryRecvError::Disconnected) => panic!("the selector quit early"),
            }
        };
        ones += usize::from(v == 1);
    }
    selector.join().unwrap();
    assert_binomial("first arm's value", ones, ROUNDS, 0.5);
}
