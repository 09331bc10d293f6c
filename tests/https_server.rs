//! The HTTPS server over loopback, with certificates made here by rcgen:
//! keep-alive and a chunked body through a rustls client, what
//! `Request::tls` reports, curl against it, a certificate reload, and the
//! bad inputs (plain HTTP to the TLS port, a ClientHello to the plain port,
//! a stalled handshake, unreadable PEM files) each ending in a clear
//! error or a close, not a hang; and 32 keep-alive sessions at once.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gort::http::rustls::{
    self, pki_types::ServerName, ClientConfig, ClientConnection, RootCertStore, StreamOwned,
};
use gort::http::{test, Request, ResponseWriter, Server};

/// Bounds every blocking read the tests make, so a hang fails instead.
const NO_HANG: Duration = Duration::from_secs(20);

fn app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    match r.url_path() {
        "/tls" => {
            let t = r.tls().expect("a TLS request has TlsInfo");
            let alpn = String::from_utf8_lossy(t.alpn.as_deref().unwrap_or(b"-")).into_owned();
            write!(w, "{:?} {} {}", t.version, t.server_name.as_deref().unwrap_or("-"), alpn)
        }
        "/chunked" => {
            // Starts the goroutine that peeks at the session while we write.
            assert!(r.context().err().is_none());
            for i in 0..2000 {
                writeln!(w, "line {i}")?;
            }
            Ok(())
        }
        "/until-cancelled" => {
            let start = std::time::Instant::now();
            while r.context().err().is_none() && start.elapsed() < NO_HANG {
                gort::time::sleep(Duration::from_millis(5));
            }
            CANCELLED.store(r.context().err().is_some(), std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
        "/duplex" => {
            // Another goroutine reads the body while this one writes more
            // than the socket takes before the client reads.
            let mut body = r.take_body();
            let (tx, rx) = gort::chan::bounded(1);
            gort::go!(move || {
                let mut text = String::new();
                let _ = body.read_to_string(&mut text);
                let _ = tx.send(text);
            });
            for _ in 0..DUPLEX_FILL / 4096 {
                w.write_all(&[b'x'; 4096])?;
            }
            w.write_all(rx.recv().unwrap_or_default().as_bytes())
        }
        _ => w.write_all(b"Hello, TLS!"),
    }
}

/// What `/duplex` writes before the body it read: more than loopback
/// buffers while the client does not read.
const DUPLEX_FILL: usize = 16 << 20;

/// Whether `/until-cancelled` saw its context end.
static CANCELLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A self-signed certificate for `localhost` and 127.0.0.1: (cert PEM, key PEM).
fn cert() -> (String, String) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    (ck.cert.pem(), ck.signing_key.serialize_pem())
}

/// Writes `cert` and `key` to a fresh directory: (cert path, key path).
fn write_pem(name: &str, (cert, key): &(String, String)) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("gort-https-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert).unwrap();
    std::fs::write(&k, key).unwrap();
    (c, k)
}

/// A TLS server on a loopback port; the errors it logged.
struct Tls {
    server: Server,
    addr: std::net::SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Tls {
    fn start(pem: &(String, String), header_timeout: Duration) -> Tls {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = Arc::clone(&log);
        let server = Server::new(app)
            .read_header_timeout(header_timeout)
            .error_log(move |m| l.lock().unwrap().push(m.to_owned()));
        let ln = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let (cert, key) = write_pem(&addr.port().to_string(), pem);
        let config = gort::http::server_config_from_pem(&cert, &key).unwrap();
        let s = server.clone();
        gort::go!(move || s.serve_tls(ln, config));
        Tls { server, addr, log }
    }
}

impl Drop for Tls {
    fn drop(&mut self) {
        self.server.close();
    }
}

type Client = BufReader<StreamOwned<ClientConnection, TcpStream>>;

/// A rustls client connection to `addr` as `localhost`, trusting `ca_pem`.
fn connect(addr: std::net::SocketAddr, ca_pem: &str) -> Client {
    let name = ServerName::try_from("localhost").unwrap();
    let tls = ClientConnection::new(client_config(ca_pem), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(NO_HANG)).unwrap();
    BufReader::new(StreamOwned::new(tls, tcp))
}

/// One keep-alive GET: (status line, body), decoding a chunked body.
fn get(c: &mut Client, path: &str) -> (String, String) {
    // One write, one TLS record (`write!` would send each piece as its own).
    c.get_mut().write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes()).unwrap();
    c.get_mut().flush().unwrap();
    read_response(c)
}

/// The response `c` reads next: (status line, body), decoding a chunked body.
fn read_response(c: &mut Client) -> (String, String) {
    let mut status = String::new();
    c.read_line(&mut status).unwrap();
    let (mut len, mut chunked) = (0, false);
    loop {
        let mut line = String::new();
        assert!(c.read_line(&mut line).unwrap() > 0, "the server closed the connection inside the head");
        let lower = line.to_ascii_lowercase();
        if line == "\r\n" {
            break;
        } else if let Some(v) = lower.strip_prefix("content-length: ") {
            len = v.trim().parse().unwrap();
        } else if lower == "transfer-encoding: chunked\r\n" {
            chunked = true;
        }
    }
    let body = if chunked { read_chunked(c) } else { read_n(c, len) };
    (status.trim_end().to_owned(), String::from_utf8(body).unwrap())
}

fn read_n(c: &mut Client, n: usize) -> Vec<u8> {
    let mut body = vec![0; n];
    c.read_exact(&mut body).unwrap();
    body
}

fn read_chunked(c: &mut Client) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        c.read_line(&mut size).unwrap();
        let n = usize::from_str_radix(size.trim_end(), 16).unwrap();
        body.extend(read_n(c, n));
        assert_eq!(read_n(c, 2), b"\r\n");
        if n == 0 {
            return body;
        }
    }
}

#[test]
fn keep_alive_and_chunked_over_tls() {
    let pem = cert();
    let srv = Tls::start(&pem, Duration::from_secs(10));
    let mut c = connect(srv.addr, &pem.0);
    assert_eq!(get(&mut c, "/"), ("HTTP/1.1 200 OK".to_owned(), "Hello, TLS!".to_owned()));
    let (status, body) = get(&mut c, "/chunked");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let want: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    assert_eq!(body, want);
    assert_eq!(get(&mut c, "/").1, "Hello, TLS!", "the connection is still usable");
}

/// A client that ends its session with `close_notify` while its request is
/// in flight ends the request's context, as a TCP close does (the watcher
/// takes the record in rather than counting it as more data).
#[test]
fn close_notify_ends_the_request_context() {
    let pem = cert();
    let srv = Tls::start(&pem, Duration::from_secs(10));
    let mut c = connect(srv.addr, &pem.0);
    c.get_mut().write_all(b"GET /until-cancelled HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    c.get_mut().flush().unwrap();
    std::thread::sleep(Duration::from_millis(200)); // the handler is polling its context
    c.get_mut().conn.send_close_notify();
    c.get_mut().flush().unwrap();
    let start = std::time::Instant::now();
    while !CANCELLED.load(std::sync::atomic::Ordering::SeqCst) && start.elapsed() < NO_HANG {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(CANCELLED.load(std::sync::atomic::Ordering::SeqCst), "the context outlived the session");
}

#[test]
fn request_tls_reports_version_sni_and_alpn() {
    let pem = cert();
    let srv = Tls::start(&pem, Duration::from_secs(10));
    let mut c = connect(srv.addr, &pem.0);
    assert_eq!(get(&mut c, "/tls").1, "TLSv1_3 localhost http/1.1");
}

#[test]
fn request_tls_is_none_on_plain_http() {
    let srv = test::Server::new(|w: &mut ResponseWriter, r: &mut Request| write!(w, "{}", r.tls().is_none()));
    let mut c = TcpStream::connect(srv.addr()).unwrap();
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert!(out.ends_with("\r\n\r\ntrue"), "{out}");
}

#[test]
fn set_tls_config_applies_to_new_connections() {
    let (first, second) = (cert(), cert());
    let srv = Tls::start(&first, Duration::from_secs(10));
    let mut old = connect(srv.addr, &first.0);
    assert_eq!(get(&mut old, "/").1, "Hello, TLS!");
    let (c, k) = write_pem("reload", &second);
    srv.server.set_tls_config(gort::http::server_config_from_pem(&c, &k).unwrap());
    let mut new = connect(srv.addr, &second.0);
    assert_eq!(get(&mut new, "/").1, "Hello, TLS!", "a new connection gets the new certificate");
    assert_eq!(get(&mut old, "/").1, "Hello, TLS!", "an old connection keeps its session");
}

#[test]
fn plain_http_to_the_tls_port_gets_400_and_a_close() {
    let srv = Tls::start(&cert(), Duration::from_secs(10));
    let mut c = TcpStream::connect(srv.addr).unwrap();
    c.set_read_timeout(Some(NO_HANG)).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).expect("the server closes, no hang");
    let out = String::from_utf8_lossy(&out);
    assert!(
        out.starts_with("HTTP/1.0 400 ") && out.ends_with("an HTTP request to an HTTPS server.\n"),
        "{out}"
    );
    assert!(wait_logged(&srv, "TLS handshake error"), "{:?}", srv.log.lock().unwrap());
}

#[test]
fn garbage_instead_of_a_client_hello_is_closed() {
    let srv = Tls::start(&cert(), Duration::from_secs(10));
    let mut c = TcpStream::connect(srv.addr).unwrap();
    c.set_read_timeout(Some(NO_HANG)).unwrap();
    c.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00]).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    assert!(!out.starts_with(b"HTTP/"), "a TLS alert at most, no HTTP: {out:?}");
    assert!(wait_logged(&srv, "TLS handshake error"), "{:?}", srv.log.lock().unwrap());
}

#[test]
fn a_stalled_handshake_is_cut_by_the_header_timeout() {
    let srv = Tls::start(&cert(), Duration::from_millis(200));
    let mut c = TcpStream::connect(srv.addr).unwrap();
    c.set_read_timeout(Some(NO_HANG)).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).expect("the server closes, no hang");
    assert!(out.is_empty());
    assert!(wait_logged(&srv, "timed out"), "{:?}", srv.log.lock().unwrap());
}

#[test]
fn a_client_hello_to_the_plain_port_gets_400() {
    let srv = test::Server::new(app);
    let pem = cert();
    let mut hello = Vec::new();
    connect_hello(&pem.0).write_tls(&mut hello).unwrap();
    let mut c = TcpStream::connect(srv.addr()).unwrap();
    c.set_read_timeout(Some(NO_HANG)).unwrap();
    c.write_all(&hello).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    assert!(out.starts_with(b"HTTP/1.1 400 "), "{}", String::from_utf8_lossy(&out));
}

/// A client session whose first flight is the ClientHello.
fn connect_hello(ca_pem: &str) -> ClientConnection {
    ClientConnection::new(client_config(ca_pem), ServerName::try_from("localhost").unwrap()).unwrap()
}

/// A client config trusting only `ca_pem`, asking for `http/1.1`.
fn client_config(ca_pem: &str) -> Arc<ClientConfig> {
    use gort::http::rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    let mut config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Runs curl with `flags` against a fresh TLS server, trusting its
/// certificate, fetching `/` `times` times on one command line; (stdout,
/// stderr) of a run that succeeded.
fn curl_tls(name: &str, flags: &[&str], times: usize) -> (String, String) {
    let pem = cert();
    let srv = Tls::start(&pem, Duration::from_secs(10));
    let (ca, _) = write_pem(name, &pem);
    let url = format!("https://localhost:{}/", srv.addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", srv.addr.port());
    let out = std::process::Command::new("curl")
        .args(["-sS", "-v", "--max-time", "20"])
        .args(flags)
        .arg("--cacert")
        .arg(&ca)
        .args(["--resolve", &resolve])
        .args(std::iter::repeat_n(&url, times))
        .output()
        .expect("this test runs curl; install curl to run it");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "curl failed: {stderr}");
    (stdout.into_owned(), stderr.into_owned())
}

#[test]
fn curl_with_cacert_reuses_the_connection() {
    let (stdout, stderr) = curl_tls("curl", &[], 2);
    assert_eq!(stdout, "Hello, TLS!Hello, TLS!");
    assert!(stderr.contains("ALPN: server accepted http/1.1"), "{stderr}");
    assert!(stderr.to_ascii_lowercase().contains("re-using existing"), "keep-alive over TLS: {stderr}");
}

#[test]
fn curl_http10_over_tls_is_served() {
    let (stdout, stderr) = curl_tls("curl10", &["--http1.0"], 1);
    assert_eq!(stdout, "Hello, TLS!");
    assert!(stderr.contains("ALPN: server accepted http/1.0"), "{stderr}");
    assert!(stderr.contains("< HTTP/1.0 200 OK"), "{stderr}");
}

/// Waits for the server's error log to mention `what`.
fn wait_logged(srv: &Tls, what: &str) -> bool {
    let until = std::time::Instant::now() + NO_HANG;
    while std::time::Instant::now() < until {
        if srv.log.lock().unwrap().iter().any(|m| m.contains(what)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn bad_pem_files_are_named_in_the_error() {
    let (bad_cert, key) = write_pem("bad", &("not a certificate".to_owned(), cert().1));
    let e = gort::http::server_config_from_pem(&bad_cert, &key).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("cert.pem") && e.to_string().contains("no CERTIFICATE"), "{e}");
    let e = gort::http::server_config_from_pem(&bad_cert, "/nonexistent/key.pem").unwrap_err();
    assert!(e.to_string().contains("cert.pem"), "the certificate is read first: {e}");
    let good = write_pem("good", &cert());
    let e = gort::http::server_config_from_pem(&good.0, "/nonexistent/key.pem").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/key.pem"), "{e}");
}

#[test]
fn stress_many_keep_alive_tls_connections_at_once() {
    let pem = cert();
    let srv = Tls::start(&pem, Duration::from_secs(10));
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let (addr, ca) = (srv.addr, pem.0.clone());
            std::thread::spawn(move || {
                let mut c = connect(addr, &ca);
                for i in 0..20 {
                    let path = if i % 4 == 0 { "/chunked" } else { "/" };
                    let (status, body) = get(&mut c, path);
                    assert_eq!(status, "HTTP/1.1 200 OK");
                    assert!(body == "Hello, TLS!" || body.ends_with("line 1999\n"), "{body}");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
}

/// A body read on one goroutine while the handler's write waits on a
/// client that does not read: the read takes in its record, then waits
/// for the writer to send what rustls owes the peer. It waits parked, not
/// holding its thread: with more such connections than Ms, a thread lock
/// there left every M blocked and no goroutine could run.
#[test]
fn a_tls_read_waiting_behind_a_stalled_write_holds_no_thread() {
    const CONNS: usize = 8;
    let pem = cert();
    let srv = Tls::start(&pem, Duration::from_secs(10));
    let mut conns: Vec<_> = (0..CONNS).map(|_| connect(srv.addr, &pem.0)).collect();
    for c in &mut conns {
        c.get_mut()
            .write_all(b"POST /duplex HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\n")
            .unwrap();
        c.get_mut().flush().unwrap();
    }
    std::thread::sleep(Duration::from_millis(300)); // every handler's write waits
    for c in &mut conns {
        c.get_mut().write_all(b"hello").unwrap();
        c.get_mut().flush().unwrap();
    }
    std::thread::sleep(Duration::from_millis(300)); // every body read waits to flush
    let (_srv, mut conns) =
        common::assert_a_new_goroutine_runs((srv, conns), "the reads waited on the writes");
    for c in &mut conns {
        let (status, body) = read_response(c);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(body.len(), DUPLEX_FILL + 5);
        assert!(body.ends_with("xhello"));
    }
}

/// An idle TLS keep-alive connection waits for its next request past the
/// header timeout and past the moment it gives back its deep stack pages
/// (one second), then serves it: neither the header deadline nor the
/// shrink's deadline closes a connection that is waiting for a request.
#[test]
fn idle_tls_connections_serve_after_the_header_timeout_and_the_shrink() {
    let pem = cert();
    let srv = Tls::start(&pem, Duration::from_millis(1000));
    let mut conns: Vec<Client> = (0..10).map(|_| connect(srv.addr, &pem.0)).collect();
    for c in &mut conns {
        assert_eq!(get(c, "/").0, "HTTP/1.1 200 OK");
    }
    std::thread::sleep(Duration::from_millis(2500));
    for c in &mut conns {
        assert_eq!(get(c, "/").0, "HTTP/1.1 200 OK", "an idle TLS connection was closed");
    }
}
