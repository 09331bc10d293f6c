//! Out of descriptors, `accept` backs off (5 ms doubling to 1 s) instead of
//! failing or spinning, and serves the waiting connections once
//! descriptors free up. Runs in a child process with a lowered
//! `RLIMIT_NOFILE`.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use gort::net::{TcpListener, TcpStream};

const CLIENTS: usize = 20;

/// CPU time of the process so far (getrusage: needs no descriptor).
fn cpu_time() -> Duration {
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one live rusage struct.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn lower_fd_limit(n: u64) {
    let lim = libc::rlimit { rlim_cur: n, rlim_max: n };
    // SAFETY: setrlimit reads one live rlimit struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

fn child() {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    // Queue connections before anybody accepts, then use up every fd.
    let clients: Vec<TcpStream> = (0..CLIENTS).map(|_| TcpStream::connect(addr).unwrap()).collect();
    lower_fd_limit(64 + CLIENTS as u64);
    let mut filler = Vec::new();
    while let Ok(f) = File::open("/dev/null") {
        filler.push(f);
    }
    let server = gort::go!(move || {
        let mut served = 0;
        while served < CLIENTS {
            let (c, _) = ln.accept().unwrap();
            let mut b = [0; 1];
            (&c).read_exact(&mut b).unwrap();
            (&c).write_all(&b).unwrap();
            served += 1;
        }
        served
    });
    for (i, c) in clients.iter().enumerate() {
        (&*c).write_all(&[i as u8]).unwrap();
    }
    let cpu = cpu_time();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!server.is_finished(), "accepted without a free descriptor");
    let burned = cpu_time() - cpu;
    assert!(burned < Duration::from_millis(150), "accept spun while out of fds: {burned:?} CPU in 300 ms");
    drop(filler);
    let t = Instant::now();
    assert_eq!(server.join().unwrap(), CLIENTS);
    assert!(t.elapsed() < Duration::from_secs(5));
    for (i, c) in clients.iter().enumerate() {
        let mut b = [0; 1];
        (&*c).read_exact(&mut b).unwrap();
        assert_eq!(b[0], i as u8);
    }
    println!("served after backoff");
}

#[test]
fn accept_backs_off_on_emfile_and_keeps_serving() {
    if common::is_child() {
        return child();
    }
    let out = common::run_child("accept_backs_off_on_emfile_and_keeps_serving", &[]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains("served after backoff"), "{stdout}\n{stderr}");
    // Said once for the wait, not once per retry, naming the listener.
    let said: Vec<_> = stderr.lines().filter(|l| l.starts_with("gort: accept on ")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].contains("127.0.0.1:") && said[0].contains("open files"), "{stderr}");
}
