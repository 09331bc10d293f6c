//! Redirects: the method rules of 301/302/303/307/308, relative
//! `Location`s, the limit of 10, the `check_redirect` hook, credentials
//! dropped on the way to another host, and the `Referer` a redirect sets.

#[path = "common/http_servers.rs"]
mod servers;

use std::io::{self, Read, Write};

use gort::http::{Client, Request, ResponseWriter, StatusCode};
use servers::{read_all, Counted};

/// The highest `n` of `/loop/n` requested.
static LOOP_MAX: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// `/to/{status}/{rest…}` redirects with `status` to `/{rest…}` (a
/// relative `Location`); `/loop/n` to `/loop/n+1`; `/location/empty` with
/// an empty `Location`, `/location/utf8` to a raw UTF-8 path; `/referer`
/// echoes its `Referer`; anything else echoes the method, the body and the credentials it got.
fn site(w: &mut ResponseWriter, r: &mut Request) -> io::Result<()> {
    let path = r.url_path().to_owned();
    if let Some(rest) = path.strip_prefix("/to/") {
        let (status, target) = rest.split_once('/').unwrap();
        w.headers_mut().insert("location", format!("../../{target}").parse().unwrap());
        w.write_header(StatusCode::from_u16(status.parse().unwrap()).unwrap());
        return Ok(());
    }
    if let Some(n) = path.strip_prefix("/loop/") {
        let n: u32 = n.parse().unwrap();
        LOOP_MAX.fetch_max(n, std::sync::atomic::Ordering::SeqCst);
        w.headers_mut().insert("location", format!("/loop/{}", n + 1).parse().unwrap());
        w.write_header(StatusCode::FOUND);
        return Ok(());
    }
    if let Some(to) = path.strip_prefix("/location/") {
        let loc: &[u8] = if to == "empty" { b"" } else { b"/caf\xc3\xa9" };
        w.headers_mut().insert("location", gort::http::HeaderValue::from_bytes(loc).unwrap());
        w.write_header(StatusCode::FOUND);
        return Ok(());
    }
    if path == "/referer" {
        return w.write_all(r.headers().get("referer").map_or(&b"-"[..], |v| v.as_bytes()));
    }
    let mut body = String::new();
    r.body().read_to_string(&mut body)?;
    let cred = |h: &str| r.headers().get(h).map_or("-", |v| v.to_str().unwrap()).to_owned();
    write!(
        w,
        "{} {} body={body:?} auth={} cookie={}",
        r.method(),
        path,
        cred("authorization"),
        cred("cookie")
    )
}

fn post(client: &Client, url: &str) -> String {
    read_all(client.post(url, "text/plain", &b"data"[..]).unwrap().body()).unwrap()
}

#[test]
fn the_method_rules_of_each_status() {
    let srv = Counted::new(site);
    let c = Client::new();
    for s in [301, 302, 303] {
        assert_eq!(post(&c, &srv.url(&format!("/to/{s}/end"))), "GET /end body=\"\" auth=- cookie=-", "{s}");
    }
    for s in [307, 308] {
        assert_eq!(
            post(&c, &srv.url(&format!("/to/{s}/end"))),
            "POST /end body=\"data\" auth=- cookie=-",
            "{s}"
        );
    }
    let r = c.head(&srv.url("/to/303/end")).unwrap();
    assert_eq!(r.status(), StatusCode::OK, "HEAD stays HEAD");
}

#[test]
fn a_307_with_a_body_that_cannot_be_replayed_is_returned_as_is() {
    let srv = Counted::new(site);
    let body = gort::http::Body::from_reader(&b"stream"[..]);
    let r = Client::new().post(&srv.url("/to/307/end"), "text/plain", body).unwrap();
    assert_eq!(r.status(), StatusCode::TEMPORARY_REDIRECT);
}

#[test]
fn a_redirect_chain_stops_at_its_tenth_request() {
    let srv = Counted::new(site);
    let c = Client::new();
    let e = c.get(&srv.url("/loop/0")).unwrap_err();
    assert_eq!(e.to_string(), "stopped after 10 redirects");
    assert_eq!(LOOP_MAX.load(std::sync::atomic::Ordering::SeqCst), 9, "requests /loop/0 to /loop/9, as Go");
    let hops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hops.clone();
    let c = Client::builder()
        .check_redirect(move |next, via| {
            h.store(via.len(), std::sync::atomic::Ordering::SeqCst);
            match next.url_path() {
                "/loop/3" => Err(gort::http::use_last_response()),
                _ => Ok(()),
            }
        })
        .build()
        .unwrap();
    let r = c.get(&srv.url("/loop/0")).unwrap();
    assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::FOUND, "/loop/3"));
    assert_eq!(hops.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn credentials_go_to_the_same_host_only() {
    let target = Counted::new(site);
    let port = target.srv.addr().port();
    let bounce = move |w: &mut ResponseWriter, r: &mut Request| {
        // 127.0.0.1 → localhost: another host name, the same server.
        let host = if r.url_path() == "/same" { "127.0.0.1" } else { "localhost" };
        w.headers_mut().insert("location", format!("http://{host}:{port}/end").parse().unwrap());
        w.write_header(StatusCode::FOUND);
        Ok(())
    };
    let srv = Counted::new(bounce);
    let c = Client::new();
    let get = |path: &str| {
        let req = Request::builder()
            .uri(srv.url(path))
            .header("authorization", "Bearer s3cret")
            .header("cookie", "id=1")
            .build()
            .unwrap();
        read_all(c.send(req).unwrap().body()).unwrap()
    };
    assert_eq!(get("/same"), "GET /end body=\"\" auth=Bearer s3cret cookie=id=1");
    assert_eq!(get("/other"), "GET /end body=\"\" auth=- cookie=-");
}

/// A 3xx with an empty `Location` is the answer (Go returns it too); raw
/// UTF-8 in a `Location` is percent-encoded and followed.
#[test]
fn an_empty_location_is_the_answer_and_a_utf8_one_is_followed() {
    let srv = Counted::new(site);
    let c = Client::new();
    let r = c.get(&srv.url("/location/empty")).unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        read_all(c.get(&srv.url("/location/utf8")).unwrap().body()).unwrap(),
        "GET /caf%C3%A9 body=\"\" auth=- cookie=-"
    );
}

/// The request a redirect leads to names the one it came from in
/// `Referer` (Go's `refererForURL`); a `Referer` the caller set stays.
#[test]
fn a_redirect_names_where_it_came_from_in_referer() {
    let srv = Counted::new(site);
    let client = Client::new();
    let from = srv.url("/to/302/referer");
    assert_eq!(read_all(client.get(&from).unwrap().body()).unwrap(), from);
    let set = Request::builder().uri(&from).header("referer", "https://example.com/start").build().unwrap();
    assert_eq!(read_all(client.send(set).unwrap().body()).unwrap(), "https://example.com/start");
    assert_eq!(
        read_all(client.get(&srv.url("/referer")).unwrap().body()).unwrap(),
        "-",
        "no redirect, no Referer"
    );
}
