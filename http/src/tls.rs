//! `TlsConn`: a rustls session over a gort `TcpStream`, as a [`Conn`], so
//! `serve_conn` runs HTTPS unchanged; plus loading a `ServerConfig` from
//! PEM files and the [`TlsInfo`] a handler sees.
//!
//! # Locks
//! The rustls state (`session`) sits behind a lock that is never held
//! across a socket call, so a write never waits for a read blocked on the
//! socket, nor the other way round:
//! - a read takes `reading` (one reader at a time: records must reach
//!   rustls in the order they came), reads the socket into a stack buffer
//!   with no other lock held, then feeds rustls under `session`;
//! - a write takes `writing`, encrypts under `session` into a local
//!   buffer, lets `session` go, then writes the socket. `writing` keeps the
//!   records in order on the socket; whatever rustls owes the peer after a
//!   read (alerts, key updates) goes out the same way.
//!
//! The lock order is `writing` before `session`; `reading` is never held
//! together with `writing` for more than a flush.

use std::fs;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use gort_net::TcpStream;
use parking_lot::Mutex;
use rustls::{CipherSuite, ProtocolVersion, ServerConfig, ServerConnection};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::stream::Conn;

/// The ALPN protocol the server advertises.
const HTTP11: &[u8] = b"http/1.1";
/// Go's answer to plain HTTP on a TLS port.
const PLAIN_ON_TLS: &[u8] = b"HTTP/1.0 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
/// The first byte of a TLS handshake record.
const HANDSHAKE_RECORD: u8 = 0x16;
/// How much of the socket one fill reads (a TLS record is at most ~16 KiB;
/// rustls reassembles records from any number of pieces).
const FILL: usize = 4096;

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

/// A TLS session over a gort TCP connection; see the module doc.
pub(crate) struct TlsConn {
    tcp: TcpStream,
    session: Mutex<ServerConnection>,
    reading: Mutex<()>,
    writing: Mutex<()>,
    info: TlsInfo,
}

impl TlsConn {
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
        let mut c = TlsConn {
            tcp,
            session: Mutex::new(session),
            reading: Mutex::new(()),
            writing: Mutex::new(()),
            info: TlsInfo {
                version: ProtocolVersion::Unknown(0),
                cipher_suite: CipherSuite::Unknown(0),
                server_name: None,
                alpn: None,
            },
        };
        c.refuse_plain_http()?;
        c.handshake()?;
        c.info = info(&c.session.lock());
        c.tcp.set_read_deadline(None);
        c.tcp.set_write_deadline(None);
        Ok(c)
    }

    /// A first byte that cannot start a TLS record but starts a method
    /// gets Go's plain-text 400, so the client reads why, then an error.
    fn refuse_plain_http(&self) -> io::Result<()> {
        let mut first = [0u8; 1];
        if self.tcp.peek(&mut first)? == 1 && first[0] != HANDSHAKE_RECORD && first[0].is_ascii_uppercase() {
            if Conn::write_all(&self.tcp, PLAIN_ON_TLS).is_ok() {
                crate::conn::linger(&self.tcp);
            }
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "tls: client sent an HTTP request to an HTTPS server",
            ));
        }
        Ok(())
    }

    fn handshake(&self) -> io::Result<()> {
        loop {
            self.flush()?;
            if !self.session.lock().is_handshaking() {
                return Ok(());
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "tls: peer closed during the handshake",
                ));
            }
        }
    }

    /// Reads what the socket has into rustls and processes it; returns the
    /// bytes read (0: the peer closed, which rustls is told as well).
    fn fill(&self) -> io::Result<usize> {
        let mut buf = [0u8; FILL];
        let n = io::Read::read(&mut &self.tcp, &mut buf)?;
        let mut s = self.session.lock();
        let mut data = &buf[..n];
        loop {
            let taken = s.read_tls(&mut data)?;
            if let Err(e) = s.process_new_packets() {
                drop(s);
                // The alert rustls queued tells the peer why, if it listens.
                let _ = self.flush();
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("tls: {e}")));
            }
            if taken == 0 || data.is_empty() {
                break;
            }
        }
        Ok(n)
    }

    /// Sends whatever rustls has queued for the peer, in order.
    fn flush(&self) -> io::Result<()> {
        let _w = self.writing.lock();
        self.send_queued()
    }

    /// Sends what rustls has queued; the caller holds `writing`.
    fn send_queued(&self) -> io::Result<()> {
        let mut out = Vec::new();
        {
            let mut s = self.session.lock();
            while s.wants_write() {
                s.write_tls(&mut out)?;
            }
        }
        Conn::write_all(&self.tcp, &out)
    }

    /// Plaintext already decrypted and waiting to be read.
    fn buffered(&self) -> bool {
        self.session.lock().process_new_packets().is_ok_and(|st| st.plaintext_bytes_to_read() > 0)
    }
}

/// The negotiated parameters of a finished handshake.
fn info(s: &ServerConnection) -> TlsInfo {
    TlsInfo {
        version: s.protocol_version().unwrap_or(ProtocolVersion::Unknown(0)),
        cipher_suite: s.negotiated_cipher_suite().map_or(CipherSuite::Unknown(0), |c| c.suite()),
        server_name: s.server_name().map(str::to_owned),
        alpn: s.alpn_protocol().map(<[u8]>::to_vec),
    }
}

impl Conn for TlsConn {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let _r = self.reading.lock();
        loop {
            match self.session.lock().reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return done,
            }
            self.fill()?;
            self.flush()?;
        }
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let _w = self.writing.lock();
        let n = self.session.lock().writer().write(buf)?;
        self.send_queued()?;
        Ok(n)
    }

    fn wait_readable(&self) -> io::Result<()> {
        if self.buffered() {
            return Ok(());
        }
        self.tcp.wait_readable()
    }

    /// Decrypted data counts as queued; otherwise any bytes on the socket
    /// do (a record, whatever it holds), and the socket's EOF is the
    /// peer's close.
    fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        if self.buffered() {
            return Ok(1.min(buf.len()));
        }
        self.tcp.peek(buf)
    }

    fn set_read_deadline(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.tcp.set_read_deadline(deadline);
        Ok(())
    }

    fn set_write_deadline(&self, deadline: Option<Instant>) -> io::Result<()> {
        self.tcp.set_write_deadline(deadline);
        Ok(())
    }

    /// Sends `close_notify`, then the FIN.
    fn shutdown_write(&self) {
        self.session.lock().send_close_notify();
        let _ = self.flush();
        let _ = self.tcp.shutdown(std::net::Shutdown::Write);
    }

    fn close(&self) {
        self.tcp.close();
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        self.tcp.peer_addr().ok()
    }

    fn tls(&self) -> Option<&TlsInfo> {
        Some(&self.info)
    }
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

/// `config` advertising `http/1.1` when it advertises nothing (as Go adds
/// it to an empty `NextProtos`).
pub(crate) fn with_alpn(mut config: ServerConfig) -> ServerConfig {
    if config.alpn_protocols.is_empty() {
        config.alpn_protocols = vec![HTTP11.to_vec()];
    }
    config
}
