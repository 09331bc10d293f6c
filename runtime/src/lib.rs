//! gort-runtime: Go's runtime model in Rust. Goroutines (G) are stackful
//! coroutines on small guarded stacks, run by OS threads (M) that each hold
//! one of `procs` logical processors (P), scheduled the way Go's `proc.go`
//! does it: local run queues with `runnext`, a global queue, work stealing,
//! spinning Ms and `wakep`. Use it through the `gort` facade.
//!
//! # Glossary
//!
//! | letter | what | how many |
//! |---|---|---|
//! | G | a goroutine: coroutine, stack, id, name, status | as many as you spawn |
//! | M | an OS thread running the schedule loop | about one per P (more while calls block) |
//! | P | the right to run Gs: run queue, stack cache | `GORT_PROCS`, default all CPUs |
//!
//! # What blocks what
//!
//! | call | the G | its M | its P |
//! |---|---|---|---|
//! | `join`, `time::sleep`, `yield_now` | parks (or requeues) | runs other Gs | stays with the M |
//! | channel ops, `select!`, `sync::{Mutex, RwLock, Condvar, WaitGroup, Semaphore, Once}` | parks | runs other Gs | stays with the M |
//! | a loop through non-blocking gort calls (`try_recv`, `select!` `default`, an uncontended lock, `Pool`, a ready socket) | yields after 10 ms (sysmon's mark) | runs other Gs | stays with the M |
//! | a loop that never calls into gort | runs | is held | is held: preemption is cooperative |
//! | `gort::net` socket I/O that would block | parks on the netpoller | runs other Gs | stays with the M |
//! | `gort::blocking(f)`, `gort::fs`, `gort::net::lookup_host` of a name | runs `f` (blocked) | blocked in `f` | handed to another M after ~20 µs |
//! | `std::thread::sleep`, blocking std I/O, a `std` lock | runs (blocked) | blocked | blocked with it |
//!
//! On a plain OS thread (such as `main`) every blocking call blocks the
//! thread, so `join`, `sleep`, channels and gort's locks work everywhere,
//! between threads and goroutines alike. The runtime starts on first use.
//!
//! Everything that waits goes through one mechanism: `sched/park.rs`
//! (park/ready) and `sched/waitq.rs` (wait queues of sudogs sharing a
//! parker, claimed once), used by `chan`, `sync` and `time`.
//!
//! # Environment
//!
//! `GORT_PROCS` sets the number of Ps; `GORT_STACK_SIZE` the default stack
//! reservation (`65536`, `64k`, `1m`); `GORT_NETPOLL` who waits in epoll
//! (`inline`, the default: idle Ms, Go's way; `thread`: a netpoller thread);
//! `GORT_DEBUG` the diagnostics (schedtrace, the blocked-M warning, the
//! deadlock report); `GORT_TRACEBACK=crash` makes `SIGQUIT` exit with
//! status 2 after writing the goroutine dump ([`dump`]) instead of going on.

mod aging;
pub mod chan;
pub mod context;
mod coro;
mod debug;
mod dump;
pub mod fs;
mod join;
mod local;
mod loom;
pub mod netpoll;
mod panic;
mod prefetch;
mod sched;
mod sigquit;
mod spawn;
mod spin;
mod stack;
mod stats;
pub mod sync;
mod sys;
pub mod time;
mod timer;

pub use dump::dump;
pub use join::JoinHandle;
pub use local::LocalKey;
pub use sched::blocking::blocking;
#[doc(hidden)]
pub use sched::preempt::preempt_check;
pub use sched::system_stack::system_stack;
pub use sched::warm_stack::warm_stack;
#[doc(hidden)]
pub use spawn::__go;
pub use spawn::{current, spawn, yield_now, Builder, Goroutine};
pub use stack::shrink_stack;
pub use stats::{stats, Stats};
