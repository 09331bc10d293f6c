// Go's context, measured beside gort's benches/context.rs in the same
// sitting: go test -bench . -benchtime 3s (from this directory).
package context_test

import (
	"context"
	"testing"
	"time"
)

var sink any

func cancelUnder(b *testing.B, parent context.Context) {
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithCancel(parent)
		cancel()
		sink = ctx
	}
}

func BenchmarkWithCancelCancel(b *testing.B) {
	cancelUnder(b, context.Background())
}

func BenchmarkWithCancelCancelUnderParent(b *testing.B) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelUnder(b, parent)
}

// Go has no drop: cancel is how a context is released before it fires.
func BenchmarkWithTimeoutDrop(b *testing.B) {
	bg := context.Background()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(bg, 10*time.Second)
		cancel()
		sink = ctx
	}
}

type k0 struct{}
type k1 struct{}
type k2 struct{}
type k3 struct{}
type k4 struct{}

func BenchmarkValue5Deep(b *testing.B) {
	ctx := context.Background()
	ctx = context.WithValue(ctx, k0{}, uint64(7))
	for _, k := range []any{k1{}, k2{}, k3{}, k4{}} {
		ctx = context.WithValue(ctx, k, struct{}{})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink = ctx.Value(k0{})
	}
}

func BenchmarkCancel10kChildren(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		parent, cancel := context.WithCancel(context.Background())
		children := make([]context.Context, 10000)
		for j := range children {
			children[j], _ = context.WithCancel(parent)
		}
		b.StartTimer()
		cancel()
		if children[9999].Err() == nil {
			b.Fatal("child not cancelled")
		}
	}
}
