//! Unix stream sockets: a listener serving goroutines, pairs, datagrams,
//! a full listener, and the bytes behind a message with descriptors.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;

use gort::net::{UnixListener, UnixStream};

#[test]
fn listener_serves_goroutines() {
    let path = std::env::temp_dir().join(format!("gort-unix-test-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let ln = UnixListener::bind(&path).unwrap();
    let server = gort::go!(move || {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let (c, _) = ln.accept().unwrap();
                gort::go!(move || std::io::copy(&mut &c, &mut &c).map(|_| c.shutdown(Shutdown::Write)))
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap().unwrap().unwrap());
    });
    let clients: Vec<_> = (0..4u8)
        .map(|i| {
            let path = path.clone();
            gort::go!(move || {
                let mut c = UnixStream::connect(&path).unwrap();
                let msg = vec![i; 100_000];
                let w = c.try_clone().unwrap();
                let writer = gort::go!(move || {
                    (&w).write_all(&msg).unwrap();
                    w.shutdown(Shutdown::Write).unwrap();
                });
                let mut got = Vec::new();
                c.read_to_end(&mut got).unwrap();
                writer.join().unwrap();
                got == vec![i; 100_000]
            })
        })
        .collect();
    assert!(clients.into_iter().all(|h| h.join().unwrap()));
    server.join().unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn pairs_talk_both_ways() {
    let (a, b) = UnixStream::pair().unwrap();
    let h = gort::go!(move || {
        let mut buf = [0; 5];
        (&b).read_exact(&mut buf).unwrap();
        (&b).write_all(b"pong!").unwrap();
        buf
    });
    (&a).write_all(b"ping!").unwrap();
    let mut buf = [0; 5];
    (&a).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pong!");
    assert_eq!(&h.join().unwrap(), b"ping!");
}

#[test]
fn datagrams_by_path_and_deadline() {
    use gort::net::UnixDatagram;
    let path = std::env::temp_dir().join(format!("gort-unix-dgram-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server = UnixDatagram::bind(&path).unwrap();
    let client = UnixDatagram::unbound().unwrap();
    let h = gort::go!(move || {
        let mut buf = [0; 16];
        let (n, _) = server.recv_from(&mut buf).unwrap();
        server.set_read_deadline(Some(std::time::Instant::now() + std::time::Duration::from_millis(20)));
        let late = server.recv(&mut buf).unwrap_err().kind();
        (buf[..n].to_vec(), late)
    });
    client.send_to(b"to path", &path).unwrap();
    assert_eq!(h.join().unwrap(), (b"to path".to_vec(), std::io::ErrorKind::TimedOut));
    std::fs::remove_file(&path).unwrap();
}

/// Regression: a non-blocking connect to a Unix listener whose queue is
/// full fails with EAGAIN, which never completes; it used to be waited on
/// as "in progress" and parked forever.
#[test]
fn connect_to_a_full_unix_listener_fails_instead_of_hanging() {
    let path = std::env::temp_dir().join(format!("gort-unix-full-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let _ln = std::os::unix::net::UnixListener::bind(&path).unwrap(); // never accepts
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        let err = loop {
            match UnixStream::connect(&p) {
                Ok(c) if held.len() < 20_000 => held.push(c),
                Ok(_) => break None,
                Err(e) => break Some(e.kind()),
            }
        };
        tx.send(err).unwrap();
    });
    let got = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("connect hung on a full listener");
    assert_eq!(got, Some(std::io::ErrorKind::WouldBlock));
    std::fs::remove_file(&path).unwrap();
}

/// Sends `data` with one descriptor (`SCM_RIGHTS`) on `s`, in one message.
fn send_with_fd(s: &UnixStream, data: &[u8], fd: std::os::fd::RawFd) {
    use std::os::fd::AsRawFd;
    let mut iov = libc::iovec { iov_base: data.as_ptr() as *mut libc::c_void, iov_len: data.len() };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    let mut cbuf = vec![0u8; space];
    // SAFETY: a zeroed msghdr is a valid empty one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: `msg` points at `cbuf`, which has room for one cmsg with an
    // int (CMSG_SPACE above), so CMSG_FIRSTHDR is non-null and in bounds.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>(), fd);
    }
    // SAFETY: `msg` and everything it points at live for the call.
    let n = unsafe { libc::sendmsg(s.as_raw_fd(), &msg, 0) };
    assert_eq!(n, data.len() as isize, "sendmsg: {}", std::io::Error::last_os_error());
}

/// A Unix stream read stops short at a message that carries descriptors,
/// with data still queued behind it: a short read proves nothing there,
/// so the next read must not wait for readiness that already came (the
/// drained hint is off for Unix streams).
#[test]
fn a_message_with_descriptors_does_not_strand_the_bytes_behind_it() {
    for round in 0..20 {
        let (a, b) = UnixStream::pair().unwrap();
        b.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let reader = std::thread::spawn(move || common::read_n_in_pieces(&b, 6, &format!("round {round}")));
        std::thread::sleep(std::time::Duration::from_millis(20)); // the reader is parked
        let devnull = std::fs::File::open("/dev/null").unwrap();
        send_with_fd(&a, b"aaa", std::os::fd::AsRawFd::as_raw_fd(&devnull));
        (&a).write_all(b"bbb").unwrap();
        assert_eq!(reader.join().unwrap(), b"aaabbb", "round {round}");
    }
}
