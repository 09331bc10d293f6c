//! The floor of the c10k echo (`--server floor`): what serving the echo
//! costs with nothing but the kernel's socket path under it. One thread, one
//! edge-triggered epoll instance, plain libc calls; no stacks, no scheduler,
//! no poll descriptors, no deadlines. The `--floor` table measures gort,
//! Go and threads against it.
//!
//! It reads as gort's stream reads do: into a 4 KiB buffer, until a short
//! read (then the next readiness edge says when to read again, so the
//! `EAGAIN` read is skipped) or `EAGAIN`, writing each chunk straight back.
//! The load keeps one request in flight per connection, so a write never
//! finds the send buffer full; one that does not complete at once is a
//! broken assumption, and the server says so and stops.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};

/// The read buffer, the size gort's and Go's echo loops use.
const BUF: usize = 4096;
/// Ready descriptors taken per `epoll_wait`.
const BATCH: usize = 256;
/// `EPOLLIN | EPOLLET` as epoll_event's field type.
const EDGE_IN: u32 = (libc::EPOLLIN | libc::EPOLLET) as u32;

/// Serves the echo on `ln` until killed.
pub fn serve(ln: TcpListener) -> ! {
    ln.set_nonblocking(true).expect("floor: set_nonblocking");
    // SAFETY: epoll_create1 takes no pointers.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(ep >= 0, "floor: epoll_create1: {}", io::Error::last_os_error());
    let lfd = ln.as_raw_fd();
    add(ep, lfd);
    let mut buf = [0u8; BUF];
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; BATCH];
    loop {
        // SAFETY: `events` is a live array of BATCH entries for the call.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), BATCH as libc::c_int, -1) };
        for ev in &events[..n.max(0) as usize] {
            match ev.u64 as RawFd {
                fd if fd == lfd => accept_all(ep, lfd),
                fd => echo(fd, &mut buf),
            }
        }
    }
}

/// Registers `fd` for edge-triggered readability, its fd as the token.
fn add(ep: RawFd, fd: RawFd) {
    let mut ev = libc::epoll_event { events: EDGE_IN, u64: fd as u64 };
    // SAFETY: `ev` is live for the call; `fd` is an open descriptor.
    let rc = unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) };
    assert_eq!(rc, 0, "floor: epoll_ctl: {}", io::Error::last_os_error());
}

/// Accepts until `EAGAIN` (the listener is edge-triggered too).
fn accept_all(ep: RawFd, lfd: RawFd) {
    loop {
        let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: null address pointers ask accept4 for no peer address.
        let fd = unsafe { libc::accept4(lfd, std::ptr::null_mut(), std::ptr::null_mut(), flags) };
        if fd < 0 {
            return;
        }
        add(ep, fd);
    }
}

/// Echoes what `fd` has until a short read or `EAGAIN`; closes it on EOF or
/// an error (closing also removes it from the epoll set).
fn echo(fd: RawFd, buf: &mut [u8; BUF]) {
    loop {
        // SAFETY: `buf` is live and BUF bytes long.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), BUF) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock {
            return;
        }
        if n <= 0 {
            // SAFETY: `fd` came from accept4 and is closed once, here.
            unsafe { libc::close(fd) };
            return;
        }
        // SAFETY: the first `n` bytes of `buf` were just filled by read.
        let w = unsafe { libc::write(fd, buf.as_ptr().cast(), n as usize) };
        if w < 0 {
            // The peer reset the connection after its last request.
            // SAFETY: as above, closed once.
            unsafe { libc::close(fd) };
            return;
        }
        assert_eq!(w, n, "floor: a {n}-byte write did not complete at once");
        if (n as usize) < BUF {
            return;
        }
    }
}
