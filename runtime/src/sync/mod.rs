//! Go's `sync` package for goroutines: locks and waits that park the
//! goroutine instead of its OS thread (and block plain threads as usual),
//! plus [`Pool`], a per-P object cache.
//!
//! Why not `std::sync` or `parking_lot` in a goroutine: their `lock` blocks
//! the OS thread, which is an M. A goroutine waiting on such a lock stops
//! every goroutine queued on that M's P, and if the holder is itself parked
//! behind that M, the program deadlocks. gort's locks park only the
//! goroutine, so holding one across a blocking call (a channel operation,
//! a socket read, `sleep`) is fine. A short critical section with no
//! blocking call inside may still use `std`'s.
//!
//! Files: `sema.rs` (the runtime semaphore every lock waits on),
//! `mutex.rs`, `rwlock.rs`, `condvar.rs`, `once.rs`, `waitgroup.rs`,
//! `semaphore.rs`, `pool.rs`, `bufpool.rs`.

mod bufpool;
mod condvar;
mod mutex;
mod once;
mod pool;
mod rwlock;
mod sema;
mod semaphore;
mod waitgroup;

pub use bufpool::{Buf, BufPool};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use once::Once;
pub(crate) use pool::sweep_all as sweep_pools;
pub use pool::{sweep_pools_now, Pool};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{Semaphore, SemaphorePermit};
pub use waitgroup::WaitGroup;
