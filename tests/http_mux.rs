//! ServeMux over exact bytes (`test::serve_raw`) and one real socket:
//! precedence, wildcards, 404/405, redirects, registration errors.

use std::io::{Read, Write};

use gort::http::test::serve_raw;
use gort::http::{Request, ResponseWriter, ServeMux};

/// Registers a handler that answers `pattern` and the named wildcards'
/// values, e.g. `/a/{x} x=1`.
fn route(mux: &mut ServeMux, pattern: &str, names: &'static [&'static str]) {
    mux.handle_func(pattern, move |w: &mut ResponseWriter, r: &mut Request| {
        write!(w, "{}", r.pattern().unwrap_or("-"))?;
        for n in names {
            write!(w, " {n}={}", r.path_value(n).unwrap_or("<none>"))?;
        }
        Ok(())
    });
}

/// The response to `head` (a request head, CRLFs added), without its
/// `Date` line.
fn exchange(mux: &ServeMux, head: &str) -> String {
    let req = format!("{}\r\n\r\n", head.replace('\n', "\r\n"));
    let out = String::from_utf8(serve_raw(mux, req.as_bytes())).expect("response is UTF-8");
    out.split_inclusive("\r\n").filter(|l| !l.starts_with("Date: ")).collect()
}

fn get(mux: &ServeMux, target: &str) -> String {
    exchange(mux, &format!("GET {target} HTTP/1.1\nHost: example.com"))
}

/// The body of a 200 response, checking the status line.
fn ok_body(resp: &str) -> &str {
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    resp.split_once("\r\n\r\n").expect("a head").1
}

/// A 200 with a text `body` (its type sniffed).
fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

const NOT_FOUND: &str = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n\
    X-Content-Type-Options: nosniff\r\nContent-Length: 19\r\n\r\n404 page not found\n";

fn redirect(to: &str) -> String {
    let body = format!("<a href=\"{}\">Temporary Redirect</a>.\n", to.replace('&', "&amp;"));
    format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn not_allowed(allow: &str) -> String {
    format!(
        "HTTP/1.1 405 Method Not Allowed\r\nAllow: {allow}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         X-Content-Type-Options: nosniff\r\nContent-Length: 19\r\n\r\nMethod Not Allowed\n"
    )
}

#[test]
fn most_specific_pattern_wins() {
    let mut mux = ServeMux::new();
    route(&mut mux, "/", &[]);
    route(&mut mux, "/images/", &[]);
    route(&mut mux, "/images/thumbnails/", &[]);
    route(&mut mux, "/b/{x}", &["x"]);
    route(&mut mux, "/b/c", &["x"]);
    route(&mut mux, "/q/{x}/c", &["x"]);
    route(&mut mux, "/a/b/{y...}", &["y"]);
    route(&mut mux, "GET /m/", &[]);
    route(&mut mux, "/m/", &[]);
    route(&mut mux, "POST /m/{$}", &[]);
    for (target, want) in [
        ("/", "/"),
        ("/zzz", "/"),
        ("/m/", "GET /m/"),
        ("/images/x.png", "/images/"),
        ("/images/thumbnails/x.png", "/images/thumbnails/"),
        ("/b/c", "/b/c x=<none>"),
        ("/b/d", "/b/{x} x=d"),
        ("/q/a/c", "/q/{x}/c x=a"),
        ("/a/b/c", "/a/b/{y...} y=c"),
        ("/a/b/", "/a/b/{y...} y="),
    ] {
        assert_eq!(get(&mux, target), ok(want), "GET {target}");
    }
    let post = |target: &str| exchange(&mux, &format!("POST {target} HTTP/1.1\nHost: h\nContent-Length: 0"));
    assert_eq!(ok_body(&post("/m/x")), "/m/", "POST falls to the method-less pattern");
    assert_eq!(ok_body(&post("/m/")), "POST /m/{$}");
}

#[test]
fn wildcards_match_decoded_segments_and_values_are_decoded() {
    let mux = {
        let mut m = ServeMux::new();
        route(&mut m, "/u/{name}", &["name"]);
        route(&mut m, "/files/{path...}", &["path"]);
        route(&mut m, "/lit/a%2Fb", &[]);
        route(&mut m, "/lit/{x}", &["x"]);
        m
    };
    assert_eq!(ok_body(&get(&mux, "/u/J%C3%BCrgen")), "/u/{name} name=Jürgen");
    assert_eq!(
        ok_body(&get(&mux, "/u/a%2Fb")),
        "/u/{name} name=a/b",
        "an escaped slash stays in the segment"
    );
    assert_eq!(ok_body(&get(&mux, "/files/a%20b/c/")), "/files/{path...} path=a b/c/");
    assert_eq!(ok_body(&get(&mux, "/lit/a%2fb")), "/lit/a%2Fb", "literals compare decoded");
    let bad = get(&mux, "/lit/bad%zz");
    assert!(
        bad.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "the server refuses a malformed escape, as Go: {bad}"
    );
    assert_eq!(get(&mux, "/u/a/b"), NOT_FOUND, "{{name}} is one segment");
    assert_eq!(get(&mux, "/u/"), NOT_FOUND, "{{name}} does not match a trailing slash");
}

#[test]
fn root_anchor_matches_only_root() {
    let mut mux = ServeMux::new();
    route(&mut mux, "GET /{$}", &[]);
    route(&mut mux, "/a/{$}", &[]);
    assert_eq!(get(&mux, "/"), ok("GET /{$}"));
    assert_eq!(get(&mux, "/x"), NOT_FOUND);
    assert_eq!(get(&mux, "/a/"), ok("/a/{$}"));
    assert_eq!(get(&mux, "/a/b"), NOT_FOUND);
}

#[test]
fn no_match_is_404_with_go_body() {
    assert_eq!(get(&ServeMux::new(), "/"), NOT_FOUND);
    let mut mux = ServeMux::new();
    route(&mut mux, "/a", &[]);
    assert_eq!(get(&mux, "/a/"), NOT_FOUND, "/a is not a subtree");
    assert_eq!(get(&mux, "/b"), NOT_FOUND);
}

#[test]
fn wrong_method_is_405_with_sorted_allow() {
    let mut mux = ServeMux::new();
    route(&mut mux, "GET /items/{id}", &["id"]);
    route(&mut mux, "DELETE /items/{id}", &["id"]);
    route(&mut mux, "PUT /things/", &[]);
    route(&mut mux, "POST /only-post", &[]);
    let post = "POST /items/7 HTTP/1.1\nHost: h\nContent-Length: 0";
    assert_eq!(exchange(&mux, post), not_allowed("DELETE, GET, HEAD"));
    let put = "PUT /only-post HTTP/1.1\nHost: h\nContent-Length: 0";
    assert_eq!(exchange(&mux, put), not_allowed("POST"));
    assert_eq!(get(&mux, "/only-post"), not_allowed("POST"));
    // /things would redirect to /things/ for PUT, so PUT is allowed for it.
    let patch = "PATCH /things HTTP/1.1\nHost: h\nContent-Length: 0";
    assert_eq!(exchange(&mux, patch), not_allowed("PUT"));
    assert_eq!(get(&mux, "/other"), NOT_FOUND);
}

/// Registers a handler that names its pattern in an `X-Pattern` header,
/// which a HEAD response still carries.
fn route_in_header(mux: &mut ServeMux, pattern: &str) {
    mux.handle_func(pattern, |w: &mut ResponseWriter, r: &mut Request| {
        let p = r.pattern().unwrap_or("-").parse().expect("a header-safe pattern");
        w.headers_mut().insert("x-pattern", p);
        w.write_all(b"body")
    });
}

#[test]
fn get_serves_head_and_a_head_pattern_beats_it() {
    let mut mux = ServeMux::new();
    route_in_header(&mut mux, "GET /g");
    route_in_header(&mut mux, "GET /both");
    route_in_header(&mut mux, "HEAD /both");
    let head = |target: &str| exchange(&mux, &format!("HEAD {target} HTTP/1.1\nHost: h"));
    let want = |p: &str| {
        format!("HTTP/1.1 200 OK\r\nX-Pattern: {p}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\n\r\n")
    };
    assert_eq!(head("/g"), want("GET /g"), "GET's type and length, no body");
    assert_eq!(head("/both"), want("HEAD /both"));
    let get_both = "HTTP/1.1 200 OK\r\nX-Pattern: GET /both\r\nContent-Type: text/plain; charset=utf-8\r\n\
        Content-Length: 4\r\n\r\nbody";
    assert_eq!(get(&mux, "/both"), get_both);
}

#[test]
fn subtree_without_slash_redirects_keeping_the_query() {
    let mut mux = ServeMux::new();
    route(&mut mux, "/", &[]);
    route(&mut mux, "/dir/", &[]);
    route(&mut mux, "/exact", &[]);
    route(&mut mux, "/exact/", &[]);
    assert_eq!(get(&mux, "/dir"), redirect("/dir/"));
    assert_eq!(get(&mux, "/dir?a=1&b=2"), redirect("/dir/?a=1&b=2"));
    assert_eq!(get(&mux, "/dir/"), ok("/dir/"));
    assert_eq!(get(&mux, "/exact"), ok("/exact"), "an exact pattern is not redirected");
    let post = exchange(&mux, "POST /dir HTTP/1.1\nHost: h\nContent-Length: 0");
    assert_eq!(post, "HTTP/1.1 307 Temporary Redirect\r\nLocation: /dir/\r\nContent-Length: 0\r\n\r\n");
}

#[test]
fn unclean_paths_redirect_to_the_clean_path() {
    let mut mux = ServeMux::new();
    route(&mut mux, "/", &[]);
    route(&mut mux, "/a/b", &[]);
    for (target, to) in [
        ("//a/b", "/a/b"),
        ("/a//b", "/a/b"),
        ("/a/./b", "/a/b"),
        ("/x/../a/b?q=1", "/a/b?q=1"),
        ("/a/b/..", "/a"),
        ("/a/b/../", "/a/"),
        ("/../../a", "/a"),
    ] {
        assert_eq!(get(&mux, target), redirect(to), "GET {target}");
    }
}

#[test]
fn host_patterns_win_and_ignore_the_port() {
    let mut mux = ServeMux::new();
    route(&mut mux, "/", &[]);
    route(&mut mux, "example.com/only", &[]);
    route(&mut mux, "example.com/{$}", &[]);
    route(&mut mux, "/x/{a}", &["a"]);
    let at = |host: &str, target: &str| exchange(&mux, &format!("GET {target} HTTP/1.1\nHost: {host}"));
    assert_eq!(ok_body(&at("example.com", "/")), "example.com/{$}");
    assert_eq!(ok_body(&at("example.com", "/q")), "/");
    assert_eq!(ok_body(&at("example.com:8080", "/only")), "example.com/only");
    assert_eq!(ok_body(&at("other.org", "/only")), "/");
    assert_eq!(
        ok_body(&at("example.com", "/x/1")),
        "/x/{a} a=1",
        "a host-less pattern serves what the host's do not match"
    );
    assert_eq!(ok_body(&at("[::1]:80", "/only")), "/");
}

#[test]
fn conflicting_registration_panics_naming_both() {
    let mut mux = ServeMux::new();
    route(&mut mux, "/a/{x}", &[]);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| route(&mut mux, "/{y}/b", &[])));
    let msg = caught.expect_err("a conflict panics");
    let msg = msg.downcast_ref::<String>().expect("a formatted message");
    assert!(msg.contains("pattern \"/{y}/b\" (registered at tests/http_mux.rs:"), "{msg}");
    assert!(msg.contains("conflicts with pattern \"/a/{x}\" (registered at tests/http_mux.rs:"), "{msg}");
    assert!(msg.contains("like \"/a/b\""), "{msg}");
}

#[test]
fn try_handle_returns_the_error() {
    let mut mux = ServeMux::new();
    let h = gort::http::not_found;
    let mut root = ServeMux::new();
    root.try_handle("GET /", h).unwrap();
    root.try_handle("/", h).expect("GET / and / do not conflict");
    let e = root.try_handle("/b/c", h).unwrap_err();
    assert!(
        e.to_string().contains("/b/c matches more methods than GET /, but has a more specific path pattern"),
        "{e}"
    );
    mux.try_handle("/b/c", h).unwrap();
    mux.try_handle("/b/{x}", h).expect("/b/{x} and /b/c do not conflict");
    let e = mux.try_handle("/b/{y}", h).unwrap_err();
    assert!(e.is_conflict());
    assert!(e.to_string().contains("/b/{y} matches the same requests as /b/{x}"), "{e}");
    let e = mux.try_handle("/a/{x", h).unwrap_err();
    assert!(!e.is_conflict());
    assert_eq!(e.to_string(), "parsing \"/a/{x\": at offset 3: bad wildcard segment (must end with '}')");
    let e: Box<dyn std::error::Error> = Box::new(e);
    assert!(e.to_string().starts_with("parsing"));
    assert_eq!(get(&mux, "/b/z"), NOT_FOUND, "the refused patterns were not added");
}

#[test]
fn pipelined_requests_each_get_their_route() {
    let mut mux = ServeMux::new();
    route(&mut mux, "GET /p/{n}", &["n"]);
    let out = serve_raw(&mux, b"GET /p/1 HTTP/1.1\r\nHost: h\r\n\r\nGET /p/2 HTTP/1.1\r\nHost: h\r\n\r\n");
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("\r\n\r\nGET /p/{n} n=1HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nGET /p/{n} n=2"), "path values do not leak between requests: {out}");
}

#[test]
fn serves_over_a_real_socket() {
    let mut mux = ServeMux::new();
    mux.handle_func("GET /hello/{name}", |w: &mut ResponseWriter, r: &mut Request| {
        write!(w, "Hello, {}!", r.path_value("name").unwrap_or("world"))
    });
    let srv = gort::http::test::Server::new(mux);
    let mut c = std::net::TcpStream::connect(srv.addr()).unwrap();
    c.write_all(b"GET /hello/gopher HTTP/1.1\r\nHost: h\r\n\r\nGET /nope HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    c.read_to_string(&mut resp).unwrap();
    let (first, second) = resp.split_once("Hello, gopher!").expect("the first response");
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(
        second.starts_with("HTTP/1.1 404 Not Found\r\n") && second.ends_with("404 page not found\n"),
        "{resp}"
    );
}

#[test]
fn a_connections_next_request_carries_nothing_from_the_last() {
    let mut mux = ServeMux::new();
    mux.handle_func("GET /a/{x}", |w: &mut ResponseWriter, r: &mut Request| {
        r.extensions_mut().insert(7u32);
        r.context(); // made, and ended when the handler returns
        write!(w, "a x={}", r.path_value("x").unwrap_or("-"))
    });
    mux.handle_func("GET /b", |w: &mut ResponseWriter, r: &mut Request| {
        let ended = r.context().err().is_some();
        let ext = r.extensions().get::<u32>();
        write!(w, "b x={:?} ext={ext:?} pattern={:?} ended={ended}", r.path_value("x"), r.pattern())
    });
    let out = serve_raw(&mux, b"GET /a/1 HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("\r\n\r\na x=1HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(
        out.ends_with("\r\n\r\nb x=None ext=None pattern=Some(\"GET /b\") ended=false"),
        "the second request saw the first one's state: {out}"
    );
}

/// `strip_prefix` as a subtree handler (Go's `StripPrefix` under a
/// `/static/` pattern): the inner handler sees the rest of the path, still
/// percent-encoded, with the query; a path without the prefix is a 404;
/// the rest always starts with `/`, since a `Uri` path cannot be relative
/// (Go gives `foo` for `/staticfoo`); and the target is the original again
/// once the inner handler returns.
#[test]
fn strip_prefix_hands_on_the_rest_of_the_path() {
    let inner =
        |w: &mut ResponseWriter, r: &mut Request| write!(w, "{} {}", r.url_path(), r.query().unwrap_or("-"));
    let stripped = gort::http::strip_prefix("/static", inner);
    let outer = move |w: &mut ResponseWriter, r: &mut Request| {
        use gort::http::Handler;
        stripped.serve_http(w, r)?;
        write!(w, " then {}", r.uri())
    };
    let mut mux = ServeMux::new();
    mux.handle_func("/", outer);
    assert_eq!(
        ok_body(&get(&mux, "/static/css/a%20b.css?v=2")),
        "/css/a%20b.css v=2 then /static/css/a%20b.css?v=2"
    );
    assert_eq!(ok_body(&get(&mux, "/static")), "/ - then /static");
    assert_eq!(ok_body(&get(&mux, "/staticfoo")), "/foo - then /staticfoo");
    let miss = get(&mux, "/other");
    assert!(miss.starts_with("HTTP/1.1 404 Not Found\r\n"), "{miss}");
}

/// What a handler (or a middleware before it) may change on the request,
/// as in Go: `set_path_value` replaces a wildcard's value and adds new
/// names, `set_pattern` replaces the pattern the mux recorded, and
/// `set_body` swaps the body, handing back the old one with its bytes
/// still unread.
#[test]
fn a_handler_can_rewrite_path_values_pattern_and_body() {
    let mut mux = ServeMux::new();
    mux.handle_func("POST /users/{id}", |w: &mut ResponseWriter, r: &mut Request| {
        let before = format!("{}:{}", r.path_value("id").unwrap_or("-"), r.pattern().unwrap_or("-"));
        r.set_path_value("id", "me");
        r.set_path_value("role", "admin");
        r.set_pattern("POST /users/me");
        let (mut old, mut now) = (String::new(), String::new());
        r.set_body(gort::http::Body::from("replaced")).read_to_string(&mut old)?;
        r.body().read_to_string(&mut now)?;
        let (id, role, pattern) = (r.path_value("id"), r.path_value("role"), r.pattern());
        write!(w, "{before} {id:?} {role:?} {pattern:?} {old} {now}")
    });
    let resp = serve_raw(&mux, b"POST /users/7 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\norig");
    let resp = String::from_utf8(resp).unwrap();
    assert_eq!(
        ok_body(&resp),
        r#"7:POST /users/{id} Some("me") Some("admin") Some("POST /users/me") orig replaced"#
    );
}
