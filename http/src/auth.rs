//! HTTP Basic authentication (RFC 7617) as Go has it: a server request's
//! `Authorization: Basic …` read back into a user and password
//! (`Request::basic_auth`, Go's `BasicAuth`), and the client's header made
//! from a pair (`RequestBuilder::basic_auth`, Go's `SetBasicAuth`) or from
//! the URL's `user:password@` (Go's `Client.send`).
//!
//! The URL's pair applies to the one request whose URL carries it: the
//! client adds the header for that exchange and takes it away after, so a
//! redirect carries it only when its own URL does (as Go's forked request).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use http::Uri;
use percent_encoding::percent_decode_str;

/// `Basic base64(user:password)`, marked sensitive (kept out of `Debug`).
pub(crate) fn header_value(user: &str, password: &str) -> HeaderValue {
    let mut v = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))))
        .expect("auth::header_value: base64 is always a valid header value");
    v.set_sensitive(true);
    v
}

/// The user and password of a `Basic` credential (the scheme in any case);
/// `None` for another scheme, bad base64, no `:`, or text that is not UTF-8.
pub(crate) fn parse(v: &HeaderValue) -> Option<(String, String)> {
    let v = v.as_bytes();
    let (scheme, rest) = v.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    let pair = String::from_utf8(STANDARD.decode(rest).ok()?).ok()?;
    let (user, password) = pair.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Adds the `Authorization` of `uri`'s `user:password@`, when it has one
/// and `headers` hold none; whether it did.
pub(crate) fn add_from_userinfo(uri: &Uri, headers: &mut HeaderMap) -> bool {
    let Some((userinfo, _)) = uri.authority().and_then(|a| a.as_str().rsplit_once('@')) else {
        return false;
    };
    if headers.contains_key(AUTHORIZATION) {
        return false;
    }
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    headers.insert(AUTHORIZATION, header_value(&decode(user), &decode(password)));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_goes_there_and_back() {
        let v = header_value("Aladdin", "open sesame");
        assert_eq!(v.to_str().unwrap(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "RFC 7617's example");
        assert_eq!(parse(&v), Some(("Aladdin".into(), "open sesame".into())));
        let colon = header_value("u", "a:b");
        assert_eq!(parse(&colon), Some(("u".into(), "a:b".into())), "the first colon splits");
    }

    #[test]
    fn other_schemes_and_bad_credentials_are_none() {
        let parse_str = |s: &'static str| parse(&HeaderValue::from_static(s));
        assert_eq!(parse_str("bAsIc dTpw"), Some(("u".into(), "p".into())), "the scheme in any case");
        for bad in ["Bearer dTpw", "Basic", "Basic !!!", "Basic dXNlcg==", "Basic/dTpw"] {
            assert_eq!(parse_str(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_urls_userinfo_is_decoded_and_never_replaces_a_header() {
        let mut h = HeaderMap::new();
        let uri: Uri = "http://us%40er:p%3Ass@host/".parse().unwrap();
        assert!(add_from_userinfo(&uri, &mut h));
        assert_eq!(parse(&h[AUTHORIZATION]), Some(("us@er".into(), "p:ss".into())));
        assert!(!add_from_userinfo(&uri, &mut h), "one is there already");
        assert!(!add_from_userinfo(&"http://host/".parse().unwrap(), &mut HeaderMap::new()));
    }
}
