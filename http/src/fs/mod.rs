//! Go's file server: [`file_server`] (`http.FileServer(http.Dir(root))`)
//! serves the files under a directory, and [`serve_file`]
//! (`http.ServeFile`) one file or directory by name.
//!
//! # What a request gets, in order (Go's `serveFile`)
//! 1. A path ending in `/index.html` is redirected to its directory (`./`).
//! 2. The decoded, cleaned path names a file under the root: `..` cannot
//!    climb out, since cleaning a rooted path removes every `..`. (For
//!    `serve_file`, a request path holding a `..` element is refused with
//!    400 before anything is opened, as in Go.)
//! 3. A directory without a trailing `/` is redirected to one, and a file
//!    with one to its name without (301, relative `Location`s as Go's).
//! 4. A directory serves its `index.html`, else a listing: each entry a
//!    link, sorted by name, names HTML-escaped and links percent-encoded.
//! 5. A file is served by `content.rs`: dates, conditionals, a range,
//!    its type, its bytes.
//!
//! Not found is 404, permission denied 403, anything else 500, with Go's
//! texts. Files are opened and read through `gort::blocking`.

mod content;

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use http::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use http::StatusCode;

use crate::handler::Handler;
use crate::mux::path::{clean, unescape};
use crate::request::Request;
use crate::response::ResponseWriter;

/// The file a directory serves in place of its listing.
const INDEX: &str = "index.html";

/// Serves the files under a directory (Go's `http.FileServer(http.Dir(root))`);
/// see the module doc. Mount it under a prefix with
/// [`strip_prefix`](crate::strip_prefix):
///
/// ```no_run
/// use gort::http::{file_server, strip_prefix, ServeMux, Server};
/// let mut mux = ServeMux::new();
/// mux.handle("/static/", strip_prefix("/static", file_server("./public")));
/// Server::new(mux).listen_and_serve("127.0.0.1:8080")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn file_server(root: impl Into<PathBuf>) -> FileServer {
    FileServer { root: root.into() }
}

/// The handler [`file_server`] returns.
#[derive(Debug, Clone)]
pub struct FileServer {
    root: PathBuf,
}

impl Handler for FileServer {
    fn serve_http(&self, w: &mut ResponseWriter, r: &mut Request) -> io::Result<()> {
        let decoded = unescape(r.url_path()).into_owned();
        let rooted = if decoded.starts_with('/') { decoded } else { format!("/{decoded}") };
        // The mux's clean keeps a trailing slash; a file's name has none.
        let name = self.root.join(clean(&rooted).trim_matches('/'));
        serve(w, r, &name, true)
    }
}

/// Serves the file or directory `name` (Go's `http.ServeFile`), as a
/// [`file_server`] would. Since `name` is often built from the request's
/// path, a path with a `..` element, or an encoded slash or backslash
/// (`%2F`, `%5C`, which a decoded `path_value` would turn into an
/// absolute path), is refused with 400. Build `name` from a relative
/// rest: `Path::join` of an absolute path replaces the base.
///
/// # Errors
/// A write to the client that failed.
pub fn serve_file(w: &mut ResponseWriter, r: &mut Request, name: impl AsRef<Path>) -> io::Result<()> {
    let raw = r.url_path();
    let encoded_slash = ["%2f", "%5c"].iter().any(|e| raw.to_ascii_lowercase().contains(e));
    if encoded_slash || unescape(raw).split(['/', '\\']).any(|e| e == "..") {
        return crate::reply::error(w, "invalid URL path", StatusCode::BAD_REQUEST);
    }
    serve(w, r, name.as_ref(), false)
}

/// Steps 1, 3, 4 and 5 of the module doc for the file at `name`;
/// `redirect_index` is step 1 (Go's `redirect` flag: the file server's).
fn serve(w: &mut ResponseWriter, r: &mut Request, name: &Path, redirect_index: bool) -> io::Result<()> {
    let url = r.url_path().to_owned();
    if redirect_index && url.strip_suffix(INDEX).is_some_and(|p| p.ends_with('/')) {
        return local_redirect(w, r, "./");
    }
    let (f, meta) = match open(name) {
        Ok(x) => x,
        Err(e) => return http_error(w, &e),
    };
    if meta.is_dir() {
        if !url.ends_with('/') {
            let base = url.rsplit('/').next().unwrap_or_default();
            return local_redirect(w, r, &format!("{base}/"));
        }
        let index = name.join(INDEX);
        if let Ok((f, meta)) = open(&index).and_then(ok_file) {
            return content::serve(w, r, &index, f, meta.len(), meta.modified().ok());
        }
        return list(w, name);
    }
    if url.ends_with('/') && url != "/" {
        let base = url.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        return local_redirect(w, r, &format!("../{base}"));
    }
    content::serve(w, r, name, f, meta.len(), meta.modified().ok())
}

fn open(name: &Path) -> io::Result<(File, fs::Metadata)> {
    gort_runtime::blocking(|| {
        let f = File::open(name)?;
        let meta = f.metadata()?;
        Ok((f, meta))
    })
}

/// An index that is a directory is not one.
fn ok_file(x: (File, fs::Metadata)) -> io::Result<(File, fs::Metadata)> {
    match x.1.is_dir() {
        true => Err(io::ErrorKind::NotFound.into()),
        false => Ok(x),
    }
}

/// Go's `toHTTPError`.
fn http_error(w: &mut ResponseWriter, e: &io::Error) -> io::Result<()> {
    let (msg, status) = match e.kind() {
        // A name no file can have (a NUL) is not found, as in Go.
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::InvalidInput => {
            ("404 page not found", StatusCode::NOT_FOUND)
        }
        io::ErrorKind::PermissionDenied => ("403 Forbidden", StatusCode::FORBIDDEN),
        _ => ("500 Internal Server Error", StatusCode::INTERNAL_SERVER_ERROR),
    };
    crate::reply::error(w, msg, status)
}

/// Go's `localRedirect`: a 301 to `to`, relative, the query kept.
fn local_redirect(w: &mut ResponseWriter, r: &Request, to: &str) -> io::Result<()> {
    let loc = match r.query() {
        Some(q) => format!("{to}?{q}"),
        None => to.to_owned(),
    };
    let loc = HeaderValue::try_from(loc).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    w.headers_mut().insert(LOCATION, loc);
    w.write_header(StatusCode::MOVED_PERMANENTLY);
    Ok(())
}

/// Go's `dirList`: the entries of the directory `name`, sorted, as links.
fn list(w: &mut ResponseWriter, name: &Path) -> io::Result<()> {
    let entries = gort_runtime::blocking(|| -> io::Result<Vec<(String, bool)>> {
        let mut v = Vec::new();
        for e in fs::read_dir(name)? {
            let e = e?;
            let dir = e.file_type().is_ok_and(|t| t.is_dir());
            v.push((e.file_name().to_string_lossy().into_owned(), dir));
        }
        v.sort();
        Ok(v)
    });
    let Ok(entries) = entries else {
        return crate::reply::error(w, "Error reading directory", StatusCode::INTERNAL_SERVER_ERROR);
    };
    let mut page =
        String::from("<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n");
    for (entry, dir) in entries {
        let slash = if dir { "/" } else { "" };
        let href = percent_encoding::utf8_percent_encode(&entry, PATH_SEGMENT);
        let _ = writeln!(page, "<a href=\"{href}{slash}\">{}{slash}</a>", escape_html(&entry));
    }
    page.push_str("</pre>\n");
    w.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    w.write_all(page.as_bytes())
}

/// What a path segment of a link escapes: controls, space, and the
/// characters that would end or change it.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b':');

/// Go's `htmlReplacer`.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
