//! `select!`'s operands, Go's way: every channel and value expression is
//! evaluated exactly once, in source order, on entry, and lives until the
//! select ends, so arms may name channels that are temporaries. Each shape
//! here failed to compile (E0716) when the macro borrowed inside a `let`.

use std::cell::RefCell;
use std::time::Duration;

use gort::chan::{self, Receiver, Sender};

/// Holds channel ends and hands out references, as a struct field would.
struct Conn {
    rx: Receiver<u32>,
    tx: Sender<u32>,
}

impl Conn {
    fn rx(&self) -> &Receiver<u32> {
        &self.rx
    }
    fn tx(&self) -> &Sender<u32> {
        &self.tx
    }
}

#[test]
fn recv_from_time_after_times_out() {
    let (_tx, rx) = chan::bounded::<u32>(0);
    let fired = gort::select! {
        recv(rx) -> _ => "value",
        recv(gort::time::after(Duration::from_millis(5))) -> t => {
            assert!(t.is_ok(), "the timer channel delivers its instant");
            "timeout"
        }
    };
    assert_eq!(fired, "timeout");
}

#[test]
fn recv_from_a_method_returning_a_reference() {
    let (tx, rx) = chan::bounded(1);
    let c = Conn { rx, tx };
    c.tx().send(7).unwrap();
    let got = gort::select! {
        recv(c.rx()) -> v => v,
    };
    assert_eq!(got, Ok(7));
}

#[test]
fn recv_from_a_receiver_made_on_the_spot() {
    let made = || {
        let (tx, rx) = chan::bounded(1);
        tx.send(9u32).unwrap();
        rx
    };
    let got = gort::select! {
        recv(made()) -> v => v,
        default => Err(chan::RecvError),
    };
    assert_eq!(got, Ok(9));
}

#[test]
fn send_to_a_method_returning_a_reference_and_to_a_temporary() {
    let (tx, rx) = chan::bounded(1);
    let c = Conn { rx, tx };
    gort::select! {
        send(c.tx(), 3) -> res => res.unwrap(),
    }
    assert_eq!(c.rx().recv(), Ok(3));
    // A temporary sender clone: the value goes through before it drops.
    gort::select! {
        send(c.tx.clone(), 4) => {}
    }
    assert_eq!(c.rx().recv(), Ok(4));
}

#[test]
fn temporaries_live_through_the_body() {
    let (tx, rx) = chan::bounded(1);
    tx.send(1u32).unwrap();
    let make_rx = || rx.clone();
    let got = gort::select! {
        recv(make_rx()) -> v => {
            // The temporary receiver still exists, so the channel is open.
            assert!(!tx.is_closed());
            v
        }
    };
    assert_eq!(got, Ok(1));
}

/// Channel and value expressions run once each, in source order, even for
/// the arms that do not fire.
#[test]
fn operands_are_evaluated_once_in_source_order() {
    let log = RefCell::new(Vec::new());
    let note = |what: &'static str| log.borrow_mut().push(what);
    let (tx_a, rx_a) = chan::bounded::<u32>(0);
    let (tx_b, rx_b) = chan::bounded::<u32>(1);
    let fired = gort::select! {
        recv({ note("rx_a"); &rx_a }) -> _ => "a",
        send({ note("tx_b"); &tx_b }, { note("value"); 5 }) -> res => { res.unwrap(); "b" }
        send({ note("tx_a"); &tx_a }, { note("value a"); 6 }) => "a2",
        default => "none",
    };
    assert_eq!(fired, "b");
    assert_eq!(*log.borrow(), ["rx_a", "tx_b", "value", "tx_a", "value a"]);
    assert_eq!(rx_b.try_recv(), Ok(5));
}
