//! Work stealing (Go's `stealWork`): an M with an empty P takes half of a
//! random victim's local queue. Four rounds over the Ps, each in a fresh
//! random order (random start, random stride coprime to the P count, so every
//! P is visited once per round). A victim's `runnext` is taken only in the
//! last round, and if its owner is running, only after a short grace: a G
//! just readied into `runnext` is usually about to run there (ping-pong),
//! and stealing it would move the pair across CPUs for nothing.

use std::hint;
use std::ptr;
use std::time::{Duration, Instant};

use crate::sched::g::G;
use crate::sched::p::P;

const STEAL_ROUNDS: usize = 4;

/// How long a victim's owner gets to schedule its own `runnext` (Go: 3 µs).
const RUNNEXT_GRACE: Duration = Duration::from_micros(3);

/// Steals into `p` (held by the caller) from the other Ps.
pub(crate) fn steal_work(p: &P, ps: &[P]) -> Option<Box<G>> {
    let n = ps.len();
    if n < 2 {
        return None;
    }
    for round in 0..STEAL_ROUNDS {
        let last = round == STEAL_ROUNDS - 1;
        // SAFETY: the caller holds `p`; the borrow ends with the statement.
        let r = unsafe { p.local() }.rand() as usize;
        for i in random_order(r, n) {
            let victim = &ps[i];
            if ptr::eq(victim, p) {
                continue;
            }
            if let Some(g) = steal_from(victim, p, last) {
                return Some(g);
            }
        }
    }
    None
}

fn steal_from(victim: &P, p: &P, take_runnext: bool) -> Option<Box<G>> {
    if let Some(g) = victim.runq.steal_into(&p.runq, false) {
        return Some(g);
    }
    if !take_runnext || victim.runq.is_empty() {
        return None;
    }
    if victim.is_held() {
        let start = Instant::now();
        while start.elapsed() < RUNNEXT_GRACE {
            hint::spin_loop();
        }
    }
    victim.runq.steal_into(&p.runq, true)
}

/// Visits 0..n once each, starting and striding by values drawn from `r`.
fn random_order(r: usize, n: usize) -> impl Iterator<Item = usize> {
    let start = r % n;
    let mut stride = (r / n) % n;
    while gcd(stride, n) != 1 {
        stride = (stride + 1) % n;
    }
    (0..n).map(move |k| (start + k * stride) % n)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::random_order;

    #[test]
    fn random_order_visits_each_p_once() {
        for n in 1..12 {
            for r in 0..200 {
                let mut seen: Vec<usize> = random_order(r * 7919, n).collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n={n} r={r}");
            }
        }
    }
}
