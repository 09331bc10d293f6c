//! Context values: an immutable chain, innermost first, keyed by type.
//! Each `with_value` adds one node (one allocation: the value sits inside
//! it); a lookup walks towards the root and the first node holding a `T`
//! wins, so an inner value shadows an outer one of the same type.

use std::any::Any;
use std::sync::Arc;

/// One value and the chain it extends.
pub(super) struct Value<V: ?Sized = dyn Any + Send + Sync> {
    parent: Option<Arc<Value>>,
    value: V,
}

/// `values` extended with `v`.
pub(super) fn push<T: Send + Sync + 'static>(values: Option<&Arc<Value>>, v: T) -> Arc<Value> {
    Arc::new(Value { parent: values.cloned(), value: v })
}

/// The innermost `T` in the chain starting at `values`.
pub(super) fn find<T: 'static>(mut values: Option<&Arc<Value>>) -> Option<&T> {
    while let Some(node) = values {
        if let Some(v) = node.value.downcast_ref::<T>() {
            return Some(v);
        }
        values = node.parent.as_ref();
    }
    None
}

impl<V: ?Sized> Drop for Value<V> {
    /// Drops a chain this node held last in a loop, not by recursion, so
    /// a long chain cannot overflow a goroutine's stack.
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(mut node) = next {
            // Unique: no weak references to values exist, and we hold the
            // only strong one, so nobody can clone it meanwhile.
            next = Arc::get_mut(&mut node).and_then(|n| n.parent.take());
        }
    }
}
