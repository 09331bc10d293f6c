//! UDP: datagram round trips between goroutines, connected sockets, and a
//! receive deadline.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use gort::net::UdpSocket;

#[test]
fn datagrams_echo_between_goroutines() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    let echo = gort::go!(move || {
        let mut buf = [0; 1500];
        for _ in 0..100 {
            let (n, from) = server.recv_from(&mut buf).unwrap();
            server.send_to(&buf[..n], from).unwrap();
        }
    });
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.connect(addr).unwrap();
    assert_eq!(client.peer_addr().unwrap(), addr);
    let h = gort::go!(move || {
        let mut buf = [0; 1500];
        for i in 0..100u32 {
            client.send(&i.to_le_bytes()).unwrap();
            let n = client.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], &i.to_le_bytes());
        }
    });
    h.join().unwrap();
    echo.join().unwrap();
}

#[test]
fn recv_deadline_times_out() {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_deadline(Some(Instant::now() + Duration::from_millis(30)));
    let e = gort::go!(move || s.recv_from(&mut [0; 16]).unwrap_err()).join().unwrap();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
}
