package booking

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"ticketflow/internal/httpapi"
)

// eventInfo is what a booking needs of its event: its name, the sales window and the buyer limit
// as they apply (the event service fills in their defaults).
type eventInfo struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Currency         string    `json:"currency"`
	Date             time.Time `json:"date"`
	SalesStartAt     time.Time `json:"salesStartAt"`
	SalesEndAt       time.Time `json:"salesEndAt"`
	MaxSeatsPerBuyer int       `json:"maxSeatsPerBuyer"`
}

// Codes of a booking refused outside its event's sales window (409).
const (
	codeSalesNotStarted = "SALES_NOT_STARTED"
	codeSalesClosed     = "SALES_CLOSED"
)

// salesRefusal is the refusal of a booking made at now outside the event's sales window (from
// SalesStartAt included to SalesEndAt excluded), or nil.
func (e eventInfo) salesRefusal(now time.Time) *httpapi.Error {
	switch {
	case now.Before(e.SalesStartAt):
		return httpapi.Conflict(codeSalesNotStarted, "sales for this event open at "+e.SalesStartAt.UTC().Format(time.RFC3339)).
			WithDetails(map[string]any{"salesStartAt": e.SalesStartAt.UTC()})
	case !now.Before(e.SalesEndAt):
		return httpapi.Conflict(codeSalesClosed, "sales for this event closed at "+e.SalesEndAt.UTC().Format(time.RFC3339)).
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
	client *httpapi.Client
	ttl    time.Duration
	group  singleflight.Group
	mu     sync.Mutex
	items  map[string]cachedEvent
}

// eventTTL is how long a cached event is used.
const eventTTL = 2 * time.Second

type cachedEvent struct {
	info    eventInfo
	expires time.Time
}

func newEventCache(client *httpapi.Client) *eventCache {
	return &eventCache{client: client, ttl: eventTTL, items: map[string]cachedEvent{}}
}

func (c *eventCache) get(ctx context.Context, id string) (eventInfo, error) {
	c.mu.Lock()
	it, ok := c.items[id]
	c.mu.Unlock()
	if ok && time.Now().Before(it.expires) {
		return it.info, nil
	}
	v, err, _ := c.group.Do(id, func() (any, error) {
		var info eventInfo
		if err := c.client.Get(context.WithoutCancel(ctx), "/internal/events/"+id, &info); err != nil {
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
		return eventInfo{}, err
	}
	return v.(eventInfo), nil
}
