//! The client's transparent gzip (Go's `DisableCompression` off): a
//! request that names no encoding asks for gzip, and a gzipped answer is
//! decoded as read, its headers stripped, the connection reused after it;
//! a caller's own `Accept-Encoding`, a `Range`, a `HEAD` and
//! `disable_compression(true)` ask for nothing and decode nothing; a
//! corrupt stream is a read error.

#[path = "common/http_servers.rs"]
mod servers;

use std::io::{Read, Write};
use std::sync::LazyLock;

use flate2::write::GzEncoder;
use flate2::Compression;
use gort::http::{header, Client, Method, Request, ResponseWriter};
use servers::{read_all, read_request, send, Counted, Raw};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn text() -> String {
    (0..2000).map(|i| format!("line {i} of a body worth compressing\n")).collect()
}

/// `text()` gzipped, made on the test's thread: the compressor's state
/// is too big for a handler goroutine's stack in a debug build.
static GZIPPED: LazyLock<Vec<u8>> = LazyLock::new(|| gzip(text().as_bytes()));

/// The gort server of `app`, with the gzipped text made first.
fn server() -> Counted {
    LazyLock::force(&GZIPPED);
    Counted::new(app)
}

/// Gzips the text when the request accepts gzip, and says in `X-Asked`
/// what `Accept-Encoding` the request carried.
fn app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    let asked = r.headers().get(header::ACCEPT_ENCODING).map(|v| v.to_str().unwrap_or("?").to_owned());
    w.headers_mut().insert("x-asked", asked.as_deref().unwrap_or("none").parse().unwrap());
    match asked.as_deref() {
        Some(a) if a.contains("gzip") => {
            w.headers_mut().insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
            w.write_all(&GZIPPED)
        }
        _ => w.write_all(text().as_bytes()),
    }
}

#[test]
fn a_gzipped_answer_is_decoded_stripped_and_its_connection_reused() {
    let srv = server();
    let (client, url) = (Client::new(), srv.url("/"));
    // From a goroutine, on its default stack, as a user's requests run.
    gort::go!(move || {
        for i in 0..3 {
            let mut r = client.get(&url).unwrap();
            assert_eq!(r.header("x-asked"), Some("gzip"), "the request asked for gzip");
            assert!(r.uncompressed(), "request {i}");
            assert_eq!(r.header("content-encoding"), None);
            assert_eq!(r.header("content-length"), None, "the compressed length is not the body's");
            assert_eq!(read_all(r.body()).unwrap(), text());
        }
    })
    .join()
    .unwrap();
    assert_eq!(srv.conns(), 1, "each decoded body ended at its framed end and gave the connection back");
}

#[test]
fn a_callers_own_encoding_a_range_and_head_ask_for_nothing_and_decode_nothing() {
    let srv = server();
    let client = Client::new();
    let own = Request::builder().uri(srv.url("/")).header(header::ACCEPT_ENCODING, "gzip").build().unwrap();
    let mut r = client.send(own).unwrap();
    assert!(!r.uncompressed());
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut raw = Vec::new();
    r.body().read_to_end(&mut raw).unwrap();
    assert_eq!(raw, *GZIPPED, "the caller asked, the caller decodes");

    let range = Request::builder().uri(srv.url("/")).header(header::RANGE, "bytes=0-9").build().unwrap();
    let mut r = client.send(range).unwrap();
    assert_eq!(r.header("x-asked"), Some("none"));
    assert_eq!(read_all(r.body()).unwrap(), text());

    let head = Request::builder().method(Method::HEAD).uri(srv.url("/")).build().unwrap();
    assert_eq!(client.send(head).unwrap().header("x-asked"), Some("none"));

    let off = Client::builder().disable_compression(true).build().unwrap();
    let mut r = off.get(&srv.url("/")).unwrap();
    assert_eq!(r.header("x-asked"), Some("none"));
    assert!(!r.uncompressed());
    assert_eq!(read_all(r.body()).unwrap(), text());
}

#[test]
fn a_chunked_multi_member_gzip_body_decodes_whole() {
    let srv = Raw::new(|mut s, _| {
        while read_request(&mut s).is_some() {
            let mut body = gzip(b"first member, ");
            body.extend(gzip(b"second member"));
            let (a, b) = body.split_at(10);
            let mut out =
                b"HTTP/1.1 200 OK\r\nContent-Encoding: GZIP\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for part in [a, b] {
                out.extend(format!("{:x}\r\n", part.len()).as_bytes());
                out.extend(part);
                out.extend(b"\r\n");
            }
            out.extend(b"0\r\n\r\n");
            send(&mut s, &out);
        }
    });
    let client = Client::new();
    for _ in 0..2 {
        let mut r = client.get(&srv.url("/")).unwrap();
        assert!(r.uncompressed());
        assert_eq!(read_all(r.body()).unwrap(), "first member, second member");
    }
    assert_eq!(srv.accepted(), 1, "the chunked body was read to its last chunk");
}

#[test]
fn a_corrupt_gzip_body_is_a_read_error() {
    let srv = Raw::new(|mut s, _| {
        read_request(&mut s);
        let mut body = gzip(text().as_bytes());
        let mid = body.len() / 2;
        body[mid..mid + 8].copy_from_slice(b"garbage!");
        let head =
            format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", body.len());
        send(&mut s, head.as_bytes());
        send(&mut s, &body);
    });
    let mut r = Client::new().get(&srv.url("/")).unwrap();
    assert!(r.uncompressed());
    let e = r.body().read_to_end(&mut Vec::new()).unwrap_err();
    assert!(matches!(e.kind(), std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData), "{e:?}");
}
