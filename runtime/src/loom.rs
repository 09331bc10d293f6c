//! The facade between the wake-up protocols and their primitives: std's
//! (and `parking_lot`'s lock) in every normal build, [`loom`]'s under
//! `--cfg loom`, so that the model checks run the protocols' real code.
//!
//! The protocols behind it are the run queue (`sched/runq.rs`), park/ready
//! on a plain thread (`sched/park.rs`), the poll descriptor's slot
//! (`netpoll/pd.rs`) and the `WaitGroup`'s counter word
//! (`sync/waitgroup.rs`); each has its models in a `loom_*` module beside it.
//! Only the atomics, locks and threads those protocols share go through
//! here. The rest of the runtime (coroutine switching, the scheduler's
//! statics) cannot run under loom, and keeps using std directly.
//!
//! The paths mirror std's (`sync::atomic`, `sync`, `thread`), so a file
//! switches by changing `std::` to `crate::loom::` in its imports. In a
//! normal build every item is a re-export: nothing is wrapped, and the
//! generated code is the same as std's. Under loom, capacities shrink so
//! that a model reaches the full and wrap-around cases in a few steps
//! (`RUNQ_SIZE` is 4, as tokio shrinks its queues).
//!
//! Run the models with (README, "Model checks"):
//! `RUSTFLAGS="--cfg loom" cargo test -p gort-runtime --lib --release --target-dir target/loom loom_`
//!
//! [`loom`]: https://docs.rs/loom

#[cfg(not(loom))]
pub(crate) mod sync {
    pub(crate) use parking_lot::Mutex;
    pub(crate) use std::sync::Arc;

    pub(crate) mod atomic {
        pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64};
    }
}

#[cfg(not(loom))]
pub(crate) use std::thread;

#[cfg(loom)]
pub(crate) mod sync {
    pub(crate) use ::loom::sync::{Arc, MutexGuard};

    pub(crate) mod atomic {
        pub(crate) use ::loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64};
    }

    /// loom's lock with `parking_lot`'s signature (no poisoning), so the
    /// code that locks reads the same in both builds.
    #[derive(Default)]
    pub(crate) struct Mutex<T>(::loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().expect("loom facade: a model thread panicked holding the lock")
        }
    }
}

#[cfg(loom)]
pub(crate) use ::loom::thread;
