// Package waitingroom is the gateway's waiting room for on-sales: for an event whose room is on,
// buyers join a line (POST /api/events/{id}/queue), follow their place (GET …/queue, or the
// server-sent events of …/queue/stream), and once let in get an Admission-Token that the booking
// service requires (internal/admission). The line lives in Redis (line.go), shared by every
// gateway replica; each replica steps the lines (meter.go) when it holds their lease, and keeps
// one summary of each line it serves in memory, from which every stream and poll computes its own
// place without asking Redis (hub.go).
package waitingroom

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/redis/go-redis/v9"

	"ticketflow/internal/admission"
	"ticketflow/internal/clock"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
)

// Room runs the waiting rooms of one gateway process.
type Room struct {
	line    *line
	events  *eventCache
	seats   *inventory.Client
	key     []byte
	cfg     config.WaitingRoom
	meter   meter
	replica string
	hub     *hub
	log     *slog.Logger
}

// New returns the rooms of a gateway: lines in rdb, events from the event service, seat counts
// from inventory, tokens signed with the key derived from secret.
func New(cfg *config.Config, rdb *redis.Client, events *event.Client, seats *inventory.Client, log *slog.Logger) *Room {
	rm := &Room{line: &line{rdb: rdb}, events: newEventCache(events), seats: seats,
		key: admission.Key([]byte(cfg.JWTSecret)), cfg: cfg.WaitingRoom, meter: newMeter(cfg.WaitingRoom),
		replica: ids.New(), log: log}
	rm.hub = newHub(rm.line, cfg.WaitingRoom.Tick, log)
	return rm
}

// NewRedisClient is the rooms' Redis client: a line is state, not a cache, so a call waits up to
// two seconds (a join that cannot reach Redis answers 503 then).
func NewRedisClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, PoolSize: 128, MaxRetries: 1,
		DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		PoolTimeout: 2 * time.Second, ContextTimeoutEnabled: true})
}

// Run steps the live lines and refreshes the summaries this replica serves, every tick, until ctx
// ends (a gateway).
func (rm *Room) Run(ctx context.Context) { rm.run(ctx, true) }

// Follow refreshes the summaries this replica serves, every tick, until ctx ends, and never moves a
// line (a room server: the lines move by the gateways, whose priority is the decision path's).
func (rm *Room) Follow(ctx context.Context) { rm.run(ctx, false) }

func (rm *Room) run(ctx context.Context, steps bool) {
	t := time.NewTicker(rm.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if steps {
			rm.step(ctx)
		}
		rm.hub.refresh(ctx)
	}
}

// step moves every live line this replica wins the lease of for this tick.
func (rm *Room) step(ctx context.Context) {
	live, err := rm.line.live(ctx)
	if err != nil {
		if ctx.Err() == nil {
			rm.hub.warn("waiting room: list the live lines", err)
		}
		return
	}
	for _, eventID := range live {
		ok, err := rm.line.lease(ctx, eventID, rm.replica, rm.cfg.Tick*9/10)
		if err != nil || !ok {
			continue
		}
		if err := rm.stepEvent(ctx, eventID); err != nil && ctx.Err() == nil {
			rm.log.Warn("waiting room: step the line", "event", eventID, "err", err)
		}
	}
}

// forgetAfter is how long after its sales close an event's line is kept (buyers may still look).
const forgetAfter = time.Hour

func (rm *Room) stepEvent(ctx context.Context, eventID string) error {
	info, err := rm.events.get(ctx, eventID)
	if errors.Is(err, event.ErrNoEvent) || (err == nil && time.Since(info.SalesEndAt) > forgetAfter) {
		rm.log.Info("waiting room: the sale is over, its line is removed", "event", eventID)
		admissionPace.DeleteLabelValues(eventID)
		return rm.line.forget(ctx, eventID)
	}
	if err != nil {
		return err
	}
	st, err := rm.line.meter(ctx, eventID)
	if err != nil {
		return err
	}
	now := clock.Now()
	if now.Before(info.SalesStartAt) {
		return nil // nothing moves before the sale opens; the draw is at opening
	}
	seats, err := rm.seats.Availability(ctx, eventID)
	if err != nil {
		return err
	}
	fresh, err := rm.line.fresh(ctx, eventID, now, rm.cfg.FreshFor)
	if err != nil {
		return err
	}
	d := rm.meter.decide(st, now, info.WaitingRoom, seats, fresh)
	res, err := rm.line.admit(ctx, eventID, d.Admit, rm.cfg.Admission, int(d.CreditsUsed))
	if err != nil {
		return err
	}
	admittedNow(&d.State, res.N, st.StepAt, now)
	if res.N > 0 {
		admittedTotal.Add(float64(res.N))
	}
	admissionPace.WithLabelValues(eventID).Set(d.State.Pace)
	return rm.line.saveMeter(ctx, eventID, d.State)
}

// Routes registers the queue endpoints on r: those a room server answers (FollowRoutes), and
// joining and leaving. wrap wraps each (the gateway's client address, rate limit and identity
// checks: every queue endpoint needs a signed-in buyer).
func (rm *Room) Routes(r chi.Router, wrap func(http.Handler) http.Handler) {
	rm.FollowRoutes(r, wrap)
	r.Method(http.MethodPost, "/api/events/{id}/queue", wrapped(wrap, rm.join))
	r.Method(http.MethodDelete, "/api/events/{id}/queue", wrapped(wrap, rm.leave))
}

// FollowRoutes registers the queue endpoints a room server answers on r: reading a place and its
// stream (joining and leaving are the gateway's). wrap as Routes'.
func (rm *Room) FollowRoutes(r chi.Router, wrap func(http.Handler) http.Handler) {
	r.Method(http.MethodGet, "/api/events/{id}/queue", wrapped(wrap, rm.get))
	r.Method(http.MethodGet, "/api/events/{id}/queue/stream", wrapped(wrap, rm.stream))
}

func wrapped(wrap func(http.Handler) http.Handler, f func(http.ResponseWriter, *http.Request) error) http.Handler {
	return wrap(httpapi.Handle(f))
}

// followURLs are where a place in eventID's line is followed: read (pollUrl) and streamed.
func (rm *Room) followURLs(eventID string) (poll, stream string) {
	poll = rm.cfg.FollowURL + "/api/events/" + eventID + "/queue"
	return poll, poll + "/stream"
}

// request is what every queue endpoint starts from: the buyer, and the event with its room on.
func (rm *Room) request(r *http.Request) (user string, info event.Info, err error) {
	user = r.Header.Get(httpapi.HeaderUserID)
	if user == "" {
		return "", info, httpapi.Unauthorized("a Bearer token is required")
	}
	id := chi.URLParam(r, "id")
	if !ids.IsUUID(id) {
		return "", info, httpapi.NotFound("event")
	}
	info, err = rm.events.get(r.Context(), id)
	switch {
	case errors.Is(err, event.ErrNoEvent):
		return "", info, httpapi.NotFound("event")
	case err != nil:
		rm.log.WarnContext(r.Context(), "waiting room: event service", "err", err)
		return "", info, httpapi.Unavailable("the event service is unavailable").WithRetryAfter(2)
	case !info.WaitingRoom.Enabled:
		return "", info, httpapi.NotFound("waiting room (this event has none: book directly)")
	}
	return user, info, nil
}

// unavailable is the answer while the line's store cannot be reached.
func (rm *Room) unavailable(r *http.Request, err error) error {
	rm.hub.warn("waiting room: Redis", err)
	return httpapi.Unavailable("the waiting room is unavailable right now; your place is kept, retry").WithRetryAfter(2)
}

// join is POST /api/events/{id}/queue: the caller's place, new or the one they have.
func (rm *Room) join(w http.ResponseWriter, r *http.Request) error {
	user, info, err := rm.request(r)
	if err != nil {
		return err
	}
	if info.SalesStatus(clock.Now()) == event.SalesClosed {
		return httpapi.Conflict(event.SalesClosed, "sales for this event closed at "+info.SalesEndAt.UTC().Format(time.RFC3339))
	}
	p, now, err := rm.line.join(r.Context(), info.ID, user, info.SalesStartAt)
	if err != nil {
		return rm.unavailable(r, err)
	}
	joinsTotal.Inc()
	return rm.answer(w, r, info, user, p, now)
}

// get is GET /api/events/{id}/queue: the caller's place (404 before they join).
func (rm *Room) get(w http.ResponseWriter, r *http.Request) error {
	user, info, err := rm.request(r)
	if err != nil {
		return err
	}
	p, err := rm.line.place(r.Context(), info.ID, user)
	if errors.Is(err, errNoPlace) {
		return httpapi.NotFound("place in this event's line (join it first: POST /api/events/" + info.ID + "/queue)")
	}
	if err != nil {
		return rm.unavailable(r, err)
	}
	return rm.answer(w, r, info, user, p, clock.Now())
}

// leave is DELETE /api/events/{id}/queue: the caller leaves the line, or gives back their
// admission (the next buyer is let in). The place answered is EXPIRED.
func (rm *Room) leave(w http.ResponseWriter, r *http.Request) error {
	user, info, err := rm.request(r)
	if err != nil {
		return err
	}
	p, now, err := rm.line.leave(r.Context(), info.ID, user)
	if errors.Is(err, errNoPlace) {
		return httpapi.NotFound("place in this event's line")
	}
	if err != nil {
		return rm.unavailable(r, err)
	}
	return rm.answer(w, r, info, user, p, now)
}

func (rm *Room) answer(w http.ResponseWriter, r *http.Request, info event.Info, user string, p place, now time.Time) error {
	s, err := rm.hub.summary(r.Context(), info.ID)
	if err != nil {
		return rm.unavailable(r, err)
	}
	w.Header().Set("Cache-Control", "no-store")
	v := viewOf(rm.key, info.ID, user, p, s, now, fallbackRate(info))
	v.PollURL, v.StreamURL = rm.followURLs(info.ID)
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

// fallbackRate is the admission rate an estimate uses before one is measured: a fixed rate's.
func fallbackRate(info event.Info) float64 { return float64(info.WaitingRoom.AdmitPerMinute) / 60 }

// Decided tells the meter that an admitted buyer's booking, sent with the event's Admission-Token,
// was answered by the booking service after took (the gateway calls it for every such request it
// relays; failed: a 5xx answer, or no answer). An answer that is not a failure means the buyer
// booked (held, or refused for their seats): the meter stops counting them as about to hold seats.
// A decision slower than the decision target, or failed, counts as slow. A token that does not
// verify is ignored.
func (rm *Room) Decided(ctx context.Context, token, userID string, took time.Duration, failed bool) {
	p, err := admission.Read(rm.key, token, clock.Now())
	if err != nil || p.UserID != userID {
		return
	}
	slow := failed || (rm.cfg.DecisionTarget > 0 && took > rm.cfg.DecisionTarget)
	if err := rm.line.decided(ctx, p.EventID, userID, !failed, slow); err != nil {
		rm.hub.warn("waiting room: note a decision", err)
	}
}
