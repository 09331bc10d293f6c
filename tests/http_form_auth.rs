//! Form values (Go's `ParseForm`, `FormValue`, `PostFormValue`) and
//! Basic authentication (`BasicAuth`, `SetBasicAuth`, a URL's
//! `user:password@`), on exact bytes, from curl, and from gort's client.

#[path = "common/http_servers.rs"]
mod servers;

use std::io::{Read, Write};

use gort::http::{Client, Request, ResponseWriter, StatusCode};
use servers::read_all;

/// Answers `a=…|b=…|c=…|post c=…|err=…` from the form, then what is
/// left of the body.
fn form_app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    let err = r.parse_form().err().map(|e| e.to_string());
    let v = |r: &mut Request, n: &str| r.form_value(n).unwrap_or_else(|| "-".into());
    let (a, b, c) = (v(r, "a"), v(r, "b"), v(r, "c"));
    let post_c = r.post_form_value("c").unwrap_or_else(|| "-".into());
    let mut rest = String::new();
    r.body().read_to_string(&mut rest)?;
    if err.is_some() {
        w.write_header(StatusCode::BAD_REQUEST);
    }
    write!(w, "a={a}|b={b}|c={c}|post c={post_c}|err={}|rest={rest}", err.as_deref().unwrap_or("-"))
}

fn raw(request: &str) -> String {
    String::from_utf8(gort::http::test::serve_raw(&form_app, request.as_bytes())).unwrap()
}

fn body_of(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[test]
fn a_posted_form_comes_before_the_query_and_is_read_whole() {
    let out = raw("POST /f?a=query&b=q%2Bb HTTP/1.1\r\nHost: x\r\n\
                   Content-Type: Application/X-WWW-Form-Urlencoded; charset=utf-8\r\n\
                   Content-Length: 22\r\n\r\na=body+one&c=%E2%9C%93");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert_eq!(body_of(&out), "a=body one|b=q+b|c=✓|post c=✓|err=-|rest=");
}

#[test]
fn only_post_put_and_patch_with_the_form_type_have_their_body_parsed() {
    let cases = [
        ("GET", "application/x-www-form-urlencoded"),
        ("POST", "multipart/form-data; boundary=x"),
        ("POST", "text/plain"),
    ];
    for (method, ct) in cases {
        let out = raw(&format!(
            "{method} /?b=2 HTTP/1.1\r\nHost: x\r\nContent-Type: {ct}\r\nContent-Length: 3\r\n\r\na=1"
        ));
        assert_eq!(
            body_of(&out),
            "a=-|b=2|c=-|post c=-|err=-|rest=a=1",
            "{method} {ct}: the body is the handler's"
        );
    }
    let out = raw("PATCH / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                   Transfer-Encoding: chunked\r\n\r\n3\r\nc=9\r\n0\r\n\r\n");
    assert_eq!(body_of(&out), "a=-|b=-|c=9|post c=9|err=-|rest=", "a chunked PATCH");
}

#[test]
fn a_semicolon_pair_is_skipped_and_reported() {
    let out = raw("GET /?a=1;b=2&c=3&b=4 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
    assert_eq!(body_of(&out), "a=-|b=4|c=3|post c=-|err=invalid semicolon separator in query|rest=");
}

#[test]
fn a_form_past_ten_mib_is_refused_and_its_connection_closed() {
    // A MiB past the limit: more than the server drains after the handler.
    let body = "a=".to_owned() + &"x".repeat(11 << 20);
    let req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        body.len()
    );
    let refuse = |w: &mut ResponseWriter, r: &mut Request| match r.parse_form() {
        Ok(()) => w.write_all(b"parsed"),
        Err(e) => {
            w.write_header(StatusCode::PAYLOAD_TOO_LARGE);
            write!(w, "{e}")
        }
    };
    let out = String::from_utf8(gort::http::test::serve_raw(&refuse, req.as_bytes())).unwrap();
    assert!(out.starts_with("HTTP/1.1 413 Payload Too Large\r\n"), "{}", &out[..200.min(out.len())]);
    assert!(out.contains("\r\nConnection: close\r\n"), "the unread rest closes the connection");
    assert_eq!(body_of(&out), "http: POST too large");
    assert_eq!(out.matches("HTTP/1.1 ").count(), 1, "the pipelined GET is not served");
}

#[test]
fn a_truncated_form_body_is_the_read_error() {
    let kind = |w: &mut ResponseWriter, r: &mut Request| {
        let e = r.parse_form().err().map(|e| e.kind());
        write!(w, "{e:?} {:?} {:?}", r.form_value("a"), r.parse_form().err().map(|e| e.kind()))
    };
    let req = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 10\r\n\r\na=1";
    let out = String::from_utf8(gort::http::test::serve_raw(&kind, req)).unwrap();
    assert_eq!(
        body_of(&out),
        "Some(UnexpectedEof) None None",
        "reported once; nothing parsed from a cut body"
    );
}

fn auth_app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    match r.basic_auth() {
        Some((user, password)) => write!(w, "user={user} password={password}"),
        None => {
            w.headers_mut().insert("www-authenticate", "Basic realm=\"gort\"".parse().unwrap());
            w.write_header(StatusCode::UNAUTHORIZED);
            Ok(())
        }
    }
}

#[test]
fn curl_sends_credentials_and_a_form() {
    let srv = gort::http::test::Server::new(|w: &mut ResponseWriter, r: &mut Request| {
        if r.url_path() == "/auth" {
            return auth_app(w, r);
        }
        form_app(w, r)
    });
    let curl = |args: &[&str]| String::from_utf8(servers::curl(args)).unwrap();
    assert_eq!(curl(&["-u", "gopher:pa:ss word", &srv.url("/auth")]), "user=gopher password=pa:ss word");
    let code = curl(&["-o", "/dev/null", "-w", "%{http_code}", &srv.url("/auth")]);
    assert_eq!(code, "401");
    let form = curl(&["--data-urlencode", "a=x&y", "-d", "c=3", &srv.url("/f?b=2")]);
    assert_eq!(form, "a=x&y|b=2|c=3|post c=3|err=-|rest=");
}

#[test]
fn the_client_sends_basic_auth_from_the_builder_and_from_the_url() {
    let srv = gort::http::test::Server::new(auth_app);
    let client = Client::new();
    let req = Request::builder().uri(srv.url("/")).basic_auth("u", "p w").build().unwrap();
    assert_eq!(read_all(client.send(req).unwrap().body()).unwrap(), "user=u password=p w");
    let url = srv.url("/").replace("http://", "http://us%40er:s%3Acret@");
    assert_eq!(read_all(client.get(&url).unwrap().body()).unwrap(), "user=us@er password=s:cret");
    assert_eq!(client.get(&srv.url("/")).unwrap().status(), StatusCode::UNAUTHORIZED, "nothing kept");
}

#[test]
fn the_urls_credentials_follow_a_redirect_only_where_its_url_has_them() {
    let srv = gort::http::test::Server::new(|w: &mut ResponseWriter, r: &mut Request| {
        let to = match r.url_path() {
            "/relative" => "/auth",
            "/absolute" => &format!("http://{}/auth", r.host().unwrap_or_default()),
            _ => return auth_app(w, r),
        };
        gort::http::redirect(w, r, to, StatusCode::FOUND)
    });
    let client = Client::new();
    let with = |path: &str| srv.url(path).replace("http://", "http://u:p@");
    let mut r = client.get(&with("/relative")).unwrap();
    assert_eq!(read_all(r.body()).unwrap(), "user=u password=p", "a relative Location keeps the userinfo");
    let r = client.get(&with("/absolute")).unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a Location without userinfo sends none");
}

#[test]
fn more_than_ten_thousand_pairs_are_refused_whole() {
    let body = "a&".repeat(10_001);
    let req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let out = raw(&req);
    assert!(out.contains("err=number of URL query parameters exceeded limit of 10000|"), "{}", &out[..300]);
    assert!(body_of(&out).starts_with("a=-|"), "none parsed");
    let ok = "a=1&".repeat(10_000);
    let out = raw(&format!("GET /?{ok} HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(body_of(&out).starts_with("a=1|b=-|c=-|post c=-|err=-|"), "ten thousand are fine");
}
