//! Certificates made at test time with rcgen (nothing checked in): a test
//! CA, leaf certificates it signs (valid, expired), and a gort HTTPS
//! server on a loopback port serving one of them.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use gort::http::{Handler, Server};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

/// A certificate authority of the test's own.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A leaf certificate and its key, PEM.
pub struct Leaf {
    pub cert: String,
    pub key: String,
}

impl Ca {
    /// A CA with a name of its own (two CAs with one name would meet as
    /// one issuer whose signature does not match).
    pub fn new() -> Ca {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, format!("gort test CA {n}"));
        Ca { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap() }
    }

    /// The CA's certificate, PEM: what a client trusts.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf for `names`, valid now.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.sign(CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap())
    }

    /// A leaf for `names` that expired in 2021.
    pub fn expired_leaf(&self, names: &[&str]) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf { cert: cert.pem(), key: key.serialize_pem() }
    }
}

/// Writes `leaf` to a fresh directory: (cert path, key path).
pub fn write_leaf(name: &str, leaf: &Leaf) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("gort-pki-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, &leaf.cert).unwrap();
    std::fs::write(&k, &leaf.key).unwrap();
    (c, k)
}

/// Writes `pem` to a file of its own.
pub fn write_file(name: &str, pem: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gort-pki-{}-files", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, pem).unwrap();
    p
}

/// A gort HTTPS server on a loopback port, closed on drop.
pub struct TlsServer {
    pub server: Server,
    pub addr: SocketAddr,
}

impl TlsServer {
    pub fn start(server: Server, leaf: &Leaf) -> TlsServer {
        let ln = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let (cert, key) = write_leaf(&addr.port().to_string(), leaf);
        let config = gort::http::server_config_from_pem(&cert, &key).unwrap();
        let s = server.clone();
        gort::go!(move || s.serve_tls(ln, config));
        TlsServer { server, addr }
    }

    pub fn new(h: impl Handler, leaf: &Leaf) -> TlsServer {
        TlsServer::start(Server::new(h), leaf)
    }

    /// `https://localhost:PORT{path}` would need a resolver entry; the
    /// certificates name 127.0.0.1 too, so the URL uses the address.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.server.close();
    }
}

/// How many descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}
