//! Context values: an immutable chain, innermost first, keyed by type.
//! Each `with_value` adds one node; a lookup walks towards the root and the
//! first node holding a `T` wins, so an inner value shadows an outer one of
//! the same type.
//!
//! A node keeps its value's `TypeId` inline and the value boxed, so the
//! chain is of thin pointers and a hop is one load and a compare. (With the
//! value inside the node, one allocation instead of two, each hop went
//! through the value's vtable for its field offsets and a lookup five deep
//! took as long as Go's.)

use std::any::{Any, TypeId};
use std::sync::Arc;

/// One value and the chain it extends.
pub(super) struct Value {
    parent: Option<Arc<Value>>,
    type_id: TypeId,
    value: Box<dyn Any + Send + Sync>,
}

/// `values` extended with `v`.
pub(super) fn push<T: Send + Sync + 'static>(values: Option<&Arc<Value>>, v: T) -> Arc<Value> {
    Arc::new(Value { parent: values.cloned(), type_id: TypeId::of::<T>(), value: Box::new(v) })
}

/// The innermost `T` in the chain starting at `values`.
pub(super) fn find<T: 'static>(mut values: Option<&Arc<Value>>) -> Option<&T> {
    while let Some(node) = values {
        if node.type_id == TypeId::of::<T>() {
            return node.value.downcast_ref::<T>();
        }
        values = node.parent.as_ref();
    }
    None
}

impl Drop for Value {
    /// Drops a chain this node held last in a loop, not by recursion, so
    /// a long chain cannot overflow a goroutine's stack.
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(node) = next {
            next = Arc::into_inner(node).and_then(|mut n| n.parent.take());
        }
    }
}
