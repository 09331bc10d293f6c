//! The floor of the c10k example's `--floor` table (`c10k --server floor`,
//! one thread on plain epoll) must echo exactly what gort's server echoes,
//! or the table compares unequal work: many connections at once, messages
//! past its 4 KiB read buffer, and connections reset under it while others
//! go on. The server runs as a child process, the example binary `cargo
//! test` builds beside the tests.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the server when the test ends, whichever way.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `c10k --server floor`; returns it and the address it printed.
fn floor() -> (Server, String) {
    let mut child = Command::new(common::example_bin("c10k"))
        .args(["--server", "floor"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start c10k --server floor");
    let mut addr = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut addr).expect("the server's address");
    (Server(child), addr.trim().to_string())
}

fn connect(addr: &str) -> TcpStream {
    let c = TcpStream::connect(addr).expect("connect to the floor");
    // A hang detector, not a speed claim.
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    c
}

/// Sends `msg` and reads back exactly as many bytes.
fn round_trip(c: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    c.write_all(msg).unwrap();
    let mut got = vec![0; msg.len()];
    c.read_exact(&mut got).unwrap();
    got
}

#[test]
fn floor_echoes_many_connections_and_long_messages() {
    let (_server, addr) = floor();
    let mut conns: Vec<TcpStream> = (0..200).map(|_| connect(&addr)).collect();
    for round in 0..3u8 {
        for (i, c) in conns.iter_mut().enumerate() {
            let msg = [round, i as u8, 7, 9];
            assert_eq!(round_trip(c, &msg), msg);
        }
    }
    // Three and a half read buffers: the loop reads on past full reads.
    let long: Vec<u8> = (0..14_336u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(round_trip(&mut conns[0], &long), long);
}

#[test]
fn floor_serves_on_after_connections_are_reset() {
    let (_server, addr) = floor();
    for _ in 0..50 {
        let mut c = connect(&addr);
        assert_eq!(round_trip(&mut c, b"bye"), b"bye");
        socket2::SockRef::from(&c).set_linger(Some(Duration::ZERO)).unwrap();
    }
    let mut c = connect(&addr);
    assert_eq!(round_trip(&mut c, b"still here"), b"still here");
}
