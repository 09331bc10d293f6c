//! `BufPool`: reusable byte buffers in three size classes (4 KiB, 16 KiB,
//! 64 KiB), each class a [`Pool`]. Larger requests get a fresh buffer that
//! is not pooled.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use crate::sync::Pool;

/// The size classes, smallest first.
const CLASSES: [usize; 3] = [4 << 10, 16 << 10, 64 << 10];

fn pools() -> &'static [Pool<Vec<u8>>; 3] {
    static POOLS: OnceLock<[Pool<Vec<u8>>; 3]> = OnceLock::new();
    POOLS.get_or_init(|| CLASSES.map(|size| Pool::new(move || vec![0; size])))
}

/// Shared byte buffers for I/O: `BufPool::get(n)` returns a [`Buf`] of at
/// least `n` bytes that goes back to the pool when dropped.
///
/// ```
/// use gort::sync::BufPool;
/// let mut buf = BufPool::get(1000);
/// assert_eq!(buf.len(), 4096); // the smallest class that fits
/// buf[0] = 1;
/// drop(buf); // back to the pool
/// assert_eq!(BufPool::get(70_000).len(), 70_000); // too big to pool
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BufPool;

impl BufPool {
    /// A buffer of at least `min_len` bytes: the smallest class that fits
    /// (4, 16 or 64 KiB), or exactly `min_len` above 64 KiB. Its contents
    /// are whatever the last user left (initialised bytes, not zeroes).
    #[inline]
    pub fn get(min_len: usize) -> Buf {
        match CLASSES.iter().position(|&size| size >= min_len) {
            Some(class) => Buf { data: pools()[class].get(), class: Some(class) },
            None => Buf { data: vec![0; min_len], class: None },
        }
    }

    /// Gives back a buffer taken out with [`Buf::into_vec`]: it rejoins its
    /// class when its length is still a class size, and is freed otherwise.
    ///
    /// ```
    /// use gort::sync::BufPool;
    /// let v = BufPool::get(4096).into_vec();
    /// BufPool::put(v); // back in the 4 KiB class
    /// ```
    #[inline]
    pub fn put(data: Vec<u8>) {
        if let Some(class) = CLASSES.iter().position(|&size| size == data.len()) {
            pools()[class].put(data);
        }
    }
}

/// A byte buffer from [`BufPool`]; derefs to `[u8]` and returns to its
/// pool on drop.
pub struct Buf {
    data: Vec<u8>,
    class: Option<usize>,
}

impl Buf {
    /// Keeps the bytes for good, out of the pool.
    pub fn into_vec(mut self) -> Vec<u8> {
        self.class = None;
        std::mem::take(&mut self.data)
    }
}

impl Deref for Buf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data
    }
}

impl DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        if let Some(class) = self.class {
            pools()[class].put(std::mem::take(&mut self.data));
        }
    }
}

impl fmt::Debug for Buf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buf").field("len", &self.data.len()).finish()
    }
}
