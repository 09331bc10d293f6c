//! `select!`: fair choice among ready arms, `default` and timeout arms,
//! send arms, arms on closed channels, timers, and selects on plain threads.

use std::time::{Duration, Instant};

use gort::chan;

/// Four always-ready arms over 100k rounds: each is chosen 25% ± 5%.
#[test]
fn ready_arms_are_chosen_fairly() {
    const ROUNDS: usize = 100_000;
    let chans: Vec<_> = (0..4).map(|_| chan::bounded::<usize>(1)).collect();
    for (i, (tx, _)) in chans.iter().enumerate() {
        tx.send(i).unwrap();
    }
    let [(t0, r0), (t1, r1), (t2, r2), (t3, r3)] = <[_; 4]>::try_from(chans).unwrap();
    let counts = gort::go!(move || {
        let mut counts = [0usize; 4];
        for _ in 0..ROUNDS {
            let i = gort::select! {
                recv(r0) -> v => v.unwrap(),
                recv(r1) -> v => v.unwrap(),
                recv(r2) -> v => v.unwrap(),
                recv(r3) -> v => v.unwrap(),
            };
            counts[i] += 1;
            [&t0, &t1, &t2, &t3][i].send(i).unwrap(); // ready again
        }
        counts
    })
    .join()
    .unwrap();
    for (i, &n) in counts.iter().enumerate() {
        let share = n as f64 / ROUNDS as f64;
        assert!((0.20..=0.30).contains(&share), "arm {i} chosen {share:.3} of the time: {counts:?}");
    }
}

/// Go: receiving from a closed channel is always ready, so a select over
/// only closed channels returns at once with their errors.
#[test]
fn select_with_all_arms_closed_returns_at_once() {
    let (tx1, rx1) = chan::bounded::<u8>(0);
    let (tx2, rx2) = chan::unbounded::<u8>();
    drop((tx1, tx2));
    for _ in 0..100 {
        let r = gort::select! {
            recv(rx1) -> v => v.is_err(),
            recv(rx2) -> v => v.is_err(),
        };
        assert!(r);
    }
    let (tx3, rx3) = chan::bounded::<u8>(0);
    drop(rx3);
    gort::select! {
        send(tx3, 5) -> res => assert_eq!(res.unwrap_err().0, 5),
    }
}

#[test]
fn default_runs_when_nothing_is_ready() {
    let (tx, rx) = chan::bounded::<u8>(0);
    let ran = gort::select! {
        recv(rx) -> _ => false,
        send(tx, 1) => false,
        default => true,
    };
    assert!(ran);
}

#[test]
fn timeout_arm_fires_after_its_duration() {
    let (_tx, rx) = chan::bounded::<u8>(0);
    let t = Instant::now();
    let timed_out = gort::go!(move || {
        gort::select! {
            recv(rx) -> _ => false,
            default(Duration::from_millis(20)) => true,
        }
    })
    .join()
    .unwrap();
    assert!(timed_out);
    assert!(t.elapsed() >= Duration::from_millis(20));
}

/// A send arm and a receive arm in one select, on goroutines and threads.
#[test]
fn send_and_recv_arms_mix() {
    let (req_tx, req_rx) = chan::bounded::<u32>(0);
    let (resp_tx, resp_rx) = chan::bounded::<u32>(0);
    let server = gort::go!(move || {
        let mut pending = None;
        let mut served = 0;
        while served < 100 {
            match pending.take() {
                None => pending = Some(req_rx.recv().unwrap() * 2),
                Some(v) => gort::select! {
                    send(resp_tx, v) -> res => { res.unwrap(); served += 1 },
                    recv(req_rx) -> _ => unreachable!("the client waits for its answer"),
                },
            }
        }
    });
    // The client is a plain thread.
    for i in 0..100 {
        req_tx.send(i).unwrap();
        assert_eq!(resp_rx.recv().unwrap(), i * 2);
    }
    server.join().unwrap();
}

#[test]
fn timers_deliver_in_select() {
    let (_tx, rx) = chan::bounded::<u8>(0);
    let tick = gort::time::tick(Duration::from_millis(2));
    let guard = gort::time::after(Duration::from_secs(20));
    gort::go!(move || {
        let mut ticks = 0;
        while ticks < 3 {
            gort::select! {
                recv(rx) -> _ => unreachable!(),
                recv(tick) -> t => { t.unwrap(); ticks += 1 }
                recv(guard) -> _ => panic!("only {ticks} ticks of 2 ms in 20 s"),
            }
        }
    })
    .join()
    .unwrap();
    let mut timer = gort::time::Timer::new(Duration::from_secs(60));
    assert_eq!(timer.receiver().try_recv(), Err(chan::TryRecvError::Empty));
    assert!(timer.reset(Duration::from_millis(1)));
    timer.receiver().recv().unwrap();
    assert!(!timer.stop(), "already fired");
    let ticker = gort::time::Ticker::new(Duration::from_millis(1));
    ticker.receiver().recv().unwrap();
    ticker.stop();
    while ticker.receiver().try_recv().is_ok() {} // a tick sent before stop
    assert!(ticker.receiver().recv_timeout(Duration::from_millis(20)).is_err());
}

/// A `stop` that says the timer fired means its instant was delivered:
/// `if !t.stop() { t.receiver().recv() }` never hangs, even when `stop`
/// runs while sysmon has the due timer out of the heap (it is kept busy
/// here with a batch of other timers due at the same moment).
#[test]
fn a_stop_that_says_fired_means_the_instant_was_sent() {
    let mut raced = 0;
    for _ in 0..10 {
        let d = Duration::from_millis(20);
        let busy: Vec<_> = (0..200_000).map(|_| gort::time::after(d)).collect();
        let t = gort::time::Timer::new(d);
        std::thread::sleep(d + Duration::from_millis(2));
        if !t.stop() {
            raced += 1;
            assert!(
                t.receiver().recv_timeout(Duration::from_secs(10)).is_ok(),
                "stop said fired, nothing came"
            );
        }
        drop(busy);
    }
    println!("{raced} of 10 stops came after the deadline");
}

/// The arm shapes the macro accepts: block bodies without commas, a
/// trailing comma, `send` with and without a result pattern.
#[test]
fn macro_accepts_every_arm_shape() {
    let (tx, rx) = chan::bounded::<u8>(3);
    gort::select! {
        send(tx, 1) => {}
        default => unreachable!()
    }
    gort::select! {
        send(tx, 2) -> res => { res.unwrap() }
        recv(rx) -> _ => {}
    }
    tx.send(3).unwrap(); // whichever arm fired, something is buffered
    let n = gort::select! {
        recv(rx) -> v => { v.unwrap() }
        default(Duration::from_secs(1)) => { 0 },
    };
    assert!((1..=3).contains(&n));
}

/// Go's `select { case <-quit: case v := <-work: }` with many workers: they
/// all wait on one shared channel, and each one woken elsewhere must leave
/// the shared queue from wherever it sits (front, middle or back), so the
/// shared channel later reaches exactly the workers still waiting on it,
/// each once.
#[test]
fn selects_sharing_a_channel_leave_its_queue_when_woken_elsewhere() {
    const WORKERS: usize = 1000;
    let (quit_tx, quit_rx) = chan::bounded::<()>(0);
    let (ready_tx, ready_rx) = chan::unbounded::<()>();
    let (done_tx, done_rx) = chan::unbounded::<(usize, &'static str)>();
    let work: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (tx, rx) = chan::bounded::<usize>(0);
            let (quit_rx, ready_tx, done_tx) = (quit_rx.clone(), ready_tx.clone(), done_tx.clone());
            gort::go!(move || {
                ready_tx.send(()).unwrap();
                let how = gort::select! {
                    recv(rx) -> v => { assert_eq!(v, Ok(i)); "work" },
                    recv(quit_rx) -> v => { assert_eq!(v, Ok(())); "quit" },
                };
                done_tx.send((i, how)).unwrap();
            });
            tx
        })
        .collect();
    drop(done_tx);
    (0..WORKERS).for_each(|_| ready_rx.recv().unwrap());
    // Wake every third worker (first, middle and last among them) by its own channel.
    let by_work: Vec<usize> = (0..WORKERS).step_by(3).collect();
    for &i in &by_work {
        work[i].send(i).unwrap();
    }
    for _ in &by_work {
        let (i, how) = done_rx.recv().unwrap();
        assert_eq!((i % 3, how), (0, "work"));
    }
    // One quit value per remaining worker: each must reach a live waiter
    // (a stale sudog of a finished worker would take or lose one).
    let rest: Vec<usize> = (0..WORKERS).filter(|i| i % 3 != 0).collect();
    let n = rest.len();
    let quitter = std::thread::spawn(move || (0..n).for_each(|_| quit_tx.send(()).unwrap()));
    let mut got: Vec<usize> = (0..n)
        .map(|_| {
            let (i, how) =
                done_rx.recv_timeout(Duration::from_secs(30)).expect("a worker never got its quit");
            assert_eq!(how, "quit");
            i
        })
        .collect();
    quitter.join().unwrap();
    got.sort_unstable();
    assert_eq!(got, rest);
    assert!(done_rx.recv().is_err(), "every worker reported once");
}
