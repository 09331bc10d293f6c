//! Properties of the request parser, through the whole connection loop
//! (`gort::http::test::serve_raw`): arbitrary bytes, and valid requests
//! with flipped bytes, inserted bytes, truncations and duplicated headers,
//! always give either nothing (a request cut short closes silently) or
//! well-formed responses, each a status line `HTTP/1.x NNN` with a 2xx,
//! 4xx or 5xx status, headers and a body of the framed length; never a
//! panic and never a hang.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use gort::http::test::serve_raw;
use gort::http::{Method, Request, ResponseWriter};
use proptest::prelude::*;

/// Serves `bytes` with a handler that echoes the body on `/echo` and says
/// hello elsewhere, and checks what came back; the handler records which
/// requests were HEAD, as those responses carry no body.
fn serve(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    let app = move |w: &mut ResponseWriter, r: &mut Request| {
        seen.lock().unwrap().push(*r.method() == Method::HEAD);
        if r.url_path() == "/echo" {
            let mut b = Vec::new();
            r.body().read_to_end(&mut b)?;
            return w.write_all(&b);
        }
        w.write_all(b"Hello, World!")
    };
    let out = serve_raw(&app, bytes);
    let heads = heads.lock().unwrap();
    match check_responses(&out, &heads) {
        Ok(()) => Ok(out),
        Err(e) => Err(format!("{e} in {:?}", String::from_utf8_lossy(&out))),
    }
}

/// Valid requests the mutations start from: plain, with a fixed-length
/// body, chunked, HTTP/1.0, and an absolute-form target.
const SEEDS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
    b"GET /x?q=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET http://a/echo HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
];

/// One edit of a request.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Insert { at: usize, byte: u8 },
    Truncate { at: usize },
    DuplicateLine { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        any::<usize>().prop_map(|at| Mutation::DuplicateLine { at }),
    ]
}

/// Applies `m` to `req`, with positions taken modulo its length.
fn apply(req: &mut Vec<u8>, m: &Mutation) {
    if req.is_empty() {
        return;
    }
    match *m {
        Mutation::Flip { at, mask } => {
            let i = at % req.len();
            req[i] ^= mask;
        }
        Mutation::Insert { at, byte } => req.insert(at % (req.len() + 1), byte),
        Mutation::Truncate { at } => req.truncate(at % req.len()),
        Mutation::DuplicateLine { at } => {
            let lines: Vec<usize> =
                req.windows(2).enumerate().filter(|(_, w)| w == b"\r\n").map(|(i, _)| i + 2).collect();
            if lines.len() < 2 {
                return;
            }
            let k = at % (lines.len() - 1);
            let line = req[lines[k]..lines[k + 1]].to_vec();
            let end = lines[k + 1];
            req.splice(end..end, line);
        }
    }
}

/// Checks that `out` is a sequence of well-formed responses (possibly
/// none), `heads[i]` saying whether the handler's `i`th request was HEAD
/// (a response past those is the server's own, a rejection with a body),
/// and returns a description of the first defect.
fn check_responses(out: &[u8], heads: &[bool]) -> Result<(), String> {
    let mut rest = out;
    let mut heads = heads.iter();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(b"HTTP/1.1 100 Continue\r\n\r\n") {
            rest = after;
            continue;
        }
        rest = check_one(rest, heads.next() == Some(&true))?;
    }
    Ok(())
}

/// Checks one final response at the start of `out`: its status line, its
/// head, and (unless it answers a HEAD) a body of its Content-Length or a
/// complete chunked body. Returns what follows it.
fn check_one(out: &[u8], head_request: bool) -> Result<&[u8], String> {
    let head_end =
        out.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| "no end of head".to_owned())? + 4;
    let head = std::str::from_utf8(&out[..head_end]).map_err(|_| "head not UTF-8".to_owned())?;
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let code: u16 =
        status.get(..3).and_then(|c| c.parse().ok()).ok_or_else(|| format!("bad status {status_line:?}"))?;
    if !matches!(code / 100, 2 | 4 | 5) || status.as_bytes().get(3) != Some(&b' ') {
        return Err(format!("unexpected status line {status_line:?}"));
    }
    let lower = head.to_ascii_lowercase();
    let header =
        |name: &str| lower.lines().find_map(|l| l.strip_prefix(name).map(str::trim).map(str::to_owned));
    let body = &out[head_end..];
    if head_request || code == 204 || code == 304 {
        return Ok(body);
    }
    if let Some(len) = header("content-length:") {
        let len: usize = len.parse().map_err(|_| format!("bad Content-Length in {head:?}"))?;
        return body.get(len..).ok_or_else(|| format!("body shorter than {len}"));
    }
    if header("transfer-encoding:").as_deref() == Some("chunked") {
        return skip_chunked(body);
    }
    Ok(&[])
}

/// Skips one complete chunked body with no trailers, returning what follows.
fn skip_chunked(mut body: &[u8]) -> Result<&[u8], String> {
    loop {
        let eol = body.windows(2).position(|w| w == b"\r\n").ok_or("chunk size line cut")?;
        let size = std::str::from_utf8(&body[..eol]).ok().and_then(|s| usize::from_str_radix(s, 16).ok());
        let size = size.ok_or_else(|| format!("bad chunk size {:?}", &body[..eol]))?;
        body = &body[eol + 2..];
        if size == 0 {
            return body.strip_prefix(b"\r\n").ok_or_else(|| "no end after the last chunk".to_owned());
        }
        let data_end = size + 2;
        if body.get(size..data_end) != Some(b"\r\n") {
            return Err("chunk data cut or unterminated".to_owned());
        }
        body = &body[data_end..];
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_give_responses_or_nothing(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let got = serve(&bytes);
        prop_assert!(got.is_ok(), "{:?} for input {:?}", got, bytes);
    }

    #[test]
    fn request_shaped_text_gives_responses_or_nothing(
        text in "(GET|POST|HEAD|PUT) [ -~]{0,20} HTTP/1\\.[01]\r\n([A-Za-z-]{1,10}: [ -~]{0,12}\r\n){0,4}\r\n[ -~]{0,16}",
    ) {
        let got = serve(text.as_bytes());
        prop_assert!(got.is_ok(), "{:?} for input {:?}", got, text);
    }

    #[test]
    fn mutated_requests_give_responses_or_nothing(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut req = SEEDS[seed].to_vec();
        for m in &edits {
            apply(&mut req, m);
        }
        let got = serve(&req);
        prop_assert!(got.is_ok(), "{:?} for input {:?}", got, String::from_utf8_lossy(&req));
    }
}

#[test]
fn the_seeds_are_answered_and_the_checker_rejects_bad_framing() {
    for seed in SEEDS {
        let out = serve(seed).unwrap();
        assert!(out.starts_with(b"HTTP/1."), "{:?}", String::from_utf8_lossy(&out));
    }
    assert!(check_responses(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", &[false]).is_err());
    assert!(check_responses(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", &[true]).is_err());
    assert!(check_responses(b"HTTP/1.1 302 Found\r\n\r\n", &[false]).is_err());
    assert!(check_responses(b"garbage", &[]).is_err());
    let mut out = Vec::new();
    write!(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n").unwrap();
    check_responses(&out, &[false]).unwrap();
    assert!(check_responses(&out[..out.len() - 2], &[false]).is_err());
}
