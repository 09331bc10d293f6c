//! The file server (Go's `FileServer`, `ServeFile`) on exact bytes: types,
//! lengths and dates; HEAD; 304, 412 and `If-Range`; byte ranges and 416;
//! the redirects of directories, trailing slashes and `index.html`;
//! listings with escaped names; paths that try to climb out; a 4 MiB file
//! through gort's client and curl.

#[path = "common/http_servers.rs"]
mod servers;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use gort::http::{file_server, serve_file, Client, Request, ResponseWriter};

/// A directory tree for the tests, removed on drop.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let root = std::env::temp_dir().join(format!("gort-fs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["sub", "list/c dir", "empty"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let files: [(&str, &[u8]); 7] = [
            ("hello.txt", b"hello, file\n"),
            ("page.html", b"<p>hi</p>"),
            ("noext", b"\x00\x01\x02binary"),
            ("sub/index.html", b"<!doctype html><title>sub</title>"),
            ("list/a b.txt", b"a"),
            ("list/<x>&'.txt", b"x"),
            ("list/zz.css", b"body{}"),
        ];
        for (name, data) in files {
            std::fs::write(root.join(name), data).unwrap();
        }
        std::fs::write(root.join("big.bin"), big()).unwrap();
        Tree(root)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn big() -> Vec<u8> {
    (0..4u32 << 20).map(|i| (i % 251) as u8).collect()
}

/// Sends `head` (a request line and headers, `Connection: close` added)
/// and returns the response's head and body.
fn raw(srv: &gort::http::test::Server, head: &str) -> (String, Vec<u8>) {
    let mut c = TcpStream::connect(srv.addr()).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    write!(c, "{head}\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    let at = out.windows(4).position(|w| w == b"\r\n\r\n").expect("a whole head") + 4;
    (String::from_utf8(out[..at].to_vec()).unwrap(), out[at..].to_vec())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.split_once(": ").filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

#[test]
fn a_file_has_its_type_length_and_date_and_head_has_no_body() {
    let tree = Tree::new("file");
    let srv = gort::http::test::Server::new(file_server(&tree.0));
    let (head, body) = raw(&srv, "GET /hello.txt HTTP/1.1");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(header(&head, "content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(header(&head, "content-length"), Some("12"));
    assert_eq!(header(&head, "accept-ranges"), Some("bytes"));
    assert!(header(&head, "last-modified").is_some_and(|d| d.ends_with(" GMT")), "{head}");
    assert_eq!(body, b"hello, file\n");
    let (head, body) = raw(&srv, "HEAD /hello.txt HTTP/1.1");
    assert_eq!(header(&head, "content-length"), Some("12"));
    assert!(body.is_empty());
    for (path, ct) in [
        ("/page.html", "text/html; charset=utf-8"),
        ("/list/zz.css", "text/css; charset=utf-8"),
        ("/noext", "application/octet-stream"),
    ] {
        assert_eq!(header(&raw(&srv, &format!("GET {path} HTTP/1.1")).0, "content-type"), Some(ct), "{path}");
    }
}

#[test]
fn conditionals_answer_304_412_and_if_range() {
    let tree = Tree::new("cond");
    let srv = gort::http::test::Server::new(file_server(&tree.0));
    let (head, _) = raw(&srv, "GET /hello.txt HTTP/1.1");
    let date = header(&head, "last-modified").unwrap().to_owned();
    let (head, body) = raw(&srv, &format!("GET /hello.txt HTTP/1.1\r\nIf-Modified-Since: {date}"));
    assert!(head.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{head}");
    assert_eq!(header(&head, "last-modified"), Some(date.as_str()));
    assert_eq!(header(&head, "content-type"), None);
    assert!(body.is_empty());
    let old = "Mon, 01 Jan 2001 00:00:00 GMT";
    let (head, _) = raw(&srv, &format!("GET /hello.txt HTTP/1.1\r\nIf-Modified-Since: {old}"));
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let (head, _) = raw(&srv, &format!("GET /hello.txt HTTP/1.1\r\nIf-Unmodified-Since: {old}"));
    assert!(head.starts_with("HTTP/1.1 412 Precondition Failed\r\n"), "{head}");
    let (head, body) = raw(&srv, &format!("GET /hello.txt HTTP/1.1\r\nRange: bytes=0-4\r\nIf-Range: {date}"));
    assert!(head.starts_with("HTTP/1.1 206 Partial Content\r\n") && body == b"hello", "{head}");
    let (head, body) = raw(&srv, &format!("GET /hello.txt HTTP/1.1\r\nRange: bytes=0-4\r\nIf-Range: {old}"));
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && body.len() == 12, "a stale If-Range gets it all");
}

#[test]
fn ranges_get_206_with_content_range_and_416_past_the_end() {
    let tree = Tree::new("range");
    let srv = gort::http::test::Server::new(file_server(&tree.0));
    for (range, want, content_range) in [
        ("bytes=0-4", &b"hello"[..], "bytes 0-4/12"),
        ("bytes=-5", b"file\n", "bytes 7-11/12"),
        ("bytes=7-", b"file\n", "bytes 7-11/12"),
    ] {
        let (head, body) = raw(&srv, &format!("GET /hello.txt HTTP/1.1\r\nRange: {range}"));
        assert!(head.starts_with("HTTP/1.1 206 Partial Content\r\n"), "{range}: {head}");
        assert_eq!(header(&head, "content-range"), Some(content_range));
        assert_eq!(header(&head, "content-length"), Some(want.len().to_string().as_str()));
        assert_eq!(body, want, "{range}");
    }
    let (head, _) = raw(&srv, "GET /hello.txt HTTP/1.1\r\nRange: bytes=12-");
    assert!(head.starts_with("HTTP/1.1 416 Range Not Satisfiable\r\n"), "{head}");
    assert_eq!(header(&head, "content-range"), Some("bytes */12"));
    let (head, body) = raw(&srv, "GET /hello.txt HTTP/1.1\r\nRange: bytes=0-1,3-4");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && body.len() == 12, "several ranges: the whole file");
}

#[test]
fn directories_redirect_serve_their_index_or_list_their_entries() {
    let tree = Tree::new("dirs");
    let srv = gort::http::test::Server::new(file_server(&tree.0));
    for (target, location) in
        [("/sub?x=1", "sub/?x=1"), ("/sub/index.html", "./"), ("/hello.txt/", "../hello.txt")]
    {
        let (head, _) = raw(&srv, &format!("GET {target} HTTP/1.1"));
        assert!(head.starts_with("HTTP/1.1 301 Moved Permanently\r\n"), "{target}: {head}");
        assert_eq!(header(&head, "location"), Some(location), "{target}");
    }
    let (_, body) = raw(&srv, "GET /sub/ HTTP/1.1");
    assert_eq!(body, b"<!doctype html><title>sub</title>");
    let (head, body) = raw(&srv, "GET /list/ HTTP/1.1");
    assert_eq!(header(&head, "content-type"), Some("text/html; charset=utf-8"));
    let page = String::from_utf8(body).unwrap();
    let links: Vec<&str> = page.lines().filter(|l| l.starts_with("<a ")).collect();
    assert_eq!(
        links,
        [
            "<a href=\"%3Cx%3E&'.txt\">&lt;x&gt;&amp;&#39;.txt</a>",
            "<a href=\"a%20b.txt\">a b.txt</a>",
            "<a href=\"c%20dir/\">c dir/</a>",
            "<a href=\"zz.css\">zz.css</a>",
        ]
    );
    let (_, body) = raw(&srv, "GET /empty/ HTTP/1.1");
    assert!(String::from_utf8(body).unwrap().contains("<pre>\n</pre>"));
}

#[test]
fn missing_files_and_climbing_paths_are_404_and_serve_file_refuses_dot_dot() {
    let tree = Tree::new("climb");
    let inner = tree.0.join("sub");
    let srv = gort::http::test::Server::new(file_server(&inner));
    for target in ["/missing", "/../hello.txt", "/%2e%2e/hello.txt", "/..%2fhello.txt", "/index.html/x"] {
        let (head, body) = raw(&srv, &format!("GET {target} HTTP/1.1"));
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{target}: {head}");
        assert_eq!(body, b"404 page not found\n", "{target}");
    }
    let root = tree.0.clone();
    let one = gort::http::test::Server::new(move |w: &mut ResponseWriter, r: &mut Request| {
        let name = root.join(r.url_path().trim_start_matches('/'));
        serve_file(w, r, name)
    });
    let (head, body) = raw(&one, "GET /hello.txt HTTP/1.1");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && body == b"hello, file\n", "{head}");
    let (head, body) = raw(&one, "GET /sub/%2e%2e/hello.txt HTTP/1.1");
    assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
    assert_eq!(body, b"invalid URL path\n");
}

#[test]
fn a_big_file_streams_whole_to_gorts_client_and_in_a_range_to_curl() {
    let tree = Tree::new("big");
    let srv = gort::http::test::Server::new(file_server(&tree.0));
    let mut r = Client::new().get(&srv.url("/big.bin")).unwrap();
    assert_eq!(r.header("content-length"), Some((4u32 << 20).to_string().as_str()));
    let mut got = Vec::new();
    r.body().read_to_end(&mut got).unwrap();
    assert!(got == big(), "{} bytes", got.len());
    assert_eq!(servers::curl(&["--range", "1000-1999", &srv.url("/big.bin")]), big()[1000..2000]);
}

#[test]
fn types_are_sniffed_from_the_file_for_head_and_ranges_and_an_empty_file_ignores_range() {
    let tree = Tree::new("sniff");
    std::fs::write(tree.0.join("htmlnoext"), b"<!doctype html><p>x</p>").unwrap();
    std::fs::write(tree.0.join("emptynoext"), b"").unwrap();
    let srv = gort::http::test::Server::new(file_server(&tree.0));
    let html = "text/html; charset=utf-8";
    for req in ["HEAD /htmlnoext HTTP/1.1", "GET /htmlnoext HTTP/1.1\r\nRange: bytes=5-9"] {
        assert_eq!(header(&raw(&srv, req).0, "content-type"), Some(html), "{req}");
    }
    let (head, body) = raw(&srv, "GET /htmlnoext HTTP/1.1\r\nRange: bytes=0-8");
    assert_eq!(body, b"<!doctype", "read from the start again after the sniff");
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    let (head, body) = raw(&srv, "GET /emptynoext HTTP/1.1\r\nRange: bytes=0-");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(header(&head, "content-type"), Some("text/plain; charset=utf-8"));
    assert!(body.is_empty());
    let (head, _) = raw(&srv, "GET /hello.txt%00 HTTP/1.1");
    assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "a NUL names no file: {head}");
}

#[test]
fn serve_file_refuses_encoded_slashes_a_decoded_wildcard_would_make_absolute() {
    let tree = Tree::new("slash");
    let root = tree.0.clone();
    let mut mux = gort::http::ServeMux::new();
    mux.handle_func("/one/{rest...}", move |w: &mut ResponseWriter, r: &mut Request| {
        let name = root.join(r.path_value("rest").unwrap_or_default());
        serve_file(w, r, name)
    });
    let srv = gort::http::test::Server::new(mux);
    for target in ["/one/%2fetc%2fpasswd", "/one/%2Fetc/passwd", "/one/%5cetc"] {
        let (head, body) = raw(&srv, &format!("GET {target} HTTP/1.1"));
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{target}: {head}");
        assert_eq!(body, b"invalid URL path\n");
    }
    let (head, body) = raw(&srv, "GET /one/hello.txt HTTP/1.1");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && body == b"hello, file\n", "{head}");
}

#[test]
fn entity_tag_conditions_come_first_in_rfc_9110_order() {
    let tree = Tree::new("etag");
    let srv = gort::http::test::Server::new(file_server(&tree.0));
    let future = "Fri, 01 Jan 2100 00:00:00 GMT";
    let past = "Mon, 01 Jan 2001 00:00:00 GMT";
    for (req, status) in [
        ("GET /hello.txt HTTP/1.1\r\nIf-None-Match: *", "304 Not Modified"),
        ("POST /hello.txt HTTP/1.1\r\nIf-None-Match: *", "412 Precondition Failed"),
        ("GET /hello.txt HTTP/1.1\r\nIf-Match: \"x\"", "412 Precondition Failed"),
        (
            &format!("GET /hello.txt HTTP/1.1\r\nIf-None-Match: \"x\"\r\nIf-Modified-Since: {future}"),
            "200 OK",
        ),
        (&format!("GET /hello.txt HTTP/1.1\r\nIf-Match: *\r\nIf-Unmodified-Since: {past}"), "200 OK"),
    ] {
        let (head, _) = raw(&srv, req);
        assert!(head.starts_with(&format!("HTTP/1.1 {status}\r\n")), "{req}: {head}");
    }
    // A handler's own ETag is what the tags are matched against.
    let root = tree.0.clone();
    let tagged = gort::http::test::Server::new(move |w: &mut ResponseWriter, r: &mut Request| {
        w.headers_mut().insert("etag", "\"v1\"".parse().unwrap());
        serve_file(w, r, root.join("hello.txt"))
    });
    for (cond, status) in [
        ("If-None-Match: W/\"v1\"", "304 Not Modified"),
        ("If-None-Match: \"v0\", \"v1\"", "304 Not Modified"),
        ("If-Match: \"v1\"", "200 OK"),
        ("If-Match: W/\"v1\"", "412 Precondition Failed"),
    ] {
        let (head, _) = raw(&tagged, &format!("GET / HTTP/1.1\r\n{cond}"));
        assert!(head.starts_with(&format!("HTTP/1.1 {status}\r\n")), "{cond}: {head}");
    }
}
