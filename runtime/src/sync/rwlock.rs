//! `RwLock`: Go's `sync.RWMutex`. Readers only touch `readers` on the fast
//! path; a writer takes the writer mutex, then subtracts `MAX_READERS` from
//! `readers` (so new readers see a negative count and park on `reader_sem`),
//! and waits on `writer_sem` for the readers already in (`departing`). A
//! writer therefore cannot starve: readers that arrive after it wait.
//!
//! `readers`: number of readers in or waiting, minus `MAX_READERS` while a
//! writer holds or waits for the lock. `departing`: readers the waiting
//! writer still waits for.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicI32, Ordering};

use crate::sched::g::WaitReason;
use crate::sync::mutex::RawMutex;
use crate::sync::sema::Sema;

const MAX_READERS: i32 = 1 << 30;

/// A reader-writer lock that parks goroutines: many readers or one writer.
/// A waiting writer blocks new readers, so writers do not starve.
///
/// ```
/// let l = gort::sync::RwLock::new(5);
/// {
///     let (a, b) = (l.read(), l.read());
///     assert_eq!(*a + *b, 10);
/// }
/// *l.write() += 1;
/// assert_eq!(*l.read(), 6);
/// ```
pub struct RwLock<T: ?Sized> {
    writer: RawMutex,
    writer_sem: Sema,
    reader_sem: Sema,
    readers: AtomicI32,
    departing: AtomicI32,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&T` to many readers (needs `T: Sync`) or
// `&mut T` to one writer on any thread (needs `T: Send`).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// Shared access to a read-locked [`RwLock`]; not `Send`.
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*const ()>,
}

/// Exclusive access to a write-locked [`RwLock`]; not `Send`.
#[must_use = "the lock is released at once if the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing a guard only shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T> RwLock<T> {
    /// An unlocked lock.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            writer: RawMutex::new(),
            writer_sem: Sema::new(0),
            reader_sem: Sema::new(0),
            readers: AtomicI32::new(0),
            departing: AtomicI32::new(0),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Locks for reading, parking while a writer holds or waits for it.
    #[inline]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        // AcqRel: Acquire pairs with the Release in `write_unlock`; the
        // RMW order with the writer's subtraction decides who waits.
        if self.readers.fetch_add(1, Ordering::AcqRel) < 0 {
            self.reader_sem.acquire(false, WaitReason::RwLock);
        }
        RwLockReadGuard { lock: self, _not_send: PhantomData }
    }

    /// Locks for reading if no writer holds or waits for it.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        let mut n = self.readers.load(Ordering::Relaxed);
        while n >= 0 {
            // Acquire: pairs with the Release in `write_unlock`.
            match self.readers.compare_exchange_weak(n, n + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Some(RwLockReadGuard { lock: self, _not_send: PhantomData }),
                Err(cur) => n = cur,
            }
        }
        None
    }

    /// Locks for writing, parking while readers or another writer hold it.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.writer.lock();
        // AcqRel: Acquire pairs with the Release in `read_unlock`.
        let active = self.readers.fetch_sub(MAX_READERS, Ordering::AcqRel);
        // AcqRel: pairs with the decrements in `read_unlock`.
        if active != 0 && self.departing.fetch_add(active, Ordering::AcqRel) + active != 0 {
            self.writer_sem.acquire(false, WaitReason::RwLock);
        }
        RwLockWriteGuard { lock: self, _not_send: PhantomData }
    }

    /// Locks for writing if nobody holds it.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        if !self.writer.try_lock() {
            return None;
        }
        // Acquire: pairs with the Release in `read_unlock`.
        if self.readers.compare_exchange(0, -MAX_READERS, Ordering::Acquire, Ordering::Relaxed).is_err() {
            // SAFETY: locked just above.
            unsafe { self.writer.unlock() };
            return None;
        }
        Some(RwLockWriteGuard { lock: self, _not_send: PhantomData })
    }

    /// The value, through exclusive access (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn read_unlock(&self) {
        // Release: pairs with the Acquire in `write`.
        if self.readers.fetch_sub(1, Ordering::Release) - 1 < 0 {
            self.read_unlock_slow();
        }
    }

    /// A writer waits: the last departing reader wakes it.
    #[cold]
    fn read_unlock_slow(&self) {
        // AcqRel: pairs with the fetch_add in `write`.
        if self.departing.fetch_sub(1, Ordering::AcqRel) - 1 == 0 {
            self.writer_sem.release();
        }
    }

    fn write_unlock(&self) {
        // Release: pairs with the Acquire in `read` of the readers let in.
        let waiting = self.readers.fetch_add(MAX_READERS, Ordering::Release) + MAX_READERS;
        (0..waiting).for_each(|_| self.reader_sem.release());
        // SAFETY: the write guard holds the writer mutex.
        unsafe { self.writer.unlock() };
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock").finish_non_exhaustive()
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard proves no writer holds the lock.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard proves exclusive access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: a write guard proves exclusive access; `&mut self` makes it unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.write_unlock();
    }
}
