package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// seatMaps serves the public seat map of an event from a cache that is never stale:
//
//   - Every write path (hold, confirm, release, new seats, sweep) bumps the event's version key in
//     Redis after its transaction commits and before it answers, so once a hold has returned every
//     reader asks for a newer version than any map built before it.
//   - Maps are stored under their version (and also kept in this process for the same version), so
//     a map built from an older read can never be served for a newer version.
//   - A map also goes stale when its earliest live hold expires (that seat becomes AVAILABLE to
//     readers); it is rebuilt then.
//
// Version keys have no TTL and Redis evicts only keys with one (volatile-lru), and a missing version
// key starts at a random value, so a Redis restart cannot make an old local map look current.
type seatMaps struct {
	rdb   *redis.Client
	store *store
	group singleflight.Group

	mu    sync.Mutex
	local map[string]cachedMap
}

type cachedMap struct {
	version string
	staleAt time.Time // zero: no live hold
	summary Summary
	body    []byte
}

const maxMapTTL = 5 * time.Minute

func newSeatMaps(rdb *redis.Client, st *store) *seatMaps {
	return &seatMaps{rdb: rdb, store: st, local: map[string]cachedMap{}}
}

func versionKey(eventID string) string { return "inventory:seatmap:version:" + eventID }

// mapKeyPrefix names the stored maps of an event; its "v2" is the body's format (v2: seats carry
// seatNumber), so a map stored by an older build is never served by this one.
func mapKeyPrefix(eventID string) string {
	return "inventory:seatmap:body:v2:" + eventID + ":"
}

// readScript returns the current version, and the stored map of that version unless the caller
// already has it.
var readScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[2], 'NX')
  v = redis.call('GET', KEYS[1])
end
if v == ARGV[1] then return {v} end
local body = redis.call('GET', KEYS[2] .. v)
if body then return {v, body} end
return {v}
`)

// bumpScript moves an event's version on; a missing key restarts at a random value.
var bumpScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[1])
return tonumber(ARGV[1])
`)

func randomVersion() string { return strconv.FormatUint(rand.Uint64()>>2, 10) }

// get returns the seat map of an event: its JSON body and its counts.
func (m *seatMaps) get(ctx context.Context, eventID string) (cachedMap, error) {
	m.mu.Lock()
	have := m.local[eventID]
	m.mu.Unlock()

	res, err := readScript.Run(ctx, m.rdb, []string{versionKey(eventID), mapKeyPrefix(eventID)},
		have.version, randomVersion()).Slice()
	if err != nil {
		// No cache without Redis: read the truth directly.
		slog.WarnContext(ctx, "seat map cache unavailable; reading PostgreSQL", "err", err)
		return m.build(ctx, eventID, "")
	}
	version, _ := res[0].(string)
	now := time.Now()
	if version == have.version && fresh(have.staleAt, now) {
		return have, nil
	}
	if len(res) == 2 {
		if raw, ok := res[1].(string); ok {
			if c, ok := decodeCached(version, raw); ok && fresh(c.staleAt, now) {
				m.remember(eventID, c)
				return c, nil
			}
		}
	}
	v, err, _ := m.group.Do(eventID+":"+version, func() (any, error) {
		c, err := m.build(ctx, eventID, version)
		if err != nil {
			return nil, err
		}
		ttl := maxMapTTL
		if !c.staleAt.IsZero() {
			ttl = min(ttl, time.Until(c.staleAt))
		}
		if ttl > time.Millisecond {
			if err := m.rdb.Set(ctx, mapKeyPrefix(eventID)+version, encodeCached(c), ttl).Err(); err != nil {
				slog.WarnContext(ctx, "seat map cache write failed", "err", err)
			}
		}
		m.remember(eventID, c)
		return c, nil
	})
	if err != nil {
		return cachedMap{}, err
	}
	return v.(cachedMap), nil
}

func fresh(staleAt, now time.Time) bool { return staleAt.IsZero() || now.Before(staleAt) }

func (m *seatMaps) remember(eventID string, c cachedMap) {
	m.mu.Lock()
	m.local[eventID] = c
	m.mu.Unlock()
}

// seatMapBody is the public answer of GET /api/inventory/events/{eventId}/seats.
type seatMapBody struct {
	Seats   []Seat         `json:"seats"`
	Total   int            `json:"total"`
	Summary map[string]int `json:"summary"`
}

func (m *seatMaps) build(ctx context.Context, eventID, version string) (cachedMap, error) {
	seats, sum, staleAt, err := m.store.seatMap(ctx, eventID)
	if err != nil {
		return cachedMap{}, err
	}
	body, err := json.Marshal(seatMapBody{Seats: seats, Total: sum.Total, Summary: map[string]int{
		"available": sum.Available, "locked": sum.Locked, "reserved": sum.Reserved}})
	if err != nil {
		return cachedMap{}, err
	}
	return cachedMap{version: version, staleAt: staleAt, summary: sum, body: append(body, '\n')}, nil
}

// invalidate bumps the version of each event, so that no reader is served a map built before
// the caller's change. Callers fail (and their callers retry) when it cannot be done.
func (m *seatMaps) invalidate(ctx context.Context, eventIDs ...string) error {
	var err error
	for _, id := range eventIDs {
		for attempt := 0; attempt < 3; attempt++ {
			if err = bumpScript.Run(ctx, m.rdb, []string{versionKey(id)}, randomVersion()).Err(); err == nil {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("invalidate seat map of %s: %w", id, err)
		}
		m.mu.Lock()
		delete(m.local, id)
		m.mu.Unlock()
	}
	return nil
}

// Cached maps are stored as "<staleAt unix ms> <total> <available> <locked> <reserved>\n<json>".
func encodeCached(c cachedMap) []byte {
	var ms int64
	if !c.staleAt.IsZero() {
		ms = c.staleAt.UnixMilli()
	}
	head := fmt.Sprintf("%d %d %d %d %d\n", ms, c.summary.Total, c.summary.Available, c.summary.Locked, c.summary.Reserved)
	return append([]byte(head), c.body...)
}

func decodeCached(version, raw string) (cachedMap, bool) {
	i := strings.IndexByte(raw, '\n')
	if i < 0 {
		return cachedMap{}, false
	}
	var ms int64
	c := cachedMap{version: version, body: []byte(raw[i+1:])}
	if _, err := fmt.Sscanf(raw[:i], "%d %d %d %d %d", &ms, &c.summary.Total, &c.summary.Available,
		&c.summary.Locked, &c.summary.Reserved); err != nil {
		return cachedMap{}, false
	}
	if ms > 0 {
		c.staleAt = time.UnixMilli(ms)
	}
	return c, true
}
