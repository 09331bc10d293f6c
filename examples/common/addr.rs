//! `--addr HOST:PORT`, shared by the example servers: resolved while the
//! command line is parsed, so a malformed address or a name that does not
//! resolve is a usage error (exit status 2) like any other bad value, and
//! only a failure to listen is the server's own error.

use std::fmt;
use std::net::SocketAddr;

/// An address from the command line, as written and as resolved.
#[derive(Clone, Debug)]
pub struct Addr {
    text: String,
    resolved: Vec<SocketAddr>,
}

impl Addr {
    /// clap's value parser for `--addr`.
    pub fn parse(s: &str) -> Result<Addr, String> {
        let resolved: Vec<_> = gort::net::lookup_host(s).map_err(|e| e.to_string())?.collect();
        if resolved.is_empty() {
            return Err(format!("{s} resolves to no address"));
        }
        Ok(Addr { text: s.to_owned(), resolved })
    }

    /// What it resolved to, for `bind`.
    pub fn resolved(&self) -> &[SocketAddr] {
        &self.resolved
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
