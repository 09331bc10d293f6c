//! The server's wire behaviour, byte for byte, over an in-memory
//! connection (`gort::http::test::serve_raw`): framing, keep-alive,
//! pipelining, HEAD, 100-continue, chunked bodies with trailers, unread
//! bodies drained or not, and handler errors and panics answered with a
//! 500 and a closed connection. Rejected requests, and the edges of
//! parsing that are accepted, are in `http_raw_reject.rs`.

#[path = "common/raw_app.rs"]
mod raw_app;

use raw_app::{app, has, raw, responses, status};

#[test]
fn small_body_gets_content_length_and_keep_alive() {
    let out = raw("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /ignore HTTP/1.1\r\nHost: x\r\n\r\n");
    let rs = responses(&out);
    assert_eq!(rs.len(), 2, "{out}");
    assert_eq!(status(&rs[0].0), "HTTP/1.1 200 OK");
    assert!(has(&rs[0].0, "Content-Length: 13"), "{}", rs[0].0);
    assert!(has(&rs[0].0, "Content-Type: text/plain; charset=utf-8"));
    assert!(rs[0].0.to_ascii_lowercase().contains("\r\ndate: "));
    assert!(!rs[0].0.to_ascii_lowercase().contains("connection:"));
    assert_eq!(rs[0].1, "Hello, World!");
    assert_eq!(rs[1].1, "ignored");
}

/// The type Go guesses for a handler that set none goes into the head
/// only: the handler's own map never shows it.
#[test]
fn a_sniffed_content_type_goes_out_without_touching_the_handlers_map() {
    let out = raw("GET /sniffed HTTP/1.1\r\nHost: x\r\n\r\n");
    let rs = responses(&out);
    assert_eq!(rs.len(), 1, "{out}");
    assert!(has(&rs[0].0, "Content-Type: text/html; charset=utf-8"), "{}", rs[0].0);
    assert!(has(&rs[0].0, "Transfer-Encoding: chunked"), "{}", rs[0].0);
    assert_eq!(rs[0].1, "<html>false");
}

/// Header maps are reused from request to request (`header_pool.rs`): a
/// later request, and its response, must see none of an earlier one's
/// headers, on this connection or any other.
/// The type is sniffed from a first write too big to stage as from a
/// small one, and not at all for an encoded body (Go's rules).
#[test]
fn a_big_first_write_is_sniffed_and_an_encoded_body_is_not() {
    let out = raw("GET /big-html HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = out.split_once("\r\n\r\n").unwrap().0;
    assert!(has(&format!("{head}\r\n"), "Content-Type: text/html; charset=utf-8"), "{head}");
    let out = gort::http::test::serve_raw(&app, b"GET /gzip HTTP/1.1\r\nHost: x\r\n\r\n");
    let out = String::from_utf8_lossy(&out);
    let head = out.split_once("\r\n\r\n").unwrap().0.to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip") && !head.contains("content-type"), "{head}");
}

#[test]
fn headers_never_carry_over_to_the_next_request() {
    for _ in 0..50 {
        let out = raw("GET /headers HTTP/1.1\r\nHost: x\r\nX-Secret: s\r\nX-Other: o\r\n\r\n\
                       GET /headers HTTP/1.1\r\nHost: x\r\n\r\n");
        let rs = responses(&out);
        assert_eq!(rs.len(), 2, "{out}");
        assert_eq!(rs[0].1, "host,x-secret,x-other");
        assert!(has(&rs[0].0, "x-seen: 1"), "{}", rs[0].0);
        assert_eq!(rs[1].1, "host", "the second request saw the first one's headers");
        assert!(!rs[1].0.to_ascii_lowercase().contains("x-seen"), "{}", rs[1].0);
        let alone = responses(&raw("GET /headers HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert_eq!(alone[0].1, "host", "a new connection saw an old request's headers");
    }
}

#[test]
fn streaming_is_chunked_on_11_and_close_delimited_on_10() {
    let rs = responses(&raw("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(has(&rs[0].0, "Transfer-Encoding: chunked"), "{}", rs[0].0);
    assert_eq!(rs[0].1, "line 0\nline 1\nline 2\n");
    let out = raw("GET /stream HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    assert!(out.starts_with("HTTP/1.0 200 OK\r\n"), "{out}");
    assert!(has(&out, "Connection: close"), "{out}");
    assert!(out.ends_with("\r\n\r\nline 0\nline 1\nline 2\n"), "the second request is not served: {out}");
}

#[test]
fn a_big_body_streams_chunked() {
    let rs = responses(&raw("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(has(&rs[0].0, "Transfer-Encoding: chunked"));
    assert_eq!(rs[0].1, "x".repeat(10_000));
}

#[test]
fn http10_keep_alive_only_when_asked() {
    let out =
        raw("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    let rs = responses(&out);
    assert_eq!(rs.len(), 2, "{out}");
    assert!(has(&rs[0].0, "Connection: keep-alive"), "{}", rs[0].0);
    assert!(has(&rs[1].0, "Connection: close"), "{}", rs[1].0);
}

#[test]
fn connection_tokens_are_a_list_in_any_case() {
    // `close` anywhere in the list ends a 1.1 connection after its response.
    let out = raw(
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let rs = responses(&out);
    assert_eq!(rs.len(), 1, "{out}");
    assert!(has(&rs[0].0, "Connection: close"), "{}", rs[0].0);
    // `Keep-Alive` among other tokens keeps a 1.0 connection.
    let out = raw("GET / HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    let rs = responses(&out);
    assert_eq!(rs.len(), 2, "{out}");
    assert!(has(&rs[0].0, "Connection: keep-alive"), "{}", rs[0].0);
}

#[test]
fn connection_close_from_the_client_ends_after_the_response() {
    let rs = responses(&raw(
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ));
    assert_eq!(rs.len(), 1);
    assert!(has(&rs[0].0, "Connection: close"));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let reqs: String =
        (0..5).map(|i| format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n{i}")).collect();
    let rs = responses(&raw(&reqs));
    let bodies: Vec<_> = rs.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(bodies, ["0", "1", "2", "3", "4"]);
}

#[test]
fn head_has_the_get_length_and_no_body() {
    let out = raw("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let (head, rest) = out.split_once("\r\n\r\n").unwrap();
    assert!(has(&format!("{head}\r\n"), "Content-Length: 13"), "{out}");
    assert!(
        has(&format!("{head}\r\n"), "Content-Type: text/plain; charset=utf-8"),
        "sniffed as a GET: {out}"
    );
    assert!(rest.starts_with("HTTP/1.1 200 OK\r\n"), "HEAD wrote a body: {out}");
}

#[test]
fn expect_100_continue_is_sent_when_the_body_is_read() {
    let out = raw("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
    assert!(out.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nabc"));
    let out = raw("POST /ignore HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "no 100 when the body is not read: {out}");
    assert!(has(&out, "Connection: close"), "the unread body cannot be skipped safely: {out}");
    let out = raw("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 3\r\n\r\nabc");
    assert!(out.starts_with("HTTP/1.1 417 Expectation Failed\r\n"), "{out}");
    // Go's reading: a list naming 100-continue is honoured, an empty value ignored.
    let out =
        raw("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue, x\r\nContent-Length: 3\r\n\r\nabc");
    assert!(out.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), "{out}");
    let out = raw("POST /echo HTTP/1.1\r\nHost: x\r\nExpect:\r\nContent-Length: 3\r\n\r\nabc");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("\r\n\r\nabc"), "{out}");
}

#[test]
fn chunked_request_bodies_with_trailers() {
    let body = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n";
    let out = raw(&format!("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{body}GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    let rs = responses(&out);
    assert_eq!(rs[0].1, "hello world");
    assert_eq!(rs[1].1, "Hello, World!");
    let out = raw(&format!("POST /trailers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{body}"));
    assert!(out.ends_with("trailer=11"), "{out}");
}

#[test]
fn unread_bodies_are_drained_up_to_256k() {
    let small = format!(
        "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{}GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(1000)
    );
    assert_eq!(responses(&raw(&small)).len(), 2);
    let n = 300 << 10;
    let big = format!(
        "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: {n}\r\n\r\n{}GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(n)
    );
    let rs = responses(&raw(&big));
    assert_eq!(rs.len(), 1, "past 256 KiB the connection closes");
    assert!(has(&rs[0].0, "Connection: close"), "the head says so: {}", rs[0].0);
    let chunk = "a".repeat(4096);
    let chunked = format!(
        "POST /ignore HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{}0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        format!("1000\r\n{chunk}\r\n").repeat(80)
    );
    let rs = responses(&raw(&chunked));
    assert_eq!(rs.len(), 1, "320 KiB of chunks are more than the drain reads");
    assert!(has(&rs[0].0, "Connection: close"), "{}", rs[0].0);
    let small_chunked = format!(
        "POST /ignore HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{}0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        format!("1000\r\n{chunk}\r\n").repeat(2)
    );
    let rs = responses(&raw(&small_chunked));
    assert_eq!(rs.len(), 2, "8 KiB of chunks are drained");
    assert!(!has(&rs[0].0, "Connection: close"), "{}", rs[0].0);
}

/// A declared body longer than the drain bound is not read at all, nor
/// one on a connection that closes anyway: the response says `Connection:
/// close` and goes out at once, though the client has sent none of the
/// body yet; the close lingers, so the client reads the response rather
/// than a reset while it sends.
#[test]
fn an_unread_body_is_not_waited_for_when_the_connection_closes() {
    use std::io::{Read, Write};
    let srv = gort::http::test::Server::new(app);
    for head in [
        "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\nabc",
        "POST /ignore HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1000\r\n\r\nabc",
    ] {
        let mut c = std::net::TcpStream::connect(srv.addr()).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        c.write_all(head.as_bytes()).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(7).any(|w| w == b"ignored") {
            let n = c.read(&mut buf).expect("the response comes without the body being sent");
            assert!(n > 0, "closed before the response: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        let resp = String::from_utf8_lossy(&got).into_owned();
        assert_eq!(status(&resp), "HTTP/1.1 200 OK");
        assert!(has(&resp, "Connection: close"), "{resp}");
        // The client goes on sending its body into the lingering close.
        let sent = (0..64).try_for_each(|_| c.write_all(&[b'a'; 4096]));
        assert!(sent.is_ok(), "the server lingers, reading, rather than resetting at once");
        assert_eq!(c.read(&mut buf).unwrap(), 0, "then the connection ends");
    }
}

/// A body the handler took out of the request is no longer the server's
/// to drain: unless it was read to its end, the connection closes after
/// the response, so its bytes are never parsed as a request (a body that
/// holds one would otherwise be served as if the client had sent it).
#[test]
fn a_body_taken_and_left_unread_closes_the_connection() {
    let smuggled = "GET /headers HTTP/1.1\r\nHost: x\r\n\r\n";
    let out = raw(&format!(
        "POST /take HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{smuggled}GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        smuggled.len()
    ));
    let rs = responses(&out);
    assert_eq!(rs.len(), 1, "{out}");
    assert_eq!(status(&rs[0].0), "HTTP/1.1 200 OK");
    assert!(has(&rs[0].0, "Connection: close"), "{out}");
    assert_eq!(rs[0].1, "taken");
    let out = raw(&format!(
        "POST /take-read HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{smuggled}GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        smuggled.len()
    ));
    let rs = responses(&out);
    assert_eq!(rs.len(), 2, "a taken body read to its end keeps the connection: {out}");
    assert_eq!((rs[0].1.as_str(), rs[1].1.as_str()), (smuggled.len().to_string().as_str(), "Hello, World!"));
}

#[test]
fn writing_less_than_declared_closes_more_is_an_error() {
    let out = raw("GET /short HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.ends_with("\r\n\r\n12345"), "{out}");
    let rs = responses(&raw("GET /over HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_eq!(rs[0].1, "ok");
}

/// The framing headers a handler set stay out of a 1xx and a 204 head,
/// and `Content-Type` out of a 304 too (Go's `suppressedHeaders`); an
/// HTTP/1.0 client gets no 1xx at all (RFC 9110 §15.2).
#[test]
fn bodiless_statuses_leave_the_handlers_framing_headers_out() {
    let get = |code: u16, v: &str| raw(&format!("GET /status/{code} HTTP/{v}\r\nHost: x\r\n\r\n"));
    let out = get(204, "1.1");
    let head = out.split_once("\r\n\r\n").unwrap().0.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 204 no content\r\n"), "{out}");
    assert!(head.contains("content-type: text/css") && !head.contains("content-length"), "{out}");
    let out = get(304, "1.1");
    let head = out.split_once("\r\n\r\n").unwrap().0.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 304 not modified\r\n") && head.contains("link:"), "{out}");
    assert!(!head.contains("content-type") && !head.contains("content-length"), "{out}");
    let out = get(103, "1.1");
    let (hints, rest) = out.split_once("\r\n\r\n").unwrap();
    assert!(
        hints.starts_with("HTTP/1.1 103 Early Hints\r\n")
            && has(&format!("{hints}\r\n"), "Link: </style.css>; rel=preload"),
        "{out}"
    );
    assert!(!hints.to_ascii_lowercase().contains("content-length"), "{out}");
    assert!(
        rest.starts_with("HTTP/1.1 200 OK\r\n") && has(rest, "Content-Length: 5") && rest.ends_with("hello"),
        "{out}"
    );
    let out = get(103, "1.0");
    assert!(out.starts_with("HTTP/1.0 200 OK\r\n") && out.ends_with("hello"), "{out}");
}

#[test]
fn no_content_has_no_body_or_length() {
    let out = raw("GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 204 No Content\r\n"), "{out}");
    assert!(!out.to_ascii_lowercase().contains("content-length"), "{out}");
}

#[test]
fn options_star() {
    let out = raw("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && has(&out, "Content-Length: 0"), "{out}");
}

#[test]
fn handler_errors_and_panics_get_500_and_close() {
    for path in ["/fail", "/panic"] {
        let out = raw(&format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        let rs = responses(&out);
        assert_eq!(rs.len(), 1, "{path}: {out}");
        assert_eq!(status(&rs[0].0), "HTTP/1.1 500 Internal Server Error");
        assert!(has(&rs[0].0, "Connection: close"));
    }
}

/// A handler that fails after its head went out leaves the body cut off:
/// no last chunk, so the client cannot take it for complete, and the
/// connection closes (as in Go).
#[test]
fn a_handler_that_fails_after_a_flush_leaves_the_body_unterminated() {
    for path in ["/flushed-fail", "/flushed-panic"] {
        let out = raw(&format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(has(&format!("{head}\r\n"), "Transfer-Encoding: chunked"), "{path}: {out}");
        assert_eq!(body, "5\r\npart1\r\n", "{path}: the body stops with no last chunk and nothing follows");
    }
}

/// A request whose unread body is still coming is drained before its head
/// goes out; the responses pipelined before it go out first, without
/// waiting for that body.
#[test]
fn pipelined_responses_do_not_wait_for_a_later_body() {
    use std::io::{Read, Write};
    let srv = gort::http::test::Server::new(app);
    let mut c = std::net::TcpStream::connect(srv.addr()).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    c.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(13).any(|w| w == b"Hello, World!") {
        let n = c.read(&mut buf).expect("the first response comes while the second body is unsent");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(!got.windows(7).any(|w| w == b"ignored"), "{}", String::from_utf8_lossy(&got));
    c.write_all(b"defghij").unwrap();
    while !got.windows(7).any(|w| w == b"ignored") {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let rs = responses(&String::from_utf8(got).unwrap());
    assert_eq!(rs.len(), 2);
    assert!(!has(&rs[1].0, "Connection: close"), "the drained body keeps the connection: {}", rs[1].0);
}
