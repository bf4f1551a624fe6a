//go:build integration

package ratelimit

import (
	"context"
	"testing"
	"time"

	"ticketflow/internal/config"
	"ticketflow/internal/ids"
)

// Two limiters on one Redis, as two gateway replicas are, share each key's budget: GCRA lets the
// whole burst through, then refuses with the time until the next event (window / limit).
func TestSharedLimitersOnOneRedisShareTheBudget(t *testing.T) {
	ctx := context.Background()
	one, two := onTheStacksRedis(t, "test", 10)
	replicas := []*Shared{one, two}
	key := ids.New()
	for i := 0; i < 10; i++ {
		if d := replicas[i%2].Allow(ctx, key); !d.Allowed || !d.Shared {
			t.Fatalf("event %d: %+v, want allowed in Redis", i+1, d)
		}
	}
	for i, s := range replicas {
		d := s.Allow(ctx, key)
		if d.Allowed || !d.Shared {
			t.Fatalf("replica %d after the shared budget: %+v, want refused in Redis", i+1, d)
		}
		if d.RetryAfter <= 0 || d.RetryAfter > 6*time.Second {
			t.Fatalf("RetryAfter %s, want at most one emission interval (6 s)", d.RetryAfter)
		}
	}
	if d := replicas[0].Allow(ctx, ids.New()); !d.Allowed {
		t.Fatalf("another key: %+v, want allowed", d)
	}
}

// The login throttle's use: failures counted by one replica block the key on another (Blocked
// counts nothing), and a Reset on either gives the budget back everywhere.
func TestSharedBlockedAndResetActAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	one, two := onTheStacksRedis(t, "test-login", 3)
	key := ids.New()
	for i := 0; i < 3; i++ {
		if two.Blocked(ctx, key) {
			t.Fatalf("blocked after %d of 3 failures", i)
		}
		one.Allow(ctx, key)
	}
	if !two.Blocked(ctx, key) || !one.Blocked(ctx, key) {
		t.Fatal("3 failures on one replica: the key is not blocked on both")
	}
	two.Reset(ctx, key)
	if one.Blocked(ctx, key) {
		t.Fatal("after a Reset on the other replica the key is still blocked")
	}
}

// onTheStacksRedis returns two limiters named name of limit events a minute, each with its own
// client of the stack's Redis, as two replicas have.
func onTheStacksRedis(t *testing.T, name string, limit int) (*Shared, *Shared) {
	t.Helper()
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	a, b := NewRedisClient(cfg.RedisAddr), NewRedisClient(cfg.RedisAddr)
	t.Cleanup(func() { a.Close(); b.Close() })
	return NewShared(a, name, limit, time.Minute, quiet), NewShared(b, name, limit, time.Minute, quiet)
}
