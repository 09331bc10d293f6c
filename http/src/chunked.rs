//! The chunked transfer coding (RFC 9112 §7.1), as a decoder with no I/O:
//! fed the buffered bytes, it says how many framing bytes it consumed and
//! where the next data is, so it can be tested byte by byte and fuzzed
//! without a socket. The encoder side is a pair of helpers.
//!
//! Strict by design: a chunk-size line must end in CRLF, hold 1–16 hex
//! digits and at most a short extension; chunk data must be followed by
//! CRLF; trailer lines are parsed as headers and must end in an empty
//! line. Anything else is an error and the connection closes.

use http::HeaderMap;

/// The longest chunk-size line (digits and extensions) accepted.
const MAX_LINE: usize = 4096;
/// The most trailer bytes accepted.
const MAX_TRAILERS: usize = 64 << 10;

/// What the decoder found at the front of its input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// `n` data bytes start right after the consumed framing; call
    /// [`Decoder::took`] with how many of them were used.
    Data(usize),
    /// The input ends inside framing: read more.
    More,
    /// The last chunk and the trailers are done.
    End,
}

/// The error of a malformed chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadChunk(pub(crate) &'static str);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
    Done,
}

/// See the module doc.
#[derive(Debug)]
pub(crate) struct Decoder {
    state: State,
    trailer_bytes: Vec<u8>,
    trailers: Option<HeaderMap>,
}

impl Decoder {
    pub(crate) fn new() -> Decoder {
        Decoder { state: State::Size, trailer_bytes: Vec::new(), trailers: None }
    }

    /// Consumes framing at the front of `input`; returns how many bytes it
    /// consumed and what follows them.
    pub(crate) fn decode(&mut self, input: &[u8]) -> Result<(usize, Chunk), BadChunk> {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            match self.state {
                State::Done => return Ok((used, Chunk::End)),
                State::Data(left) if !rest.is_empty() => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    return Ok((used, Chunk::Data(n)));
                }
                State::Data(_) => return Ok((used, Chunk::More)),
                State::Size => match line(rest, MAX_LINE)? {
                    Some(n) => {
                        let size = chunk_size(&rest[..n - 2])?;
                        self.state = if size == 0 { State::Trailers } else { State::Data(size) };
                        used += n;
                    }
                    None => return Ok((used, Chunk::More)),
                },
                State::DataEnd => match rest {
                    [b'\r', b'\n', ..] => {
                        self.state = State::Size;
                        used += 2;
                    }
                    [] | [b'\r'] => return Ok((used, Chunk::More)),
                    _ => return Err(BadChunk("chunk data not followed by CRLF")),
                },
                State::Trailers => match line(rest, MAX_TRAILERS)? {
                    Some(n) => {
                        self.trailer_line(&rest[..n])?;
                        used += n;
                    }
                    None => return Ok((used, Chunk::More)),
                },
            }
        }
    }

    /// `n` bytes of the data [`Chunk::Data`] announced were used.
    pub(crate) fn took(&mut self, n: usize) {
        if let State::Data(left) = self.state {
            let left = left - n as u64;
            self.state = if left == 0 { State::DataEnd } else { State::Data(left) };
        }
    }

    /// The trailers, once [`Chunk::End`] was seen (empty when there were
    /// none).
    pub(crate) fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }

    fn trailer_line(&mut self, l: &[u8]) -> Result<(), BadChunk> {
        self.trailer_bytes.extend_from_slice(l);
        if self.trailer_bytes.len() > MAX_TRAILERS {
            return Err(BadChunk("trailers too large"));
        }
        if l != b"\r\n" {
            return Ok(());
        }
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let parsed = httparse::parse_headers(&self.trailer_bytes, &mut slots);
        let Ok(httparse::Status::Complete((_, fields))) = parsed else {
            return Err(BadChunk("malformed trailers"));
        };
        let mut map = HeaderMap::new();
        for f in fields {
            let name =
                http::HeaderName::from_bytes(f.name.as_bytes()).map_err(|_| BadChunk("bad trailer name"))?;
            let value = http::HeaderValue::from_bytes(f.value).map_err(|_| BadChunk("bad trailer value"))?;
            map.append(name, value);
        }
        self.trailers = Some(map);
        self.trailer_bytes = Vec::new();
        self.state = State::Done;
        Ok(())
    }
}

/// The length of the CRLF-terminated line at the front of `b`, CRLF
/// included; `None` when it is not complete yet.
fn line(b: &[u8], max: usize) -> Result<Option<usize>, BadChunk> {
    match memchr::memchr(b'\n', b) {
        Some(i) if i > 0 && b[i - 1] == b'\r' => Ok(Some(i + 1)),
        Some(_) => Err(BadChunk("line not ended by CRLF")),
        None if b.len() > max => Err(BadChunk("chunk line too long")),
        None => Ok(None),
    }
}

/// `1*HEXDIG [ chunk-ext ]`, the extension ignored but checked for bytes
/// that have no place in it.
fn chunk_size(l: &[u8]) -> Result<u64, BadChunk> {
    let digits = l.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(BadChunk("bad chunk size"));
    }
    let ext = &l[digits..];
    let ext_ok = ext.is_empty() || (matches!(ext.trim_ascii_start().first(), Some(b';')));
    if !ext_ok || ext.iter().any(|&b| b.is_ascii_control() && b != b'\t') {
        return Err(BadChunk("bad chunk extension"));
    }
    let hex = std::str::from_utf8(&l[..digits]).map_err(|_| BadChunk("bad chunk size"))?;
    u64::from_str_radix(hex, 16).map_err(|_| BadChunk("bad chunk size"))
}

/// The longest size line: 16 hex digits (a 64-bit size) and CRLF.
pub(crate) const SIZE_LINE: usize = 18;

/// Writes the size line of a chunk of `n` bytes into `out`, returning the
/// bytes used (at most [`SIZE_LINE`]).
pub(crate) fn size_line(n: usize, out: &mut [u8; SIZE_LINE]) -> usize {
    let digits = ((usize::BITS - n.leading_zeros()).div_ceil(4) as usize).max(1);
    for i in 0..digits {
        out[digits - 1 - i] = b"0123456789abcdef"[(n >> (4 * i)) & 15];
    }
    out[digits..digits + 2].copy_from_slice(b"\r\n");
    digits + 2
}

/// The last chunk with no trailers.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes; the data or the error.
    fn decode_in_steps(input: &[u8], step: usize) -> Result<Vec<u8>, BadChunk> {
        let (mut d, mut buf, mut out, mut fed) = (Decoder::new(), Vec::new(), Vec::new(), 0);
        loop {
            let (used, c) = d.decode(&buf)?;
            buf.drain(..used);
            match c {
                Chunk::Data(n) => {
                    out.extend_from_slice(&buf[..n]);
                    buf.drain(..n);
                    d.took(n);
                }
                Chunk::End => return Ok(out),
                Chunk::More if fed >= input.len() => return Err(BadChunk("truncated")),
                Chunk::More => {
                    let end = (fed + step).min(input.len());
                    buf.extend_from_slice(&input[fed..end]);
                    fed = end;
                }
            }
        }
    }

    #[test]
    fn decodes_whole_and_byte_by_byte() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Sum: 9\r\n\r\n";
        for step in [1, 2, 3, 7, body.len()] {
            assert_eq!(decode_in_steps(body, step).unwrap(), b"hello, world", "step {step}");
        }
    }

    #[test]
    fn keeps_trailers() {
        let mut d = Decoder::new();
        let input = b"0\r\nExpires: never\r\nX-A: 1\r\n\r\n";
        assert_eq!(d.decode(input).unwrap(), (input.len(), Chunk::End));
        let t = d.trailers().unwrap();
        assert_eq!(t["expires"], "never");
        assert_eq!(t["x-a"], "1");
    }

    #[test]
    fn rejects_bad_framing() {
        for bad in [
            &b"zz\r\nhello\r\n0\r\n\r\n"[..],
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"11111111111111111\r\n",
            b"5 junk\r\nhello\r\n0\r\n\r\n",
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"0\r\nbad trailer\r\n\r\n",
        ] {
            assert!(decode_in_steps(bad, 1).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(decode_in_steps(b"5\r\nhel", 4), Err(BadChunk("truncated")));
    }

    #[test]
    fn size_lines() {
        let mut b = [0; 18];
        let n = size_line(0x1a2b, &mut b);
        assert_eq!(&b[..n], b"1a2b\r\n");
    }
}
