//! The connection's read buffer: 4 KiB from `BufPool`, growing for a large
//! head up to the server's limit, given back while the connection idles.
//!
//! # Invariants
//! - The storage is a pool vector, fully initialised (its length is its
//!   size), so reads go straight into it with no `unsafe` and no zeroing.
//! - `storage[start..end]` are the bytes read and not yet consumed; the
//!   rest is free room.
//! - A request head is handed out as a shared [`Bytes`] slice
//!   (`take_head`), so header values and the target point into it instead
//!   of being copied. For that the storage is frozen whole into one
//!   `Bytes` (`frozen`), which costs no copy; the slices keep it alive.
//! - Writing needs the storage back as a vector (`thaw`, before a fill).
//!   Once every slice is gone (the request is over) it is the same vector,
//!   whole and still initialised, at the cost of a reference-count check.
//!   While a head is alive (a body read that must fill), the unread bytes
//!   move to a fresh pool buffer instead, and the frozen storage waits in
//!   `retired` until `release` finds it unshared and gives it back.
//! - Holding no storage is the idle state; `fill` takes a buffer from the
//!   pool first.

use std::io;

use bytes::Bytes;
use gort_runtime::sync::BufPool;

use crate::stream::Conn;

/// The pool class a connection starts with.
const START: usize = 4 << 10;

/// See the module doc.
pub(crate) struct ReadBuf {
    /// The writable storage; empty while frozen or while none is held.
    own: Vec<u8>,
    /// The storage since the last `take_head`, shared with the heads.
    frozen: Option<Bytes>,
    /// Frozen storage left behind by a `thaw` while a head was alive.
    retired: Option<Bytes>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    /// A buffer holding no storage yet.
    pub(crate) fn new() -> ReadBuf {
        ReadBuf { own: Vec::new(), frozen: None, retired: None, start: 0, end: 0 }
    }

    fn storage(&self) -> &[u8] {
        self.frozen.as_deref().unwrap_or(&self.own)
    }

    /// The bytes read and not yet consumed.
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        &self.storage()[self.start..self.end]
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
        let n = conn.read(&mut self.own[self.end..])?;
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
        let r = conn.try_read(&mut self.own[self.end..]);
        match r {
            Ok(n) => self.end += n,
            Err(_) => {
                self.release();
            }
        }
        r
    }

    fn make_room(&mut self, limit: usize) -> io::Result<()> {
        self.thaw();
        if self.own.is_empty() {
            self.own = BufPool::get(START).into_vec();
        }
        if self.end < self.own.len() {
            return Ok(());
        }
        if self.start > 0 {
            self.own.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            return Ok(());
        }
        let len = self.own.len();
        if len >= limit {
            return Err(io::Error::new(io::ErrorKind::OutOfMemory, "the buffered data reached its limit"));
        }
        let mut grown = Vec::with_capacity((len * 2).min(limit).max(START));
        grown.extend_from_slice(self.data());
        grown.resize(grown.capacity(), 0);
        give_back(std::mem::replace(&mut self.own, grown));
        Ok(())
    }

    /// Makes the storage writable again (see the module doc).
    fn thaw(&mut self) {
        let Some(whole) = self.frozen.take() else { return };
        if whole.is_unique() {
            self.own = Vec::from(whole);
            return;
        }
        let data = &whole[self.start..self.end];
        let mut fresh = BufPool::get(whole.len()).into_vec();
        fresh[..data.len()].copy_from_slice(data);
        (self.start, self.end) = (0, data.len());
        self.own = fresh;
        self.retired = Some(whole);
    }

    /// Marks the first `n` buffered bytes consumed as a head, and returns
    /// the frozen storage with where the head starts in it, so that the
    /// head's parts are sliced straight off the storage (each slice one
    /// reference count, and none for the head as a whole).
    pub(crate) fn split_head(&mut self, n: usize) -> (&Bytes, usize) {
        let at = self.start;
        self.consume(n);
        let whole = match &mut self.frozen {
            Some(whole) => whole,
            frozen => frozen.insert(Bytes::from(std::mem::take(&mut self.own))),
        };
        (whole, at)
    }

    /// Splits the first `n` buffered bytes off as a shared, immutable head.
    pub(crate) fn take_head(&mut self, n: usize) -> Bytes {
        let (whole, at) = self.split_head(n);
        whole.slice(at..at + n)
    }

    /// After the requests are gone: the storage is writable again, and
    /// frozen storage left behind goes back to the pool (see the module
    /// doc).
    fn reclaim(&mut self) {
        self.thaw();
        self.retired = self.retired.take().and_then(recycle);
    }

    /// Gives the storage back to the pool when no data is buffered.
    /// Returns whether it did (the connection may then idle holding none).
    pub(crate) fn release(&mut self) -> bool {
        if self.start != self.end {
            return false;
        }
        self.reclaim();
        give_back(std::mem::take(&mut self.own));
        true
    }

    /// Takes the buffered data out, leaving the buffer empty (`hijack`).
    pub(crate) fn take_data(&mut self) -> Bytes {
        let n = self.end - self.start;
        self.take_head(n)
    }
}

/// Returns a storage vector to its pool class.
fn give_back(v: Vec<u8>) {
    if !v.is_empty() {
        BufPool::put(v);
    }
}

/// Returns frozen storage to the pool if no slice of it is left; else
/// hands it back (its last slice will free it).
fn recycle(whole: Bytes) -> Option<Bytes> {
    if !whole.is_unique() {
        return Some(whole);
    }
    give_back(Vec::from(whole));
    None
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
            self.take_storage();
        }
        self.buf.len() - self.n
    }

    /// Out of line, so that `room` and the pushes stay small enough to
    /// inline into every write.
    #[inline(never)]
    fn take_storage(&mut self) {
        self.buf = BufPool::get(START).into_vec();
    }

    /// Appends `b` if it fits in `room()`; says whether it did.
    #[inline]
    pub(crate) fn try_push(&mut self, b: &[u8]) -> bool {
        if b.len() > self.room() {
            return false;
        }
        self.buf[self.n..self.n + b.len()].copy_from_slice(b);
        self.n += b.len();
        true
    }

    /// Appends `b`, which must fit in `room()`.
    #[inline]
    pub(crate) fn push(&mut self, b: &[u8]) {
        let pushed = self.try_push(b);
        debug_assert!(pushed, "WriteBuf::push: past the room");
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
        for whole in self.frozen.take().into_iter().chain(self.retired.take()) {
            recycle(whole);
        }
        give_back(std::mem::take(&mut self.own));
    }
}

#[cfg(test)]
mod tests {
    use super::ReadBuf;
    use crate::test::MemConn;

    fn chunks(c: &[&'static [u8]]) -> MemConn {
        MemConn::new(c.iter().copied()).0
    }

    #[test]
    fn a_dropped_head_gives_the_same_storage_back_for_the_next_read() {
        let conn = chunks(&[b"GET / HTTP/1.1\r\n\r\nGET", b" /b"]);
        let mut rb = ReadBuf::new();
        rb.fill(&conn, 1 << 20).unwrap();
        let storage = rb.data().as_ptr();
        let head = rb.take_head(18);
        assert_eq!(&head[..], b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(rb.data(), b"GET", "the unread bytes stay buffered");
        drop(head);
        rb.fill(&conn, 1 << 20).unwrap();
        assert_eq!(rb.data(), b"GET /b");
        assert_eq!(rb.data().as_ptr(), storage.wrapping_add(18), "no copy, no new buffer");
        assert!(!rb.release(), "data is buffered: the storage stays");
    }

    #[test]
    fn a_fill_while_a_head_lives_moves_the_unread_bytes_and_keeps_the_head() {
        let conn = chunks(&[b"POST / HTTP/1.1\r\n\r\nab", b"cd"]);
        let mut rb = ReadBuf::new();
        rb.fill(&conn, 1 << 20).unwrap();
        let head = rb.take_head(19);
        rb.fill(&conn, 1 << 20).unwrap();
        assert_eq!(rb.data(), b"abcd");
        assert_eq!(&head[..], b"POST / HTTP/1.1\r\n\r\n", "the head's bytes were not written over");
        assert!(rb.retired.is_some());
        rb.consume(4);
        drop(head);
        assert!(rb.release());
        assert!(rb.retired.is_none() && rb.frozen.is_none() && rb.own.is_empty(), "everything went back");
    }

    #[test]
    fn a_head_outliving_the_buffer_stays_readable() {
        let conn = chunks(&[b"GET /x HTTP/1.1\r\n\r\n"]);
        let mut rb = ReadBuf::new();
        rb.fill(&conn, 1 << 20).unwrap();
        let head = rb.take_head(19);
        drop(rb);
        assert_eq!(&head[..], b"GET /x HTTP/1.1\r\n\r\n");
    }
}
