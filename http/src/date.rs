//! The `Date` header value, formatted at most once a second per thread
//! (RFC 9110 §6.6.1 wants the second, not the nanosecond), so a response
//! pays a clock read and a 29-byte copy, not a date formatting.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// An IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const LEN: usize = 29;

thread_local! {
    /// (the second it was formatted for, the text). A goroutine may move
    /// between threads, but only between calls: `with` holds no borrow
    /// across anything that could switch.
    static CACHE: RefCell<(u64, [u8; LEN])> = const { RefCell::new((u64::MAX, [0; LEN])) };
}

/// Calls `f` with the current date as an IMF-fixdate.
pub(crate) fn with<R>(f: impl FnOnce(&[u8; LEN]) -> R) -> R {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            let text = httpdate::fmt_http_date(now);
            c.1.copy_from_slice(&text.as_bytes()[..LEN]);
            c.0 = secs;
        }
        f(&c.1)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_an_imf_fixdate() {
        let d = super::with(|d| *d);
        let s = std::str::from_utf8(&d).unwrap();
        assert!(s.ends_with(" GMT") && s.as_bytes()[3] == b',', "{s}");
        assert!(httpdate::parse_http_date(s).is_ok(), "{s}");
    }
}
