//! Go's `DetectContentType`, cut to what a server meets most: a response
//! with no `Content-Type` gets one guessed from its first bytes (HTML,
//! XML, PDF, the common images, else plain text when the bytes look like
//! text, else `application/octet-stream`).

/// At most this many leading bytes are looked at, as in Go.
const SNIFF_LEN: usize = 512;

/// The content type `data` most likely has.
pub(crate) fn content_type(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(SNIFF_LEN)];
    let text = data.trim_ascii_start();
    let html = [&b"<!doctype html"[..], b"<html", b"<head", b"<body", b"<script", b"<div", b"<p", b"<!--"];
    if html.iter().any(|sig| starts_with_ignore_case(text, sig)) {
        return "text/html; charset=utf-8";
    }
    if text.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    let magic: [(&[u8], &str); 5] = [
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
    ];
    if let Some((_, ty)) = magic.iter().find(|(sig, _)| data.starts_with(sig)) {
        return ty;
    }
    if data.iter().any(|&b| matches!(b, 0..=8 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f)) {
        return "application/octet-stream";
    }
    "text/plain; charset=utf-8"
}

fn starts_with_ignore_case(data: &[u8], sig: &[u8]) -> bool {
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
