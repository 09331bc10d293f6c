//! The server's wire behaviour, byte for byte, over an in-memory
//! connection (`gort::http::test::serve_raw`): framing, keep-alive,
//! pipelining, HEAD, 100-continue, chunked bodies with trailers, and every
//! rejection with its status and a closed connection.

use std::io::{Read, Write};

use gort::http::test::serve_raw;
use gort::http::{Request, ResponseWriter, StatusCode};

/// Routes by path: `/` hello, `/echo` body echo, `/len` body length,
/// `/stream` three flushed lines, `/big` 10,000 bytes, `/short` declares
/// 10 bytes and writes 5, `/sniffed` writes HTML, flushes and says whether
/// its header map gained a `Content-Type`, `/over` declares 2 and writes 5, `/fail`
/// returns an error, `/panic` panics, `/trailers` echoes a trailer,
/// `/headers` lists the request's header names and sets `x-seen` on the
/// response when the request has `x-secret`, `/take` takes the body out and
/// drops it unread, `/take-read` takes it and reads it to its end.
fn app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    match r.url_path() {
        "/" => w.write_all(b"Hello, World!"),
        "/echo" => {
            let mut b = Vec::new();
            r.body().read_to_end(&mut b)?;
            w.write_all(&b)
        }
        "/len" => {
            let n = std::io::copy(r.body(), &mut std::io::sink())?;
            write!(w, "{n}")
        }
        "/ignore" => w.write_all(b"ignored"),
        "/take" => {
            drop(r.take_body());
            w.write_all(b"taken")
        }
        "/take-read" => {
            let n = std::io::copy(&mut r.take_body(), &mut std::io::sink())?;
            write!(w, "{n}")
        }
        "/sniffed" => {
            w.write_all(b"<html>")?;
            w.flush()?;
            let seen = w.headers_mut().contains_key("content-type");
            write!(w, "{seen}")
        }
        "/stream" => {
            for i in 0..3 {
                writeln!(w, "line {i}")?;
                w.flush()?;
            }
            Ok(())
        }
        "/big" => w.write_all(&[b'x'; 10_000]),
        "/short" => {
            w.headers_mut().insert("content-length", "10".parse().unwrap());
            w.write_all(b"12345")
        }
        "/over" => {
            w.headers_mut().insert("content-length", "2".parse().unwrap());
            let e = w.write_all(b"12345").unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            w.write_all(b"ok")
        }
        "/nocontent" => {
            w.write_header(StatusCode::NO_CONTENT);
            Ok(())
        }
        "/fail" => Err(std::io::Error::other("handler failed")),
        "/panic" => panic!("handler panicked on purpose"),
        "/trailers" => {
            std::io::copy(r.body(), &mut std::io::sink())?;
            let t = r.body().trailers().and_then(|t| t.get("x-sum")).map(|v| v.to_str().unwrap().to_owned());
            write!(w, "trailer={}", t.unwrap_or_default())
        }
        "/headers" => {
            if r.headers().contains_key("x-secret") {
                w.headers_mut().insert("x-seen", "1".parse().unwrap());
            }
            let names: Vec<&str> = r.headers().keys().map(|k| k.as_str()).collect();
            w.write_all(names.join(",").as_bytes())
        }
        _ => gort::http::not_found(w, r),
    }
}

fn raw(req: &str) -> String {
    String::from_utf8(serve_raw(&app, req.as_bytes())).unwrap()
}

/// Splits a byte stream of responses into (head, body) pairs, reading
/// bodies by Content-Length or chunked framing; a close-delimited body
/// takes the rest.
fn responses(mut s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while !s.is_empty() {
        let end = s.find("\r\n\r\n").expect("a complete head") + 4;
        let head = s[..end].to_owned();
        s = &s[end..];
        let lower = head.to_ascii_lowercase();
        let body = if let Some(i) = lower.find("content-length: ") {
            let n: usize = lower[i + 16..].split("\r\n").next().unwrap().parse().unwrap();
            let b = s[..n].to_owned();
            s = &s[n..];
            b
        } else if lower.contains("transfer-encoding: chunked") {
            let mut b = String::new();
            loop {
                let line_end = s.find("\r\n").unwrap();
                let n = usize::from_str_radix(&s[..line_end], 16).unwrap();
                s = &s[line_end + 2..];
                if n == 0 {
                    s = &s[2..];
                    break;
                }
                b.push_str(&s[..n]);
                s = &s[n + 2..];
            }
            b
        } else if head.starts_with("HTTP/1.1 1") || head.contains(" 204 ") || head.contains(" 304 ") {
            String::new()
        } else {
            std::mem::take(&mut s).to_owned()
        };
        out.push((head, body));
    }
    out
}

fn status(head: &str) -> &str {
    head.split("\r\n").next().unwrap()
}

fn has(head: &str, line: &str) -> bool {
    head.to_ascii_lowercase().contains(&format!("\r\n{}\r\n", line.to_ascii_lowercase()))
}

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
fn escapes_in_the_path_must_be_valid_and_the_query_stays_raw() {
    let out = raw("GET /headers/%41?q=%zz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 404 "), "a valid escape and a raw query parse: {out}");
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

#[test]
fn leading_empty_lines_are_skipped_and_absolute_targets_accepted() {
    let out = raw("\r\n\r\nGET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("Hello, World!"), "{out}");
}
