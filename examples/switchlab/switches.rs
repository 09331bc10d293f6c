//! The switch loops of the context-switch lab, one function per row, shared
//! by the `switchlab` example and `benches/switch.rs` (included by `#[path]`).
//!
//! Convention: a *switch* is one hand-off of the CPU from one party
//! (coroutine, goroutine, thread, process) to the other, in one direction.
//! A round trip (ping and pong) is two switches. Every function runs
//! `iters` switches (rounded up to whole round trips) and measures only the
//! loop, with the probe `P` started and stopped by the measuring party:
//! `Instant` under criterion, a time + perf-counter meter in the example.
//! Set-up (spawning the partner, `WARM` round trips so that the first,
//! cold wake-ups of a fresh thread or process are not timed) stays outside.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use corosensei::{Coroutine, Yielder};
use parking_lot::{Condvar, Mutex};

#[path = "../common/cpus.rs"]
mod cpus;
use cpus::{allowed_cpus, pin};

/// Untimed round trips before each timed loop.
pub const WARM: u64 = 16;

/// What measures a loop: started just before it by the measuring party,
/// stopped just after.
pub trait Probe {
    type Out: Send + 'static;
    /// Starts measuring; `peers` are other processes taking part in the loop.
    fn start(peers: &[u32]) -> Self;
    fn stop(self) -> Self::Out;
}

impl Probe for Instant {
    type Out = Duration;

    fn start(_: &[u32]) -> Instant {
        Instant::now()
    }

    fn stop(self) -> Duration {
        self.elapsed()
    }
}

/// Raw corosensei, no scheduler: resume (switch in) + suspend (switch out)
/// of a coroutine on corosensei's default stack.
pub fn coro<P: Probe>(iters: u64) -> P::Out {
    let mut co = Coroutine::new(|y: &Yielder<(), ()>, ()| loop {
        y.suspend(());
    });
    co.resume(());
    let p = P::start(&[]);
    for _ in 0..iters.div_ceil(2) {
        co.resume(());
    }
    p.stop()
}

/// gort `yield_now`: two goroutines on one P yield to each other; each
/// yield is one switch through the M's scheduler loop.
pub fn gort_yield<P: Probe>(iters: u64) -> P::Out {
    let half = iters.div_ceil(2);
    gort::go!(move || {
        let other = gort::go!(move || (0..half).for_each(|_| gort::yield_now()));
        let p = P::start(&[]);
        (0..half).for_each(|_| gort::yield_now());
        other.join().unwrap();
        p.stop()
    })
    .join()
    .unwrap()
}

/// gort unbuffered channel ping-pong: each send hands the value straight to
/// the parked receiver (Go's direct send), readies it into `runnext`, and
/// the sender then parks on the reply: park + ready + runnext per switch.
/// With 2 Ps the echo goroutine may run on the other P.
pub fn gort_chan<P: Probe>(iters: u64) -> P::Out {
    gort::go!(move || {
        let (ping_tx, ping_rx) = gort::chan::bounded::<u64>(0);
        let (pong_tx, pong_rx) = gort::chan::bounded::<u64>(0);
        let echo = gort::go!(move || ping_rx.iter().for_each(|v| pong_tx.send(v).unwrap()));
        for i in 0..WARM {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap();
        }
        let p = P::start(&[]);
        for i in 0..iters.div_ceil(2) {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap();
        }
        let out = p.stop();
        drop(ping_tx);
        echo.join().unwrap();
        out
    })
    .join()
    .unwrap()
}

/// gort TCP loopback ping-pong of one byte: a read on an empty socket parks
/// the goroutine on the netpoller; the peer's write makes it readable and
/// the polling M readies it. Each switch crosses the kernel's loopback.
pub fn gort_tcp<P: Probe>(iters: u64) -> P::Out {
    gort::go!(move || {
        let ln = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let echo = gort::go!(move || {
            let (mut c, _) = ln.accept().unwrap();
            let mut b = [0u8; 1];
            while c.read(&mut b).unwrap() == 1 {
                c.write_all(&b).unwrap();
            }
        });
        let mut c = gort::net::TcpStream::connect(addr).unwrap();
        c.set_nodelay(true).unwrap();
        let mut b = [7u8; 1];
        let mut round = |c: &mut gort::net::TcpStream| {
            c.write_all(&b).unwrap();
            c.read_exact(&mut b).unwrap();
        };
        (0..WARM).for_each(|_| round(&mut c));
        let p = P::start(&[]);
        (0..iters.div_ceil(2)).for_each(|_| round(&mut c));
        let out = p.stop();
        drop(c);
        echo.join().unwrap();
        out
    })
    .join()
    .unwrap()
}

/// Whose turn it is, behind a parking_lot Mutex + Condvar: waking the other
/// side is a futex wake, waiting is a futex wait.
#[derive(Default)]
struct Turn {
    b_plays: Mutex<bool>,
    changed: Condvar,
}

impl Turn {
    fn pass(&self, to_b: bool) {
        *self.b_plays.lock() = to_b;
        self.changed.notify_one();
    }

    fn wait(&self, b: bool) {
        let mut g = self.b_plays.lock();
        while *g != b {
            self.changed.wait(&mut g);
        }
    }
}

/// OS threads handing a turn over a futex (parking_lot), both pinned to one
/// core: every switch is a kernel context switch on that core.
pub fn futex_same_core<P: Probe>(iters: u64) -> P::Out {
    let cpu = allowed_cpus()[0];
    futex::<P>(iters, Some([cpu, cpu]))
}

/// As `futex_same_core`, pinned to two cores: every switch is a cross-core
/// wake-up (IPI) of a sleeping thread.
pub fn futex_two_cores<P: Probe>(iters: u64) -> P::Out {
    match allowed_cpus()[..] {
        [a, b, ..] => futex::<P>(iters, Some([a, b])),
        _ => panic!("switchlab: futex_two_cores needs two CPUs"),
    }
}

fn futex<P: Probe>(iters: u64, cpus: Option<[usize; 2]>) -> P::Out {
    let half = iters.div_ceil(2);
    let turn = Arc::new(Turn::default());
    let theirs = turn.clone();
    let b = move || {
        for _ in 0..half + WARM {
            theirs.wait(true);
            theirs.pass(false);
        }
    };
    let a = move || {
        let rounds = |n: u64| {
            for _ in 0..n {
                turn.pass(true);
                turn.wait(false);
            }
        };
        rounds(WARM);
        let p = P::start(&[]);
        rounds(half);
        p.stop()
    };
    pair(cpus, a, b)
}

/// OS threads handing a token over two std mpsc channels, unpinned.
pub fn thread_mpsc<P: Probe>(iters: u64) -> P::Out {
    let half = iters.div_ceil(2);
    let (to_b, b_rx) = mpsc::channel::<u64>();
    let (to_a, a_rx) = mpsc::channel::<u64>();
    let b = move || b_rx.iter().take((half + WARM) as usize).for_each(|v| to_a.send(v).unwrap());
    let a = move || {
        let rounds = |n: u64| {
            for i in 0..n {
                to_b.send(i).unwrap();
                a_rx.recv().unwrap();
            }
        };
        rounds(WARM);
        let p = P::start(&[]);
        rounds(half);
        p.stop()
    };
    pair(None, a, b)
}

/// Runs `a` and `b` on two fresh threads, pinned to `cpus` if given (so the
/// caller's own affinity is left alone), and returns what `a` returns.
fn pair<T: Send + 'static>(
    cpus: Option<[usize; 2]>,
    a: impl FnOnce() -> T + Send + 'static,
    b: impl FnOnce() + Send + 'static,
) -> T {
    let pinned = move |i: usize| {
        if let Some(c) = cpus {
            pin(&[c[i]]);
        }
    };
    let hb = std::thread::spawn(move || {
        pinned(1);
        b();
    });
    let ha = std::thread::spawn(move || {
        pinned(0);
        a()
    });
    let out = ha.join().unwrap();
    hb.join().unwrap();
    out
}

/// Env var that turns this program into the echo end of `pipe`.
const PIPE_ECHO: &str = "SWITCHLAB_PIPE_ECHO";

/// Two processes ping-ponging a byte over a pair of pipes: this one and a
/// re-executed copy of itself running `serve_pipe_echo`.
pub fn pipe<P: Probe>(iters: u64) -> P::Out {
    let exe = std::env::current_exe().expect("switchlab: current_exe");
    let mut child = Command::new(exe)
        .env(PIPE_ECHO, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("switchlab: spawn the pipe echo process");
    let (mut tx, mut rx) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    let mut byte = [0u8];
    let mut rounds = |n| {
        for _ in 0..n {
            tx.write_all(&byte).unwrap();
            rx.read_exact(&mut byte).unwrap();
        }
    };
    rounds(WARM);
    let p = P::start(&[child.id()]);
    rounds(iters.div_ceil(2));
    let out = p.stop();
    drop(tx);
    child.wait().unwrap();
    out
}

/// If this process was started as the echo end of `pipe`, echoes bytes from
/// stdin to stdout until stdin closes, then exits; otherwise returns at once.
/// Call it first thing in `main`.
pub fn serve_pipe_echo() {
    if std::env::var_os(PIPE_ECHO).is_none() {
        return;
    }
    let (mut input, mut output) = (std::io::stdin().lock(), std::io::stdout().lock());
    let mut byte = [0u8];
    while input.read_exact(&mut byte).is_ok() {
        output.write_all(&byte).and_then(|()| output.flush()).unwrap();
    }
    std::process::exit(0);
}
