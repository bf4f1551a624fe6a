package booking

import (
	"context"
	"sync"
	"time"

	"ticketflow/httpapi"
)

// eventInfo is what a booking needs of its event.
type eventInfo struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Currency string    `json:"currency"`
	Date     time.Time `json:"date"`
}

// eventCache remembers events for a short while: every booking needs its event's name and an
// event's name rarely changes.
type eventCache struct {
	client *httpapi.Client
	ttl    time.Duration
	mu     sync.Mutex
	items  map[string]cachedEvent
}

type cachedEvent struct {
	info    eventInfo
	expires time.Time
}

func (c *eventCache) get(ctx context.Context, id string) (eventInfo, error) {
	c.mu.Lock()
	it, ok := c.items[id]
	c.mu.Unlock()
	if ok && time.Now().Before(it.expires) {
		return it.info, nil
	}
	var info eventInfo
	if err := c.client.Get(ctx, "/internal/events/"+id, &info); err != nil {
		return info, err
	}
	c.mu.Lock()
	c.items[id] = cachedEvent{info: info, expires: time.Now().Add(c.ttl)}
	c.mu.Unlock()
	return info, nil
}
