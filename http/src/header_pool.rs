//! Header maps reused from one request to the next (`sync::Pool`, so per P):
//! a request's headers and its response's headers each cost two
//! allocations when built fresh, and none when a cleared map comes back.
//!
//! Only the server's own maps come back: the request's once the handler
//! returned, the response's once its head went out. A map that grew past
//! [`KEEP`] entries is dropped instead, so one request with a hundred
//! headers does not pin that much memory for every later one. The pool
//! keeps a few maps per P while requests are in flight and sysmon's sweeps
//! free them once traffic stops, so an idle connection holds none.

use std::sync::LazyLock;

use gort_runtime::sync::Pool;
use http::HeaderMap;

/// The largest map (in entries it has room for) worth keeping.
const KEEP: usize = 32;

static MAPS: LazyLock<Pool<HeaderMap>> = LazyLock::new(|| Pool::new(HeaderMap::new));

/// An empty map, with room for `n` entries.
pub(crate) fn get(n: usize) -> HeaderMap {
    let mut map = MAPS.get();
    map.reserve(n);
    map
}

/// Gives `map` back for a later request.
pub(crate) fn put(mut map: HeaderMap) {
    if map.capacity() <= KEEP {
        map.clear();
        MAPS.put(map);
    }
}
