//! Go's `DetectContentType`, cut to what a server meets most: a response
//! with no `Content-Type` gets one guessed from its first bytes (HTML,
//! XML, PDF, the common images, else plain text when the bytes look like
//! text, else `application/octet-stream`).

use http::HeaderValue;

/// At most this many leading bytes are looked at, as in Go.
const SNIFF_LEN: usize = 512;

/// Plain text, the type of most small bodies and of the server's own
/// error texts.
pub(crate) const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");

/// The content type `data` most likely has. The values are constants, so
/// a response pays no header validation for them.
pub(crate) fn content_type(data: &[u8]) -> HeaderValue {
    let data = &data[..data.len().min(SNIFF_LEN)];
    let text = data.trim_ascii_start();
    if text.first() == Some(&b'<') {
        let html =
            [&b"<!doctype html"[..], b"<html", b"<head", b"<body", b"<script", b"<div", b"<p", b"<!--"];
        if html.iter().any(|sig| starts_with_ignore_case(text, sig)) {
            const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
            return HTML;
        }
        if text.starts_with(b"<?xml") {
            const XML: HeaderValue = HeaderValue::from_static("text/xml; charset=utf-8");
            return XML;
        }
    }
    const MAGIC: [(&[u8], HeaderValue); 5] = [
        (b"%PDF-", HeaderValue::from_static("application/pdf")),
        (b"\x89PNG\r\n\x1a\n", HeaderValue::from_static("image/png")),
        (b"\xff\xd8\xff", HeaderValue::from_static("image/jpeg")),
        (b"GIF87a", HeaderValue::from_static("image/gif")),
        (b"GIF89a", HeaderValue::from_static("image/gif")),
    ];
    if matches!(data.first(), Some(b'%' | 0x89 | 0xff | b'G')) {
        if let Some((_, ty)) = MAGIC.iter().find(|(sig, _)| data.starts_with(sig)) {
            return ty.clone();
        }
    }
    if data.iter().any(|&b| matches!(b, 0..=8 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f)) {
        const BINARY: HeaderValue = HeaderValue::from_static("application/octet-stream");
        return BINARY;
    }
    TEXT_PLAIN
}

/// Whether `data` starts with `sig`, ASCII case aside.
pub(crate) fn starts_with_ignore_case(data: &[u8], sig: &[u8]) -> bool {
    data.len() >= sig.len() && data[..sig.len()].eq_ignore_ascii_case(sig)
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn guesses_like_go() {
        assert_eq!(content_type(b"Hello, World!"), "text/plain; charset=utf-8");
        assert_eq!(content_type(b"  <!DOCTYPE html><p>x"), "text/html; charset=utf-8");
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(content_type(b"\x00\x01\x02"), "application/octet-stream");
    }
}
