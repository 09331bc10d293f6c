//! Response framings (length, chunked with trailers, close-delimited,
//! HEAD/204/304 without a body, 1xx skipped) and request bodies
//! (`Content-Length` when known, chunked when streamed), against the gort
//! server and a raw one; `Response` converts into `http::Response`, and
//! `header` reads a UTF-8 value as text; heads with many lines or a folded
//! one are read.

#[path = "common/http_servers.rs"]
mod servers;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use gort::http::{Body, Client, Request, ResponseWriter, StatusCode};
use servers::{read_all, read_request, send, Counted, Raw};

#[test]
fn a_chunked_response_is_decoded_and_its_trailers_kept() {
    let srv = Raw::new(|mut s, _| {
        while read_request(&mut s).is_some() {
            send(&mut s, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Sum: 9\r\n\r\n");
        }
    });
    let client = Client::new();
    let mut r = client.get(&srv.url("/")).unwrap();
    assert_eq!(read_all(r.body()).unwrap(), "hello, world");
    assert_eq!(r.body().trailers().unwrap()["x-sum"], "9");
    assert_eq!(client.transport().idle_connections(), 1, "a chunked body read to its end goes back");
}

#[test]
fn a_close_delimited_response_ends_at_eof_and_closes() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        send(&mut s, b"HTTP/1.1 200 OK\r\n\r\nall of it until the close");
    });
    let client = Client::new();
    assert_eq!(read_all(client.get(&srv.url("/")).unwrap().body()).unwrap(), "all of it until the close");
    assert_eq!(client.transport().idle_connections(), 0);
}

#[test]
fn head_204_and_304_have_no_body_and_1xx_is_skipped() {
    let srv = Raw::new(|mut s, _| {
        while let Some((head, _)) = read_request(&mut s) {
            let reply: &[u8] = if head.starts_with("HEAD") {
                b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
            } else if head.contains("/204") {
                b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
            } else if head.contains("/304") {
                b"HTTP/1.1 304 Not Modified\r\n\r\n"
            } else {
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"
            };
            send(&mut s, reply);
        }
    });
    let client = Client::new();
    let mut r = client.head(&srv.url("/")).unwrap();
    assert_eq!(r.headers()["content-length"], "1000");
    assert_eq!(read_all(r.body()).unwrap(), "");
    for path in ["/204", "/304"] {
        assert_eq!(read_all(client.get(&srv.url(path)).unwrap().body()).unwrap(), "", "{path}");
    }
    let mut r = client.get(&srv.url("/")).unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(read_all(r.body()).unwrap(), "final");
    assert_eq!(srv.accepted(), 1, "every one of these left the connection reusable");
}

/// Echoes the request body and how it was framed.
fn echo(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    let framing = match (r.headers().get("content-length"), r.headers().get("transfer-encoding")) {
        (Some(n), None) => format!("length {}", n.to_str().unwrap()),
        (None, Some(te)) => te.to_str().unwrap().to_owned(),
        (None, None) => "none".to_owned(),
        _ => "both".to_owned(),
    };
    let mut body = String::new();
    r.body().read_to_string(&mut body)?;
    write!(w, "{framing}: {body}")
}

#[test]
fn request_bodies_are_framed_by_what_is_known_of_them() {
    let srv = Counted::new(echo);
    let client = Client::new();
    let post = |b: Body| read_all(client.post(&srv.url("/"), "text/plain", b).unwrap().body()).unwrap();
    assert_eq!(post(Body::from("known")), "length 5: known");
    assert_eq!(
        post(Body::from_reader(std::io::Cursor::new(vec![b'z'; 9000]))),
        format!("chunked: {}", "z".repeat(9000))
    );
    assert_eq!(post(Body::empty()), "length 0: ");
    let r = client.post(&srv.url("/"), "text/plain", &b"static bytes"[..]).unwrap();
    assert_eq!(read_all(r.into_body()).unwrap(), "length 12: static bytes");
    let req = Request::builder()
        .method("PUT")
        .uri(srv.url("/"))
        .header("content-length", "4")
        .body(Body::from_reader(&b"four"[..]))
        .unwrap();
    assert_eq!(read_all(client.send(req).unwrap().body()).unwrap(), "length 4: four");
    let get = read_all(client.get(&srv.url("/")).unwrap().body()).unwrap();
    assert_eq!(get, "none: ");
    assert_eq!(srv.conns(), 1);
}

#[test]
fn the_request_head_carries_host_user_agent_and_the_callers_headers() {
    let seen = Arc::new(Mutex::new(String::new()));
    let s2 = seen.clone();
    let srv = Raw::new(move |mut s, _| {
        if let Some((head, _)) = read_request(&mut s) {
            *s2.lock().unwrap() = head;
            send(&mut s, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let req = Request::builder().uri(srv.url("/p?q=1")).header("x-trace", "abc").build().unwrap();
    drop(Client::new().send(req).unwrap());
    let head = seen.lock().unwrap().clone();
    assert!(head.starts_with("GET /p?q=1 HTTP/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("host: {}\r\n", srv.addr())), "{head}");
    assert!(head.contains("user-agent: gort-http\r\n") && head.contains("x-trace: abc\r\n"), "{head}");
}

#[test]
fn a_response_converts_into_the_http_crates_type() {
    let srv = Counted::new(servers::text("typed"));
    let r: http::Response<Body> = Client::new().get(&srv.url("/")).unwrap().into();
    assert_eq!(r.status(), 200);
    assert_eq!(read_all(r.into_body()).unwrap(), "typed");
}

#[test]
fn bad_urls_are_invalid_input() {
    let c = Client::new();
    assert_eq!(c.get("ftp://127.0.0.1/").unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(c.get("not a url").unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(c.get("/relative").unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
}

/// A 413 for any body over 1 MiB, sent without reading it.
fn limited(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    let len = r.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if len.is_none_or(|n| n > 1 << 20) {
        w.write_header(StatusCode::PAYLOAD_TOO_LARGE);
        return Ok(());
    }
    let n = std::io::copy(r.body(), &mut std::io::sink())?;
    write!(w, "read {n}")
}

#[test]
fn a_response_sent_before_the_body_is_written_is_preferred_over_the_write_error() {
    let srv = Counted::new(limited);
    let client = Client::new();
    let big = vec![b'x'; 16 << 20];
    for round in 0..10 {
        let r = client.post(&srv.url("/"), "application/octet-stream", std::io::Cursor::new(big.clone()));
        let r = r.unwrap_or_else(|e| panic!("round {round}: the server's 413 was lost to {e}"));
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "round {round}");
    }
    // The cut-off connections were not pooled: a small body still goes through.
    let mut r = client.post(&srv.url("/"), "text/plain", &b"small"[..]).unwrap();
    assert_eq!(read_all(r.body()).unwrap(), "read 5");
    assert_eq!(srv.conns(), 11, "each cut-off exchange closed its connection");
}

/// `header` gives a UTF-8 value as text, as Go's `Header.Get` does; a
/// value in another encoding is there as bytes.
#[test]
fn a_utf8_header_value_reads_as_text() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        let head = [
            "HTTP/1.1 200 OK\r\nX-Utf8: café\r\n".as_bytes(),
            b"X-Latin1: caf\xe9\r\n",
            b"Content-Length: 0\r\n\r\n",
        ];
        send(&mut s, &head.concat());
    });
    let r = Client::new().get(&srv.url("/")).unwrap();
    assert_eq!(r.header("x-utf8"), Some("café"));
    assert_eq!((r.header("x-latin1"), r.headers()["x-latin1"].as_bytes()), (None, &b"caf\xe9"[..]));
}

/// A response head with more lines than the parser's tables (Go caps only
/// its bytes) and a folded line, which a user agent must read with spaces
/// for its breaks (RFC 9112 §5.2; Go joins the lines too).
#[test]
fn many_header_lines_and_a_folded_one_are_read() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        let cookies: String = (0..300).map(|i| format!("Set-Cookie: c{i}=v\r\n")).collect();
        let head = format!("HTTP/1.1 200 OK\r\n{cookies}X-Fold: a\r\n b\r\nContent-Length: 2\r\n\r\nok");
        send(&mut s, head.as_bytes());
    });
    let mut r = Client::new().get(&srv.url("/")).unwrap();
    assert_eq!(r.headers().get_all("set-cookie").iter().count(), 300);
    assert_eq!(r.header("x-fold"), Some("a   b"));
    assert_eq!(read_all(r.body()).unwrap(), "ok");
}
