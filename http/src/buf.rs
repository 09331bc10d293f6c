//! The connection's read buffer: 4 KiB from `BufPool`, growing for a large
//! head up to the server's limit, given back while the connection idles.
//!
//! # Invariants
//! - `bytes` is fully initialised (`len()` is the region it owns), so reads
//!   go straight into it with no `unsafe` and no zeroing per read.
//! - `bytes[start..end]` are the bytes read and not yet consumed; the rest
//!   is free room.
//! - A request head is split off the front as a shared [`Bytes`]
//!   (`take_head`), so header values and the target point into it instead
//!   of being copied. Once the request is gone, [`ReadBuf::reclaim`] turns
//!   the storage back into a plain vector; if a head is still alive then, it
//!   costs one copy of the unread bytes instead of sharing.
//! - Holding no storage is the idle state (`is_empty_storage`); `fill`
//!   takes a buffer from the pool first.

use std::io;

use bytes::{Buf as _, Bytes, BytesMut};
use gort_runtime::sync::BufPool;

use crate::stream::Conn;

/// The pool class a connection starts with.
const START: usize = 4 << 10;

/// See the module doc.
pub(crate) struct ReadBuf {
    bytes: BytesMut,
    start: usize,
    end: usize,
    /// A head was split off since the last `reclaim`.
    shared: bool,
}

impl ReadBuf {
    /// A buffer holding no storage yet.
    pub(crate) fn new() -> ReadBuf {
        ReadBuf { bytes: BytesMut::new(), start: 0, end: 0, shared: false }
    }

    /// The bytes read and not yet consumed.
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    /// Marks the first `n` buffered bytes consumed.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start, "ReadBuf::consume: past the data");
        self.start += n;
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
    }

    /// Reads once from `conn`, appending to the data; makes room first by
    /// moving the data to the front, or by growing up to `limit` bytes in
    /// all. Returns the bytes read (0 at EOF).
    ///
    /// # Errors
    /// The read's error; `OutOfMemory` when the data already fills `limit`.
    pub(crate) fn fill(&mut self, conn: &dyn Conn, limit: usize) -> io::Result<usize> {
        self.make_room(limit)?;
        let n = conn.read(&mut self.bytes[self.end..])?;
        self.end += n;
        Ok(n)
    }

    /// [`fill`](Self::fill) with a read that does not wait
    /// (`Conn::try_read`); when it finds nothing and the buffer holds no
    /// other data, the storage goes back to the pool at once.
    ///
    /// # Errors
    /// As `fill`; `WouldBlock` when nothing was queued.
    pub(crate) fn try_fill(&mut self, conn: &dyn Conn, limit: usize) -> io::Result<usize> {
        self.make_room(limit)?;
        let r = conn.try_read(&mut self.bytes[self.end..]);
        match r {
            Ok(n) => self.end += n,
            Err(_) => {
                self.release();
            }
        }
        r
    }

    fn make_room(&mut self, limit: usize) -> io::Result<()> {
        if self.bytes.is_empty() {
            self.bytes = to_mut(BufPool::get(START).into_vec());
        }
        if self.end < self.bytes.len() {
            return Ok(());
        }
        if self.start > 0 {
            self.bytes.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            return Ok(());
        }
        let len = self.bytes.len();
        if len >= limit {
            return Err(io::Error::new(io::ErrorKind::OutOfMemory, "the buffered data reached its limit"));
        }
        let mut grown = Vec::with_capacity((len * 2).min(limit).max(START));
        grown.extend_from_slice(self.data());
        grown.resize(grown.capacity(), 0);
        give_back(std::mem::replace(&mut self.bytes, to_mut(grown)));
        Ok(())
    }

    /// Splits the first `n` buffered bytes off as a shared, immutable head.
    pub(crate) fn take_head(&mut self, n: usize) -> Bytes {
        let mut head = self.bytes.split_to(self.start + n);
        head.advance(self.start);
        (self.start, self.end) = (0, self.end - self.start - n);
        self.shared = true;
        head.freeze()
    }

    /// Makes the storage a plain vector again after a `take_head` (see the
    /// module doc), keeping the unread data.
    pub(crate) fn reclaim(&mut self) {
        if !std::mem::take(&mut self.shared) {
            return;
        }
        let mut rest = std::mem::take(&mut self.bytes);
        rest.truncate(self.end);
        rest.advance(self.start);
        let data_len = rest.len();
        let mut v: Vec<u8> = rest.into();
        v.resize(v.capacity().max(START), 0);
        (self.start, self.end) = (0, data_len);
        self.bytes = to_mut(v);
    }

    /// Gives the storage back to the pool when no data is buffered.
    /// Returns whether it did (the connection may then idle holding none).
    pub(crate) fn release(&mut self) -> bool {
        if self.start != self.end {
            return false;
        }
        self.reclaim();
        give_back(std::mem::take(&mut self.bytes));
        true
    }

    /// Takes the buffered data out, leaving the buffer empty (`hijack`).
    pub(crate) fn take_data(&mut self) -> Bytes {
        let n = self.end - self.start;
        self.take_head(n)
    }
}

/// A vector as a `BytesMut` without copying (its length is its capacity).
fn to_mut(v: Vec<u8>) -> BytesMut {
    Bytes::from(v).try_into_mut().unwrap_or_else(|b| BytesMut::from(&b[..]))
}

/// Returns a uniquely held storage vector to its pool class.
fn give_back(bytes: BytesMut) {
    if !bytes.is_empty() {
        BufPool::put(bytes.into());
    }
}

/// The response side's buffer: a pool vector with a fill count.
pub(crate) struct WriteBuf {
    buf: Vec<u8>,
    n: usize,
}

impl WriteBuf {
    /// A buffer holding no storage yet.
    pub(crate) fn new() -> WriteBuf {
        WriteBuf { buf: Vec::new(), n: 0 }
    }

    /// The bytes waiting to be written.
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[..self.n]
    }

    /// Free room left before a flush is needed.
    #[inline]
    pub(crate) fn room(&mut self) -> usize {
        if self.buf.is_empty() {
            self.buf = BufPool::get(START).into_vec();
        }
        self.buf.len() - self.n
    }

    /// Appends `b`, which must fit in `room()`.
    #[inline]
    pub(crate) fn push(&mut self, b: &[u8]) {
        let room = self.room();
        debug_assert!(b.len() <= room, "WriteBuf::push: past the room");
        self.buf[self.n..self.n + b.len()].copy_from_slice(b);
        self.n += b.len();
    }

    /// The number of bytes waiting.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// The bytes waiting, to change in place.
    #[inline]
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.n]
    }

    /// The free room, to write into before [`grow_len`](Self::grow_len).
    #[inline]
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        self.room();
        &mut self.buf[self.n..]
    }

    /// Counts `k` bytes written into [`spare`](Self::spare) as data.
    #[inline]
    pub(crate) fn grow_len(&mut self, k: usize) {
        debug_assert!(self.n + k <= self.buf.len(), "WriteBuf::grow_len: past the buffer");
        self.n += k;
    }

    /// Drops the waiting bytes from `n` on.
    #[inline]
    pub(crate) fn truncate(&mut self, n: usize) {
        self.n = self.n.min(n);
    }

    /// The size of the buffer once it holds storage.
    pub(crate) fn capacity(&mut self) -> usize {
        self.room();
        self.buf.len()
    }

    /// Writes everything waiting to `conn`.
    ///
    /// # Errors
    /// The write's error; the data is then dropped (the connection is done).
    pub(crate) fn flush_to(&mut self, conn: &dyn Conn) -> io::Result<()> {
        let n = std::mem::take(&mut self.n);
        conn.write_all(&self.buf[..n])
    }

    /// Gives the storage back to the pool; it must be empty.
    pub(crate) fn release(&mut self) {
        debug_assert_eq!(self.n, 0, "WriteBuf::release: unwritten data");
        if !self.buf.is_empty() {
            BufPool::put(std::mem::take(&mut self.buf));
        }
    }
}

impl Drop for WriteBuf {
    fn drop(&mut self) {
        self.n = 0;
        self.release();
    }
}

impl Drop for ReadBuf {
    fn drop(&mut self) {
        (self.start, self.end) = (0, 0);
        self.release();
    }
}
