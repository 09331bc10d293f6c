//! Conversions between gort's sockets, std's, and raw descriptors: a socket
//! handed over keeps working, and a descriptor that is not a socket is an
//! error, not a panic or a leaked fd.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};

use gort::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};

fn echo_once(c: &mut TcpStream, s: &mut TcpStream) {
    c.write_all(b"ping").unwrap();
    let mut b = [0u8; 4];
    s.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"ping");
}

#[test]
fn a_stream_survives_a_trip_through_a_raw_fd() {
    let (c, mut s) = common::tcp_pair();
    let raw = c.into_raw_fd();
    // SAFETY: `raw` came from `into_raw_fd` just above, so it is open and ours.
    let mut c = unsafe { TcpStream::from_raw_fd(raw) };
    assert_eq!(c.as_raw_fd(), raw);
    echo_once(&mut c, &mut s);
    let owned = OwnedFd::from(c);
    let mut c = TcpStream::try_from(owned).unwrap();
    echo_once(&mut c, &mut s);
}

#[test]
fn std_round_trips_keep_every_socket_type_working() {
    let ln = TcpListener::from_std(TcpListener::bind("127.0.0.1:0").unwrap().into_std().unwrap()).unwrap();
    let addr = ln.local_addr().unwrap();
    let mut c = TcpStream::connect(addr).unwrap();
    let (mut s, _) = ln.accept().unwrap();
    echo_once(&mut c, &mut s);

    let u = UdpSocket::try_from(OwnedFd::from(UdpSocket::bind("127.0.0.1:0").unwrap())).unwrap();
    let v = UdpSocket::from_std(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
    u.send_to(b"hi", v.local_addr().unwrap()).unwrap();
    let mut b = [0u8; 8];
    assert_eq!(v.recv_from(&mut b).unwrap().0, 2);

    let dir = std::env::temp_dir().join(format!("gort-fdconv-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let ul = UnixListener::from_std(UnixListener::bind(&dir).unwrap().into_std().unwrap()).unwrap();
    let mut uc = UnixStream::connect(&dir).unwrap();
    let (mut us, _) = ul.accept().unwrap();
    uc.write_all(b"unix").unwrap();
    let mut b = [0u8; 4];
    us.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"unix");
    std::fs::remove_file(&dir).unwrap();
}

#[test]
fn a_descriptor_that_is_not_a_socket_is_an_error_and_is_closed() {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::File::open("/proc/self/exe").unwrap();
    let (raw, ino) = (file.as_raw_fd(), file.metadata().unwrap().ino());
    let err = TcpStream::try_from(OwnedFd::from(file)).unwrap_err();
    // epoll refuses regular files.
    assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
    assert_ne!(err.kind(), ErrorKind::WouldBlock);
    // The descriptor was closed with the error, not leaked: its number is
    // free, or (tests run in parallel) reused by something else.
    // SAFETY: an all-zero `stat` is a valid value for fstat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat only writes into `st`; an unused number yields EBADF.
    let open = unsafe { libc::fstat(raw, &mut st) } == 0;
    assert!(!open || st.st_ino != ino, "fd {raw} still refers to the file");
}
