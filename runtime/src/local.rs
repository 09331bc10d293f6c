//! Goroutine-local storage: `gort::local!`, the safe replacement for
//! `thread_local!` in goroutines.
//!
//! A goroutine may resume on another OS thread after any blocking call, so
//! a `thread_local!` value is the wrong one after it (and a borrow kept
//! across it touches another thread's data). A `local!` value belongs to
//! the goroutine instead: each G has one lazily allocated map from key to
//! boxed value (one pointer in `G` until first use), dropped on the G
//! itself when its body returns. On a plain thread the same keys use a
//! per-thread map, dropped at thread exit.
//!
//! Invariants: a map is touched only by code running on its G (or thread);
//! values are leaked boxes never removed before the map is dropped, so a
//! reference handed to `with` stays valid while the map grows (an
//! initialiser or `with` body may itself use other keys).

use std::any::Any;
use std::cell::UnsafeCell;
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::sched::g::current_g;

/// One goroutine's (or thread's) values, indexed by key id - 1. Values are
/// leaked boxes, owned by the map and freed by its `Drop`: a raw pointer is
/// not retagged when the vector moves it, so references handed out stay
/// valid.
#[derive(Default)]
pub(crate) struct LocalMap {
    values: Vec<Option<NonNull<dyn Any>>>,
}

impl Drop for LocalMap {
    fn drop(&mut self) {
        for v in self.values.drain(..).flatten() {
            // SAFETY: made by `Box::into_raw` in `get_or_init`, freed once here.
            drop(unsafe { Box::from_raw(v.as_ptr()) });
        }
    }
}

/// Key ids handed out so far; 0 means "not yet assigned".
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static THREAD_MAP: UnsafeCell<LocalMap> = UnsafeCell::new(LocalMap::default());
}

/// A goroutine-local value, declared with [`local!`](crate::local).
pub struct LocalKey<T: 'static> {
    init: fn() -> T,
    /// Assigned on first use; identifies the value in every map.
    id: AtomicUsize,
}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn new(init: fn() -> T) -> LocalKey<T> {
        LocalKey { init, id: AtomicUsize::new(0) }
    }

    /// Runs `f` with this goroutine's value (this thread's, outside
    /// goroutines), initialising it on first use.
    pub fn with<R, F: FnOnce(&T) -> R>(&'static self, f: F) -> R {
        let id = self.id();
        let value = match current_g() {
            // SAFETY: only code running on `g` touches its map, and the
            // borrow ends inside `get_or_init` before any user code runs.
            Some(g) => get_or_init(id, self.init, || unsafe { g.locals_mut() }),
            None => THREAD_MAP.with(|m| {
                // SAFETY: only this thread touches its map; as above.
                get_or_init(id, self.init, || unsafe { &mut *m.get() })
            }),
        };
        // SAFETY: values are boxed and live until their map is dropped,
        // which cannot happen while this G (or thread) runs `f`.
        f(unsafe { &*value })
    }

    fn id(&self) -> usize {
        // Relaxed: the id is only compared, and a race assigns it once via CAS.
        match self.id.load(Ordering::Relaxed) {
            0 => {
                let fresh = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                match self.id.compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => fresh,
                    Err(won) => won,
                }
            }
            id => id,
        }
    }
}

/// Finds the value `id` in the map `map()` returns, or builds it with
/// `init`. `map` is called again after `init`, which may use the map too.
fn get_or_init<T: 'static>(id: usize, init: fn() -> T, map: impl Fn() -> &'static mut LocalMap) -> *const T {
    if let Some(v) = lookup::<T>(map(), id) {
        return v;
    }
    let fresh = init();
    let m = map();
    if m.values.len() < id {
        m.values.resize_with(id, || None);
    }
    let slot = &mut m.values[id - 1];
    if slot.is_none() {
        let boxed: Box<dyn Any> = Box::new(fresh);
        *slot = Some(NonNull::from(Box::leak(boxed)));
    }
    lookup::<T>(m, id).expect("local: value vanished")
}

fn lookup<T: 'static>(m: &LocalMap, id: usize) -> Option<*const T> {
    let v = (*m.values.get(id - 1)?)?;
    // SAFETY: a live value owned by the map (see `LocalMap`).
    let any = unsafe { v.as_ref() };
    Some(std::ptr::from_ref(any.downcast_ref::<T>().expect("local: key type mismatch")))
}

/// Drops the running goroutine's values; called by the G as its body ends.
/// A destructor that uses a key again starts a fresh map, dropped in turn.
pub(crate) fn drop_current() {
    if let Some(g) = current_g() {
        // SAFETY: we run on `g`; the borrow ends before the values drop.
        while let Some(map) = unsafe { g.locals_mut_opt() }.take() {
            drop(map);
        }
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

/// Declares goroutine-local values: one per goroutine (per thread on plain
/// threads), made on first use by the initialiser and dropped when the
/// goroutine ends. Unlike `thread_local!`, the value follows the goroutine
/// when it resumes on another OS thread, so a borrow may be kept across a
/// blocking call.
///
/// ```
/// use std::cell::RefCell;
/// gort::local! {
///     static SEEN: RefCell<Vec<u32>> = RefCell::new(Vec::new());
/// }
/// let h = gort::go!(|| {
///     SEEN.with(|s| s.borrow_mut().push(1));
///     gort::yield_now(); // may resume on another thread: still ours
///     SEEN.with(|s| s.borrow().clone())
/// });
/// assert_eq!(h.join().unwrap(), vec![1]);
/// SEEN.with(|s| assert!(s.borrow().is_empty())); // this thread's own
/// ```
#[macro_export]
macro_rules! local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $(#[$attr])* $vis static $name: $crate::LocalKey<$t> = $crate::LocalKey::new({
            fn init() -> $t {
                $init
            }
            init
        });
        $crate::local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        $crate::local!($(#[$attr])* $vis static $name: $t = $init;);
    };
}
