//! Header maps reused from one request to the next: a request's headers
//! and its response's headers each cost two allocations when built fresh,
//! and none when a cleared map is reused.
//!
//! A connection keeps its request's and its response's map while it has
//! requests buffered, clearing them between requests ([`clear`]), and
//! gives both back to [`MAPS`] (a `sync::Pool`, so per P) whenever it waits
//! holding no buffers, or closes; the next request takes them again. A P's
//! private slot holds two objects, so a request taking its two maps and
//! giving them back stays off the pool's lock. A map that grew past
//! [`KEEP`] entries is dropped instead, so one request with a hundred
//! headers does not pin that much memory for every later one. sysmon's
//! sweeps free what the pool keeps once traffic stops.

use std::sync::LazyLock;

use gort_runtime::sync::Pool;
use http::HeaderMap;

/// The largest map (in entries it has room for) worth keeping.
const KEEP: usize = 32;

/// The room a new pooled map is made with: what `HeaderMap` reserves on
/// its first insert. Made with room, a map is worth giving back even when
/// its request used none of it (a response whose handler set no header),
/// so every request's two `get`s find their maps in the P's private slot;
/// a map made empty would be dropped on `put` and its successor made
/// again on the pool's slow path, every request.
const ROOM: usize = 8;

/// A pool of cleared header maps.
pub(crate) struct HeaderPool(LazyLock<Pool<HeaderMap>>);

/// The server's request and response header maps.
pub(crate) static MAPS: HeaderPool =
    HeaderPool(LazyLock::new(|| Pool::new(|| HeaderMap::with_capacity(ROOM))));

impl HeaderPool {
    /// An empty map, with room for `n` entries.
    pub(crate) fn get(&self, n: usize) -> HeaderMap {
        let mut map = self.0.get();
        if n > 0 {
            map.reserve(n);
        }
        map
    }

    /// Gives `map` back for a later request (one with no room left after
    /// [`clear`] is not worth a slot).
    pub(crate) fn put(&self, mut map: HeaderMap) {
        clear(&mut map);
        if map.capacity() > 0 {
            self.0.put(map);
        }
    }
}

/// Empties a map for its next use; one grown past [`KEEP`] is replaced by
/// a new one with no room.
pub(crate) fn clear(map: &mut HeaderMap) {
    if map.capacity() > KEEP {
        *map = HeaderMap::new();
    } else if !map.is_empty() {
        map.clear();
    }
}
