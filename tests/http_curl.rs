//! The server as the `curl` binary sees it: two URLs on one command line
//! share a kept-alive connection, `--http1.0` gets an HTTP/1.0 response
//! and a close, HEAD carries Content-Length and no body, POST bodies echo
//! with and without `Expect: 100-continue`, a 404 from the hello routes'
//! mux keeps the connection, and a few MiB sent with
//! `--data-binary @file` come back intact. Without curl every test fails,
//! naming it: a missing tool must not look like a pass.

use std::io::{Read, Write};
use std::process::{Command, Output};

use gort::http::{test, Request, ResponseWriter};

#[path = "../examples/common/hello_routes.rs"]
mod hello_routes;

/// `/echo` returns the request body; every other path says hello.
fn app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    match r.url_path() {
        "/echo" => {
            let mut b = Vec::new();
            r.body().read_to_end(&mut b)?;
            w.write_all(&b)
        }
        _ => w.write_all(b"Hello, World!"),
    }
}

/// Runs `curl -sS` with `args` and returns its output once it succeeded.
///
/// # Panics
/// When curl is not installed or exits with a failure.
fn curl(args: &[&str]) -> Output {
    let out = Command::new("curl")
        .arg("-sS")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `curl` (install curl for the http_curl tests): {e}"));
    assert!(out.status.success(), "curl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn two_urls_reuse_one_connection() {
    let srv = test::Server::new(app);
    let out = curl(&["-v", &srv.url("/a"), &srv.url("/b")]);
    let log = stderr(&out);
    assert_eq!(out.stdout, b"Hello, World!Hello, World!");
    assert!(
        log.contains("Re-using existing connection") || log.contains("Reusing existing connection"),
        "curl opened a second connection:\n{log}"
    );
    assert_eq!(log.matches("Connected to").count(), 1, "{log}");
}

#[test]
fn the_hello_routes_share_one_connection_through_a_404() {
    let srv = test::Server::new(hello_routes::mux());
    let out = curl(&["-v", &srv.url("/"), &srv.url("/nope"), &srv.url("/hello/gopher")]);
    let log = stderr(&out);
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.starts_with("Hello, World!") && body.ends_with("Hello, gopher!"), "{body}");
    assert_eq!(log.matches("< HTTP/1.1 404 Not Found").count(), 1, "{log}");
    assert_eq!(log.matches("Connected to").count(), 1, "{log}");
    let out = curl(&["-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", &srv.url("/")]);
    assert_eq!(out.stdout, b"405");
}

#[test]
fn http_1_0_gets_a_1_0_response_that_closes() {
    let srv = test::Server::new(app);
    let out = curl(&["-v", "--http1.0", &srv.url("/a"), &srv.url("/b")]);
    let log = stderr(&out);
    assert_eq!(out.stdout, b"Hello, World!Hello, World!");
    assert_eq!(log.matches("< HTTP/1.0 200 OK").count(), 2, "{log}");
    assert!(!log.contains("existing connection"), "an HTTP/1.0 connection was reused:\n{log}");
    assert_eq!(log.matches("Connected to").count(), 2, "{log}");
}

#[test]
fn head_has_content_length_and_no_body() {
    let srv = test::Server::new(app);
    let out = curl(&["-I", &srv.url("/")]);
    let head = String::from_utf8(out.stdout).unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.to_ascii_lowercase().contains("\r\ncontent-length: 13\r\n"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "a body followed the HEAD response: {head:?}");
}

#[test]
fn post_without_expect_echoes() {
    let srv = test::Server::new(app);
    let out = curl(&["-v", "-H", "Expect:", "--data-binary", "ping=pong", &srv.url("/echo")]);
    let log = stderr(&out);
    assert_eq!(out.stdout, b"ping=pong");
    assert!(!log.contains("100-continue"), "curl asked for 100-continue:\n{log}");
}

/// Two MiB is past the size at which curl sends `Expect: 100-continue` by
/// itself, so the server's interim response is on the path.
#[test]
fn large_post_with_expect_100_continue_echoes() {
    let srv = test::Server::new(app);
    let body = "x".repeat(2 << 20);
    let file = write_temp("expect", body.as_bytes());
    let arg = format!("@{}", file.display());
    let out = curl(&["-v", "--data-binary", &arg, &srv.url("/echo")]);
    let log = stderr(&out);
    std::fs::remove_file(&file).unwrap();
    assert!(log.contains("> Expect: 100-continue"), "curl did not send Expect:\n{log}");
    assert!(log.contains("< HTTP/1.1 100 Continue"), "no 100 Continue came back:\n{log}");
    assert!(out.stdout == body.as_bytes(), "echo differs: {} bytes back of {}", out.stdout.len(), body.len());
}

#[test]
fn megabytes_from_a_file_echo_intact() {
    let srv = test::Server::new(app);
    let body: Vec<u8> = (0..5u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let file = write_temp("binary", &body);
    let arg = format!("@{}", file.display());
    let out =
        curl(&["--data-binary", &arg, "-H", "Content-Type: application/octet-stream", &srv.url("/echo")]);
    std::fs::remove_file(&file).unwrap();
    assert!(out.stdout == body, "echo differs: {} bytes back of {}", out.stdout.len(), body.len());
}

/// Writes `bytes` to a file in the temp directory named for this process
/// and `tag`, and returns its path.
fn write_temp(tag: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("gort-http-curl-{}-{tag}", std::process::id()));
    std::fs::File::create(&path).and_then(|mut f| f.write_all(bytes)).unwrap();
    path
}
