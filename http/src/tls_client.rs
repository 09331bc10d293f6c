//! The client side of TLS: the `ClientConfig` a [`ClientBuilder`] makes
//! (the bundled Mozilla roots of `webpki-roots`, roots of one's own, or no
//! certificate checks at all behind a clearly named method), the session
//! for one host (SNI and hostname verification are rustls's and webpki's),
//! and the handshake with errors that say which host and why.
//!
//! [`ClientBuilder`]: crate::ClientBuilder

use std::io;
use std::sync::Arc;

use gort_runtime::context::{self, Context};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{self, CryptoProvider};
use rustls::{CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::tls::HTTP11;
use crate::tls_stream::{TlsError, TlsStream};

/// What the builder was told about TLS.
#[derive(Default)]
pub(crate) struct TlsSettings {
    /// PEM bundles whose certificates are trusted besides the bundled roots.
    pub(crate) roots_pem: Vec<Vec<u8>>,
    pub(crate) accept_invalid_certs: bool,
    /// A config of the caller's own, used as it is.
    pub(crate) config: Option<Arc<ClientConfig>>,
}

impl TlsSettings {
    /// The config every `https://` dial of the client uses.
    ///
    /// # Errors
    /// `InvalidInput` for a PEM bundle with no certificate or a bad one.
    pub(crate) fn config(&self) -> io::Result<Arc<ClientConfig>> {
        if let Some(c) = &self.config {
            return Ok(Arc::clone(c));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?;
        let mut config = match self.accept_invalid_certs {
            true => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
                .with_no_client_auth(),
            false => builder.with_root_certificates(self.roots()?).with_no_client_auth(),
        };
        config.alpn_protocols = vec![HTTP11.to_vec()];
        Ok(Arc::new(config))
    }

    fn roots(&self) -> io::Result<RootCertStore> {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        for pem in &self.roots_pem {
            let bad = |why: &dyn std::fmt::Display| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("tls: root_certificates_pem: {why}"))
            };
            let certs =
                CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().map_err(|e| bad(&e))?;
            if certs.is_empty() {
                return Err(bad(&"no CERTIFICATE block"));
            }
            for c in certs {
                roots.add(c).map_err(|e| bad(&e))?;
            }
        }
        Ok(roots)
    }
}

/// A session for `host` (a name or an IP literal, brackets and all): the
/// SNI it sends and the name its certificate must be valid for.
///
/// # Errors
/// `InvalidInput` for a host rustls cannot take as a server name.
pub(crate) fn session(config: &Arc<ClientConfig>, host: &str) -> io::Result<ClientConnection> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let name = ServerName::try_from(bare.to_owned()).map_err(|e| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("tls: {host:?} is not a valid server name: {e}"))
    })?;
    ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)
}

/// Runs the client side of the handshake; a failure of rustls's names
/// `host` and says why.
///
/// # Errors
/// `InvalidData` for a certificate the config does not accept or a peer
/// that does not speak TLS; `UnexpectedEof` when it closes.
pub(crate) fn handshake(s: &TlsStream<ClientConnection>, host: &str) -> io::Result<()> {
    s.handshake(|_| Some(host.to_owned())).map_err(|e| match e.get_ref().and_then(|e| e.downcast_ref()) {
        Some(TlsError(r)) => io::Error::new(io::ErrorKind::InvalidData, why(host, r)),
        None if e.kind() == io::ErrorKind::UnexpectedEof => {
            io::Error::new(e.kind(), format!("tls: {host} closed the connection during the handshake"))
        }
        None => e,
    })
}

/// The error of a handshake cut because `ctx` ended: a named timeout past
/// its deadline, else the context's error.
pub(crate) fn ended(ctx: &Context, addr: &str) -> io::Error {
    match ctx.err() {
        Some(context::Error::DeadlineExceeded) => {
            io::Error::new(io::ErrorKind::TimedOut, format!("tls: handshake with {addr}: timed out"))
        }
        Some(e) => e.into(),
        None => {
            io::Error::new(io::ErrorKind::ConnectionAborted, format!("tls: handshake with {addr}: closed"))
        }
    }
}

/// A handshake failure in words, naming the host (Go's x509 wording where
/// it has one, rustls's detail after it).
fn why(host: &str, e: &rustls::Error) -> String {
    let rustls::Error::InvalidCertificate(c) = e else {
        return format!("tls: handshake with {host}: {e}");
    };
    let what = match c {
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("certificate is not valid for {host}")
        }
        CertificateError::UnknownIssuer => "certificate signed by unknown authority".to_owned(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "certificate has expired".to_owned()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "certificate is not valid yet".to_owned()
        }
        _ => "certificate rejected".to_owned(),
    };
    format!("tls: {host}: {what} ({e})")
}

/// Accepts any certificate chain, for
/// [`ClientBuilder::danger_accept_invalid_certs`](crate::ClientBuilder::danger_accept_invalid_certs):
/// the handshake's signatures are still checked against the certificate
/// presented, so the peer holds its key, but nothing says who it is.
#[derive(Debug)]
struct AnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
