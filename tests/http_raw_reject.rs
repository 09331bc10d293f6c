//! What the server refuses, byte for byte, over an in-memory connection
//! (`gort::http::test::serve_raw`): every rejection with its status and a
//! closed connection, bad chunks, the 414 and 431 limits and `max_bytes`'s
//! 413; and the edges it accepts: valid escapes with a raw query, quotes
//! and angle brackets in the target (served percent-encoded), a newer
//! minor version served as 1.1, leading empty lines and absolute targets.

#[path = "common/raw_app.rs"]
mod raw_app;

use std::io::Write;

use gort::http::test::serve_raw;
use raw_app::{app, has, raw, responses, status};

/// Each bad request gets exactly its status and a closed connection (the
/// request after it is never answered).
#[test]
fn rejections_have_their_status_and_close() {
    let after = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let cases: &[(&str, &str)] = &[
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "400"),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "400"),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", "400"),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\nabc", "400"),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "501"),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "400"),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", "501"),
        ("POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "400"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", "400"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n", "400"),
        ("GET / HTTP/1.1\r\n\r\n", "400"),
        ("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "400"),
        ("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "400"),
        // A Host is optional on 1.0, but one that is there must be one and valid (Go's rule).
        ("GET / HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n", "400"),
        ("GET / HTTP/1.0\r\nHost: a b\r\n\r\n", "400"),
        ("GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
        ("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
        ("GET /a%4 HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
        ("GET http://x/a%g0 HTTP/1.1\r\nHost: x\r\n\r\n", "400"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", "400"),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", "505"),
        ("GET / HTTX/1.1\r\nHost: x\r\n\r\n", "400"),
        ("GET / HTTP/1.10\r\nHost: x\r\n\r\n", "400"),
        ("GET / HTTP/1.2\r\n\r\n", "400"),
    ];
    for (req, code) in cases {
        let out = raw(&format!("{req}{after}"));
        assert!(out.starts_with(&format!("HTTP/1.1 {code} ")), "{req:?}: {out}");
        assert!(has(&out, "Connection: close"), "{req:?}: {out}");
        assert_eq!(out.matches("HTTP/1.1").count(), 1, "{req:?}: the next request was served: {out}");
    }
}

#[test]
fn bad_chunks_poison_the_body_and_close() {
    let out = raw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
    assert!(has(&out, "Connection: close"), "{out}");
    assert_eq!(out.matches("HTTP/1.1").count(), 1, "{out}");
}

#[test]
fn limits_give_414_and_431() {
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70 << 10));
    assert!(raw(&long).starts_with("HTTP/1.1 414 "));
    let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    assert!(raw(&format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n")).starts_with("HTTP/1.1 431 "));
    let huge = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "v".repeat(1 << 20));
    assert!(raw(&huge).starts_with("HTTP/1.1 431 "));
}

/// The request-line limit counts the whole line (without its CRLF)
/// however the bytes arrive: a 101-byte line over a limit of 100 is a 414
/// though its target alone is under it, and a 100-byte one is served.
#[test]
fn the_request_line_limit_counts_the_whole_line() {
    let mut config = gort::http::Config::default();
    config.max_request_line = 100;
    let line = |target_len: usize| format!("GET /{} HTTP/1.1", "a".repeat(target_len - 1));
    for (target_len, want) in [(88, "HTTP/1.1 414 "), (87, "HTTP/1.1 404 ")] {
        let req = format!("{}\r\nHost: x\r\n\r\n", line(target_len));
        let out = String::from_utf8(gort::http::test::serve_raw_with(&app, req.as_bytes(), &config)).unwrap();
        assert!(out.starts_with(want), "a {}-byte line: {out}", line(target_len).len());
    }
}

#[test]
fn max_bytes_gives_413() {
    let h = gort::http::max_bytes(app, 4);
    let out = String::from_utf8(serve_raw(
        &h,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789",
    ))
    .unwrap();
    assert!(out.starts_with("HTTP/1.1 413 "), "{out}");
    assert!(has(&out, "Connection: close"));
}

/// A limit the handler never reached does not stop the server draining
/// the body it left unread: the connection goes on.
#[test]
fn max_bytes_leaves_the_servers_drain_alone() {
    let h = gort::http::max_bytes(app, 4);
    let out = String::from_utf8(serve_raw(
        &h,
        b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ))
    .unwrap();
    let rs = responses(&out);
    assert_eq!(rs.len(), 2, "{out}");
    assert_eq!((status(&rs[0].0), rs[0].1.as_str()), ("HTTP/1.1 200 OK", "ignored"), "{out}");
    assert!(!has(&rs[0].0, "Connection: close"), "{out}");
    assert_eq!(rs[1].1, "Hello, World!");
}

#[test]
fn escapes_in_the_path_must_be_valid_and_the_query_stays_raw() {
    let out = raw("GET /headers/%41?q=%zz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 404 "), "a valid escape and a raw query parse: {out}");
}

/// Bytes outside RFC 3986 that clients send raw and Go serves (`"`, `<`,
/// `>`, `` ` ``, as in curl's `?filter={"a":1}`) are served too: an
/// `http::Uri` cannot hold them, so they arrive percent-encoded in the
/// path and query, and decoded in a path value.
#[test]
fn quotes_and_angle_brackets_in_the_target_are_served_escaped() {
    let mut mux = gort::http::ServeMux::new();
    mux.handle_func(
        "GET /hello/{name}",
        |w: &mut gort::http::ResponseWriter, r: &mut gort::http::Request| {
            write!(w, "{}|{}|{}", r.path_value("name").unwrap_or("-"), r.url_path(), r.query().unwrap_or("-"))
        },
    );
    let cases = [
        ("/hello/a<b>`c\"d", r#"a<b>`c"d|/hello/a%3Cb%3E%60c%22d|-"#),
        (r#"/hello/x?filter={"a":1}&q=<`>"#, r#"x|/hello/x|filter={%22a%22:1}&q=%3C%60%3E"#),
        ("/hello/plain?q=1", "plain|/hello/plain|q=1"),
    ];
    for (target, want) in cases {
        let out = String::from_utf8(serve_raw(
            &mux,
            format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
        ))
        .unwrap();
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{target}: {out}");
        assert!(out.ends_with(&format!("\r\n\r\n{want}")), "{target}: {out}");
    }
}

/// RFC 9112 §2.3, as Go has it: a newer minor version of 1 is served as
/// 1.1, with 1.1's rules (a Host is required, the connection stays open).
#[test]
fn a_newer_minor_version_is_served_as_11() {
    let out =
        raw("GET /headers HTTP/1.2\r\nHost: x\r\nX-A: HTTP/1.2\r\n\r\nGET / HTTP/1.9\r\nHost: x\r\n\r\n");
    let rs = responses(&out);
    assert_eq!(rs.len(), 2, "{out}");
    assert_eq!(status(&rs[0].0), "HTTP/1.1 200 OK");
    assert!(!has(&rs[0].0, "Connection: close"), "{out}");
    assert_eq!((rs[0].1.as_str(), rs[1].1.as_str()), ("host,x-a", "Hello, World!"));
}

#[test]
fn leading_empty_lines_are_skipped_and_absolute_targets_accepted() {
    let out = raw("\r\n\r\nGET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("Hello, World!"), "{out}");
    // A scheme is case-insensitive (RFC 3986 §3.1).
    let out = raw("GET HTTP://x/ HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("Hello, World!"), "{out}");
}
