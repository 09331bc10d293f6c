//! The gort client over `https://` against the gort server, with a CA made
//! here by rcgen: keep-alive reuse on one TCP connection, chunked bodies,
//! redirects (credentials dropped on the way down to `http`), SNI, the
//! builder's TLS options, and many goroutines sharing one pool.

#[path = "common/pki.rs"]
mod pki;
#[path = "common/http_servers.rs"]
mod servers;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gort::http::{Client, ConnState, Request, ResponseWriter, Server};
use pki::{Ca, TlsServer};
use servers::read_all;

fn app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    match r.url_path() {
        "/chunked" => {
            for i in 0..5000 {
                writeln!(w, "line {i}")?;
            }
            Ok(())
        }
        "/sni" => {
            let t = r.tls().expect("TlsInfo on an https request");
            write!(w, "{} {:?}", t.server_name.as_deref().unwrap_or("-"), t.alpn.as_deref())
        }
        "/to-tls" => gort::http::redirect(w, r, "/creds", gort::http::StatusCode::FOUND),
        "/creds" => {
            let h = |n: &str| r.headers().get(n).map_or("-", |v| v.to_str().unwrap()).to_owned();
            write!(w, "auth={} cookie={}", h("authorization"), h("cookie"))
        }
        _ => w.write_all(b"Hello, TLS!"),
    }
}

/// `app` over TLS with a leaf of `ca` for 127.0.0.1 and localhost, and the
/// number of TCP connections it accepted.
fn counted(ca: &Ca) -> (TlsServer, Arc<AtomicUsize>) {
    let conns = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&conns);
    let server = Server::new(app).conn_state(move |_, st| {
        if st == ConnState::New {
            c.fetch_add(1, Ordering::SeqCst);
        }
    });
    (TlsServer::start(server, &ca.leaf(&["127.0.0.1", "localhost"])), conns)
}

fn client(ca: &Ca) -> Client {
    Client::builder().root_certificates_pem(ca.pem().as_bytes()).build().unwrap()
}

#[test]
fn keep_alive_reuses_one_tls_connection() {
    let ca = Ca::new();
    let (srv, conns) = counted(&ca);
    let c = client(&ca);
    for _ in 0..10 {
        let mut r = c.get(&srv.url("/hello")).unwrap();
        assert_eq!(u16::from(r.status()), 200);
        assert_eq!(read_all(r.body()).unwrap(), "Hello, TLS!");
        assert_eq!(c.transport().idle_connections(), 1);
    }
    assert_eq!(conns.load(Ordering::SeqCst), 1, "ten requests, one TCP connection");
}

#[test]
fn an_idle_connection_the_server_closed_is_not_reused() {
    let ca = Ca::new();
    let conns = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&conns);
    let server = Server::new(app).idle_timeout(Duration::from_millis(100)).conn_state(move |_, st| {
        if st == ConnState::New {
            c.fetch_add(1, Ordering::SeqCst);
        }
    });
    let srv = TlsServer::start(server, &ca.leaf(&["127.0.0.1"]));
    let c = client(&ca);
    assert_eq!(read_all(c.get(&srv.url("/")).unwrap().body()).unwrap(), "Hello, TLS!");
    // The server's close_notify and FIN arrive while the connection idles.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(c.transport().idle_connections(), 1);
    // A streamed POST is never retried: only the check before reuse saves it.
    let body = std::io::Cursor::new(b"streamed".to_vec());
    let mut r = c.post(&srv.url("/"), "text/plain", body).unwrap();
    assert_eq!(read_all(r.body()).unwrap(), "Hello, TLS!");
    assert_eq!(conns.load(Ordering::SeqCst), 2, "a fresh connection for the second request");
}

#[test]
fn chunked_bodies_arrive_whole_and_the_connection_stays() {
    let ca = Ca::new();
    let (srv, conns) = counted(&ca);
    let c = client(&ca);
    let want: String = (0..5000).map(|i| format!("line {i}\n")).collect();
    for _ in 0..3 {
        let mut r = c.get(&srv.url("/chunked")).unwrap();
        assert_eq!(r.header("transfer-encoding"), Some("chunked"));
        assert_eq!(read_all(r.body()).unwrap(), want);
    }
    assert_eq!(conns.load(Ordering::SeqCst), 1);
}

#[test]
fn sni_is_the_url_host_and_alpn_is_http11() {
    let ca = Ca::new();
    let (srv, _) = counted(&ca);
    let c = client(&ca);
    let url = format!("https://localhost:{}/sni", srv.addr.port());
    assert_eq!(
        read_all(c.get(&url).unwrap().body()).unwrap(),
        "localhost Some([104, 116, 116, 112, 47, 49, 46, 49])"
    );
    // An IP literal is verified against the certificate's IP names, and
    // sends no SNI (RFC 6066 §3).
    assert_eq!(read_all(c.get(&srv.url("/sni")).unwrap().body()).unwrap().split(' ').next(), Some("-"));
}

#[test]
fn redirects_follow_over_tls_with_credentials() {
    let ca = Ca::new();
    let (srv, _) = counted(&ca);
    let req = Request::builder()
        .uri(srv.url("/to-tls"))
        .header("authorization", "Bearer s3cret")
        .header("cookie", "id=1")
        .build()
        .unwrap();
    let body = read_all(client(&ca).send(req).unwrap().body()).unwrap();
    assert_eq!(body, "auth=Bearer s3cret cookie=id=1", "https to https on the same host keeps them");
}

#[test]
fn a_redirect_from_https_to_http_drops_credentials() {
    let plain = gort::http::test::Server::new(app);
    let target = plain.url("/creds");
    let ca = Ca::new();
    let down = TlsServer::new(
        move |w: &mut ResponseWriter, r: &mut Request| {
            gort::http::redirect(w, r, &target, gort::http::StatusCode::FOUND)
        },
        &ca.leaf(&["127.0.0.1"]),
    );
    let req = Request::builder()
        .uri(down.url("/"))
        .header("authorization", "Bearer s3cret")
        .header("proxy-authorization", "Basic eA==")
        .header("cookie", "id=1")
        .build()
        .unwrap();
    let body = read_all(client(&ca).send(req).unwrap().body()).unwrap();
    assert_eq!(body, "auth=- cookie=-");
}

#[test]
fn the_pool_keys_on_the_scheme() {
    let ca = Ca::new();
    let (srv, _) = counted(&ca);
    let c = client(&ca);
    let plain_url = format!("http://{}/", srv.addr);
    let mut r = c.get(&plain_url).unwrap();
    assert_eq!(u16::from(r.status()), 400, "plain HTTP to the TLS port: Go's 400");
    assert!(read_all(r.body()).unwrap().contains("HTTP request to an HTTPS server"));
    assert_eq!(read_all(c.get(&srv.url("/")).unwrap().body()).unwrap(), "Hello, TLS!");
    assert_eq!(c.transport().idle_connections(), 1, "only the https connection was kept");
}

#[test]
fn danger_accept_invalid_certs_accepts_an_unknown_issuer() {
    let (ca, other) = (Ca::new(), Ca::new());
    let (srv, _) = counted(&ca);
    let strict = client(&other);
    assert!(strict.get(&srv.url("/")).is_err());
    let lax = Client::builder().danger_accept_invalid_certs(true).build().unwrap();
    assert_eq!(read_all(lax.get(&srv.url("/")).unwrap().body()).unwrap(), "Hello, TLS!");
}

#[test]
fn a_tls_config_of_ones_own_is_used() {
    use gort::http::rustls::{self, pki_types::pem::PemObject, pki_types::CertificateDer};
    let ca = Ca::new();
    let (srv, _) = counted(&ca);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let c = Client::builder().tls_config(Arc::new(config)).build().unwrap();
    let body = read_all(c.get(&srv.url("/sni")).unwrap().body()).unwrap();
    assert_eq!(body, "- None", "no ALPN: the config is used as it is");
}

#[test]
fn bad_root_pem_is_an_error_from_build() {
    let e = Client::builder().root_certificates_pem(b"not a certificate").build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(e.to_string(), "tls: root_certificates_pem: no CERTIFICATE block");
}

#[test]
fn stress_many_goroutines_share_one_tls_pool() {
    let ca = Ca::new();
    let (srv, conns) = counted(&ca);
    let c = client(&ca);
    for _ in 0..3 {
        let gs: Vec<_> = (0..32)
            .map(|i| {
                let (c, url) = (c.clone(), srv.url(if i % 4 == 0 { "/chunked" } else { "/" }));
                gort::go!(move || {
                    for _ in 0..10 {
                        let body = read_all(c.get(&url).unwrap().body()).unwrap();
                        assert!(body == "Hello, TLS!" || body.ends_with("line 4999\n"), "{body}");
                    }
                })
            })
            .collect();
        for g in gs {
            g.join().unwrap();
        }
    }
    // A request served by a freed connection leaves its dial to the pool,
    // so more than 32 may open; far fewer than the 960 requests.
    let n = conns.load(Ordering::SeqCst);
    assert!(n < 320, "connections were reused: {n} for 960 requests");
}
