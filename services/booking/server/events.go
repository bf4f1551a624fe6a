package server

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"ticketflow/internal/httpapi"
	"ticketflow/services/event"
)

// salesRefusal is the refusal (409, coded by the event's sales state) of a booking made at now
// outside the event's sales window, or nil.
func salesRefusal(e event.Info, now time.Time) *httpapi.Error {
	switch e.SalesStatus(now) {
	case event.SalesNotStarted:
		return httpapi.Conflict(event.SalesNotStarted, "sales for this event open at "+e.SalesStartAt.UTC().Format(time.RFC3339)).
			WithDetails(map[string]any{"salesStartAt": e.SalesStartAt.UTC()})
	case event.SalesClosed:
		return httpapi.Conflict(event.SalesClosed, "sales for this event closed at "+e.SalesEndAt.UTC().Format(time.RFC3339)).
			WithDetails(map[string]any{"salesEndAt": e.SalesEndAt.UTC()})
	}
	return nil
}

// eventCache remembers events for a short while: every booking needs its event, and a flash sale
// asks for one event thousands of times a second. The window check compares the cached edges
// with the clock at each booking, so time passing is exact; what the TTL bounds is how long an
// admin's change to the window (or to the date a default end follows) takes to apply: eventTTL.
// Concurrent misses for one event make one request.
type eventCache struct {
	client *event.Client
	ttl    time.Duration
	group  singleflight.Group
	mu     sync.Mutex
	items  map[string]cachedEvent
}

// eventTTL is how long a cached event is used.
const eventTTL = 2 * time.Second

type cachedEvent struct {
	info    event.Info
	expires time.Time
}

func newEventCache(client *event.Client) *eventCache {
	return &eventCache{client: client, ttl: eventTTL, items: map[string]cachedEvent{}}
}

// get returns the event (event.ErrNoEvent when there is none).
func (c *eventCache) get(ctx context.Context, id string) (event.Info, error) {
	c.mu.Lock()
	it, ok := c.items[id]
	c.mu.Unlock()
	if ok && time.Now().Before(it.expires) {
		return it.info, nil
	}
	v, err, _ := c.group.Do(id, func() (any, error) {
		info, err := c.client.Info(context.WithoutCancel(ctx), id)
		if err != nil {
			return info, err
		}
		c.mu.Lock()
		if len(c.items) > 10_000 { // events come and go: forget them all now and then
			clear(c.items)
		}
		c.items[id] = cachedEvent{info: info, expires: time.Now().Add(c.ttl)}
		c.mu.Unlock()
		return info, nil
	})
	if err != nil {
		return event.Info{}, err
	}
	return v.(event.Info), nil
}
