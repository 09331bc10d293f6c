//! HTTPS between gort and TLS stacks nobody here wrote, with certificates
//! made by rcgen: the gort client against Python's `ssl`-wrapped
//! `http.server` (`tests/https_python_server.py`), keep-alive, chunked and
//! gzipped, and an upgrade to an echo protocol over TLS; Python's `ssl` and
//! `http.client` against the gort server (`tests/https_python_client.py`);
//! `openssl s_client` checking the server's ALPN and certificate chain.
//! A missing `python3` or `openssl` fails the test, naming it.

#[path = "common/pki.rs"]
mod pki;
#[path = "common/http_servers.rs"]
mod servers;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use gort::http::{Client, Request, ResponseWriter};
use pki::{Ca, TlsServer};
use servers::read_all;

fn app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    match r.url_path() {
        "/chunked" => {
            for i in 0..2000 {
                writeln!(w, "line {i}")?;
            }
            Ok(())
        }
        _ => w.write_all(b"Hello, TLS!"),
    }
}

fn script(name: &str) -> String {
    format!("{}/tests/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The Python server, killed on drop, and its port.
struct PyServer(Child, u16);

impl PyServer {
    /// Starts one with `leaf`, written to files named after `test` (tests
    /// run at once, each with a CA of its own).
    fn start(test: &str, leaf: &pki::Leaf) -> PyServer {
        let (cert, key) = pki::write_leaf(test, leaf);
        let mut child = Command::new("python3")
            .arg(script("https_python_server.py"))
            .args([&cert, &key])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `python3` (install python3 for https_tools): {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("port ").and_then(|p| p.parse().ok());
        PyServer(child, port.unwrap_or_else(|| panic!("the python server said {line:?}")))
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_gort_client_against_pythons_tls_server() {
    let ca = Ca::new();
    let py = PyServer::start("python-server", &ca.leaf(&["localhost", "127.0.0.1"]));
    let client = Client::builder().root_certificates_pem(ca.pem().as_bytes()).build().unwrap();
    let url = |path: &str| format!("https://localhost:{}{path}", py.1);
    let first = read_all(client.get(&url("/hello")).unwrap().body()).unwrap();
    assert!(first.starts_with("hello from python, client port "), "{first}");
    for _ in 0..4 {
        let again = read_all(client.get(&url("/hello")).unwrap().body()).unwrap();
        assert_eq!(again, first, "the same client port: one connection, kept alive");
    }
    let mut r = client.get(&url("/chunked")).unwrap();
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let want: String = (0..300).map(|i| format!("line {i}\n")).collect();
    assert_eq!(read_all(r.body()).unwrap(), want);
    let mut r = client.get(&url("/gzip")).unwrap();
    assert!(r.uncompressed(), "python gzipped the answer the transport asked for");
    assert_eq!(read_all(r.body()).unwrap(), "hello from python, gzipped ".repeat(100));
    assert_eq!(client.transport().idle_connections(), 1);
    let strict = Client::new();
    let e = strict.get(&url("/hello")).unwrap_err();
    assert!(e.to_string().contains("tls: localhost: certificate signed by unknown authority"), "{e}");
}

#[test]
fn the_gort_client_upgrades_a_tls_connection_to_pythons_echo() {
    let ca = Ca::new();
    let py = PyServer::start("python-upgrade-server", &ca.leaf(&["localhost"]));
    let client = Client::builder()
        .root_certificates_pem(ca.pem().as_bytes())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let req = Request::builder()
        .uri(format!("https://localhost:{}/upgrade", py.1))
        .header("connection", "Upgrade")
        .header("upgrade", "echo")
        .build()
        .unwrap();
    let resp = client.send(req).unwrap();
    assert_eq!(resp.status(), 101);
    let conn = std::sync::Arc::new(resp.upgrade().unwrap());
    conn.set_read_deadline(Some(std::time::Instant::now() + std::time::Duration::from_secs(10)));
    let writer = {
        let conn = std::sync::Arc::clone(&conn);
        gort::go!(move || {
            for i in 0..500 {
                (&*conn).write_all(format!("record {i}\n").as_bytes()).unwrap();
            }
            conn.shutdown_write();
        })
    };
    let mut got = String::new();
    std::io::Read::read_to_string(&mut &*conn, &mut got).unwrap();
    writer.join().unwrap();
    let want: String =
        std::iter::once("hi".to_owned()).chain((0..500).map(|i| format!("record {i}\n"))).collect();
    assert!(got == want, "{} bytes back of {}", got.len(), want.len());
}

#[test]
fn pythons_tls_client_against_the_gort_server() {
    let ca = Ca::new();
    let srv = TlsServer::new(app, &ca.leaf(&["localhost"]));
    let cafile = pki::write_file("python-client-ca.pem", &ca.pem());
    let out = Command::new("python3")
        .arg(script("https_python_client.py"))
        .arg(srv.addr.port().to_string())
        .arg(&cafile)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `python3` (install python3 for https_tools): {e}"));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the python client failed:\n{stdout}{stderr}");
    assert!(stdout.lines().any(|l| l == "python-tls-client: ok"), "no marker:\n{stdout}{stderr}");
}

#[test]
fn openssl_s_client_sees_alpn_http11_and_a_chain_to_the_ca() {
    let ca = Ca::new();
    let srv = TlsServer::new(app, &ca.leaf(&["localhost"]));
    let cafile = pki::write_file("s_client-ca.pem", &ca.pem());
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &srv.addr.to_string(), "-servername", "localhost"])
        .args(["-alpn", "http/1.1", "-verify_hostname", "localhost", "-verify_return_error", "-ign_eof"])
        .arg("-CAfile")
        .arg(&cafile)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `openssl` (install openssl for https_tools): {e}"));
    let req = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    child.stdin.take().unwrap().write_all(req).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "s_client failed:\n{stdout}{stderr}");
    assert!(stdout.contains("ALPN protocol: http/1.1"), "{stdout}");
    assert!(stdout.contains("Verify return code: 0 (ok)"), "{stdout}");
    let chain = stdout.split("Certificate chain").nth(1).unwrap_or_default();
    assert!(
        chain.contains(" 0 s:") && chain.contains("i:CN = gort test CA"),
        "the leaf, issued by the CA:\n{stdout}"
    );
    assert!(stdout.contains("HTTP/1.1 200 OK") && stdout.contains("Hello, TLS!"), "{stdout}");
}
