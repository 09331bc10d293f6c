//! The epoll backend of the netpoller contract (`netpoll/mod.rs`).
//!
//! One epoll instance for the process. Every descriptor is added once,
//! edge-triggered for read, write and peer hang-up, with the poll
//! descriptor's token (slot index + generation, never the raw fd) as its
//! user data. An `eventfd`, registered with the reserved token
//! [`INTERRUPT`], breaks a blocked `epoll_wait`; it is drained when seen.
//!
//! Invariant: every `unsafe` libc call of the netpoller lives in this file,
//! each with the buffer or descriptor it needs kept alive by its caller.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::netpoll::{Backend, Event};

/// The token of the interrupting eventfd; no poll descriptor uses it.
pub(crate) const INTERRUPT: u64 = u64::MAX;

/// How many events one `epoll_wait` returns at most.
pub(crate) const BATCH: usize = 128;

/// A buffer for one `epoll_wait`, owned by the polling thread.
pub(crate) struct Events {
    buf: [libc::epoll_event; BATCH],
    len: usize,
}

impl Events {
    pub(crate) fn new() -> Events {
        Events { buf: [libc::epoll_event { events: 0, u64: 0 }; BATCH], len: 0 }
    }

    /// The tokens of the last `wait`, [`INTERRUPT`] included.
    pub(crate) fn tokens(&self) -> impl Iterator<Item = u64> + '_ {
        self.buf[..self.len].iter().map(|ev| ev.u64)
    }
}

pub(crate) struct Epoll {
    epfd: OwnedFd,
    /// The eventfd, read and written through `File`'s safe methods.
    wake: File,
}

impl Epoll {
    pub(crate) fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointers.
        let epfd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: a fresh descriptor that nothing else owns.
        let epfd = unsafe { OwnedFd::from_raw_fd(epfd) };
        // SAFETY: eventfd takes no pointers.
        let evfd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: a fresh descriptor that nothing else owns.
        let wake = File::from(unsafe { OwnedFd::from_raw_fd(evfd) });
        let ep = Epoll { epfd, wake };
        ep.ctl(
            libc::EPOLL_CTL_ADD,
            ep.wake.as_raw_fd(),
            libc::EPOLLIN as u32 | libc::EPOLLET as u32,
            INTERRUPT,
        )?;
        Ok(ep)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a live epoll_event for the duration of the call;
        // epoll_ctl fails cleanly on a bad fd.
        cvt(unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), op, fd, &mut ev) }).map(drop)
    }
}

impl Backend for Epoll {
    fn register(&self, fd: RawFd, token: u64) -> io::Result<()> {
        // EPOLLPRI: TCP urgent data, which stops a read short with data
        // still queued (`Event::urgent`).
        let interest = libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET;
        self.ctl(libc::EPOLL_CTL_ADD, fd, interest as u32, token)
    }

    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let ms = timeout.map_or(-1, |d| d.as_millis().min(i32::MAX as u128) as libc::c_int);
        // SAFETY: `buf` is a live array of BATCH epoll_events owned by the
        // caller for the duration of the call.
        let n = unsafe {
            libc::epoll_wait(self.epfd.as_raw_fd(), events.buf.as_mut_ptr(), BATCH as libc::c_int, ms)
        };
        events.len = 0;
        match cvt(n) {
            Ok(n) => {
                events.len = n as usize;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn events<'a>(&'a self, events: &'a Events) -> impl Iterator<Item = Event> + 'a {
        let wake = &self.wake;
        events.buf[..events.len].iter().filter_map(move |ev| {
            let (bits, token) = (ev.events, ev.u64);
            if token == INTERRUPT {
                // Drain the counter; WouldBlock means another poller already did.
                let _ = (&*wake).read(&mut [0u8; 8]);
                return None;
            }
            let failed = bits & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0;
            let urgent = bits & libc::EPOLLPRI as u32 != 0;
            let readable = failed || urgent || bits & (libc::EPOLLIN | libc::EPOLLRDHUP) as u32 != 0;
            let writable = failed || bits & libc::EPOLLOUT as u32 != 0;
            // Hang-ups last; an error alone may not (a UDP socket's ICMP
            // error is reported once, then it blocks again).
            let hup = bits & libc::EPOLLHUP as u32 != 0;
            let read_hup = hup || bits & libc::EPOLLRDHUP as u32 != 0;
            Some(Event { token, readable, writable, hup: [read_hup, hup], urgent })
        })
    }

    fn interrupt(&self) {
        // WouldBlock means the counter is already non-zero: a wake is pending.
        let r = (&self.wake).write(&1u64.to_ne_bytes());
        debug_assert!(r.is_ok() || r.as_ref().is_err_and(|e| e.kind() == io::ErrorKind::WouldBlock), "{r:?}");
    }
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}
