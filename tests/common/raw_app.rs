//! The handler and helpers of the byte-for-byte server tests: `app`,
//! routed by path, `raw` to serve a request stream to it in memory, and
//! helpers that split and inspect the responses.
#![allow(dead_code)]

use std::io::{Read, Write};

use gort::http::test::serve_raw;
use gort::http::{Request, ResponseWriter, StatusCode};

/// Routes by path: `/` hello, `/echo` body echo, `/len` body length,
/// `/stream` three flushed lines, `/big` 10,000 bytes, `/big-html` an
/// HTML page in one 10 KB write, `/gzip` gzip bytes with their
/// `Content-Encoding`, `/status/{code}`
/// sets `Link`, `Content-Type` and `Content-Length: 5`, then the status
/// (and below 200 writes the 5 bytes), `/short` declares
/// 10 bytes and writes 5, `/sniffed` writes HTML, flushes and says whether
/// its header map gained a `Content-Type`, `/over` declares 2 and writes 5, `/fail`
/// returns an error, `/panic` panics, `/flushed-fail` and `/flushed-panic`
/// do so after a flushed write, `/trailers` echoes a trailer,
/// `/headers` lists the request's header names and sets `x-seen` on the
/// response when the request has `x-secret`, `/take` takes the body out and
/// drops it unread, `/take-read` takes it and reads it to its end.
pub fn app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
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
        "/big-html" => w.write_all(&[&b"<html><body>"[..], &[b'x'; 10_000]].concat()),
        "/gzip" => {
            w.headers_mut().insert("content-encoding", "gzip".parse().unwrap());
            w.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
        }
        p if p.starts_with("/status/") => {
            let h = w.headers_mut();
            h.insert("link", "</style.css>; rel=preload".parse().unwrap());
            h.insert("content-type", "text/css".parse().unwrap());
            h.insert("content-length", "5".parse().unwrap());
            let code: u16 = p["/status/".len()..].parse().unwrap();
            w.write_header(StatusCode::from_u16(code).unwrap());
            if code < 200 {
                w.write_all(b"hello")?;
            }
            Ok(())
        }
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
        "/flushed-fail" | "/flushed-panic" => {
            w.write_all(b"part1")?;
            w.flush()?;
            if r.url_path() == "/flushed-panic" {
                panic!("handler panicked on purpose after a flush");
            }
            Err(std::io::Error::other("handler failed after a flush"))
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

/// Serves `req` to `app` over an in-memory connection and returns what it wrote.
pub fn raw(req: &str) -> String {
    String::from_utf8(serve_raw(&app, req.as_bytes())).unwrap()
}

/// Splits a byte stream of responses into (head, body) pairs, reading
/// bodies by Content-Length or chunked framing; a close-delimited body
/// takes the rest.
pub fn responses(mut s: &str) -> Vec<(String, String)> {
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

/// The status line of `head`.
pub fn status(head: &str) -> &str {
    head.split("\r\n").next().unwrap()
}

/// Whether `head` has the header line `line`, compared without case.
pub fn has(head: &str, line: &str) -> bool {
    head.to_ascii_lowercase().contains(&format!("\r\n{}\r\n", line.to_ascii_lowercase()))
}
