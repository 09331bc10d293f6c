//! The server over real loopback sockets: slowloris is cut at the header
//! timeout while others are served, shutdown lets in-flight requests
//! finish and accepts nothing new, panics are logged and serving goes on,
//! connection states are reported, 10,000 keep-alive connections are held
//! at once, a 1 GiB upload and download run in constant memory, the
//! request context ends when its client, handler or server does, and
//! `hijack` hands over the socket. A connection kept alive over time (the
//! idle timeout, the stack shrink, the `Date` header) is in
//! `http_keepalive.rs`.

mod common;
#[path = "common/http_conn.rs"]
mod http_conn;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gort::http::{test, ConnState, Request, ResponseWriter, Server};
use http_conn::{app, connect, get, read_response};

#[test]
fn slowloris_is_cut_at_the_header_timeout_while_others_are_served() {
    let timeout = Duration::from_millis(800);
    let srv = test::Server::with(Server::new(app).read_header_timeout(timeout).error_log(|_| {}));
    let started = Instant::now();
    let slow: Vec<TcpStream> = (0..1000)
        .map(|_| {
            let mut c = TcpStream::connect(srv.addr()).unwrap();
            c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").unwrap();
            c
        })
        .collect();
    let mut normal = connect(&srv);
    let mut worst = Duration::ZERO;
    let trickling = Instant::now();
    let mut trickled = trickling;
    while trickling.elapsed() < timeout / 2 {
        let t = Instant::now();
        assert_eq!(get(&mut normal, "/"), ("HTTP/1.1 200 OK".to_owned(), "Hello, World!".to_owned()));
        worst = worst.max(t.elapsed());
        // A header line every 50 ms: slow, but never too many lines.
        if trickled.elapsed() >= Duration::from_millis(50) {
            trickled = Instant::now();
            for c in slow.iter().take(50) {
                let _ = (&*c).write_all(b"X-Trickle: 1\r\n");
            }
        }
    }
    println!("normal client's slowest answer beside 1,000 slow clients: {worst:?}");
    for mut c in slow {
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut resp = Vec::new();
        let _ = c.read_to_end(&mut resp);
        assert!(started.elapsed() >= timeout, "cut before the header timeout");
        let resp = String::from_utf8_lossy(&resp);
        assert!(resp.is_empty() || resp.starts_with("HTTP/1.1 408 "), "{resp}");
    }
}

/// The header deadline is set only once a head is not already buffered
/// whole: a keep-alive connection whose second head stops halfway, after a
/// first request answered at once, is still cut at the header timeout with
/// a 408, neither before it (by the 1 s deadline of the idle wait that
/// read the head's first bytes) nor at the (longer) idle timeout.
#[test]
fn a_second_head_that_stops_halfway_is_cut_at_the_header_timeout() {
    let timeout = Duration::from_secs(2);
    let srv = test::Server::with(
        Server::new(app).read_header_timeout(timeout).idle_timeout(Duration::from_secs(30)).error_log(|_| {}),
    );
    let mut c = connect(&srv);
    assert_eq!(get(&mut c, "/"), ("HTTP/1.1 200 OK".to_owned(), "Hello, World!".to_owned()));
    let started = Instant::now();
    c.get_mut().write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").unwrap();
    let mut rest = String::new();
    c.read_to_string(&mut rest).unwrap();
    let took = started.elapsed();
    assert!(rest.starts_with("HTTP/1.1 408 "), "{rest}");
    assert!(took >= timeout && took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn shutdown_finishes_requests_in_flight_and_accepts_nothing_new() {
    let (entered_tx, entered_rx) = gort::chan::bounded::<()>(0);
    let (release_tx, release_rx) = gort::chan::bounded::<()>(0);
    let handler = move |w: &mut ResponseWriter, r: &mut Request| {
        if r.url_path() == "/quick" {
            return w.write_all(b"quick");
        }
        entered_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        w.write_all(b"finished")
    };
    let srv = test::Server::new(handler);
    let mut idle = connect(&srv);
    assert_eq!(get(&mut idle, "/quick").1, "quick");
    let mut busy = connect(&srv);
    write!(busy.get_mut(), "GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    entered_rx.recv().unwrap();
    let server = srv.server().clone();
    let shutdown = std::thread::spawn(move || server.shutdown(Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(100));
    let refused = TcpStream::connect(srv.addr()).map(|mut c| {
        let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        let mut b = Vec::new();
        let _ = c.read_to_end(&mut b);
        b
    });
    assert!(refused.map_or(true, |b| b.is_empty()), "a new connection was served during shutdown");
    let mut b = Vec::new();
    let mut idle = idle.into_inner();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(idle.read_to_end(&mut b).unwrap(), 0, "the idle connection was closed");
    release_tx.send(()).unwrap();
    let mut head = String::new();
    busy.read_to_string(&mut head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("finished"), "{head}");
    assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
    shutdown.join().unwrap().unwrap();
}

/// Shutdown leaves a new connection its first request (Go's rule for
/// `StateNew`): one sent after shutdown began is served, with
/// `Connection: close`, and a new connection that sends nothing is closed
/// once it has waited 5 s.
#[test]
fn shutdown_serves_a_new_connections_first_request() {
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let a = accepted.clone();
    let srv = test::Server::with(Server::new(app).conn_state(move |_, st| {
        if st == ConnState::New {
            a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }));
    let (mut late, silent) = (connect(&srv), connect(&srv));
    assert!(common::wait_until(Duration::from_secs(20), || accepted
        .load(std::sync::atomic::Ordering::SeqCst)
        == 2));
    let server = srv.server().clone();
    let shutdown = std::thread::spawn(move || server.shutdown(Duration::from_secs(30)));
    std::thread::sleep(Duration::from_millis(200));
    late.get_mut().write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut out = String::new();
    late.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("Hello, World!"), "{out}");
    assert!(out.contains("\r\nConnection: close\r\n"), "{out}");
    let mut silent = silent.into_inner();
    assert_eq!(silent.read_to_end(&mut Vec::new()).unwrap(), 0, "the silent new connection was closed");
    shutdown.join().unwrap().unwrap();
}

/// A test server whose error log lines are kept.
fn logging_server() -> (test::Server, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&log);
    let srv =
        test::Server::with(Server::new(app).error_log(move |m| sink.lock().unwrap().push(m.to_owned())));
    (srv, log)
}

#[test]
fn panics_are_logged_and_the_server_keeps_serving() {
    let (srv, log) = logging_server();
    let mut c = connect(&srv);
    assert_eq!(get(&mut c, "/panic").0, "HTTP/1.1 500 Internal Server Error");
    let mut c = connect(&srv);
    assert_eq!(get(&mut c, "/").1, "Hello, World!");
    let log = log.lock().unwrap();
    let line = log.iter().find(|l| l.contains("panic")).expect("the panic was logged");
    assert!(line.contains("GET /panic HTTP/1.1") && line.contains("handler panicked on purpose"), "{line}");
    assert!(line.contains("goroutine"), "{line}");
}

#[test]
fn a_client_that_goes_away_mid_response_is_not_logged_but_a_handler_error_is() {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let closed = Arc::new(Mutex::new(0));
    let (sink, seen) = (Arc::clone(&log), Arc::clone(&closed));
    let srv = test::Server::with(
        Server::new(app)
            .error_log(move |m| sink.lock().unwrap().push(m.to_owned()))
            .conn_state(move |_, s| *seen.lock().unwrap() += usize::from(s == ConnState::Closed)),
    );
    let mut c = connect(&srv);
    c.get_mut().write_all(b"GET /gib HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    c.read_exact(&mut vec![0; 1 << 20]).unwrap();
    drop(c); // with the rest unread: a reset, and the handler's next writes fail
    let deadline = Instant::now() + Duration::from_secs(10);
    while *closed.lock().unwrap() == 0 {
        assert!(Instant::now() < deadline, "the /gib handler never noticed its client went away");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(log.lock().unwrap().is_empty(), "a client's disconnect was logged: {:?}", log.lock().unwrap());
    let mut c = connect(&srv);
    assert_eq!(get(&mut c, "/fail").0, "HTTP/1.1 500 Internal Server Error");
    let log = log.lock().unwrap();
    assert!(
        log.len() == 1
            && log[0].contains("GET /fail HTTP/1.1")
            && log[0].contains("handler failed on purpose"),
        "{log:?}"
    );
}

#[test]
fn a_rejected_head_is_logged_with_the_clients_address() {
    let (srv, log) = logging_server();
    let mut c = connect(&srv);
    let me = c.get_ref().local_addr().unwrap();
    c.get_mut().write_all(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut c).0, "HTTP/1.1 400 Bad Request");
    let log = log.lock().unwrap();
    let line = log.iter().find(|l| l.contains("rejected")).expect("the rejection was logged");
    assert!(line.starts_with(&format!("http: rejected request from {me}: 400 Bad Request")), "{line}");
}

#[test]
fn connection_states_are_reported_in_order() {
    let states = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&states);
    let srv = test::Server::with(Server::new(app).conn_state(move |_, s| sink.lock().unwrap().push(s)));
    let mut c = connect(&srv);
    get(&mut c, "/");
    get(&mut c, "/");
    drop(c);
    assert!(common::wait_until(Duration::from_secs(5), || states.lock().unwrap().last()
        == Some(&ConnState::Closed)));
    use ConnState::*;
    assert_eq!(*states.lock().unwrap(), [New, Active, Idle, Active, Idle, Closed]);
}

const KEEPALIVE_CONNS: usize = 10_000;

/// The clients of `ten_thousand_keep_alive_connections`, in a child
/// process: every connection makes a request, all stay open, then every
/// connection makes a second request on the same connection.
fn keep_alive_clients(addr: &str) {
    let mut conns: Vec<BufReader<TcpStream>> =
        (0..KEEPALIVE_CONNS).map(|_| BufReader::new(TcpStream::connect(addr).unwrap())).collect();
    for round in 0..2 {
        for c in &mut conns {
            c.get_mut().write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        }
        for c in &mut conns {
            assert_eq!(read_response(c).1, "Hello, World!", "round {round}");
        }
    }
    println!("keep-alive clients done");
}

#[test]
fn ten_thousand_keep_alive_connections() {
    if let Ok(addr) = std::env::var("GORT_TEST_KEEPALIVE_ADDR") {
        return keep_alive_clients(&addr);
    }
    let accepted = Arc::new(Mutex::new(0usize));
    let count = Arc::clone(&accepted);
    let srv = test::Server::with(Server::new(app).conn_state(move |_, s| {
        if s == ConnState::New {
            *count.lock().unwrap() += 1;
        }
    }));
    let addr = srv.addr().to_string();
    let out =
        common::run_child("ten_thousand_keep_alive_connections", &[("GORT_TEST_KEEPALIVE_ADDR", &addr)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("keep-alive clients done"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(*accepted.lock().unwrap(), KEEPALIVE_CONNS, "each connection served both requests");
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_gibibyte_up_and_down_in_constant_memory() {
    if !common::is_child() {
        let out = common::run_child("a_gibibyte_up_and_down_in_constant_memory", &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("gibibyte moved"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let srv = test::Server::new(app);
    let before = rss_kib();
    let mut up = connect(&srv);
    write!(up.get_mut(), "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n", 1u64 << 30)
        .unwrap();
    let chunk = vec![b'u'; 256 << 10];
    for _ in 0..(1 << 30) / chunk.len() {
        up.get_mut().write_all(&chunk).unwrap();
    }
    assert_eq!(read_response(&mut up).1, (1u64 << 30).to_string());
    let mut down = connect(&srv);
    write!(down.get_mut(), "GET /gib HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut status = String::new();
    while status != "\r\n" {
        status.clear();
        down.read_line(&mut status).unwrap();
    }
    let n = std::io::copy(&mut down.take(1 << 30), &mut std::io::sink()).unwrap();
    assert_eq!(n, 1 << 30);
    let grew = rss_kib().saturating_sub(before);
    assert!(grew < 64 << 10, "RSS grew by {grew} KiB moving 2 GiB");
    println!("gibibyte moved each way, RSS grew by {grew} KiB");
}

#[test]
fn the_request_context_ends_when_the_client_goes_away() {
    let (ended_tx, ended_rx) = gort::chan::bounded::<Option<gort::context::Error>>(1);
    let handler = move |_: &mut ResponseWriter, r: &mut Request| {
        let ctx = r.context().clone();
        let give_up = gort::time::after(Duration::from_secs(20));
        gort::select! {
            recv(ctx.done()) -> _ => ended_tx.send(ctx.err()).unwrap(),
            recv(give_up) -> _ => ended_tx.send(None).unwrap(),
        }
        Ok(())
    };
    let srv = test::Server::new(handler);
    let mut c = TcpStream::connect(srv.addr()).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    drop(c);
    assert_eq!(ended_rx.recv().unwrap(), Some(gort::context::Error::Canceled));
}

#[test]
fn the_request_context_ends_when_the_handler_returns_or_the_server_shuts_down() {
    let (ctx_tx, ctx_rx) = gort::chan::unbounded::<gort::context::Context>();
    let (release_tx, release_rx) = gort::chan::bounded::<()>(0);
    let handler = move |w: &mut ResponseWriter, r: &mut Request| {
        ctx_tx.send(r.context().clone()).unwrap();
        if r.url_path() == "/wait" {
            let _ = r.context().done().recv();
            release_rx.recv().unwrap();
        }
        w.write_all(b"done")
    };
    let srv = test::Server::new(handler);
    let mut c = connect(&srv);
    assert_eq!(get(&mut c, "/").1, "done");
    let first = ctx_rx.recv().unwrap();
    assert_eq!(first.err(), Some(gort::context::Error::Canceled), "ended when the handler returned");
    let mut c2 = connect(&srv);
    write!(c2.get_mut(), "GET /wait HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let waiting = ctx_rx.recv().unwrap();
    assert_eq!(waiting.err(), None);
    let server = srv.server().clone();
    let shutdown = std::thread::spawn(move || server.shutdown(Duration::from_secs(10)));
    let _ = waiting.done().recv();
    assert_eq!(waiting.err(), Some(gort::context::Error::Canceled), "ended by shutdown");
    release_tx.send(()).unwrap();
    assert_eq!(read_response(&mut c2).1, "done");
    shutdown.join().unwrap().unwrap();
}

/// A keep-alive connection waits for its next request under a deadline a
/// second away (when it would give back stack pages); a bodyless request
/// leaves that deadline in place, so the context's watcher must set the
/// request's own before it peeks, or a handler running past it would see
/// its context end as if the client had gone.
#[test]
fn a_slow_handler_keeps_its_context_past_the_idle_waits_deadline() {
    let handler = |w: &mut ResponseWriter, r: &mut Request| {
        if r.url_path() == "/slow" {
            let ctx = r.context().clone();
            gort::time::sleep(Duration::from_millis(1500));
            return write!(w, "{:?}", ctx.err());
        }
        w.write_all(b"fast")
    };
    let srv = test::Server::new(handler);
    let mut c = connect(&srv);
    assert_eq!(get(&mut c, "/").1, "fast");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(get(&mut c, "/slow").1, "None");
    assert_eq!(get(&mut c, "/").1, "fast", "the connection goes on");
}

/// Upgrades the connection: answers 101 saying how many bytes `hijack`
/// handed over, echoes them, then echoes the next five the client sends.
fn upgrade(w: &mut ResponseWriter, _: &mut Request) -> std::io::Result<()> {
    let (tcp, buffered) = w.hijack()?;
    write!(&tcp, "HTTP/1.1 101 Switching Protocols\r\nX-Buffered: {}\r\n\r\n", buffered.len())?;
    (&tcp).write_all(&buffered)?;
    let mut more = [0u8; 5];
    (&tcp).read_exact(&mut more)?;
    (&tcp).write_all(&more)
}

/// Sends `first` on a new connection to `srv` and expects `want` back;
/// then sends `later` and expects it echoed before the server closes.
fn upgrade_exchange(srv: &test::Server, first: &[u8], want: &[u8]) {
    let mut c = TcpStream::connect(srv.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(first).unwrap();
    let mut got = vec![0; want.len()];
    c.read_exact(&mut got).unwrap();
    assert_eq!(got, want, "{}", String::from_utf8_lossy(&got));
    c.write_all(b"later").unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"later");
}

#[test]
fn hijack_hands_over_the_socket_and_the_buffered_bytes() {
    let states = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&states);
    let srv = test::Server::with(Server::new(upgrade).conn_state(move |_, s| sink.lock().unwrap().push(s)));
    upgrade_exchange(
        &srv,
        b"GET /ws HTTP/1.1\r\nHost: t\r\n\r\nearly",
        b"HTTP/1.1 101 Switching Protocols\r\nX-Buffered: 5\r\n\r\nearly",
    );
    assert!(common::wait_until(Duration::from_secs(5), || states.lock().unwrap().last()
        == Some(&ConnState::Hijacked)));
}

/// A bodyless request with nothing buffered behind it is served on the
/// loop's own read buffer (it is lent to the wire only for a body or for
/// buffered bytes): `hijack` then hands over no bytes, and the socket reads
/// what the client sends next.
#[test]
fn hijack_with_nothing_buffered_hands_over_no_bytes() {
    let srv = test::Server::new(upgrade);
    upgrade_exchange(
        &srv,
        b"GET /ws HTTP/1.1\r\nHost: t\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nX-Buffered: 0\r\n\r\n",
    );
}

/// A handler may hand its body to another goroutine and return before that
/// goroutine's read is done. The connection then waits for the read to end
/// before it takes its buffer back (as Go's waits on `body.mu`), parking
/// its goroutine, not its thread: with more such connections than Ms, a
/// thread lock there left every M blocked and no goroutine could run.
#[test]
fn a_body_read_elsewhere_after_the_handler_returned_holds_no_thread() {
    const CONNS: usize = 8;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let tx = Mutex::new(tx);
    let srv = test::Server::new(move |w: &mut ResponseWriter, r: &mut Request| {
        let mut body = r.take_body();
        let tx = tx.lock().unwrap().clone();
        let (started_tx, started) = gort::chan::bounded(1);
        gort::go!(move || {
            started_tx.send(()).unwrap();
            let mut text = String::new();
            let _ = body.read_to_string(&mut text);
            let _ = tx.send(text);
        });
        // Returns once the other goroutine waits inside its read.
        started.recv().unwrap();
        gort::time::sleep(Duration::from_millis(50));
        w.write_all(b"handed over")
    });
    let mut conns: Vec<_> = (0..CONNS).map(|_| connect(&srv)).collect();
    for c in &mut conns {
        c.get_mut().write_all(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n").unwrap();
    }
    // Every connection's handler has returned, its body unread.
    std::thread::sleep(Duration::from_millis(300));
    let (_srv, mut conns) = common::assert_a_new_goroutine_runs((srv, conns), "the bodies were pending");
    for c in &mut conns {
        c.get_mut().write_all(b"hello").unwrap();
    }
    for c in &mut conns {
        assert_eq!(read_response(c), ("HTTP/1.1 200 OK".to_owned(), "handed over".to_owned()));
    }
    for _ in 0..CONNS {
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).as_deref(), Ok("hello"));
    }
}
