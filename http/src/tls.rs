//! The server side of TLS: accepting a session (`TlsConn`, a
//! [`TlsStream`] over a `ServerConnection`, so `serve_conn` runs HTTPS
//! unchanged), loading a `ServerConfig` from PEM files, and the
//! [`TlsInfo`] a handler sees. The session itself, and its locks, are
//! `tls_stream.rs`'s.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use gort_net::TcpStream;
use rustls::{CipherSuite, ProtocolVersion, ServerConfig, ServerConnection};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::stream::Conn;
use crate::tls_stream::TlsStream;

/// The ALPN protocol both sides offer.
pub(crate) const HTTP11: &[u8] = b"http/1.1";
/// Also accepted by the server: a client that speaks only HTTP/1.0 (curl's
/// `--http1.0`) offers only this, and would otherwise fail the handshake.
const HTTP10: &[u8] = b"http/1.0";
/// Go's answer to plain HTTP on a TLS port.
const PLAIN_ON_TLS: &[u8] = b"HTTP/1.0 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
/// The first byte of a TLS handshake record.
const HANDSHAKE_RECORD: u8 = 0x16;

/// What was negotiated on a TLS connection (Go's `tls.ConnectionState`),
/// from [`Request::tls`](crate::Request::tls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// The protocol version, e.g. `TLSv1_3`.
    pub version: ProtocolVersion,
    /// The cipher suite, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher_suite: CipherSuite,
    /// The server name the client asked for (SNI), if it sent one.
    pub server_name: Option<String>,
    /// The ALPN protocol agreed on, if any (`http/1.1`).
    pub alpn: Option<Vec<u8>>,
}

/// The server side of a TLS connection.
pub(crate) type TlsConn = TlsStream<ServerConnection>;

impl TlsStream<ServerConnection> {
    /// Runs the server side of the handshake on `tcp`, cut at `deadline`.
    ///
    /// # Errors
    /// `TimedOut` past the deadline; `InvalidData` naming rustls's reason
    /// when the peer speaks something other than TLS or the handshake
    /// fails; `UnexpectedEof` when the peer closes during it.
    pub(crate) fn accept(
        tcp: TcpStream,
        config: Arc<ServerConfig>,
        deadline: Option<Instant>,
    ) -> io::Result<TlsConn> {
        let session = ServerConnection::new(config).map_err(io::Error::other)?;
        tcp.set_read_deadline(deadline);
        tcp.set_write_deadline(deadline);
        let c = TlsStream::new(tcp, session);
        refuse_plain_http(c.tcp())?;
        c.handshake(|s| s.server_name().map(str::to_owned))?;
        c.tcp().set_read_deadline(None);
        c.tcp().set_write_deadline(None);
        Ok(c)
    }
}

/// A first byte that cannot start a TLS record but starts a method gets
/// Go's plain-text 400, so the client reads why, then an error.
fn refuse_plain_http(tcp: &TcpStream) -> io::Result<()> {
    let mut first = [0u8; 1];
    if tcp.peek(&mut first)? == 1 && first[0] != HANDSHAKE_RECORD && first[0].is_ascii_uppercase() {
        if Conn::write_all(tcp, PLAIN_ON_TLS).is_ok() {
            crate::conn::linger(tcp);
        }
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "tls: client sent an HTTP request to an HTTPS server",
        ));
    }
    Ok(())
}

/// A server config from a PEM certificate chain and a PEM private key
/// (PKCS#8, PKCS#1 or SEC1), advertising `http/1.1` by ALPN (Go's
/// `tls.LoadX509KeyPair` and a `tls.Config` around it), for
/// [`Server::serve_tls`](crate::Server::serve_tls).
///
/// # Errors
/// `InvalidInput` naming the file and what is wrong with it.
pub fn server_config_from_pem(
    cert: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> io::Result<Arc<ServerConfig>> {
    let (cert, key) = (cert.as_ref(), key.as_ref());
    let bad = |path: &Path, why: &dyn std::fmt::Display| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("tls: {}: {why}", path.display()))
    };
    let pem = fs::read(cert).map_err(|e| bad(cert, &e))?;
    let chain =
        CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>().map_err(|e| bad(cert, &e))?;
    if chain.is_empty() {
        return Err(bad(cert, &"no CERTIFICATE block"));
    }
    let pem = fs::read(key).map_err(|e| bad(key, &e))?;
    let key_der = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| bad(key, &e))?;
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| bad(key, &e))?;
    Ok(Arc::new(with_alpn(config)))
}

/// `config` advertising `http/1.1` (preferred) and `http/1.0` when it
/// advertises nothing (Go adds `http/1.1` to an empty `NextProtos`; a
/// client offering only `http/1.0` is refused there, served here).
pub(crate) fn with_alpn(mut config: ServerConfig) -> ServerConfig {
    if config.alpn_protocols.is_empty() {
        config.alpn_protocols = vec![HTTP11.to_vec(), HTTP10.to_vec()];
    }
    config
}
