//! What one keep-alive `GET /hello/x` costs gort::http, on the `hello`
//! example's routes over `gort::http::test::serve_raw` (an in-memory
//! connection, so the kernel's socket cost is out of the figure):
//!
//! - allocations per request, counted by a global allocator that wraps
//!   `System`: the count for a connection carrying 1 + N requests minus the
//!   count for one carrying 1, over N, so the per-connection setup and the
//!   harness's own buffers cancel out. Printed before the criterion rows.
//! - the time per request, as a criterion row.
//!
//! `cargo bench --bench http`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use gort::http::test::serve_raw;
use gort::http::ServeMux;

#[path = "../examples/common/hello_routes.rs"]
mod hello_routes;

const REQUEST: &[u8] = b"GET /hello/x HTTP/1.1\r\nHost: bench\r\n\r\n";
const RESPONSE_BODY: &[u8] = b"\r\n\r\nHello, x!";
/// Requests per `serve_raw` call in the timed loop.
const BATCH: u64 = 1000;

/// `System`, counting every allocation and reallocation.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: test scaffolding for this bench binary, not project code: every
// call forwards to `System` unchanged with the caller's layout and pointer,
// so `System`'s guarantees carry over; the counter is a relaxed statistic
// read only after the counted work has returned on the same thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` through this allocator, with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// `n` keep-alive requests back to back on one connection.
fn requests(n: u64) -> Vec<u8> {
    REQUEST.repeat(n as usize)
}

/// Allocations made while serving `input`, and the responses served.
fn count_allocs(mux: &ServeMux, input: &[u8]) -> (u64, usize) {
    let before = ALLOCS.load(Ordering::Relaxed);
    let out = serve_raw(mux, input);
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    let served = out.windows(RESPONSE_BODY.len()).filter(|w| *w == RESPONSE_BODY).count();
    (allocs, served)
}

fn print_allocs_per_request(mux: &ServeMux) {
    const N: u64 = 10_000;
    let (one, one_served) = count_allocs(mux, &requests(1));
    let (many, many_served) = count_allocs(mux, &requests(1 + N));
    assert_eq!((one_served, many_served), (1, 1 + N as usize), "every request gets its response");
    println!(
        "http/allocs_per_keepalive_request: {:.2} ({many} for {} requests - {one} for 1, over {N})",
        (many - one) as f64 / N as f64,
        1 + N
    );
}

fn bench(c: &mut Criterion) {
    let mux = hello_routes::mux();
    print_allocs_per_request(&mux);
    let batch = requests(BATCH);
    c.bench_function("http/serve_raw_keepalive_get_hello", |b| {
        b.iter_custom(|iters| {
            let (full, rest) = (iters / BATCH, iters % BATCH);
            let tail = requests(rest);
            let mut spent = Duration::ZERO;
            for input in std::iter::repeat_n(&batch, full as usize).chain((rest > 0).then_some(&tail)) {
                let start = Instant::now();
                black_box(serve_raw(&mux, input));
                spent += start.elapsed();
            }
            spent
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
