//! gort-http: Go's net/http on goroutines, with the Rust HTTP ecosystem's
//! types. Use it as `gort::http`.
//!
//! A [`Server`] runs one goroutine per connection, each running
//! [`serve_conn`]: plain blocking code that reads a request, calls the
//! [`Handler`], writes the response and goes again. Requests and responses
//! are the `http` crate's `Method`, `StatusCode`, `Uri`, `HeaderMap`…,
//! re-exported here, and [`Request`] converts to and from
//! `http::Request<B>`.
//!
//! A [`Client`] sends requests over a [`Transport`]'s pool of keep-alive
//! connections (Go's `persistConn`s, without their two goroutines each:
//! the requesting goroutine writes and reads its own exchange, and an idle
//! connection holds no goroutine and no buffer). Both sides speak TLS over
//! rustls (ring): [`Server::serve_tls`], and `https://` URLs on the client,
//! verified against the bundled Mozilla roots or roots of one's own
//! ([`ClientBuilder::root_certificates_pem`]).
//!
//! # Layout
//!
//! | file | what |
//! |---|---|
//! | `server.rs` | `Server`: accept loop, settings, shutdown |
//! | `conn.rs` | one connection's read → serve → finish loop |
//! | `parse.rs` | request heads, strictly (`httparse`) |
//! | `transfer.rs` | every body-framing decision |
//! | `chunked.rs` | the chunked coding, no I/O |
//! | `body.rs` | `Body`: the request body as `Read` |
//! | `request.rs`, `response.rs` | `Request`, `ResponseWriter` |
//! | `handler.rs`, `reply.rs` | `Handler`, middleware, `error`/`redirect` |
//! | `mux/` | `ServeMux`: Go 1.22 patterns, precedence, conflicts, routing |
//! | `buf.rs`, `wire.rs`, `stream.rs` | buffers, shared connection state, `Conn` |
//! | `date.rs`, `sniff.rs` | the `Date` header, content-type sniffing |
//! | `debug/` | `debug::handler()`: the live `/debug/gort/` page, stats, history, goroutine dump |
//! | `tls_stream.rs` | `TlsStream`: a rustls session as a `Conn`, both sides |
//! | `tls.rs`, `tls_client.rs` | the server's handshake and PEM loading; the client's config, verification errors, handshake |
//! | `test.rs` | Go's `httptest`: a loopback server, raw in-memory exchanges |
//! | `client.rs`, `client_builder.rs`, `redirect.rs` | `Client`, `Response`; its settings; redirects |
//! | `transport.rs` | `Transport`: a round trip, dialing, retry |
//! | `client_conn.rs`, `persist_conn.rs`, `idle_pool.rs` | what the client dials (plain or TLS); one client connection; the pool |
//! | `request_builder.rs`, `response_head.rs`, `wire_out.rs` | `Request::builder()`; response heads; writing a request |
//! | `upgrade.rs` | `Upgraded`: a connection a 101 or a `CONNECT` tunnel handed over |
//! | `gunzip.rs` | the client's transparent gzip: asking for it, decoding it |
//! | `fs/` | `file_server`, `serve_file`: Go's file server (ranges, conditionals, listings) |
//! | `form.rs`, `auth.rs`, `cookies.rs` | form values (`ParseForm`, `FormValue`); Basic authentication and cookies, both sides |
#![forbid(unsafe_code)]

mod auth;
mod body;
mod buf;
mod chunked;
mod client;
mod client_builder;
mod client_conn;
mod conn;
mod cookies;
mod date;
pub mod debug;
mod form;
mod fs;
mod gunzip;
mod handler;
mod head_out;
mod header_pool;
mod idle_pool;
mod mux;
mod parse;
mod persist_conn;
mod recover;
mod redirect;
mod reply;
mod request;
mod request_builder;
mod response;
mod response_head;
mod server;
mod sniff;
mod stream;
pub mod test;
mod tls;
mod tls_client;
mod tls_stream;
mod transfer;
mod transport;
mod upgrade;
mod wire;
mod wire_out;

pub use body::Body;
pub use client::{use_last_response, Client, Response};
pub use client_builder::{ClientBuilder, MAX_IDLE_PER_HOST};
pub use conn::serve_conn;
pub use cookies::set_cookie;
pub use fs::{file_server, serve_file, FileServer};
pub use handler::{max_bytes, strip_prefix, Handler};
pub use mux::{PatternError, ServeMux};
pub use parse::Reject;
pub use reply::{error, not_found, redirect};
pub use request::Request;
pub use request_builder::RequestBuilder;
pub use response::ResponseWriter;
pub use server::{Config, ConnState, Server};
pub use stream::Conn;
pub use tls::{server_config_from_pem, TlsInfo};
pub use transport::Transport;
pub use upgrade::Upgraded;

pub use cookie::{self, Cookie, SameSite};
pub use http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};
pub use rustls;
