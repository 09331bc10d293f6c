//! `gort::net::ToSocketAddrs`: every form std's trait takes converts (the
//! resolved ones and IP literals inline, without allocating), names still
//! resolve, bad input is a clear error, and the sockets take each form with
//! std's call shapes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use gort::net::{lookup_host, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};

/// Counts the allocations made by each thread.
struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to `System`; the count is a const-initialised
// thread-local with no destructor, so it never allocates itself.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller keeps `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(l) }
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` came from `alloc` above, with layout `l`.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    (r, ALLOCS.with(Cell::get) - before)
}

/// `a` converts to exactly `want`, with no allocation (so no resolver).
#[track_caller]
fn converts_inline(a: impl ToSocketAddrs, want: &[SocketAddr]) {
    let (same, n) = allocations(|| {
        let mut got = lookup_host(a).unwrap();
        want.iter().all(|w| got.next() == Some(*w)) && got.next().is_none()
    });
    assert!(same, "want {want:?}");
    assert_eq!(n, 0, "converting to {want:?} allocated");
}

#[test]
#[expect(clippy::needless_borrows_for_generic_args, reason = "the references' impls are under test")]
fn every_form_std_takes_converts_inline() {
    let v4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 80);
    let v6 = SocketAddrV6::new(Ipv6Addr::LOCALHOST, 81, 0, 0);
    let (a4, a6) = (SocketAddr::V4(v4), SocketAddr::V6(v6));
    let both = [a4, a6];
    converts_inline(a4, &[a4]);
    converts_inline(v4, &[a4]);
    converts_inline(v6, &[a6]);
    converts_inline((IpAddr::V6(Ipv6Addr::LOCALHOST), 81), &[a6]);
    converts_inline((Ipv4Addr::LOCALHOST, 80), &[a4]);
    converts_inline((Ipv6Addr::LOCALHOST, 81), &[a6]);
    converts_inline(("127.0.0.1", 80), &[a4]);
    converts_inline(("::1", 81), &[a6]);
    converts_inline("127.0.0.1:80", &[a4]);
    converts_inline("[::1]:81", &[a6]);
    converts_inline(&both[..], &both);
    let (owned, owned_host) = (String::from("127.0.0.1:80"), (String::from("::1"), 81));
    converts_inline(&owned, &[a4]);
    converts_inline(&owned_host, &[a6]);
    converts_inline(owned, &[a4]);
    converts_inline(owned_host, &[a6]);
    converts_inline(&a4, &[a4]);
    converts_inline(&&v6, &[a6]);
    converts_inline(&&both[..], &both);
}

#[test]
fn names_still_resolve() {
    let (addrs, n) = allocations(|| lookup_host("localhost:8080").unwrap().collect::<Vec<_>>());
    assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080), "{addrs:?}");
    assert!(n > 0, "a name must go through the resolver");
    let to = UdpSocket::bind(("localhost", 0)).unwrap();
    let port = to.local_addr().unwrap().port();
    let from = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sent = gort::go!(move || from.send_to(b"by name", format!("localhost:{port}")));
    assert_eq!(sent.join().unwrap().unwrap(), 7);
    let mut buf = [0; 16];
    let n = to.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"by name");
}

#[track_caller]
fn invalid_input(e: std::io::Error, says: &str) {
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains(says), "{e:?} does not say {says:?}");
}

#[test]
fn bad_input_is_a_clear_error() {
    invalid_input(lookup_host("localhost").err().unwrap(), "expected host:port");
    invalid_input(TcpStream::connect("127.0.0.1:http").unwrap_err(), "invalid port \"http\"");
    invalid_input(UdpSocket::bind("127.0.0.1:70000").unwrap_err(), "invalid port \"70000\"");
    let none: &[SocketAddr] = &[];
    invalid_input(TcpListener::bind(none).unwrap_err(), "no addresses to try");
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    invalid_input(s.send_to(b"x", none).unwrap_err(), "no addresses to send to");
    invalid_input(s.connect(none).unwrap_err(), "no addresses to try");
}

/// Calls written against std's signatures, one per form, each checked by
/// the datagram or connection it produces.
#[test]
#[expect(clippy::needless_borrows_for_generic_args, reason = "the references' impls are under test")]
fn sockets_take_every_form_with_std_call_shapes() {
    let to = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = to.local_addr().unwrap();
    let SocketAddr::V4(v4) = addr else { panic!("{addr} is not IPv4") };
    let (port, text) = (addr.port(), addr.to_string());
    let s = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).unwrap();
    let mut sent = 0;
    for r in [
        s.send_to(b"a", addr),
        s.send_to(b"b", &addr),
        s.send_to(b"c", v4),
        s.send_to(b"d", (IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
        s.send_to(b"e", (Ipv4Addr::LOCALHOST, port)),
        s.send_to(b"f", ("127.0.0.1", port)),
        s.send_to(b"g", (String::from("127.0.0.1"), port)),
        s.send_to(b"h", text.as_str()),
        s.send_to(b"i", &text),
        s.send_to(b"j", text.clone()),
        s.send_to(b"k", &[addr][..]),
    ] {
        sent += r.unwrap();
    }
    assert_eq!(sent, 11);
    let mut buf = [0; 4];
    let got: Vec<u8> = (0..11).map(|_| to.recv(&mut buf).map(|_| buf[0]).unwrap()).collect();
    assert_eq!(got, b"abcdefghijk");
    s.connect(&text).unwrap();
    assert_eq!(s.peer_addr().unwrap(), addr);

    let ln = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let at = ln.local_addr().unwrap();
    let c = gort::go!(move || TcpStream::connect(&[at][..]).map(|c| c.peer_addr().unwrap()));
    let _accepted = ln.accept().unwrap();
    assert_eq!(c.join().unwrap().unwrap(), at);
}
