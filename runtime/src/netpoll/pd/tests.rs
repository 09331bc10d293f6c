//! The poll descriptor's unit tests that need a real fd (the loom models
//! are in `loom_pd.rs`).

use super::{dispatch, token, PollDesc};
use crate::netpoll::Event;
use std::os::fd::AsFd;

#[test]
fn stale_tokens_are_ignored() {
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let pd = PollDesc::new(a.as_fd()).unwrap();
    let gen = pd.slot.st.lock().gen;
    let stale = token(pd.index, gen.wrapping_sub(1));
    let mut out = Vec::new();
    dispatch(
        Event { token: stale, readable: true, writable: true, hup: [false; 2], urgent: false },
        &mut out,
    );
    assert!(pd.slot.st.lock().dirs.iter().all(|d| !d.ready), "a stale event marked a new descriptor ready");
    dispatch(
        Event {
            token: token(pd.index, gen),
            readable: true,
            writable: false,
            hup: [false; 2],
            urgent: false,
        },
        &mut out,
    );
    assert!(pd.slot.st.lock().dirs[0].ready);
    assert!(out.is_empty());
}
