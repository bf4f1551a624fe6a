package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"ticketflow/internal/clock"
	"ticketflow/services/inventory"
)

// seatMaps serves an event's seat map. The truth of its freshness is PostgreSQL: every write bumps
// the event's version in the transaction that makes the change (seat_plans.version), so a reader
// asks PostgreSQL for the current version (one primary-key read) and is served the map of exactly
// that version — never a map built before a write that has answered. Redis is a cache of built
// maps by version, shared by replicas, and nothing more: it is not on any write path, its calls
// have short timeouts, and after a failure it is left alone for a few seconds (maps are then built
// from PostgreSQL, at most maxBuilds at once and once per version thanks to the single-flight).
type seatMaps struct {
	rdb   *redis.Client
	store *store
	group singleflight.Group
	// builds bounds the maps built from PostgreSQL at once: the rate at which a cache outage can
	// reach the database.
	builds chan struct{}
	// redisOffUntil (unix ns) skips Redis after a failure.
	redisOffUntil atomic.Int64

	mu      sync.Mutex
	local   map[string]*snapshot
	layouts map[string]*layout
}

const (
	maxBuilds    = 4
	redisTimeout = 50 * time.Millisecond
	redisPause   = 5 * time.Second
	maxMapTTL    = 5 * time.Minute
)

func newSeatMaps(rdb *redis.Client, st *store) *seatMaps {
	return &seatMaps{rdb: rdb, store: st, builds: make(chan struct{}, maxBuilds), local: map[string]*snapshot{},
		layouts: map[string]*layout{}}
}

// snapshot is an event's seat map at one version, in its encodings.
type snapshot struct {
	version       int64
	mark, staleAt time.Time // see seatView
	summary       inventory.Summary
	full          []byte // the contract's seat map: {seats, total, summary}
	status        []byte // the compact status snapshot: statuses by seat index

	gzOnce         sync.Once
	fullGz, statGz []byte
}

// ETag is the snapshot's strong entity tag: its version, and the latest hold expiry it reflects
// (a hold that expires changes what readers see without a write).
func (s *snapshot) ETag() string {
	var mark int64
	if !s.mark.IsZero() {
		mark = s.mark.UnixMilli()
	}
	return fmt.Sprintf(`"%d.%d"`, s.version, mark)
}

// current reports whether no live hold of the snapshot has expired since it was built.
func (s *snapshot) current(now time.Time) bool { return s.staleAt.IsZero() || now.Before(s.staleAt) }

func (s *snapshot) gzipped() (full, status []byte) {
	s.gzOnce.Do(func() { s.fullGz, s.statGz = gzipBytes(s.full), gzipBytes(s.status) })
	return s.fullGz, s.statGz
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// get returns the seat map of an event as it is now.
func (m *seatMaps) get(ctx context.Context, eventID string) (*snapshot, error) {
	version, err := m.store.version(ctx, eventID)
	if err != nil {
		return nil, err
	}
	now := clock.Now()
	m.mu.Lock()
	have := m.local[eventID]
	m.mu.Unlock()
	if have != nil && have.version >= version && have.current(now) {
		return have, nil
	}
	if s := m.fromRedis(ctx, eventID, version); s != nil && s.current(now) {
		m.remember(eventID, s)
		return s, nil
	}
	v, err, _ := m.group.Do(eventID+":"+strconv.FormatInt(version, 10), func() (any, error) {
		select {
		case m.builds <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		defer func() { <-m.builds }()
		view, err := m.store.seatMap(ctx, eventID)
		if err != nil {
			return nil, err
		}
		s, err := newSnapshot(eventID, view)
		if err != nil {
			return nil, err
		}
		m.remember(eventID, s)
		m.toRedis(eventID, s)
		m.rememberLayout(eventID, view)
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*snapshot), nil
}

func (m *seatMaps) remember(eventID string, s *snapshot) {
	m.mu.Lock()
	if cur := m.local[eventID]; cur == nil || cur.version < s.version || !cur.current(clock.Now()) {
		m.local[eventID] = s
	}
	m.mu.Unlock()
}

// seatMapBody is the contract's answer of GET /api/inventory/events/{eventId}/seats: the numbered
// seats, each general-admission area's counts (an event without areas shows none), and totals of
// both.
type seatMapBody struct {
	Seats   []Seat                `json:"seats"`
	Areas   []inventory.AreaCount `json:"areas,omitempty"`
	Total   int                   `json:"total"`
	Summary map[string]int        `json:"summary"`
}

// StatusSnapshot is the compact answer of GET /api/inventory/events/{eventId}/seats/status: one
// character per seat in the layout's order (A available, L locked, R reserved), the expiry of each
// live hold by seat index, each general-admission area's counts, and the version a watcher resumes
// the stream from.
type StatusSnapshot struct {
	EventID  string                `json:"eventId"`
	Version  int64                 `json:"version"`
	Statuses string                `json:"statuses"`
	Holds    map[string]string     `json:"holds"`
	Areas    []inventory.AreaCount `json:"areas,omitempty"`
	Summary  inventory.Summary     `json:"summary"`
}

var statusLetter = map[string]byte{inventory.Available: 'A', inventory.Locked: 'L', inventory.Reserved: 'R'}

func newSnapshot(eventID string, v *seatView) (*snapshot, error) {
	full, err := json.Marshal(seatMapBody{Seats: v.seats, Areas: v.areas, Total: v.summary.Total, Summary: map[string]int{
		"available": v.summary.Available, "locked": v.summary.Locked, "reserved": v.summary.Reserved}})
	if err != nil {
		return nil, err
	}
	letters := make([]byte, len(v.seats))
	holds := map[string]string{}
	for i, s := range v.seats {
		letters[i] = statusLetter[s.Status]
		if !v.until[i].IsZero() {
			holds[strconv.Itoa(i)] = v.until[i].UTC().Format(time.RFC3339Nano)
		}
	}
	status, err := json.Marshal(StatusSnapshot{EventID: eventID, Version: v.version, Statuses: string(letters),
		Holds: holds, Areas: v.areas, Summary: v.summary})
	if err != nil {
		return nil, err
	}
	return &snapshot{version: v.version, mark: v.mark, staleAt: v.staleAt, summary: v.summary,
		full: append(full, '\n'), status: append(status, '\n')}, nil
}

// --- the layout -------------------------------------------------------------------------------

// layout is an event's seat plan in the order the compact status indexes it. A seat plan never
// changes once loaded, so its answer is cached by clients for good (its ETag is its digest).
type layout struct {
	etag string
	body []byte
	gz   []byte
}

// Layout is the answer of GET /api/inventory/events/{eventId}/seats/layout.
type Layout struct {
	EventID   string          `json:"eventId"`
	SeatCount int             `json:"seatCount"`
	SeatIDs   []string        `json:"seatIds"`
	Sections  []LayoutSection `json:"sections"`
}

// LayoutSection is a section with its rows; each row names the index of its first seat. A
// general-admission area has no rows: its key (Section, what a booking's quantities name) and its
// Capacity instead; its counts are in the status snapshot.
type LayoutSection struct {
	Name       string      `json:"name"`
	PriceMinor int64       `json:"priceMinor"`
	Rows       []LayoutRow `json:"rows"`
	Section    string      `json:"section,omitempty"`
	Capacity   int         `json:"capacity,omitempty"`
}

// LayoutRow is a row: its label, the index of its first seat, and its seats' numbers.
type LayoutRow struct {
	Label   string `json:"label"`
	First   int    `json:"first"`
	Numbers []int  `json:"numbers"`
}

func (m *seatMaps) rememberLayout(eventID string, v *seatView) {
	m.mu.Lock()
	_, ok := m.layouts[eventID]
	m.mu.Unlock()
	if ok {
		return
	}
	l := Layout{EventID: eventID, SeatCount: len(v.seats), SeatIDs: make([]string, len(v.seats))}
	nextArea := 0
	addAreas := func(before int) { // the areas that come before the plan's position `before`
		for ; nextArea < len(v.areas) && v.areaPos[nextArea] < before; nextArea++ {
			a := v.areas[nextArea]
			l.Sections = append(l.Sections, LayoutSection{Name: a.Name, PriceMinor: a.PriceMinor, Rows: []LayoutRow{},
				Section: a.Section, Capacity: a.Capacity})
		}
	}
	for i, s := range v.seats {
		l.SeatIDs[i] = s.ID
		addAreas(v.pos[i])
		if n := len(l.Sections); n == 0 || l.Sections[n-1].Name != s.Section {
			l.Sections = append(l.Sections, LayoutSection{Name: s.Section, PriceMinor: s.PriceMinor})
		}
		sec := &l.Sections[len(l.Sections)-1]
		if n := len(sec.Rows); n == 0 || sec.Rows[n-1].Label != s.Row {
			sec.Rows = append(sec.Rows, LayoutRow{Label: s.Row, First: i})
		}
		row := &sec.Rows[len(sec.Rows)-1]
		row.Numbers = append(row.Numbers, s.Number)
	}
	addAreas(math.MaxInt)
	body, err := json.Marshal(l)
	if err != nil {
		return
	}
	sum := sha256.Sum256(body)
	lay := &layout{etag: `"` + hex.EncodeToString(sum[:12]) + `"`, body: append(body, '\n')}
	lay.gz = gzipBytes(lay.body)
	m.mu.Lock()
	m.layouts[eventID] = lay
	m.mu.Unlock()
}

// layout returns an event's layout, building its seat map once if need be.
func (m *seatMaps) layout(ctx context.Context, eventID string) (*layout, error) {
	m.mu.Lock()
	l := m.layouts[eventID]
	m.mu.Unlock()
	if l != nil {
		return l, nil
	}
	view, err := m.store.seatMap(ctx, eventID)
	if err != nil {
		return nil, err
	}
	m.rememberLayout(eventID, view)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.layouts[eventID], nil
}

// --- Redis, a cache of built maps ---------------------------------------------------------------

// snapshotKey names a cached map; its "v2" is the bodies' format (v2: seats carry seatNumber), so
// a map stored by an older build is never served by this one.
func snapshotKey(eventID string, version int64) string {
	return "inventory:seatmap:v2:" + eventID + ":" + strconv.FormatInt(version, 10)
}

func (m *seatMaps) redisOn() bool { return time.Now().UnixNano() >= m.redisOffUntil.Load() }

func (m *seatMaps) redisFailed(err error) {
	if m.redisOffUntil.Load() < time.Now().UnixNano() {
		slog.Warn("seat map cache (Redis) unavailable; serving maps from PostgreSQL for a while", "err", err)
	}
	m.redisOffUntil.Store(time.Now().Add(redisPause).UnixNano())
}

// fromRedis returns the cached map of the version, nil when Redis has none or is not answering.
func (m *seatMaps) fromRedis(ctx context.Context, eventID string, version int64) *snapshot {
	if !m.redisOn() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	raw, err := m.rdb.Get(ctx, snapshotKey(eventID, version)).Bytes()
	if err == redis.Nil {
		return nil
	}
	if err != nil {
		m.redisFailed(err)
		return nil
	}
	s, ok := decodeSnapshot(raw)
	if !ok || s.version != version {
		return nil
	}
	return s
}

// toRedis stores a built map for the other replicas, in the background: a slow cache never
// delays an answer.
func (m *seatMaps) toRedis(eventID string, s *snapshot) {
	if !m.redisOn() {
		return
	}
	ttl := maxMapTTL
	if !s.staleAt.IsZero() {
		ttl = min(ttl, time.Until(s.staleAt))
	}
	if ttl <= time.Millisecond {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 4*redisTimeout)
		defer cancel()
		if err := m.rdb.Set(ctx, snapshotKey(eventID, s.version), encodeSnapshot(s), ttl).Err(); err != nil {
			m.redisFailed(err)
		}
	}()
}

// A cached map is "<version> <mark ms> <staleAt ms> <total> <available> <locked> <reserved>
// <len(full)>\n" then the full body, then the status body.
func encodeSnapshot(s *snapshot) []byte {
	var staleAt int64
	if !s.staleAt.IsZero() {
		staleAt = s.staleAt.UnixMilli()
	}
	var mark int64
	if !s.mark.IsZero() {
		mark = s.mark.UnixMilli()
	}
	head := fmt.Sprintf("%d %d %d %d %d %d %d %d\n", s.version, mark, staleAt, s.summary.Total, s.summary.Available,
		s.summary.Locked, s.summary.Reserved, len(s.full))
	out := make([]byte, 0, len(head)+len(s.full)+len(s.status))
	return append(append(append(out, head...), s.full...), s.status...)
}

func decodeSnapshot(raw []byte) (*snapshot, bool) {
	i := bytes.IndexByte(raw, '\n')
	if i < 0 {
		return nil, false
	}
	s := &snapshot{}
	var mark, staleAt int64
	var fullLen int
	if _, err := fmt.Sscanf(string(raw[:i]), "%d %d %d %d %d %d %d %d", &s.version, &mark, &staleAt, &s.summary.Total,
		&s.summary.Available, &s.summary.Locked, &s.summary.Reserved, &fullLen); err != nil {
		return nil, false
	}
	rest := raw[i+1:]
	if fullLen < 0 || fullLen > len(rest) {
		return nil, false
	}
	s.full, s.status = rest[:fullLen], rest[fullLen:]
	if mark > 0 {
		s.mark = time.UnixMilli(mark)
	}
	if staleAt > 0 {
		s.staleAt = time.UnixMilli(staleAt)
	}
	return s, true
}
