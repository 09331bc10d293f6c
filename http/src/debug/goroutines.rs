//! `/debug/gort/goroutines`: the goroutine dump as text, and the
//! `?reason=` filter over it.
//!
//! The dump is a sequence of blocks, each opened by a header line
//! `goroutine <id> ["<name>"] [<state>…]:` and followed by its indented
//! lines (and a blank separator). [`ReasonFilter`] sits between the dump and
//! the response: it passes a block through when the text inside the
//! header's last `[...]` contains the reason, and drops it otherwise. Lines
//! before the first header are kept.
//!
//! # Invariants
//! - The filter sees the dump line by line: it holds at most one partial
//!   line, never a whole dump, so a dump of 100,000 goroutines streams to
//!   the client as it is written.
//! - The state is the header's *last* bracket group: a name may contain
//!   brackets, a state never does.

use std::io::{self, Write};

use http::header::{HeaderValue, CONTENT_TYPE};

use crate::request::Request;
use crate::response::ResponseWriter;

/// Writes the dump to `w`, keeping only the blocks whose state contains the
/// request's `reason` query parameter when it has one.
pub(super) fn serve(w: &mut ResponseWriter, r: &Request) -> io::Result<()> {
    let reason = r.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "reason").map(|(_, v)| v.into_owned())
    });
    w.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    match reason {
        None => gort_runtime::dump(w),
        Some(reason) => {
            let mut f = ReasonFilter::new(w, reason);
            gort_runtime::dump(&mut f)?;
            f.finish().map(drop)
        }
    }
}

/// A `Write` adapter over a goroutine dump that passes on only the blocks
/// whose state contains `reason` (see the module doc).
pub(super) struct ReasonFilter<W: Write> {
    out: W,
    reason: String,
    /// The line being written, up to and including its `\n`.
    line: Vec<u8>,
    /// Whether the current block goes out.
    keep: bool,
}

impl<W: Write> ReasonFilter<W> {
    pub(super) fn new(out: W, reason: String) -> Self {
        ReasonFilter { out, reason, line: Vec::new(), keep: true }
    }

    /// Writes out a last line that had no `\n`, and returns the writer.
    pub(super) fn finish(mut self) -> io::Result<W> {
        if !self.line.is_empty() {
            self.end_line()?;
        }
        Ok(self.out)
    }

    fn end_line(&mut self) -> io::Result<()> {
        if let Some(state) = header_state(&self.line) {
            self.keep = memchr::memmem::find(state, self.reason.as_bytes()).is_some();
        }
        if self.keep {
            self.out.write_all(&self.line)?;
        }
        self.line.clear();
        Ok(())
    }
}

impl<W: Write> Write for ReasonFilter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.line.extend_from_slice(&rest[..=i]);
            self.end_line()?;
            rest = &rest[i + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The state of a block's header line (`goroutine 7 "x" [chan receive, 2 s]:`
/// gives `chan receive, 2 s`), or `None` for any other line.
fn header_state(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = line.strip_prefix(b"goroutine ")?;
    let id_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if id_len == 0 || rest.get(id_len) != Some(&b' ') {
        return None;
    }
    let inner = rest.strip_suffix(b"]:")?;
    let open = memchr::memrchr(b'[', inner)?;
    Some(&inner[open + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "\
goroutine 1 \"main\" [chan receive, 3 s]:
  spawned at src/main.rs:10:5

goroutine 7 [running on M2 P0]:
  spawned at src/lib.rs:3:1

goroutine 12 \"conn [::1]:80\" [IO wait read fd 12, 1 s]:
  spawned at http/src/server.rs:389:9

goroutine 13 \"w\" [chan receive]:
  spawned at src/w.rs:1:1
";

    fn filter(dump: &str, reason: &str, chunk: usize) -> String {
        let mut f = ReasonFilter::new(Vec::new(), reason.to_owned());
        for piece in dump.as_bytes().chunks(chunk) {
            f.write_all(piece).unwrap();
        }
        String::from_utf8(f.finish().unwrap()).unwrap()
    }

    #[test]
    fn keeps_the_blocks_whose_state_has_the_reason() {
        let want = "\
goroutine 1 \"main\" [chan receive, 3 s]:
  spawned at src/main.rs:10:5

goroutine 13 \"w\" [chan receive]:
  spawned at src/w.rs:1:1
";
        for chunk in [1, 7, DUMP.len()] {
            assert_eq!(filter(DUMP, "chan receive", chunk), want, "chunk {chunk}");
        }
    }

    #[test]
    fn reads_the_state_past_brackets_in_the_name() {
        let out = filter(DUMP, "IO wait read fd 12", 5);
        assert!(out.starts_with("goroutine 12 \"conn [::1]:80\""), "{out}");
        assert_eq!(out.lines().filter(|l| l.starts_with("goroutine ")).count(), 1, "{out}");
        assert_eq!(filter(DUMP, "::1", 5), "", "the name is not the state");
    }

    #[test]
    fn keeps_text_before_the_first_block_and_a_last_line_without_newline() {
        let dump = "3 goroutines\ngoroutine 4 [sleep]:\n  spawned at a.rs:1:1";
        assert_eq!(filter(dump, "sleep", 4), dump);
        assert_eq!(filter(dump, "mutex", 4), "3 goroutines\n");
    }

    #[test]
    fn header_state_needs_the_whole_header_shape() {
        assert_eq!(header_state(b"goroutine 3 [select]:\n"), Some(&b"select"[..]));
        assert_eq!(header_state(b"goroutine 3 [select]:\r\n"), Some(&b"select"[..]));
        assert_eq!(header_state(b"  goroutine 3 [select]:\n"), None);
        assert_eq!(header_state(b"goroutine x [select]:\n"), None);
        assert_eq!(header_state(b"goroutine 3 [select]\n"), None);
        assert_eq!(header_state(b"goroutine 3 select:\n"), None);
    }
}
