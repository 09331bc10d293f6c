//! `ClientBuilder`: a [`Client`]'s settings (timeouts, pool limits,
//! redirect policy, TLS roots) with Go's `DefaultTransport` defaults,
//! checked once by [`ClientBuilder::build`].

use std::io;
use std::sync::Arc;
use std::time::Duration;

use http::Uri;

use crate::client::{Client, Policy};
use crate::idle_pool::Limits;
use crate::request::Request;
use crate::tls_client::TlsSettings;
use crate::transport::{self, Settings, Transport};

/// Settings for a [`Client`] and its [`Transport`].
///
/// ```
/// use std::time::Duration;
/// let client = gort::http::Client::builder()
///     .timeout(Duration::from_secs(10))
///     .response_header_timeout(Duration::from_secs(2))
///     .max_conns_per_host(16)
///     .build()?;
/// # drop(client);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ClientBuilder {
    limits: Limits,
    settings: Settings,
    policy: Policy,
    tls: TlsSettings,
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            limits: Limits {
                max_idle: 100,
                max_idle_per_host: MAX_IDLE_PER_HOST,
                max_conns_per_host: 0,
                idle_timeout: Some(Duration::from_secs(90)),
                dial_timeout: Some(transport::DIAL_TIMEOUT),
            },
            settings: Settings {
                response_header_timeout: None,
                max_response_header_bytes: transport::MAX_RESPONSE_HEAD,
                disable_keep_alives: false,
                disable_compression: false,
            },
            policy: Policy { timeout: None, check_redirect: None },
            tls: TlsSettings::default(),
        }
    }
}

/// The default `max_idle_conns_per_host`: the pool's whole size. Go's 2
/// means that a program running 50 requests at once against one host keeps
/// 2 connections after each burst and closes 48, which then sit in
/// TIME_WAIT on its side while the next burst dials 48 more: under steady
/// concurrency that churn exhausts ephemeral ports. An idle connection
/// here costs a socket and a few dozen bytes (no goroutine, no buffer), so
/// the only cap that matters is the total, `max_idle_conns` (100), whose
/// least recently used connection goes first when it is full, whatever its
/// host.
pub const MAX_IDLE_PER_HOST: usize = 100;

impl ClientBuilder {
    /// Bounds the whole exchange — dial, request, response head and body,
    /// and every redirect — as Go's `Client.Timeout`. Default: none.
    pub fn timeout(mut self, t: impl Into<Option<Duration>>) -> ClientBuilder {
        self.policy.timeout = t.into();
        self
    }

    /// Gives up a dial after `t` (default 30 s, as Go's `DefaultTransport`).
    pub fn dial_timeout(mut self, t: impl Into<Option<Duration>>) -> ClientBuilder {
        self.limits.dial_timeout = t.into();
        self
    }

    /// Gives up waiting for a response head `t` after the request was
    /// written (default: no limit, as Go).
    pub fn response_header_timeout(mut self, t: impl Into<Option<Duration>>) -> ClientBuilder {
        self.settings.response_header_timeout = t.into();
        self
    }

    /// Closes idle connections unused this long (default 90 s, as Go).
    pub fn idle_conn_timeout(mut self, t: impl Into<Option<Duration>>) -> ClientBuilder {
        self.limits.idle_timeout = t.into();
        self
    }

    /// The most idle connections kept, all hosts together (default 100).
    pub fn max_idle_conns(mut self, n: usize) -> ClientBuilder {
        self.limits.max_idle = n;
        self
    }

    /// The most idle connections kept per host (default
    /// [`MAX_IDLE_PER_HOST`], which says why it is not Go's 2).
    pub fn max_idle_conns_per_host(mut self, n: usize) -> ClientBuilder {
        self.limits.max_idle_per_host = n;
        self
    }

    /// The most connections per host, idle, busy and dialing together; 0
    /// (the default) for no limit. Requests past it wait for a connection
    /// to come free.
    pub fn max_conns_per_host(mut self, n: usize) -> ClientBuilder {
        self.limits.max_conns_per_host = n;
        self
    }

    /// One connection per request, closed after it (`Connection: close`).
    pub fn disable_keep_alives(mut self, off: bool) -> ClientBuilder {
        self.settings.disable_keep_alives = off;
        self
    }

    /// Stops the transport asking for gzip (Go's `DisableCompression`).
    /// By default a request that names no `Accept-Encoding` and no
    /// `Range`, and is not a `HEAD`, says `Accept-Encoding: gzip`, and a
    /// gzipped answer is decompressed as its body is read: its
    /// `Content-Encoding` and `Content-Length` are removed and
    /// [`Response::uncompressed`](crate::Response::uncompressed) is true.
    /// A request that asks for an encoding itself gets the bytes as sent.
    pub fn disable_compression(mut self, off: bool) -> ClientBuilder {
        self.settings.disable_compression = off;
        self
    }

    /// The largest response head accepted (default 10 MiB, as Go).
    pub fn max_response_header_bytes(mut self, n: usize) -> ClientBuilder {
        self.settings.max_response_header_bytes = n;
        self
    }

    /// Called before each redirect is followed with the next request and
    /// the URLs requested so far; an error stops there and is returned
    /// ([`use_last_response`](crate::use_last_response) returns the redirect itself instead). Set,
    /// it replaces the default limit of 10 redirects.
    pub fn check_redirect(
        mut self,
        f: impl Fn(&Request, &[Uri]) -> io::Result<()> + Send + Sync + 'static,
    ) -> ClientBuilder {
        self.policy.check_redirect = Some(Box::new(f));
        self
    }

    /// Trusts the certificates of a PEM bundle (a test CA, a company's
    /// root) for `https://`, besides the bundled Mozilla roots of
    /// `webpki-roots`. Checked by [`build`](Self::build).
    ///
    /// ```no_run
    /// let pem = std::fs::read("ca.pem")?;
    /// let client = gort::http::Client::builder().root_certificates_pem(&pem).build()?;
    /// # drop(client);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> ClientBuilder {
        self.tls.roots_pem.push(pem.to_vec());
        self
    }

    /// **Turns off certificate verification**: any certificate, for any
    /// name, signed by anyone, expired or not, is accepted (Go's
    /// `InsecureSkipVerify`). The handshake's signatures are still
    /// checked, but nothing says who the server is, so anyone on the path
    /// can read and change the traffic. For tests and local tools only.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> ClientBuilder {
        self.tls.accept_invalid_certs = accept;
        self
    }

    /// Uses `config` for every `https://` dial, as it is (its roots, its
    /// verifier, its ALPN); it replaces
    /// [`root_certificates_pem`](Self::root_certificates_pem) and
    /// [`danger_accept_invalid_certs`](Self::danger_accept_invalid_certs).
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> ClientBuilder {
        self.tls.config = Some(config);
        self
    }

    /// The client, with a new transport.
    ///
    /// # Errors
    /// `InvalidInput` for a PEM bundle given to
    /// [`root_certificates_pem`](Self::root_certificates_pem) that holds no
    /// certificate or a bad one.
    pub fn build(self) -> io::Result<Client> {
        let tls = self.tls.config()?;
        Ok(Client::with(Transport::new(self.limits, self.settings, tls), self.policy))
    }
}
