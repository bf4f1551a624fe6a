package waitingroom

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"ticketflow/services/event"
)

// eventCache remembers what the room needs of each event (its room, its sales window) for
// eventTTL: every join and every step of a line needs it, and an on-sale asks for one event
// thousands of times a second. An admin's change to a room applies within eventTTL.
type eventCache struct {
	client *event.Client
	group  singleflight.Group
	mu     sync.Mutex
	items  map[string]cachedEvent
}

const eventTTL = 2 * time.Second

type cachedEvent struct {
	info    event.Info
	expires time.Time
}

func newEventCache(client *event.Client) *eventCache {
	return &eventCache{client: client, items: map[string]cachedEvent{}}
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
		if len(c.items) > 10_000 {
			clear(c.items)
		}
		c.items[id] = cachedEvent{info: info, expires: time.Now().Add(eventTTL)}
		c.mu.Unlock()
		return info, nil
	})
	if err != nil {
		return event.Info{}, err
	}
	return v.(event.Info), nil
}
