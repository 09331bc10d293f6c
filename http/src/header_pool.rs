//! Header maps reused from one request to the next: a request's headers
//! and its response's headers each cost two allocations when built fresh,
//! and none when a cleared map is reused.
//!
//! A busy connection keeps one map of each kind and clears it between its
//! requests ([`clear`]). The pools (`sync::Pool`, so per P) hold the maps
//! of connections that are not busy: a connection takes its two maps from
//! [`REQUESTS`] and [`RESPONSES`] when it starts a request without them,
//! and gives them back when it has idled for a while or closes. The two
//! are separate pools because a connection takes one map of each before it
//! gives either back: a pool's per-P slot holds one map, so with one pool
//! every other take and give went to the locked shared list. A map that
//! grew past [`KEEP`] entries is dropped instead, so one request with a
//! hundred headers does not pin that much memory for every later one.
//! sysmon's sweeps free what the pools keep once traffic stops.

use std::sync::LazyLock;

use gort_runtime::sync::Pool;
use http::HeaderMap;

/// The largest map (in entries it has room for) worth keeping.
const KEEP: usize = 32;

/// A pool of cleared header maps.
pub(crate) struct HeaderPool(LazyLock<Pool<HeaderMap>>);

/// Request headers, built by the parser.
pub(crate) static REQUESTS: HeaderPool = HeaderPool::new();
/// Response headers, set by handlers.
pub(crate) static RESPONSES: HeaderPool = HeaderPool::new();

fn empty_pool() -> Pool<HeaderMap> {
    Pool::new(HeaderMap::new)
}

impl HeaderPool {
    const fn new() -> HeaderPool {
        HeaderPool(LazyLock::new(empty_pool))
    }

    /// An empty map, with room for `n` entries.
    pub(crate) fn get(&self, n: usize) -> HeaderMap {
        let mut map = self.0.get();
        if n > 0 {
            map.reserve(n);
        }
        map
    }

    /// Gives `map` back for a later request (one with no room is not
    /// worth a slot).
    pub(crate) fn put(&self, mut map: HeaderMap) {
        if (1..=KEEP).contains(&map.capacity()) {
            if !map.is_empty() {
                map.clear();
            }
            self.0.put(map);
        }
    }
}

/// Empties a map a connection keeps for its next request; one grown past
/// [`KEEP`] is dropped instead, as the pools do.
pub(crate) fn clear(map: &mut HeaderMap) {
    if map.capacity() <= KEEP {
        map.clear();
    } else {
        *map = HeaderMap::new();
    }
}
