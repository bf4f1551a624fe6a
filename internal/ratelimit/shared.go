package ratelimit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// How long a shared decision may take before the local limiter decides instead, and how long the
// local limiter then decides alone before Redis is asked again: a Redis that is down or hung costs
// a request at most redisTimeout, and only one request per redisBackoff pays even that.
const (
	redisTimeout = 250 * time.Millisecond
	redisBackoff = 2 * time.Second
)

// NewRedisClient is a Redis client for limits: short timeouts and no retries, since a limit
// that cannot be checked in time is checked locally instead (see Shared).
func NewRedisClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64, MaxRetries: -1,
		DialTimeout: redisTimeout, ReadTimeout: redisTimeout, WriteTimeout: redisTimeout, PoolTimeout: redisTimeout,
		ContextTimeoutEnabled: true})
}

// Shared allows Limit events per Window per key across every process that uses the same Redis,
// with GCRA (github.com/go-redis/redis_rate): a burst of Limit at once, then one more every
// Window/Limit, so a client has one budget however many gateway replicas serve it.
//
// While Redis does not answer within 250 ms, each process falls back to its own fixed-window
// Limiter of the same size for 2 s at a time, then asks Redis again. During such an outage a
// client can get up to N budgets from N replicas, but the gateway keeps answering.
type Shared struct {
	name  string // key prefix: one budget per name and key
	limit redis_rate.Limit
	rdb   *redis_rate.Limiter // nil: local only
	local *Limiter
	log   *slog.Logger

	localUntil atomic.Int64 // unix nanoseconds: Redis failed; the local limiter decides until then
}

// Decision is the answer for one event.
type Decision struct {
	Allowed    bool
	RetryAfter time.Duration // when refused: how long until an event of this key is allowed again
	Shared     bool          // decided in Redis; false when this process decided alone
}

// NewShared returns a limiter of limit events per window, named name in Redis. A zero limit allows
// everything; a nil rdb limits per process only.
func NewShared(rdb *redis.Client, name string, limit int, window time.Duration, log *slog.Logger) *Shared {
	s := &Shared{name: name, limit: redis_rate.Limit{Rate: limit, Burst: limit, Period: window},
		local: New(limit, window), log: log}
	if rdb != nil && limit > 0 {
		s.rdb = redis_rate.NewLimiter(rdb)
	}
	return s
}

// Allow counts one event for key.
func (s *Shared) Allow(ctx context.Context, key string) Decision {
	if s.limit.Rate <= 0 {
		return Decision{Allowed: true}
	}
	var res *redis_rate.Result
	if s.ask(ctx, func(ctx context.Context) (err error) {
		res, err = s.rdb.Allow(ctx, s.name+":"+key, s.limit)
		return err
	}) {
		return Decision{Allowed: res.Allowed > 0, RetryAfter: res.RetryAfter, Shared: true}
	}
	now := time.Now()
	ok, reset := s.local.Allow(key, now)
	return Decision{Allowed: ok, RetryAfter: reset.Sub(now)}
}

// Blocked reports whether key has no event left now, without counting one (a login is refused
// before its password is checked when its failures used up the budget). Redis is asked with a
// zero-cost GCRA call; while it does not answer, the local limiter says.
func (s *Shared) Blocked(ctx context.Context, key string) bool {
	if s.limit.Rate <= 0 {
		return false
	}
	var res *redis_rate.Result
	if s.ask(ctx, func(ctx context.Context) (err error) {
		res, err = s.rdb.AllowN(ctx, s.name+":"+key, s.limit, 0)
		return err
	}) {
		return res.Remaining <= 0
	}
	return s.local.Blocked(key, time.Now())
}

// Reset gives key its whole budget back, in Redis and here (a successful login clears its
// failures). A Redis that does not answer leaves the shared count to expire by itself.
func (s *Shared) Reset(ctx context.Context, key string) {
	s.local.Reset(key)
	s.ask(ctx, func(ctx context.Context) error { return s.rdb.Reset(ctx, s.name+":"+key) })
}

// ask runs call against Redis within redisTimeout and reports whether Redis answered. It does
// not ask while the local limiter decides (localUntil), starts that backoff when Redis fails
// (not when the caller went away), and says once when Redis answers again.
func (s *Shared) ask(ctx context.Context, call func(ctx context.Context) error) bool {
	if s.rdb == nil || time.Now().UnixNano() < s.localUntil.Load() {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, redisTimeout)
	err := call(rctx)
	cancel()
	switch {
	case err == nil:
		if s.localUntil.Swap(0) != 0 {
			s.log.Info("rate limit: Redis answers again, limiting across processes", "limit", s.name)
		}
		return true
	case ctx.Err() == nil && s.localUntil.Swap(time.Now().Add(redisBackoff).UnixNano()) == 0:
		s.log.Warn("rate limit: Redis unreachable, limiting per process", "limit", s.name, "err", err)
	}
	return false
}
