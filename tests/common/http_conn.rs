//! The client side of the loopback server tests: a handler to serve, and a
//! keep-alive connection to send GETs on and read responses from.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use gort::http::{test, Request, ResponseWriter};

/// Routes by path: `/panic` panics, `/fail` errors, `/count` counts the body, `/gib` sends 1 GiB, else hello.
pub fn app(w: &mut ResponseWriter, r: &mut Request) -> std::io::Result<()> {
    match r.url_path() {
        "/panic" => panic!("handler panicked on purpose"),
        "/fail" => Err(std::io::Error::other("handler failed on purpose")),
        "/count" => {
            let n = std::io::copy(r.body(), &mut std::io::sink())?;
            write!(w, "{n}")
        }
        "/gib" => {
            w.headers_mut().insert("content-length", (1u64 << 30).into());
            let chunk = vec![b'g'; 64 << 10];
            for _ in 0..(1 << 30) / chunk.len() {
                w.write_all(&chunk)?;
            }
            Ok(())
        }
        _ => w.write_all(b"Hello, World!"),
    }
}

/// Sends one keep-alive GET on `c` and reads the response: (status line, body).
pub fn get(c: &mut BufReader<TcpStream>, path: &str) -> (String, String) {
    // One write, so the head arrives whole (`write!` on a socket writes each piece).
    c.get_mut().write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).unwrap();
    read_response(c)
}

/// Reads one response off `c`, its body by Content-Length: (status line, body).
pub fn read_response(c: &mut BufReader<TcpStream>) -> (String, String) {
    let mut status = String::new();
    assert!(c.read_line(&mut status).unwrap() > 0, "the server closed the connection before answering");
    let mut len = 0;
    loop {
        let mut line = String::new();
        assert!(c.read_line(&mut line).unwrap() > 0, "the server closed the connection inside the head");
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length: ") {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; len];
    c.read_exact(&mut body).unwrap();
    (status.trim_end().to_owned(), String::from_utf8(body).unwrap())
}

/// A new connection to `srv`, whose reads time out after 20 s.
pub fn connect(srv: &test::Server) -> BufReader<TcpStream> {
    let c = TcpStream::connect(srv.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    BufReader::new(c)
}
