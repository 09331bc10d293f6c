//! The socket calls on `gort::net`'s hot path, made as raw system calls.
//!
//! glibc's `recv` and `send` are thread-cancellation points: each call
//! switches asynchronous cancellation on and off around the system call,
//! two atomic updates of the thread's cancel state that cost about as much
//! as the rest of the user-space side of the call. Rust never cancels a
//! thread (`pthread_cancel` would unwind through frames that forbid it), so
//! these go through `syscall(2)` directly, as Go's runtime does; the result
//! and `errno` are the same as std's.
//!
//! The descriptors are whatever the caller's socket is: blocking or not,
//! these never change it. A non-blocking socket gives `WouldBlock` as
//! usual.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `recvfrom(fd, buf, flags)` with no address out.
fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: `buf` is a live, writable slice of `buf.len()` bytes for the
    // whole call, `fd` is a descriptor borrowed for its duration, and the
    // null address pointers ask for no source address.
    let n = unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            fd.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
            flags,
            std::ptr::null_mut::<libc::sockaddr>(),
            std::ptr::null_mut::<libc::socklen_t>(),
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// One `recv` on a stream socket, as std's `Read::read` on it.
///
/// # Errors
/// As `recv(2)`.
pub fn recv_now(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    recv(fd, buf, 0)
}

/// One `send` on a stream socket, as std's `Write::write` on it: with
/// `MSG_NOSIGNAL`, so a closed peer is an `EPIPE` error, not a `SIGPIPE`.
///
/// # Errors
/// As `send(2)`.
pub fn send_now(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a live slice of `buf.len()` bytes for the whole
    // call, `fd` a descriptor borrowed for its duration, and the null
    // address with length 0 asks for the connected peer.
    let n = unsafe {
        libc::syscall(
            libc::SYS_sendto,
            fd.as_raw_fd(),
            buf.as_ptr(),
            buf.len(),
            libc::MSG_NOSIGNAL,
            std::ptr::null::<libc::sockaddr>(),
            0 as libc::socklen_t,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// One non-blocking `recv(MSG_PEEK)` on a socket: the queued bytes are
/// copied to `buf` and stay queued. `WouldBlock` when nothing is queued,
/// `Ok(0)` at EOF. (std's `peek` exists for TCP only and blocks on a
/// blocking socket; this serves every stream type and never waits.)
///
/// # Errors
/// As `recv`.
pub fn peek_now(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    recv(fd, buf, libc::MSG_PEEK | libc::MSG_DONTWAIT)
}
