//! The goroutine dump: every live goroutine with its state, in the shape
//! of Go's traceback (without stacks). Written by [`dump`], on `SIGQUIT`
//! (`sigquit.rs`) and with the deadlock report (`sched/deadlock.rs`).
//!
//! The goroutines are copied out of the registry (`sched/allgs.rs`) under
//! its lock, then sorted and written with the lock released: writing to a
//! slow pipe never holds up the runtime.

use std::io::{self, Write};

use crate::sched::allgs::{self, Entry};
use crate::sched::coarse;
use crate::sched::g::{Status, WaitReason};

/// Writes every live goroutine to `w`, one block per goroutine in goid
/// order, each followed by a blank line:
///
/// ```text
/// goroutine 17 "conn 10.0.0.1:5000" [IO wait read fd 12, 3 s]:
///   spawned at src/main.rs:10:5
///
/// goroutine 18 [running on M2 P0]:
///   spawned at src/main.rs:14:9
/// ```
///
/// The header is `goroutine <id> ["<name>"] [<state>]:`, the name quoted
/// and escaped as Rust's `{:?}` does, and present only for goroutines
/// named with [`Builder::name`](crate::Builder::name). The state is one of
/// `runnable`, `running on M<m> P<p>`, `blocking call` (inside
/// [`blocking`](crate::blocking)), or the wait reason of a parked
/// goroutine: `chan receive`, `chan send`, `select`, `IO wait read fd <n>`,
/// `IO wait write fd <n>`, `sleep`, `mutex`, `rwlock`, `condvar`,
/// `semaphore`, `waitgroup`, `join`. A waiting goroutine, or one in a
/// blocking call, gets `, <n> s` once it has waited a second or more
/// (measured on a clock coarse to about 10 ms). The second line is where
/// `go!`, `spawn` or `Builder::spawn` was called.
///
/// The goroutines are read without stopping them, so a goroutine that
/// changes state meanwhile shows one of its states. Threads that are not
/// goroutines (such as `main`) are not listed.
///
/// ```
/// let (tx, rx) = gort::chan::bounded::<()>(0);
/// let h = gort::go!(gort::Builder::new().name("waiter"), move || rx.recv()).unwrap();
/// let mut out = Vec::new();
/// while !String::from_utf8_lossy(&out).contains("\"waiter\" [chan receive") {
///     out.clear();
///     gort::dump(&mut out).unwrap();
/// }
/// drop(tx);
/// h.join().unwrap().unwrap_err();
/// ```
///
/// # Errors
/// What writing to `w` returns.
pub fn dump(w: &mut impl Write) -> io::Result<()> {
    crate::sched::sched();
    let mut gs = allgs::snapshot();
    gs.sort_unstable_by_key(|e| e.goid);
    let now = coarse::precise_ms();
    let mut out = io::BufWriter::new(w);
    for g in &gs {
        write_block(&mut out, g, now)?;
    }
    out.flush()
}

fn write_block(w: &mut impl Write, g: &Entry, now_ms: u64) -> io::Result<()> {
    write!(w, "goroutine {}", g.goid)?;
    if let Some(name) = &g.name {
        write!(w, " {:?}", &**name)?;
    }
    w.write_all(b" [")?;
    match g.status {
        Status::Runnable | Status::Dead => w.write_all(b"runnable")?,
        Status::Running { m, p } => write!(w, "running on M{m} P{p}")?,
        Status::InBlocking => w.write_all(b"blocking call")?,
        Status::Waiting(r) => write_reason(w, r)?,
    }
    let waited_s = now_ms.saturating_sub(g.since_ms) / 1000;
    if matches!(g.status, Status::Waiting(_) | Status::InBlocking) && waited_s > 0 {
        write!(w, ", {waited_s} s")?;
    }
    writeln!(w, "]:\n  spawned at {}\n", g.site)
}

/// A wait reason's text, as the dump shows it.
fn write_reason(w: &mut impl Write, r: WaitReason) -> io::Result<()> {
    let text = match r {
        WaitReason::NetRead(fd) => return write!(w, "IO wait read fd {fd}"),
        WaitReason::NetWrite(fd) => return write!(w, "IO wait write fd {fd}"),
        WaitReason::Join => "join",
        WaitReason::Sleep => "sleep",
        WaitReason::ChanSend => "chan send",
        WaitReason::ChanRecv => "chan receive",
        WaitReason::Select => "select",
        WaitReason::Mutex => "mutex",
        WaitReason::RwLock => "rwlock",
        WaitReason::Cond => "condvar",
        WaitReason::Sema => "semaphore",
        WaitReason::WaitGroup => "waitgroup",
        WaitReason::Blocking => "blocking call",
    };
    w.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(status: Status, since_ms: u64, now_ms: u64, name: Option<&str>) -> String {
        let e = Entry {
            goid: 17,
            status,
            since_ms,
            site: std::panic::Location::caller(),
            name: name.map(Into::into),
        };
        let mut out = Vec::new();
        write_block(&mut out, &e, now_ms).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn blocks_have_go_shape() {
        let b = block(Status::Waiting(WaitReason::NetRead(12)), 1000, 4500, Some("conn \"a\""));
        let (head, rest) = b.split_once('\n').unwrap();
        assert_eq!(head, "goroutine 17 \"conn \\\"a\\\"\" [IO wait read fd 12, 3 s]:");
        assert!(rest.starts_with("  spawned at runtime/src/dump.rs:") && rest.ends_with("\n\n"), "{rest:?}");
        let b = block(Status::Running { m: 2, p: 0 }, 0, 9000, None);
        assert!(b.starts_with("goroutine 17 [running on M2 P0]:\n"), "{b}");
        let b = block(Status::Waiting(WaitReason::ChanRecv), 1000, 1900, None);
        assert!(b.starts_with("goroutine 17 [chan receive]:\n"), "under a second shows no time: {b}");
        assert!(block(Status::InBlocking, 0, 2000, None).contains("[blocking call, 2 s]"));
        assert!(block(Status::Runnable, 0, 5000, None).contains("[runnable]"));
    }
}
