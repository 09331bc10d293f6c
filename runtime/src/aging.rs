//! A free list that ages across sysmon's sweeps, so that pools (stacks in
//! `stack.rs`, dead Gs in `sched/gfree.rs`) keep what is in use and give back
//! what a burst left behind.
//!
//! Items are taken newest first. `aged` counts the oldest items that have
//! not been taken since the last sweep: each sweep sets it to the length,
//! every take lowers it to the length left. So at a sweep, the items below
//! the mark were already there at the previous sweep and untaken since:
//! idle through two sweeps, they are handed back to be released. The
//! others are marked for the next sweep.

/// A LIFO free list with a sweep mark (owner: whoever holds the pool's lock).
pub(crate) struct Aging<T> {
    items: Vec<T>,
    /// `items[..aged]` has stayed untaken since the last sweep.
    aged: usize,
}

impl<T> Aging<T> {
    pub(crate) const fn new() -> Aging<T> {
        Aging { items: Vec::new(), aged: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn push(&mut self, item: T) {
        self.items.push(item);
    }

    pub(crate) fn extend(&mut self, items: impl IntoIterator<Item = T>) {
        self.items.extend(items);
    }

    /// The newest item.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let item = self.items.pop();
        self.aged = self.aged.min(self.items.len());
        item
    }

    /// The `n` newest items (fewer if it holds fewer).
    pub(crate) fn pop_many(&mut self, n: usize) -> std::vec::Drain<'_, T> {
        let from = self.items.len().saturating_sub(n);
        self.aged = self.aged.min(from);
        self.items.drain(from..)
    }

    /// The items, oldest first (for tests that look inside a pool).
    #[cfg(test)]
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// A sweep: returns the items idle since the previous sweep and marks
    /// the rest.
    pub(crate) fn sweep(&mut self) -> Vec<T> {
        let idle = self.items.drain(..self.aged).collect();
        self.aged = self.items.len();
        idle
    }
}

#[cfg(test)]
mod tests {
    use super::Aging;

    #[test]
    fn items_idle_through_two_sweeps_come_back() {
        let mut a = Aging::new();
        a.extend([1, 2, 3]);
        assert!(a.sweep().is_empty(), "the first sweep only marks");
        a.push(4);
        assert_eq!(a.sweep(), [1, 2, 3]);
        assert_eq!(a.sweep(), [4]);
        assert_eq!(a.len(), 0);
    }

    #[test]
    fn a_take_spares_what_was_used_since_the_last_sweep() {
        let mut a = Aging::new();
        a.extend([1, 2, 3, 4]);
        a.sweep();
        assert_eq!(a.pop(), Some(4));
        assert_eq!(a.pop_many(2).collect::<Vec<_>>(), [2, 3]);
        a.extend([2, 3]);
        // 2 and 3 were in use since the sweep: only 1 sat idle through it.
        assert_eq!(a.sweep(), [1]);
        assert_eq!(a.sweep(), [2, 3]);
    }
}
