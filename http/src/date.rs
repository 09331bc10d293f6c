//! The `Date` header value, formatted at most once a second per thread
//! (RFC 9110 §6.6.1 wants the second, not the nanosecond), so a response
//! pays a 29-byte copy, not a date formatting. Within the second the text
//! was made for, no clock is read either: the coarse clock
//! (`gort::time::coarse_now`, a load on a goroutine) says when it ends, so
//! a new second's first responses may carry the last one's date for up to
//! the coarse clock's lag, about 10 ms.

use std::cell::RefCell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gort_runtime::time::coarse_now;

/// An IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const LEN: usize = 29;

/// The text, and (on the coarse clock) when its second ends.
struct Cached {
    until: Option<Instant>,
    text: [u8; LEN],
}

thread_local! {
    /// A goroutine may move between threads, but only between calls:
    /// `with` holds no borrow across anything that could switch.
    static CACHE: RefCell<Cached> = const { RefCell::new(Cached { until: None, text: [0; LEN] }) };
}

/// Calls `f` with the current date as an IMF-fixdate.
pub(crate) fn with<R>(f: impl FnOnce(&[u8; LEN]) -> R) -> R {
    let now = coarse_now();
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.until.is_none_or(|until| now >= until) {
            let wall = SystemTime::now();
            let into_second = wall.duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
            c.text.copy_from_slice(&httpdate::fmt_http_date(wall).as_bytes()[..LEN]);
            c.until = Some(now + Duration::from_nanos(u64::from(1_000_000_000 - into_second)));
        }
        f(&c.text)
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
