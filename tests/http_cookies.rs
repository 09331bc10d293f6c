//! Cookies (Go's `Request.Cookies`, `Request.Cookie`, `SetCookie`,
//! `AddCookie`, `Response.Cookies`) on exact bytes, with curl, and between
//! gort's client and server; values that would add an attribute are
//! sanitized as Go's are.

#[path = "common/http_servers.rs"]
mod servers;

use std::io::Write;

use gort::http::{set_cookie, Client, Cookie, Request, ResponseWriter, SameSite};
use servers::read_all;

/// Lists the cookies sent, then sets the ones the tests read back.
fn app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    let sent: Vec<String> = r.cookies().map(|c| format!("{}={}", c.name(), c.value())).collect();
    let b = r.cookie("b").map(|c| c.value().to_owned());
    set_cookie(w, &Cookie::new("plain", "1"));
    let full = Cookie::build(("session", "abc"))
        .path("/app")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .max_age(gort::http::cookie::time::Duration::hours(1));
    set_cookie(w, &full.build());
    set_cookie(w, &Cookie::new("bad name", "dropped"));
    set_cookie(w, &Cookie::build(("inject", "x; Domain=evil")).path("/p;q").build());
    set_cookie(w, &Cookie::build(("uni", "v")).path("/pé").domain("exé.com").build());
    set_cookie(w, &Cookie::build(("two", "v")).domain("a.com,b.com").build());
    set_cookie(w, &Cookie::build(("dom", "v")).domain("example.com").build());
    write!(w, "{}|b={}", sent.join(" "), b.as_deref().unwrap_or("-"))
}

fn raw(request: &str) -> String {
    String::from_utf8(gort::http::test::serve_raw(&app, request.as_bytes())).unwrap()
}

#[test]
fn every_cookie_header_is_read_in_order_and_set_cookies_are_sanitized() {
    let out = raw("GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1; b=2;;  c=three \r\nCookie: d=\"q\"\r\n\r\n");
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "a=1 b=2 c=three d=\"q\"|b=2");
    let set: Vec<&str> = head.lines().filter_map(|l| l.strip_prefix("Set-Cookie: ")).collect();
    assert_eq!(
        set,
        [
            "plain=1",
            "session=abc; HttpOnly; SameSite=Lax; Secure; Path=/app; Max-Age=3600",
            "inject=\"x Domain=evil\"; Path=/pq",
            "uni=v; Path=/p",
            "two=v",
            "dom=v; Domain=example.com",
        ],
        "a bad name is dropped, and no value or path adds an attribute"
    );
    let out = raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.ends_with("\r\n\r\n|b=-"), "no Cookie header, no cookies: {out}");
}

#[test]
fn gorts_client_sends_cookies_in_one_header_and_reads_set_cookies() {
    let srv = gort::http::test::Server::new(app);
    let req = Request::builder()
        .uri(srv.url("/"))
        .cookie(&Cookie::new("a", "1"))
        .cookie(&Cookie::new("b", "two"))
        .cookie(&Cookie::new("c", "x;y"))
        .build()
        .unwrap();
    let mut r = Client::new().send(req).unwrap();
    let names: Vec<(String, Option<bool>)> =
        r.cookies().map(|c| (format!("{}={}", c.name(), c.value()), c.http_only())).collect();
    assert_eq!(
        names,
        [
            ("plain=1".to_owned(), None),
            ("session=abc".to_owned(), Some(true)),
            ("inject=\"x Domain=evil\"".to_owned(), None),
            ("uni=v".to_owned(), None),
            ("two=v".to_owned(), None),
            ("dom=v".to_owned(), None),
        ]
    );
    assert_eq!(r.cookies().nth(1).and_then(|c| c.path().map(str::to_owned)).as_deref(), Some("/app"));
    assert_eq!(read_all(r.body()).unwrap(), "a=1 b=two c=xy|b=two", "one Cookie header; `;` dropped");
}

#[test]
fn curl_sends_and_stores_cookies() {
    let srv = gort::http::test::Server::new(app);
    let text =
        String::from_utf8(servers::curl(&["-b", "b=from-curl; z=9", "-c", "-", &srv.url("/")])).unwrap();
    assert!(text.starts_with("b=from-curl z=9|b=from-curl"), "{text}");
    // curl's jar, one tab-separated line per cookie it kept.
    let jar: Vec<Vec<&str>> =
        text.lines().filter(|l| l.contains('\t')).map(|l| l.split('\t').collect()).collect();
    let plain = jar.iter().find(|f| f[5] == "plain").expect("curl kept `plain`");
    assert_eq!(plain[6], "1");
}

#[test]
fn a_pair_that_is_not_ascii_costs_only_itself() {
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\nCookie: session=abc; pref=".to_vec();
    req.extend_from_slice(&[0xe6, 0x97, 0xa5, 0xff]);
    req.extend_from_slice(b"; b=2\r\n\r\n");
    let out = String::from_utf8_lossy(&gort::http::test::serve_raw(&app, &req)).into_owned();
    assert!(out.ends_with("\r\n\r\nsession=abc b=2|b=2"), "{out}");
}
