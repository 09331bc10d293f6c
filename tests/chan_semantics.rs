//! Channel semantics, table-driven against Go's: buffering, close, drain,
//! send on closed, receive on closed and empty, the `try_` variants, and
//! what dropping either end does; then the blocking cases a table cannot
//! show (direct hand-off, wake-ups on close, timeouts).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort::chan::{self, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};

/// One step of a case and the result it must give, written as Go would
/// describe it.
#[derive(Clone, Copy, Debug)]
enum Op {
    Send(u32),
    TrySend(u32),
    Recv,
    TryRecv,
    Close,
    DropSenders,
    DropReceivers,
}

struct Case {
    name: &'static str,
    cap: Option<usize>,
    steps: &'static [(Op, &'static str)],
}

const CASES: &[Case] = &[
    Case {
        name: "unbuffered: nothing waits, so try_ fails",
        cap: Some(0),
        steps: &[(Op::TrySend(1), "full 1"), (Op::TryRecv, "empty")],
    },
    Case {
        name: "unbuffered: close, then every op sees it",
        cap: Some(0),
        steps: &[
            (Op::Close, ""),
            (Op::TrySend(1), "closed 1"),
            (Op::Send(2), "closed 2"),
            (Op::TryRecv, "closed"),
            (Op::Recv, "closed"),
            (Op::Close, ""),
        ],
    },
    Case {
        name: "buffered: FIFO up to cap, then full",
        cap: Some(2),
        steps: &[
            (Op::Send(1), "ok"),
            (Op::TrySend(2), "ok"),
            (Op::TrySend(3), "full 3"),
            (Op::Recv, "1"),
            (Op::TryRecv, "2"),
            (Op::TryRecv, "empty"),
        ],
    },
    Case {
        name: "buffered: a closed channel drains, then reports closed",
        cap: Some(3),
        steps: &[
            (Op::Send(1), "ok"),
            (Op::Send(2), "ok"),
            (Op::Close, ""),
            (Op::Send(3), "closed 3"),
            (Op::Recv, "1"),
            (Op::TryRecv, "2"),
            (Op::Recv, "closed"),
            (Op::TryRecv, "closed"),
        ],
    },
    Case {
        name: "buffered: dropping every sender closes after the buffer",
        cap: Some(2),
        steps: &[(Op::Send(7), "ok"), (Op::DropSenders, ""), (Op::Recv, "7"), (Op::Recv, "closed")],
    },
    Case {
        name: "buffered: dropping every receiver fails sends",
        cap: Some(2),
        steps: &[
            (Op::Send(7), "ok"),
            (Op::DropReceivers, ""),
            (Op::Send(8), "closed 8"),
            (Op::TrySend(9), "closed 9"),
        ],
    },
    Case {
        name: "unbounded: never full",
        cap: None,
        steps: &[
            (Op::Send(1), "ok"),
            (Op::Send(2), "ok"),
            (Op::TrySend(3), "ok"),
            (Op::Close, ""),
            (Op::Recv, "1"),
            (Op::Recv, "2"),
            (Op::Recv, "3"),
            (Op::Recv, "closed"),
        ],
    },
];

fn run(case: &Case) {
    let (tx, rx) = match case.cap {
        Some(n) => chan::bounded::<u32>(n),
        None => chan::unbounded(),
    };
    let (mut tx, mut rx) = (Some(tx), Some(rx));
    // A spare end keeps the channel open when the case drops the other kind.
    let (spare_tx, spare_rx) = (tx.clone().unwrap(), rx.clone().unwrap());
    let (mut spare_tx, mut spare_rx) = (Some(spare_tx), Some(spare_rx));
    for (i, (op, want)) in case.steps.iter().enumerate() {
        let t = || tx.as_ref().or(spare_tx.as_ref()).unwrap();
        let r = || rx.as_ref().or(spare_rx.as_ref()).unwrap();
        let got = match *op {
            Op::Send(v) => t().send(v).map_or_else(|e| format!("closed {}", e.0), |()| "ok".into()),
            Op::TrySend(v) => match t().try_send(v) {
                Ok(()) => "ok".into(),
                Err(TrySendError::Full(v)) => format!("full {v}"),
                Err(TrySendError::Disconnected(v)) => format!("closed {v}"),
            },
            Op::Recv => r().recv().map_or_else(|_| "closed".into(), |v| v.to_string()),
            Op::TryRecv => match r().try_recv() {
                Ok(v) => v.to_string(),
                Err(TryRecvError::Empty) => "empty".into(),
                Err(TryRecvError::Disconnected) => "closed".into(),
            },
            Op::Close => {
                t().close();
                String::new()
            }
            Op::DropSenders => {
                drop((tx.take(), spare_tx.take()));
                String::new()
            }
            Op::DropReceivers => {
                drop((rx.take(), spare_rx.take()));
                String::new()
            }
        };
        assert_eq!(got, *want, "{}: step {i} ({op:?})", case.name);
    }
}

#[test]
fn go_semantics_table() {
    CASES.iter().for_each(run);
}

/// Dropping the last receiver drops what is buffered.
#[test]
fn last_receiver_drops_buffered_values() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::bounded(4);
    (0..3).for_each(|_| tx.send(Counted(dropped.clone())).ok().unwrap());
    drop(rx);
    assert_eq!(dropped.load(Ordering::SeqCst), 3);
    assert!(tx.send(Counted(dropped.clone())).is_err());
}

/// An unbuffered send completes only by handing the value to a receiver.
#[test]
fn unbuffered_send_is_a_direct_hand_off() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let got = gort::go!(move || rx.recv().unwrap());
    // try_send succeeds only once the receiver is parked waiting.
    let mut v = 41;
    loop {
        match tx.try_send(v) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) => {
                v = back;
                std::thread::yield_now();
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got.join().unwrap(), 41);
    assert_eq!(tx.len(), 0);
    assert_eq!(tx.capacity(), Some(0));
}

/// Close wakes every blocked receiver (with an error) and sender (with its
/// value back), on goroutines and on plain threads.
#[test]
fn close_wakes_blocked_receivers_and_senders() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let receivers: Vec<_> = (0..4)
        .map(|_| {
            let rx = rx.clone();
            gort::go!(move || rx.recv())
        })
        .collect();
    let thread_rx = {
        let rx = rx.clone();
        std::thread::spawn(move || rx.recv())
    };
    let (tx2, rx2) = chan::bounded::<u32>(0);
    let senders: Vec<_> = (0..4)
        .map(|i| {
            let tx2 = tx2.clone();
            gort::go!(move || tx2.send(i))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    tx.close();
    rx2.close();
    for h in receivers {
        assert!(h.join().unwrap().is_err());
    }
    assert!(thread_rx.join().unwrap().is_err());
    let mut back: Vec<u32> = senders.into_iter().map(|h| h.join().unwrap().unwrap_err().0).collect();
    back.sort();
    assert_eq!(back, [0, 1, 2, 3]);
}

#[test]
fn timeouts_expire_and_closing_beats_them() {
    let (tx, rx) = chan::bounded::<u32>(0);
    assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Timeout));
    assert_eq!(tx.send_timeout(3, Duration::from_millis(5)), Err(SendTimeoutError::Timeout(3)));
    let h = gort::go!(move || rx.recv_timeout(Duration::from_secs(30)));
    std::thread::sleep(Duration::from_millis(10));
    drop(tx);
    assert_eq!(h.join().unwrap(), Err(RecvTimeoutError::Disconnected));
    let (tx, rx) = chan::bounded::<u32>(1);
    let h = gort::go!(move || rx.recv_timeout(Duration::from_secs(30)));
    tx.send(9).unwrap();
    assert_eq!(h.join().unwrap(), Ok(9));
}

/// The deadline forms: a passed deadline fails at once (handing a send's
/// value back), and a value that arrives before a later one is taken.
#[test]
fn deadlines_are_points_in_time() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let past = Instant::now() - Duration::from_millis(1);
    assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Timeout));
    assert_eq!(tx.send_deadline(4, past), Err(SendTimeoutError::Timeout(4)));
    let t = Instant::now();
    assert_eq!(rx.recv_deadline(t + Duration::from_millis(30)), Err(RecvTimeoutError::Timeout));
    assert!(t.elapsed() >= Duration::from_millis(30), "woke before its deadline");
    let later = Instant::now() + Duration::from_secs(30);
    let h = gort::go!(move || rx.recv_deadline(later));
    assert_eq!(tx.send_deadline(5, later), Ok(()));
    assert_eq!(h.join().unwrap(), Ok(5));
}

#[test]
fn iterators_and_len() {
    let (tx, rx) = chan::bounded::<u32>(8);
    (0..5).for_each(|i| tx.send(i).unwrap());
    assert_eq!((rx.len(), rx.is_empty(), rx.capacity()), (5, false, Some(8)));
    assert_eq!(rx.try_iter().take(2).collect::<Vec<_>>(), [0, 1]);
    drop(tx);
    assert_eq!((&rx).into_iter().collect::<Vec<_>>(), [2, 3, 4]);
    let (tx, rx) = chan::unbounded::<u32>();
    assert_eq!(tx.capacity(), None);
    tx.send(1).unwrap();
    drop(tx);
    assert_eq!(rx.into_iter().collect::<Vec<_>>(), [1]);
}

#[test]
fn errors_display_like_std() {
    assert_eq!(chan::SendError(1).to_string(), "sending on a closed channel");
    assert_eq!(format!("{:?}", chan::SendError(1)), "SendError { .. }");
    assert_eq!(chan::RecvError.to_string(), "receiving on a closed and empty channel");
    assert_eq!(TryRecvError::Empty.to_string(), "receiving on an empty channel");
    assert_eq!(RecvTimeoutError::Timeout.to_string(), "timed out waiting on receive operation");
    let e: Box<dyn std::error::Error> = Box::new(TrySendError::Full(1));
    assert_eq!(e.to_string(), "sending on a full channel");
}
