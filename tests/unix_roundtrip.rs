//! Unix stream sockets: a listener serving goroutines, and pairs.

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
