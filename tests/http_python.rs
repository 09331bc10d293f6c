//! The server as Python's standard `http.client` sees it: the script
//! `tests/http_python_client.py` checks keep-alive reuse, a chunked POST,
//! HEAD, a 404 and a pipelined pair, and prints a marker this test looks
//! for. Without python3 the test fails, naming it.

use std::io::{Read, Write};
use std::process::Command;

use gort::http::{test, Request, ResponseWriter, StatusCode};

/// `/echo` returns the request body, `/nowhere` is a 404, every other
/// path says hello.
fn app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    match r.url_path() {
        "/echo" => {
            let mut b = Vec::new();
            r.body().read_to_end(&mut b)?;
            w.write_all(&b)
        }
        "/nowhere" => {
            w.write_header(StatusCode::NOT_FOUND);
            w.write_all(b"not found")
        }
        _ => w.write_all(b"Hello, World!"),
    }
}

#[test]
fn python_http_client_is_served() {
    let srv = test::Server::new(app);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/http_python_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(srv.addr().port().to_string())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `python3` (install python3 for http_python): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the python client failed:\n{stdout}{stderr}");
    assert!(stdout.lines().any(|l| l == "python-client: ok"), "no marker from the client:\n{stdout}{stderr}");
}
