// Package ratelimit counts events per key: Shared across processes in Redis (the gateway's
// per-client request limits), and Limiter in fixed time windows in one process's memory (the
// user service's login throttle, and Shared's fallback while Redis is unreachable).
package ratelimit

import (
	"sync"
	"time"
)

// Limiter allows Limit events per key per Window. A zero Limit allows everything.
type Limiter struct {
	Limit  int
	Window time.Duration

	mu      sync.Mutex
	windows map[string]*window
	sweep   time.Time
}

type window struct {
	start time.Time
	count int
}

// New returns a limiter of limit events per window.
func New(limit int, per time.Duration) *Limiter {
	return &Limiter{Limit: limit, Window: per, windows: map[string]*window{}}
}

// Allow counts one event for key and reports whether it is within the limit, and when the
// key's window resets.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Time) {
	if l.Limit <= 0 {
		return true, now
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetOld(now)
	w := l.windows[key]
	if w == nil || now.Sub(w.start) >= l.Window {
		w = &window{start: now}
		l.windows[key] = w
	}
	w.count++
	return w.count <= l.Limit, w.start.Add(l.Window)
}

// Blocked reports whether key is over the limit now, without counting an event.
func (l *Limiter) Blocked(key string, now time.Time) bool {
	if l.Limit <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[key]
	return w != nil && now.Sub(w.start) < l.Window && w.count >= l.Limit
}

// Reset forgets key (a successful login clears its failures).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.windows, key)
	l.mu.Unlock()
}

// forgetOld drops expired windows once per window, so memory stays bounded by active keys.
func (l *Limiter) forgetOld(now time.Time) {
	if now.Sub(l.sweep) < l.Window {
		return
	}
	l.sweep = now
	for k, w := range l.windows {
		if now.Sub(w.start) >= l.Window {
			delete(l.windows, k)
		}
	}
}
