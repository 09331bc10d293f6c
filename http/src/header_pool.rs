//! Header maps reused from one request to the next (`sync::Pool`, so per P):
//! a request's headers and its response's headers each cost two
//! allocations when built fresh, and none when a cleared map comes back.
//!
//! Only the server's own maps come back: the request's once the handler
//! returned ([`REQUESTS`]), the response's once its head went out
//! ([`RESPONSES`]). The two are separate pools because each request takes
//! one map of each before it gives either back: a pool's per-P slot holds
//! one map, so with one pool every other take and give went to the locked
//! shared list. A map that grew past [`KEEP`] entries is dropped instead,
//! so one request with a hundred headers does not pin that much memory for
//! every later one. The pools keep a few maps per P while requests are in
//! flight and sysmon's sweeps free them once traffic stops, so an idle
//! connection holds none.

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
        map.reserve(n);
        map
    }

    /// Gives `map` back for a later request.
    pub(crate) fn put(&self, mut map: HeaderMap) {
        if map.capacity() <= KEEP {
            map.clear();
            self.0.put(map);
        }
    }
}
