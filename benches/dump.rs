//! What a goroutine dump costs: `gort::dump` into `io::sink()` with 1,000
//! and with 100,000 named goroutines parked on a channel. One iteration
//! is one whole dump: the copy out of the registry under its lock (the
//! only part that delays anything else, and only spawns into fresh G
//! boxes), then the sort and the formatting with the lock released.
//!
//! `cargo bench --bench dump`

use std::io;

use criterion::{criterion_group, Criterion};

/// Parks `n` named goroutines on one channel; dropping the sender ends them.
fn park(n: usize) -> (gort::chan::Sender<()>, Vec<gort::JoinHandle<()>>) {
    let (tx, rx) = gort::chan::bounded::<()>(0);
    let hs = (0..n)
        .map(|_| {
            let rx = rx.clone();
            gort::go!(gort::Builder::new().name("parked"), move || {
                let _ = rx.recv();
            })
            .unwrap()
        })
        .collect();
    let parked = || {
        let mut out = Vec::new();
        gort::dump(&mut out).unwrap();
        String::from_utf8_lossy(&out).matches(" \"parked\" [chan receive").count()
    };
    while parked() < n {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    (tx, hs)
}

fn dump(c: &mut Criterion) {
    let mut g = c.benchmark_group("dump");
    for n in [1_000, 100_000] {
        let (tx, hs) = park(n);
        g.bench_function(format!("parked_{n}"), |b| b.iter(|| gort::dump(&mut io::sink()).unwrap()));
        drop(tx);
        hs.into_iter().for_each(|h| h.join().unwrap());
    }
    g.finish();
}

criterion_group!(benches, dump);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
