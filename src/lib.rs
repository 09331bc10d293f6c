//! gort: Go's runtime model in Rust.
//!
//! Write plain blocking code — one goroutine per connection, `join`, `sleep`
//! — and gort runs it on stackful coroutines scheduled Go's way: Gs on Ps on
//! Ms, local and global run queues, work stealing.
//!
//! ```
//! let hs: Vec<_> = (0..1000u64).map(|i| gort::go!(move || i * 2)).collect();
//! let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
//! assert_eq!(sum, 999_000);
//! ```
//!
//! # Safety model
//!
//! A goroutine can resume on another OS thread after any blocking call. Code
//! that keeps a `thread_local!` borrow or a thread-bound guard across such a
//! call would then touch another thread's data; that cannot be checked, so
//! [`spawn`] is an `unsafe fn` and [`go!`] is the spelling that accepts its
//! contract. Nothing else you do with the safe API can cause undefined
//! behaviour.

pub use gort_runtime::*;

/// Sockets on the netpoller: std's socket API where a call that would
/// block parks the goroutine, plus Go's deadlines.
pub use gort_net as net;

/// Go's net/http (coming with the HTTP issues).
pub use gort_http as http;
