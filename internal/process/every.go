package process

import (
	"context"
	"time"
)

// Start says when a loop run by Every makes its first call.
type Start bool

const (
	// AfterInterval: the first call comes once the first interval has passed.
	AfterInterval Start = false
	// AtOnce: the first call comes at once, then one every interval.
	AtOnce Start = true
)

// Every calls fn every d until ctx ends, first as start says; fn gets ctx, and is not called once
// ctx has ended. The calls are never concurrent: a call that takes longer than d is followed at
// once by the next, and the ticks missed meanwhile are dropped (time.Ticker). Every returns when
// ctx ends, after the call in progress returns.
func Every(ctx context.Context, d time.Duration, start Start, fn func(ctx context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	if start == AtOnce && ctx.Err() == nil {
		fn(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ctx.Err() != nil { // both were ready, and select chose the tick
			return
		}
		fn(ctx)
	}
}
