package waitingroom

import (
	"container/heap"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/telemetry"
)

// The hub keeps, for each event this replica serves, one summary of its line (read from Redis
// once a tick, whatever the number of buyers) and wakes the event's streams when it changes. A
// buyer's place is computed from their own stored place (read once, and again only when the line
// reaches it) and the summary: with 100,000 buyers waiting, a tick costs Redis one read per event
// per replica, not one per buyer.
type hub struct {
	line *line
	tick time.Duration
	log  *slog.Logger

	mu    sync.Mutex
	feeds map[string]*feed

	warnedAt atomic.Int64 // unix ns of the last Redis warning (one a few seconds at most)
}

// feed is one event's line as this replica serves it.
//
// A stream wakes only when it may have something to send: changed is closed at every change of
// the line (a stream whose last update is older than its throttle waits on it), urgent at the
// changes every place shows at once (the draw, sold out, a new opening time), and a place's own
// reach channel when the line reaches its number (its admission) or its number leaves the line
// (the buyer left elsewhere). A stream that just sent an update sleeps until its throttle ends
// instead of waking at each of the line's ticks to find it must not send yet: with ten thousand
// buyers waiting, those wakeups were as many as the updates.
type feed struct {
	sum     atomic.Pointer[summary]
	mu      sync.Mutex // guards changed, urgent, reach, byNumber, streams, used; held while a first summary is read
	changed chan struct{}
	urgent  chan struct{}
	// gaveBack is closed when an admitted buyer gives the admission back (anywhere): the admitted
	// places' streams read theirs again, the only change of a place no summary shows.
	gaveBack chan struct{}
	reach    reachHeap
	// byNumber finds the reachers of a number that leaves the line (a buyer may stream twice).
	byNumber map[int64][]*reacher
	streams  int
	used     time.Time // last poll or join
}

// reacher is a stream waiting for the line to reach number: ch is closed then.
type reacher struct {
	number int64
	ch     chan struct{}
	i      int // its index in the heap, -1 once out of it
}

// reachHeap orders the reachers by number, lowest first (container/heap).
type reachHeap []*reacher

func (h reachHeap) Len() int           { return len(h) }
func (h reachHeap) Less(i, j int) bool { return h[i].number < h[j].number }
func (h reachHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].i, h[j].i = i, j }
func (h *reachHeap) Push(x any)        { r := x.(*reacher); r.i = len(*h); *h = append(*h, r) }
func (h *reachHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h, r.i = old[:len(old)-1], -1
	return r
}

// idleAfter: a feed no stream follows and nobody polled for this long stops being refreshed.
const idleAfter = 10 * time.Second

func newHub(l *line, tick time.Duration, log *slog.Logger) *hub {
	return &hub{line: l, tick: tick, log: log, feeds: map[string]*feed{}}
}

func (h *hub) feed(eventID string) *feed {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.feeds[eventID]
	if f == nil {
		f = &feed{changed: make(chan struct{}), urgent: make(chan struct{}), gaveBack: make(chan struct{}),
			byNumber: map[int64][]*reacher{}}
		h.feeds[eventID] = f
	}
	return f
}

// summary returns the event's summary, reading it when this replica has none fresh (a poll of an
// event no stream follows here).
func (h *hub) summary(ctx context.Context, eventID string) (*summary, error) {
	f := h.feed(eventID)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.used = time.Now()
	if s := f.sum.Load(); s != nil && time.Since(s.Read) < 2*h.tick {
		return s, nil
	}
	s, err := h.line.read(ctx, eventID, f.sum.Load())
	if err != nil {
		return nil, err
	}
	h.publish(f, s)
	return s, nil
}

// refresh reads the summary of every event served here and wakes its streams when it changed;
// feeds nobody uses any more are dropped.
func (h *hub) refresh(ctx context.Context) {
	h.mu.Lock()
	ids := make([]string, 0, len(h.feeds))
	feeds := make([]*feed, 0, len(h.feeds))
	for id, f := range h.feeds {
		f.mu.Lock()
		idle := f.streams == 0 && time.Since(f.used) > idleAfter
		f.mu.Unlock()
		if idle {
			delete(h.feeds, id)
			continue
		}
		ids, feeds = append(ids, id), append(feeds, f)
	}
	h.mu.Unlock()
	for i, f := range feeds {
		s, err := h.line.read(ctx, ids[i], f.sum.Load())
		if err != nil {
			if ctx.Err() == nil {
				h.warn("waiting room: read a line", err)
			}
			continue
		}
		f.mu.Lock()
		h.publish(f, s)
		f.mu.Unlock()
	}
}

// publish stores s as the feed's summary and, when it shows the line otherwise than the last one,
// wakes the streams waiting for a change, and those the change concerns at once: every stream at
// the draw and at sold out, and the places the line has reached. f.mu is held.
func (h *hub) publish(f *feed, s *summary) {
	old := f.sum.Swap(s)
	if old != nil && old.Head == s.Head && old.Seq == s.Seq && old.gv == s.gv && old.av == s.av && old.Drawn == s.Drawn &&
		old.SoldOut == s.SoldOut && old.Opens.Equal(s.Opens) && old.Moved.Equal(s.Moved) &&
		roughly(old.AdmitRate*100) == roughly(s.AdmitRate*100) {
		return
	}
	close(f.changed)
	f.changed = make(chan struct{})
	if old == nil || old.Drawn != s.Drawn || old.SoldOut != s.SoldOut || !old.Opens.Equal(s.Opens) {
		close(f.urgent)
		f.urgent = make(chan struct{})
	}
	if old != nil && old.av != s.av {
		close(f.gaveBack)
		f.gaveBack = make(chan struct{})
	}
	for len(f.reach) > 0 && f.reach[0].number <= s.Head {
		f.release(f.reach[0])
	}
	if old != nil && old.gv != s.gv {
		for _, n := range s.Gone { // numbers that left since the last summary
			if _, was := slices.BinarySearch(old.Gone, n); !was {
				for _, r := range slices.Clone(f.byNumber[n]) { // release edits the index
					f.release(r)
				}
			}
		}
	}
}

// release closes r's channel and forgets it. f.mu is held.
func (f *feed) release(r *reacher) {
	f.forget(r)
	close(r.ch)
}

// forget takes r out of the heap and the index. f.mu is held.
func (f *feed) forget(r *reacher) {
	if r.i >= 0 {
		heap.Remove(&f.reach, r.i)
	}
	rs := slices.DeleteFunc(f.byNumber[r.number], func(x *reacher) bool { return x == r })
	if len(rs) == 0 {
		delete(f.byNumber, r.number)
	} else {
		f.byNumber[r.number] = rs
	}
}

// wait returns the summary now, a channel closed when the next one differs, one closed at the
// next change every place shows at once, and one closed when an admission is next given back.
func (f *feed) wait() (s *summary, changed, urgent, gaveBack <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sum.Load(), f.changed, f.urgent, f.gaveBack
}

// watch returns a channel closed when the line reaches number (at once when it has) or number
// leaves the line, and a function that stops watching.
func (f *feed) watch(number int64) (<-chan struct{}, func()) {
	r := &reacher{number: number, ch: make(chan struct{}), i: -1}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.sum.Load(); s != nil && number <= s.Head {
		close(r.ch)
		return r.ch, func() {}
	}
	heap.Push(&f.reach, r)
	f.byNumber[number] = append(f.byNumber[number], r)
	return r.ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.i >= 0 { // not released yet
			f.forget(r)
		}
	}
}

func (h *hub) warn(msg string, err error) {
	now := time.Now().UnixNano()
	if last := h.warnedAt.Load(); now-last > int64(5*time.Second) && h.warnedAt.CompareAndSwap(last, now) {
		h.log.Warn(msg, "err", err)
	}
}

// heartbeatEvery keeps proxies from closing a quiet stream (as the seat map's stream does).
const heartbeatEvery = 15 * time.Second

// stream is GET /api/events/{id}/queue/stream, text/event-stream: the caller's place as the
// queue endpoints answer it, first at once, then each time it changes — at most one update every
// WAITING_ROOM_PUSH_EVERY, except a change of state (admitted, expired), which goes at once:
//
//	event: place
//	data: {"eventId":…,"state":"WAITING","number":…,"position":…,…}
//
// A comment line every 15 s keeps the connection open. The stream ends once the place is no
// longer WAITING or ADMITTED; a client that reconnects gets the place as it is then. The caller
// must have joined (404 otherwise). A client that cannot stream polls GET …/queue instead.
func (rm *Room) stream(w http.ResponseWriter, r *http.Request) error {
	user, info, err := rm.request(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	p, err := rm.line.place(ctx, info.ID, user)
	if errors.Is(err, errNoPlace) {
		return httpapi.NotFound("place in this event's line (join it first: POST /api/events/" + info.ID + "/queue)")
	}
	if err != nil {
		return rm.unavailable(r, err)
	}
	if _, err := rm.hub.summary(ctx, info.ID); err != nil {
		return rm.unavailable(r, err)
	}
	f := rm.hub.feed(info.ID)
	f.mu.Lock()
	f.streams++
	f.mu.Unlock()
	streamsOpen.Inc()
	defer func() {
		f.mu.Lock()
		f.streams--
		f.used = time.Now()
		f.mu.Unlock()
		streamsOpen.Dec()
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	w.WriteHeader(http.StatusOK)
	// The updates go to the server's own writer: the wrappers of the middleware count bytes and
	// time writes, which for a stream's updates cost more than the rest of an update but the system
	// call (the status and the stream's duration are still theirs).
	out := newEventWriter(w)

	beat := time.NewTicker(heartbeatEvery)
	defer beat.Stop()
	// One timer serves every wait a stream has: the end of its throttle (a change came too soon
	// after the last update: it goes out when the throttle ends, as of then), the next look after
	// an update, and the end of an admission.
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	timerFor := func(d time.Duration) {
		timer.Stop()
		select {
		case <-timer.C:
		default:
		}
		timer.Reset(max(d, time.Millisecond))
	}
	// The last update sent, kept by value (a stream wakes about once a second for ten thousand
	// buyers at once: what it allocates there, the room pays ten thousand times).
	var last Place
	var lastAt time.Time
	sent := false
	fallback := fallbackRate(info)
	pollURL, streamURL := rm.followURLs(info.ID)
	done := ctx.Done()
	var reach <-chan struct{} // closed when the line reaches this place's number, or it leaves
	var unwatch func()
	var watched int64 // the number reach watches
	defer func() {
		if unwatch != nil {
			unwatch()
		}
	}()
	recheck := false // an admission was given back: this place's may be the one
	for {
		s, changed, urgent, gaveBack := f.wait()
		now := time.Now()
		if (p.State == stWaiting && reached(p, s)) || (p.State == stAdmitted && recheck) {
			recheck = false
			// The line reached this place (or the buyer left it elsewhere): read what it is now.
			if np, err := rm.line.place(ctx, info.ID, user); err == nil {
				p = np
			} else if !errors.Is(err, errNoPlace) {
				rm.hub.warn("waiting room: read a place", err)
			}
		}
		if p.State == stWaiting && p.Number > 0 && p.Number != watched {
			// (Again when the buyer left and joined again elsewhere: a new number.)
			if unwatch != nil {
				unwatch()
			}
			reach, unwatch = f.watch(p.Number)
			watched = p.Number
		}
		v := viewOf(rm.key, info.ID, user, p, s, now, fallback)
		v.PollURL, v.StreamURL = pollURL, streamURL
		wake := changed
		throttled := false
		if !sent || !same(last, v) {
			if wait := rm.cfg.PushEvery - now.Sub(lastAt); sent && last.State == v.State && wait > 0 {
				timerFor(wait) // throttled: the timer brings the update
				wake, throttled = nil, true
			} else {
				if err := out.place(v); err != nil {
					return nil
				}
				last, lastAt, sent = v, now, true
				switch v.State {
				case StateExpired:
					return nil
				case StateWaiting:
					if v.Number != nil { // its position moves with the line: look when the throttle ends
						timerFor(rm.cfg.PushEvery)
						wake = nil
					}
				}
			}
		}
		switch {
		case v.State == StateAdmitted:
			// Nothing but its end (timed), sold out (urgent) and giving it back changes what it shows.
			if !throttled {
				timerFor(time.Until(time.UnixMilli(p.Until)))
			}
			wake = nil
		case v.State == StateWaiting && v.Number == nil && !s.Drawn:
			wake = nil // before the draw only the draw (urgent) changes what it shows
		}
		select {
		case <-done:
			return nil
		case <-beat.C:
			if err := out.comment("keep-alive"); err != nil {
				return nil
			}
		case <-wake:
		case <-urgent:
		case <-reach:
			reach = nil // read once: from now on reached(p, s) says so at every look (or the place is new)
		case <-admittedOnly(v.State, gaveBack):
			recheck = true
		case <-timer.C:
		}
	}
}

// admittedOnly is c for an admitted place's stream, nil (never ready) for any other.
func admittedOnly(state string, c <-chan struct{}) <-chan struct{} {
	if state == StateAdmitted {
		return c
	}
	return nil
}

// reached reports whether the line has moved to a waiting place (drawn, admitted past it, or its
// number among those who left), so that the place must be read again.
func reached(p place, s *summary) bool {
	if p.Number == 0 {
		return s.Drawn
	}
	_, left := slices.BinarySearch(s.Gone, p.Number)
	return p.Number <= s.Head || left
}

// eventWriter writes a stream's events to the server's own response writer (the innermost one
// under the middleware's wrappers), each in one write and one flush: one system call.
type eventWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf []byte // kept from one event to the next
}

func newEventWriter(w http.ResponseWriter) *eventWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	return &eventWriter{w: w, rc: http.NewResponseController(w), buf: make([]byte, 0, 1024)}
}

// place sends v as an event "place".
func (e *eventWriter) place(v Place) error {
	b := append(e.buf[:0], "event: place\ndata: "...)
	b = v.appendJSON(b)
	e.buf = append(b, '\n', '\n')
	return e.write(e.buf)
}

// comment sends a comment line (which clients ignore: it keeps the connection open).
func (e *eventWriter) comment(text string) error {
	e.buf = append(append(append(e.buf[:0], ": "...), text...), '\n', '\n')
	return e.write(e.buf)
}

func (e *eventWriter) write(b []byte) error {
	if _, err := e.w.Write(b); err != nil {
		return err
	}
	return e.rc.Flush()
}

var (
	joinsTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "ticketflow_waiting_room_joins_total",
		Help: "Joins of a waiting room's line answered by this gateway (a buyer joining again counts again)."})
	admittedTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "ticketflow_waiting_room_admitted_total",
		Help: "Buyers let in by the steps this gateway ran."})
	streamsOpen = prometheus.NewGauge(prometheus.GaugeOpts{Name: "ticketflow_waiting_room_streams",
		Help: "Queue streams open on this gateway or room server."})
	admissionPace = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ticketflow_waiting_room_admission_pace",
		Help: "Buyers a second the automatic meter lets in at most, paced to admitted buyers' seat decisions (from 2 at opening; 0: no bound), as of the last step this gateway ran."},
		[]string{"event"})
)

func init() { telemetry.Register(joinsTotal, admittedTotal, streamsOpen, admissionPace) }
