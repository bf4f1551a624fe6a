package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"ticketflow/internal/httpapi"
	"ticketflow/services/inventory"
)

// The live seat map: GET /api/inventory/events/{eventId}/seats/stream, text/event-stream.
//
// Every transaction that changes seats records the change under the event's next version and
// notifies PostgreSQL's seat_changes channel, which delivers only on commit. Each inventory process
// listens once, and for the events someone watches reads the new changes (one query per event,
// however many watchers) at most every fanOutEvery and sends them to each watcher as one message:
//
//	id: <version of the last change>@<stream tag>
//	event: seats
//	data: {"version":<same>,"changes":[{"version":..,"seatIds":[..],"status":"LOCKED","heldUntil":".."}]}
//
// A watcher reads the status snapshot (its version V), then opens the stream with ?since=V (or
// Last-Event-ID, which a browser's EventSource sends by itself on reconnect) and applies the
// changes after V. The stream tag (the event id's first 8 characters) makes an id this event's:
// an id from another event's stream is refused rather than continued. Any position the server
// cannot continue from gets `event: reset` (the watcher re-reads the snapshot), never silence:
// one further behind than the change log keeps (maxBacklog changes, or older than
// changeRetention), one ahead of the server's version (a restored database, another event's
// version), another event's id, or one that is no position at all. A LOCKED seat is AVAILABLE
// once its heldUntil has passed, as in the snapshot. A comment line every heartbeatEvery keeps
// proxies from closing an idle stream. A watcher that does not read fast enough is dropped (it
// reconnects and resumes), never allowed to slow the others.
const (
	fanOutEvery     = 50 * time.Millisecond
	heartbeatEvery  = 15 * time.Second
	maxBacklog      = 2000
	changeRetention = time.Hour
	watcherBuffer   = 64
	maxWatchers     = 20000
)

type hub struct {
	store *store
	pool  *pgxpool.Pool

	mu       sync.Mutex
	feeds    map[string]*feed
	watchers int
	// wake tells the fan-out that a feed is dirty; with nothing to send the fan-out sleeps, so an
	// idle stack or an event nobody watches costs no wake-ups.
	wake chan struct{}
}

type feed struct {
	last  int64 // version of the last change read
	dirty bool  // notified since the last read
	subs  map[*watcher]struct{}
}

type watcher struct {
	ch      chan *batch
	dropped bool
}

// batch is one fan-out's changes, with its SSE frame encoded once for every watcher: with 2,000
// watchers, encoding per watcher was most of the stream's CPU.
type batch struct {
	changes []Change
	frame   []byte
}

func newBatch(eventID string, changes []Change) *batch {
	last := changes[len(changes)-1].Version
	return &batch{changes: changes,
		frame: eventFrame("seats", streamID(eventID, last), map[string]any{"version": last, "changes": changes})}
}

func newHub(st *store, pool *pgxpool.Pool) *hub {
	return &hub{store: st, pool: pool, feeds: map[string]*feed{}, wake: make(chan struct{}, 1)}
}

// run listens for committed changes and fans them out until ctx ends; it returns once both the
// listener and the fan-out have stopped, so the store can close after it.
func (h *hub) run(ctx context.Context) {
	var fanOut sync.WaitGroup
	fanOut.Go(func() { h.fanOutLoop(ctx) })
	defer fanOut.Wait()
	for ctx.Err() == nil {
		if err := h.listen(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("seat change listener lost its connection; reconnecting", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (h *hub) listen(ctx context.Context) error {
	conn, err := h.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "UNLISTEN "+changeChannel) }()
	h.markAll() // whatever was committed while not listening is read on the next fan-out
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		eventID, _, _ := strings.Cut(n.Payload, ":")
		h.mu.Lock()
		if f := h.feeds[eventID]; f != nil {
			h.markDirty(f)
		}
		h.mu.Unlock()
	}
}

func (h *hub) markAll() {
	h.mu.Lock()
	for _, f := range h.feeds {
		h.markDirty(f)
	}
	h.mu.Unlock()
}

// markDirty marks a feed to read and wakes the fan-out (h.mu held).
func (h *hub) markDirty(f *feed) {
	f.dirty = true
	select {
	case h.wake <- struct{}{}:
	default: // already woken
	}
}

// fanOutLoop sends the dirty feeds' changes when woken, at most every fanOutEvery: the changes
// committed meanwhile go out together.
func (h *hub) fanOutLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		h.mu.Lock()
		var dirty []string
		for id, f := range h.feeds {
			if f.dirty {
				f.dirty = false
				dirty = append(dirty, id)
			}
		}
		h.mu.Unlock()
		for _, id := range dirty {
			h.fanOut(ctx, id)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(fanOutEvery):
		}
	}
}

// fanOut reads the event's new changes once and sends them to each of its watchers.
func (h *hub) fanOut(ctx context.Context, eventID string) {
	h.mu.Lock()
	f := h.feeds[eventID]
	if f == nil {
		h.mu.Unlock()
		return
	}
	since := f.last
	h.mu.Unlock()
	changes, err := h.store.changesSince(ctx, eventID, since, maxBacklog)
	if err != nil {
		if ctx.Err() == nil {
			slog.Warn("read seat changes", "event", eventID, "err", err)
			h.mu.Lock()
			h.markDirty(f)
			h.mu.Unlock()
		}
		return
	}
	if len(changes) == 0 {
		return
	}
	b := newBatch(eventID, changes) // encoded before the lock: subscribers and the listener wait on it
	h.mu.Lock()
	defer h.mu.Unlock()
	f.last = changes[len(changes)-1].Version
	if len(changes) == maxBacklog {
		h.markDirty(f) // more to read
	}
	for w := range f.subs {
		select {
		case w.ch <- b:
		default: // too slow: dropped, it reconnects and resumes
			w.dropped = true
			delete(f.subs, w)
			h.watchers--
			close(w.ch)
		}
	}
}

// subscribe registers a watcher of the event; changes after the current version reach it.
func (h *hub) subscribe(ctx context.Context, eventID string) (*watcher, error) {
	current, err := h.store.version(ctx, eventID)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watchers >= maxWatchers {
		return nil, httpapi.Unavailable("too many seat map watchers on this server; retry").WithRetryAfter(5)
	}
	f := h.feeds[eventID]
	if f == nil {
		f = &feed{last: current, subs: map[*watcher]struct{}{}}
		h.feeds[eventID] = f
	}
	h.markDirty(f) // catch up with anything committed since f.last was read
	w := &watcher{ch: make(chan *batch, watcherBuffer)}
	f.subs[w] = struct{}{}
	h.watchers++
	return w, nil
}

func (h *hub) unsubscribe(eventID string, w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.feeds[eventID]
	if f == nil || w.dropped {
		return
	}
	delete(f.subs, w)
	h.watchers--
	close(w.ch)
	if len(f.subs) == 0 {
		delete(h.feeds, eventID)
	}
}

// stream serves GET /api/inventory/events/{eventId}/seats/stream.
func (a *api) stream(w http.ResponseWriter, r *http.Request) error {
	eventID, err := eventParam(r)
	if err != nil {
		return err
	}
	from := resumeFrom(r, eventID)
	sub, err := a.hub.subscribe(r.Context(), eventID)
	if errors.Is(err, inventory.ErrNoSeatPlan) {
		return httpapi.NotFound("event")
	}
	if err != nil {
		return err
	}
	defer a.hub.unsubscribe(eventID, sub)
	if r.Method == http.MethodHead { // the stream's headers, without the stream
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		return nil
	}

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	current, err := a.store.version(r.Context(), eventID)
	if err != nil {
		return nil // headers are out: end the stream, the client reconnects
	}
	reset := func(reason string) error {
		writeEvent(w, "reset", "", map[string]any{"version": current,
			"reason": reason + ": read the status snapshot again, then resume from its version"})
		_ = rc.Flush()
		return nil
	}
	// current was read before the backlog: versions only grow, so a position past it was never
	// this server's, and a backlog read after it reaches at least current.
	cursor := current
	switch {
	case from.invalid != "":
		return reset(from.invalid)
	case from.version < 0:
		writeEvent(w, "hello", streamID(eventID, cursor), map[string]any{"version": cursor})
	case from.version > current:
		return reset(fmt.Sprintf("version %d is ahead of this seat map's (%d): another event's, or from before a restore",
			from.version, current))
	default:
		backlog, err := a.store.changesSince(r.Context(), eventID, from.version, maxBacklog)
		if err != nil {
			return nil
		}
		if len(backlog) == maxBacklog || (from.version < current && (len(backlog) == 0 || backlog[0].Version != from.version+1)) {
			return reset("too many changes were missed")
		}
		cursor = from.version
		if len(backlog) > 0 {
			cursor = backlog[len(backlog)-1].Version
			writeEvent(w, "seats", streamID(eventID, cursor), map[string]any{"version": cursor, "changes": backlog})
		}
	}
	if err := rc.Flush(); err != nil {
		return nil
	}

	beat := time.NewTicker(heartbeatEvery)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
		case b, ok := <-sub.ch:
			if !ok {
				return nil // dropped as too slow: the client reconnects with Last-Event-ID
			}
			if b.changes[0].Version > cursor { // the usual case: all of it is new to this watcher
				cursor = b.changes[len(b.changes)-1].Version
				if _, err := w.Write(b.frame); err != nil {
					return nil
				}
				break
			}
			fresh := b.changes[:0:0] // a watcher that caught up from its backlog has some already
			for _, c := range b.changes {
				if c.Version > cursor {
					fresh = append(fresh, c)
				}
			}
			if len(fresh) == 0 {
				continue
			}
			cursor = fresh[len(fresh)-1].Version
			writeEvent(w, "seats", streamID(eventID, cursor), map[string]any{"version": cursor, "changes": fresh})
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

// position is where a watcher asks to resume.
type position struct {
	version int64  // -1: from now (no position given)
	invalid string // why the position given is none of this stream's ("" when it may be)
}

// resumeFrom reads the position a watcher resumes after: Last-Event-ID, else ?since=. A browser's
// EventSource reconnects to the URL it was opened with (its ?since= the first snapshot's version)
// and sends the last id it saw, which is newer: the header wins. A position is a version (the
// snapshot's) or a stream id "<version>@<tag>"; an id whose tag is another event's, or anything
// else, cannot be continued from.
func resumeFrom(r *http.Request, eventID string) position {
	raw := r.Header.Get("Last-Event-ID")
	if raw == "" {
		raw = r.URL.Query().Get("since")
	}
	if raw == "" {
		return position{version: -1}
	}
	v, tag, tagged := strings.Cut(raw, "@")
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil || n < 0:
		return position{invalid: "the position to resume from is not a seat map version"}
	case tagged && tag != streamTag(eventID):
		return position{invalid: "the position to resume from is another event's"}
	}
	return position{version: n}
}

// streamTag marks an event's stream ids as its own: the event id's first 8 characters (random
// UUIDs: two events share it with a chance of one in 4 billion).
func streamTag(eventID string) string { return eventID[:min(8, len(eventID))] }

// streamID is the SSE id of the event's stream at version: "<version>@<tag>".
func streamID(eventID string, version int64) string {
	return strconv.FormatInt(version, 10) + "@" + streamTag(eventID)
}

func writeEvent(w http.ResponseWriter, event, id string, data any) {
	_, _ = w.Write(eventFrame(event, id, data))
}

// eventFrame is one server-sent event: its id (none when ""), name and JSON data.
func eventFrame(event, id string, data any) []byte {
	raw, _ := json.Marshal(data)
	var b []byte
	if id != "" {
		b = fmt.Appendf(b, "id: %s\n", id)
	}
	return fmt.Appendf(b, "event: %s\ndata: %s\n\n", event, raw)
}
