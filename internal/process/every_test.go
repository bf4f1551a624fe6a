package process

import (
	"context"
	"testing"
	"time"
)

// AtOnce calls at once, AfterInterval only once the interval has passed; both return when the
// context ends, and stop calling.
func TestEveryStartsAsToldAndStopsWithItsContext(t *testing.T) {
	for _, c := range []struct {
		start Start
		first time.Duration // the earliest a first call may come
	}{{AtOnce, 0}, {AfterInterval, 200 * time.Millisecond}} {
		ctx, cancel := context.WithCancel(context.Background())
		begin := time.Now()
		calls := make(chan time.Duration, 100)
		done := make(chan struct{})
		go func() {
			defer close(done)
			Every(ctx, 200*time.Millisecond, c.start, func(context.Context) { calls <- time.Since(begin) })
		}()
		first := <-calls
		if first < c.first || (c.start == AtOnce && first >= 200*time.Millisecond) { // not before the first tick
			t.Errorf("start %v: first call after %v", c.start, first)
		}
		<-calls // and again
		cancel()
		<-done
		n := len(calls)
		time.Sleep(300 * time.Millisecond)
		if len(calls) != n {
			t.Errorf("start %v: called after its context ended", c.start)
		}
	}
}

// A context that has ended before the loop starts gets no call, even AtOnce.
func TestEveryWithAnEndedContextDoesNotCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Every(ctx, time.Millisecond, AtOnce, func(context.Context) { t.Error("called") })
}
