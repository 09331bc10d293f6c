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
//! | `test.rs` | Go's `httptest`: a loopback server, raw in-memory exchanges |
#![forbid(unsafe_code)]

mod body;
mod buf;
mod chunked;
mod conn;
mod date;
mod handler;
mod mux;
mod parse;
mod reply;
mod request;
mod response;
mod server;
mod sniff;
mod stream;
pub mod test;
mod transfer;
mod wire;

pub use body::Body;
pub use conn::serve_conn;
pub use handler::{max_bytes, strip_prefix, Handler};
pub use mux::{PatternError, ServeMux};
pub use parse::Reject;
pub use reply::{error, not_found, redirect};
pub use request::Request;
pub use response::ResponseWriter;
pub use server::{Config, ConnState, Server};
pub use stream::Conn;

pub use http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};
