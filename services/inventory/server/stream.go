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
	"ticketflow/internal/process"
	"ticketflow/services/inventory"
)

// The live seat map: GET /api/inventory/events/{eventId}/seats/stream, text/event-stream.
//
// Every transaction that changes seats records the change under the event's next version and
// notifies PostgreSQL's seat_changes channel, which delivers only on commit. Each inventory process
// listens once, and for the events someone watches reads the new changes (one query per event,
// however many watchers) every fanOutEvery and sends them to each watcher as one message:
//
//	id: <version of the last change>
//	event: seats
//	data: {"version":<same>,"changes":[{"version":..,"seatIds":[..],"status":"LOCKED","heldUntil":".."}]}
//
// A watcher reads the status snapshot (its version V), then opens the stream with ?since=V (or
// Last-Event-ID: V, which a browser's EventSource sends by itself on reconnect) and applies the
// changes after V. One that missed more than the change log keeps (maxBacklog changes, or older
// than changeRetention) gets `event: reset` and re-reads the snapshot. A LOCKED seat is AVAILABLE
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

func newBatch(changes []Change) *batch {
	last := changes[len(changes)-1].Version
	return &batch{changes: changes, frame: eventFrame("seats", last, map[string]any{"version": last, "changes": changes})}
}

func newHub(st *store, pool *pgxpool.Pool) *hub {
	return &hub{store: st, pool: pool, feeds: map[string]*feed{}}
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
			f.dirty = true
		}
		h.mu.Unlock()
	}
}

func (h *hub) markAll() {
	h.mu.Lock()
	for _, f := range h.feeds {
		f.dirty = true
	}
	h.mu.Unlock()
}

func (h *hub) fanOutLoop(ctx context.Context) {
	process.Every(ctx, fanOutEvery, process.AfterInterval, func(ctx context.Context) {
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
	})
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
			f.dirty = true
			h.mu.Unlock()
		}
		return
	}
	if len(changes) == 0 {
		return
	}
	b := newBatch(changes) // encoded before the lock: subscribers and the listener wait on it
	h.mu.Lock()
	defer h.mu.Unlock()
	f.last = changes[len(changes)-1].Version
	if len(changes) == maxBacklog {
		f.dirty = true // more to read
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
	f.dirty = true // catch up with anything committed since f.last was read
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
	since, err := resumeVersion(r)
	if err != nil {
		return err
	}
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

	cursor := since
	if since >= 0 {
		backlog, err := a.store.changesSince(r.Context(), eventID, since, maxBacklog)
		if err != nil {
			return nil // headers are out: end the stream, the client reconnects
		}
		current, _ := a.store.version(r.Context(), eventID)
		if len(backlog) == maxBacklog || (since < current && (len(backlog) == 0 || backlog[0].Version != since+1)) {
			writeEvent(w, "reset", 0, map[string]any{"version": current,
				"reason": "too many changes were missed: read the status snapshot again, then resume from its version"})
			_ = rc.Flush()
			return nil
		}
		if len(backlog) > 0 {
			cursor = backlog[len(backlog)-1].Version
			writeEvent(w, "seats", cursor, map[string]any{"version": cursor, "changes": backlog})
		}
	} else {
		current, _ := a.store.version(r.Context(), eventID)
		cursor = current
		writeEvent(w, "hello", cursor, map[string]any{"version": cursor})
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
			writeEvent(w, "seats", cursor, map[string]any{"version": cursor, "changes": fresh})
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

// resumeVersion is the version a watcher resumes after: ?since= or Last-Event-ID; -1 when neither.
func resumeVersion(r *http.Request) (int64, error) {
	raw := r.URL.Query().Get("since")
	if raw == "" {
		raw = r.Header.Get("Last-Event-ID")
	}
	if raw == "" {
		return -1, nil
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < 0 {
		return 0, httpapi.FieldError("since", "must be a seat map version (a non-negative integer)")
	}
	return v, nil
}

func writeEvent(w http.ResponseWriter, event string, id int64, data any) {
	_, _ = w.Write(eventFrame(event, id, data))
}

// eventFrame is one server-sent event: its id (when positive), name and JSON data.
func eventFrame(event string, id int64, data any) []byte {
	raw, _ := json.Marshal(data)
	var b []byte
	if id > 0 {
		b = fmt.Appendf(b, "id: %d\n", id)
	}
	return fmt.Appendf(b, "event: %s\ndata: %s\n\n", event, raw)
}
