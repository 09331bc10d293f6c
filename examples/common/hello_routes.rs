//! The routes `hello` and `thread_per_conn_http` both serve, written once
//! against gort::http, so the two examples differ only in how connections
//! get a thread of control: goroutines or OS threads.

use std::io::Write;

use gort::http::{Request, ResponseWriter, ServeMux};

/// `GET /{$}` → `Hello, World!`; `GET /hello/{name}` → `Hello, {name}!`;
/// everything else is the mux's 404 (or 405 for another method).
pub fn mux() -> ServeMux {
    let mut mux = ServeMux::new();
    mux.handle_func("GET /{$}", |w: &mut ResponseWriter, _: &mut Request| w.write_all(b"Hello, World!"));
    mux.handle_func("GET /hello/{name}", |w: &mut ResponseWriter, r: &mut Request| {
        write!(w, "Hello, {}!", r.path_value("name").unwrap_or("world"))
    });
    mux
}
