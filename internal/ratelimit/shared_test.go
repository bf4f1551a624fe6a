package ratelimit

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// A Redis that is down (connection refused) or hung (accepts, never answers) leaves each process
// limiting alone, quickly, and asks Redis again only after the backoff.
func TestSharedFallsBackToALocalLimitWhenRedisDoesNotAnswer(t *testing.T) {
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	for name, addr := range map[string]string{"hung": hung.Addr().String(), "refused": refusedAddr} {
		t.Run(name, func(t *testing.T) {
			rdb := NewRedisClient(addr)
			defer rdb.Close()
			s := NewShared(rdb, "test", 3, time.Minute, quiet)
			ctx := context.Background()

			began := time.Now()
			d := s.Allow(ctx, "a")
			if first := time.Since(began); !d.Allowed || d.Shared || first > redisTimeout+time.Second {
				t.Fatalf("first event: %+v after %s; want allowed locally within about %s", d, first, redisTimeout)
			}
			began = time.Now()
			for i := 0; i < 2; i++ {
				if d := s.Allow(ctx, "a"); !d.Allowed || d.Shared {
					t.Fatalf("event %d: %+v, want allowed locally", i+2, d)
				}
			}
			d = s.Allow(ctx, "a")
			if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
				t.Fatalf("4th event: %+v, want refused with a RetryAfter within the window", d)
			}
			if s.Allow(ctx, "b"); time.Since(began) > 100*time.Millisecond {
				t.Fatalf("within the backoff, events waited %s for Redis", time.Since(began))
			}
		})
	}
}

func TestSharedWithoutALimitAllowsEverything(t *testing.T) {
	s := NewShared(nil, "test", 0, time.Minute, quiet)
	for i := 0; i < 1000; i++ {
		if !s.Allow(context.Background(), "a").Allowed {
			t.Fatal("refused with the limit off")
		}
	}
}
