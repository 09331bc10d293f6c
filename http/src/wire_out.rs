//! How the client puts a request on the wire: the request line, the
//! caller's headers with `Host`, `User-Agent` and the framing header the
//! transfer rules chose, then the body — exactly `Content-Length` bytes,
//! or chunks cut at the write buffer's size, each size line written in
//! front of its data once the data's length is known (no second copy
//! elsewhere). Writes go through one pooled `WriteBuf`, so a small request
//! leaves in one `send`.

use std::io::{self, Read};

use http::header::{HeaderMap, CONTENT_LENGTH, HOST, TRANSFER_ENCODING, USER_AGENT};
use http::Method;

use crate::body::Body;
use crate::buf::WriteBuf;
use crate::chunked;
use crate::persist_conn::Exchange;
use crate::stream::Conn;
use crate::transfer::{self, Framing};

/// The request line and headers: the caller's headers, then `Host` and
/// `User-Agent` unless given, the framing header, `Accept-Encoding: gzip`
/// when the transport asks for it, and `Connection: close` when
/// keep-alives are off.
pub(crate) fn write_head(w: &mut WriteBuf, conn: &dyn Conn, x: &Exchange<'_>) -> io::Result<()> {
    let h = x.head;
    let authority = h.uri.authority().map_or("", |a| a.as_str());
    let host = authority.rsplit('@').next().unwrap_or(authority);
    // A CONNECT names only its host and port (RFC 9110 §9.3.6), as Go's
    // does for a URL with no path: an `http::Uri` reads no path as "/".
    let target = match h.method == Method::CONNECT {
        true => host,
        false => h.uri.path_and_query().map_or("/", |p| p.as_str()),
    };
    for part in [h.method.as_str(), " ", target, " HTTP/1.1\r\n"] {
        put(w, conn, part.as_bytes())?;
    }
    if !h.headers.contains_key(HOST) {
        put_header(w, conn, "host", host.as_bytes())?;
    }
    if !h.headers.contains_key(USER_AGENT) {
        put_header(w, conn, "user-agent", b"gort-http")?;
    }
    put_headers(w, conn, &h.headers)?;
    match x.framing {
        Framing::Length(len) => {
            put_header(w, conn, "content-length", itoa::Buffer::new().format(len).as_bytes())?
        }
        Framing::Chunked => put_header(w, conn, "transfer-encoding", b"chunked")?,
        Framing::Empty | Framing::Close => {}
    }
    if x.gzip {
        put_header(w, conn, "accept-encoding", b"gzip")?;
    }
    if !x.keep_alive && !transfer::has_token(&h.headers, "close") {
        put_header(w, conn, "connection", b"close")?;
    }
    put(w, conn, b"\r\n")
}

/// The caller's headers, less the framing ones this side writes itself.
fn put_headers(w: &mut WriteBuf, conn: &dyn Conn, headers: &HeaderMap) -> io::Result<()> {
    for (name, value) in headers {
        if name != CONTENT_LENGTH && name != TRANSFER_ENCODING {
            put_header(w, conn, name.as_str(), value.as_bytes())?;
        }
    }
    Ok(())
}

fn put_header(w: &mut WriteBuf, conn: &dyn Conn, name: &str, value: &[u8]) -> io::Result<()> {
    put(w, conn, name.as_bytes())?;
    put(w, conn, b": ")?;
    put(w, conn, value)?;
    put(w, conn, b"\r\n")
}

/// Appends `b` to the buffer, flushing it when full; a large `b` goes
/// straight to the connection.
fn put(w: &mut WriteBuf, conn: &dyn Conn, mut b: &[u8]) -> io::Result<()> {
    while !b.is_empty() {
        if w.len() == 0 && b.len() >= w.capacity() {
            return conn.write_all(b);
        }
        if w.room() == 0 {
            w.flush_to(conn)?;
        }
        let n = b.len().min(w.room());
        w.push(&b[..n]);
        b = &b[n..];
    }
    Ok(())
}

/// The body, framed: exactly `n` bytes for `Length(n)`, chunks cut at the
/// buffer's size for `Chunked`.
pub(crate) fn write_body(
    w: &mut WriteBuf,
    conn: &dyn Conn,
    body: &mut Body,
    framing: Framing,
) -> io::Result<()> {
    match framing {
        Framing::Empty | Framing::Close => Ok(()),
        Framing::Length(n) => write_length(w, conn, body, n),
        Framing::Chunked => {
            while write_chunk(w, conn, body)? {}
            put(w, conn, chunked::LAST_CHUNK)
        }
    }
}

fn write_length(w: &mut WriteBuf, conn: &dyn Conn, body: &mut Body, mut left: u64) -> io::Result<()> {
    while left > 0 {
        if w.room() == 0 {
            w.flush_to(conn)?;
        }
        let spare = w.spare();
        let want = spare.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let k = body.read(&mut spare[..want])?;
        if k == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "request body shorter than its Content-Length",
            ));
        }
        w.grow_len(k);
        left -= k as u64;
    }
    Ok(())
}

/// Reads one chunk's worth of the body into the buffer behind room for
/// its size line, then writes the size line in front of it. False at the
/// body's end.
fn write_chunk(w: &mut WriteBuf, conn: &dyn Conn, body: &mut Body) -> io::Result<bool> {
    if w.room() < chunked::SIZE_LINE + 2 + 512 {
        w.flush_to(conn)?;
    }
    let spare = w.spare();
    let room = spare.len() - chunked::SIZE_LINE - 2;
    let k = body.read(&mut spare[chunked::SIZE_LINE..chunked::SIZE_LINE + room])?;
    if k == 0 {
        return Ok(false);
    }
    let mut line = [0u8; chunked::SIZE_LINE];
    let l = chunked::size_line(k, &mut line);
    spare.copy_within(chunked::SIZE_LINE..chunked::SIZE_LINE + k, l);
    spare[..l].copy_from_slice(&line[..l]);
    spare[l + k..l + k + 2].copy_from_slice(b"\r\n");
    w.grow_len(l + k + 2);
    Ok(true)
}
