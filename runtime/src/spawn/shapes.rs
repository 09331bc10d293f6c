// The body of the doc tests in `editions.rs` (not a module): each closure
// shape `go!` must take, plain and with a `Builder`.
use std::io::{Read, Write};

use gort::net::{TcpListener, TcpStream};

fn echo_once(addr: std::net::SocketAddr) {
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(b"ping").unwrap();
    let mut buf = [0; 4];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
}

// Never returns: an accept loop, whose type is `!` by fallback.
let ln = TcpListener::bind("127.0.0.1:0").unwrap();
let addr = ln.local_addr().unwrap();
gort::go!(move || loop {
    let (c, _) = ln.accept().unwrap();
    gort::go!(move || std::io::copy(&mut &c, &mut &c));
});
echo_once(addr);

let ln = TcpListener::bind("127.0.0.1:0").unwrap();
let addr = ln.local_addr().unwrap();
gort::go!(gort::Builder::new(), move || loop {
    let (c, _) = ln.accept().unwrap();
    gort::go!(move || std::io::copy(&mut &c, &mut &c));
})
.unwrap();
echo_once(addr);

// Diverges without a loop: `!` by fallback.
assert!(gort::go!(|| panic!("diverged")).join().is_err());
assert!(gort::go!(gort::Builder::new(), || panic!("diverged")).unwrap().join().is_err());

// Declared `-> !`.
assert!(gort::go!(|| -> ! { panic!("declared") }).join().is_err());
let h = gort::go!(gort::Builder::new(), || -> ! { panic!("declared") }).unwrap();
assert!(h.join().is_err());

// Returns a value, and returns `()`.
assert_eq!(gort::go!(|| 7u8).join().unwrap(), 7);
let b = gort::Builder::new().name("shape");
let h = gort::go!(b, || gort::current().unwrap().name().map(String::from)).unwrap();
assert_eq!(h.join().unwrap().as_deref(), Some("shape"));
gort::go!(|| {}).join().unwrap();
gort::go!(gort::Builder::new(), || {}).unwrap().join().unwrap();
