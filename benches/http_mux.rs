//! Routing cost: `ServeMux::handler` (the whole lookup a request pays:
//! clean check, tree walk, exactness and redirect checks) on a dozen-route
//! table, beside one `HashMap` lookup of the path, the floor of an
//! exact-path router (the baseline of the same run).
//!
//! `cargo bench --bench http_mux`

use std::collections::HashMap;
use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion};
use gort::http::{Request, ResponseWriter, ServeMux};

const PATTERNS: [&str; 11] = [
    "GET /{$}",
    "GET /hello/{name}",
    "GET /users/{id}",
    "POST /users/{id}",
    "DELETE /users/{id}",
    "GET /users/{id}/posts/{post}",
    "/static/",
    "GET /api/v1/health",
    "GET /api/v1/items/",
    "PUT /api/v1/items/{item}",
    "/files/{path...}",
];

fn hello(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    write!(w, "Hello, {}!", r.path_value("name").unwrap_or("world"))
}

fn get(target: &str) -> Request {
    Request::from(http::Request::get(target).header("host", "example.com").body(()).unwrap())
}

fn bench(c: &mut Criterion) {
    let mut mux = ServeMux::new();
    for p in PATTERNS {
        mux.handle_func(p, hello);
    }
    let exact: HashMap<&str, usize> = PATTERNS.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    let mut g = c.benchmark_group("http_mux");
    let hello_req = get("/hello/gopher");
    g.bench_function("HashMap get of the path (baseline)", |b| {
        b.iter(|| exact.get(black_box(&hello_req).url_path()).copied())
    });
    for target in ["/hello/gopher", "/api/v1/health", "/users/42/posts/7", "/static/css/site.css"] {
        let r = get(target);
        g.bench_function(format!("mux {target}"), |b| {
            b.iter(|| mux.handler(black_box(&r)).map(|(_, p)| p.len()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
