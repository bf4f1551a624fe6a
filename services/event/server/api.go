package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"go.mongodb.org/mongo-driver/v2/bson"

	"ticketflow/internal/clock"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/idempotency"
	"ticketflow/internal/ids"
	"ticketflow/internal/mongodb"
	"ticketflow/internal/process"
	"ticketflow/internal/seatplan"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
)

type api struct {
	store     *store
	keys      *idempotency.Keys
	inventory *inventory.Client
}

func (a *api) routes(r chi.Router, secret []byte, internalToken string) {
	r.Get("/api/venues", httpapi.Handle(a.listVenues))
	r.Get("/api/venues/{id}", httpapi.Handle(a.getVenue))
	r.Get("/api/events", httpapi.Handle(a.listEvents))
	r.Get("/api/events/{id}", httpapi.Handle(a.getEvent))
	r.Group(func(r chi.Router) {
		r.Use(httpapi.Authenticate(secret), httpapi.RequireAdmin)
		r.Post("/api/venues", httpapi.Handle(a.createVenue))
		r.Post("/api/events", httpapi.Handle(a.createEvent))
		r.Put("/api/events/{id}", httpapi.Handle(a.updateEvent))
	})
	r.With(httpapi.InternalOnly(internalToken)).Get("/internal/events/{id}", httpapi.Handle(a.internalEvent))
}

func idParam(r *http.Request, what string) (string, error) {
	id := chi.URLParam(r, "id")
	if !ids.IsUUID(id) {
		return "", httpapi.NotFound(what)
	}
	return id, nil
}

func notFound(err error, what string) error {
	if mongodb.NotFound(err) {
		return httpapi.NotFound(what)
	}
	return err
}

func (a *api) createVenue(w http.ResponseWriter, r *http.Request) error {
	var req venueRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	v := &Venue{ID: ids.New(), Name: req.Name, Address: req.Address, City: req.City, Country: req.Country,
		Timezone: req.Timezone, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := a.store.insertVenue(r.Context(), v); err != nil {
		return err
	}
	httpapi.Created(w, "/api/venues/"+v.ID, v)
	return nil
}

func (a *api) getVenue(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "venue")
	if err != nil {
		return err
	}
	v, err := a.store.venue(r.Context(), id)
	if err != nil {
		return notFound(err, "venue")
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) listVenues(w http.ResponseWriter, r *http.Request) error {
	page, limit, err := httpapi.Page(r)
	if err != nil {
		return err
	}
	venues, total, err := a.store.listVenues(r.Context(), page, limit)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"venues": venues, "total": total, "page": page, "limit": limit})
	return nil
}

// createEvent stores the event, then has inventory load its seats. With an Idempotency-Key it
// follows the API's one rule (internal/idempotency): a duplicate gets the first answer again, the
// same key with another event is 422. A process that dies between the two steps leaves the event
// marked unloaded, and the reconciler finishes the job (inventory's load is idempotent); a retry
// with the key continues that same event.
func (a *api) createEvent(w http.ResponseWriter, r *http.Request) error {
	var req eventRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	now := clock.Now().UTC()
	if err := req.check(now); err != nil {
		return err
	}
	key, err := idempotency.Key(r)
	if err != nil {
		return err
	}
	seats, _ := seatplan.Expand(req.Sections)
	ctx := r.Context()
	venue, err := a.store.venue(ctx, req.VenueID)
	if mongodb.NotFound(err) {
		return httpapi.FieldError("venueId", "no such venue")
	}
	if err != nil {
		return err
	}
	who, _ := httpapi.Identity(ctx)
	e := &Event{Name: req.Name, Description: req.Description, VenueID: req.VenueID,
		Venue: summaryOf(venue), Date: req.date, Currency: req.Currency, Tags: nonNil(req.Tags),
		Sections: req.Sections, SeatCount: len(seats), SalesStartAt: now.Truncate(time.Second), SalesEndAt: req.salesEnd,
		MaxSeatsPerBuyer: event.DefaultMaxSeatsPerBuyer, CreatedBy: who.UserID,
		CreatedAt: now.Truncate(time.Millisecond), UpdatedAt: now.Truncate(time.Millisecond)}
	if req.salesStart != nil {
		e.SalesStartAt = *req.salesStart
	}
	if req.MaxSeatsPerBuyer != nil {
		e.MaxSeatsPerBuyer = *req.MaxSeatsPerBuyer
	}
	e.WaitingRoom = req.room
	if key == "" {
		e.ID = ids.New()
		a.makeEvent(r, e).write(w)
		return nil
	}
	c, err := a.keys.Claim(ctx, who.UserID, key, req.fingerprint(), ids.New)
	if err != nil {
		return err
	}
	if c.Replay() {
		return a.replayEvent(w, r, c)
	}
	e.ID = c.ResourceID
	ans := a.makeEvent(r, e)
	// A client that hung up still has its key decided.
	if err := a.keys.Finish(context.WithoutCancel(ctx), c, ans.status, ans.body, ans.made); err != nil {
		slog.ErrorContext(ctx, "store the answer of an idempotency key", "event", e.ID, "err", err)
	}
	ans.write(w)
	return nil
}

// eventAnswer is createEvent's answer, kept for its Idempotency-Key.
type eventAnswer struct {
	status int
	body   []byte
	id     string // the event's, for Location
	made   bool   // the event is stored (a 5xx keeps the key for a retry of this event)
}

func (ans eventAnswer) write(w http.ResponseWriter) {
	if ans.status == http.StatusCreated {
		w.Header().Set("Location", "/api/events/"+ans.id)
	}
	httpapi.WriteRaw(w, ans.status, ans.body)
}

// makeEvent stores e (under its id, once: a retry of a request whose event is stored continues
// that event) and loads its seats.
func (a *api) makeEvent(r *http.Request, e *Event) eventAnswer {
	ctx := r.Context()
	fail := func(err error, made bool) eventAnswer {
		status, body := httpapi.RenderError(r, err)
		return eventAnswer{status: status, body: body, made: made}
	}
	err := a.store.insertEvent(ctx, e)
	if mongodb.IsDuplicateKey(err) {
		if e, err = a.store.event(ctx, e.ID); err != nil {
			return fail(err, true)
		}
	} else if err != nil {
		return fail(err, false)
	}
	if err := a.loadSeats(ctx, e); err != nil {
		return fail(err, true)
	}
	if err := a.withAvailability(ctx, e); err != nil {
		return fail(err, true)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return fail(err, true)
	}
	return eventAnswer{status: http.StatusCreated, body: append(body, '\n'), id: e.ID, made: true}
}

// replayEvent answers a duplicate with the first answer. A key stored before answers were kept
// gets its event as it stands.
func (a *api) replayEvent(w http.ResponseWriter, r *http.Request, c *idempotency.Claim) error {
	if c.Answer.Body != nil {
		eventAnswer{status: c.Answer.Status, body: c.Answer.Body, id: c.ResourceID}.write(w)
		return nil
	}
	existing, err := a.store.event(r.Context(), c.ResourceID)
	if err != nil {
		return notFound(err, "event")
	}
	if err := a.loadSeats(r.Context(), existing); err != nil {
		return err
	}
	return a.writeEvent(w, r, http.StatusOK, existing)
}

// loadSeats has inventory create the event's seats (a no-op when it already has them) and marks
// the event loaded.
func (a *api) loadSeats(ctx context.Context, e *Event) error {
	if e.SeatsLoaded {
		return nil
	}
	if _, err := a.inventory.LoadSeats(ctx, e.ID, inventory.SeatPlan{Currency: e.Currency, Sections: e.Sections}); err != nil {
		return fmt.Errorf("load seats of event %s: %w", e.ID, err)
	}
	e.SeatsLoaded = true
	return a.store.markSeatsLoaded(ctx, e.ID)
}

func (a *api) getEvent(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "event")
	if err != nil {
		return err
	}
	e, err := a.store.event(r.Context(), id)
	if err != nil {
		return notFound(err, "event")
	}
	return a.writeEvent(w, r, http.StatusOK, e)
}

// writeEvent answers with the event and its live availability from inventory.
func (a *api) writeEvent(w http.ResponseWriter, r *http.Request, status int, e *Event) error {
	if err := a.withAvailability(r.Context(), e); err != nil {
		return err
	}
	httpapi.WriteJSON(w, status, e)
	return nil
}

// withAvailability sets the event's live availability, from inventory.
func (a *api) withAvailability(ctx context.Context, e *Event) error {
	av, err := a.inventory.Availability(ctx, e.ID)
	switch {
	case err == nil:
	case errors.Is(err, inventory.ErrNoSeatPlan):
		av = inventory.Summary{Total: e.SeatCount} // seats still loading
	default:
		slog.WarnContext(ctx, "availability unavailable", "event", e.ID, "err", err)
		return httpapi.Unavailable("seat availability is unavailable right now")
	}
	e.Availability = &av
	return nil
}

func (a *api) listEvents(w http.ResponseWriter, r *http.Request) error {
	page, limit, err := httpapi.Page(r)
	if err != nil {
		return err
	}
	search := r.URL.Query().Get("search")
	if err := httpapi.Text("search", search, 100, false); err != nil {
		return err
	}
	when := r.URL.Query().Get("when")
	switch when {
	case "":
		when = whenUpcoming
	case whenUpcoming, whenPast, whenAll:
	default:
		return httpapi.FieldError("when", "must be upcoming (the default), past or all")
	}
	events, total, err := a.store.listEvents(r.Context(), search, when, clock.Now(), page, limit)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"events": events, "total": total, "page": page, "limit": limit})
	return nil
}

func (a *api) updateEvent(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "event")
	if err != nil {
		return err
	}
	var req eventUpdate
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	e, err := a.store.event(ctx, id)
	if err != nil {
		return notFound(err, "event")
	}
	set, unset := bson.M{}, bson.M{}
	if req.Name != nil {
		if err := checkName(*req.Name); err != nil {
			return err
		}
		set["name"] = *req.Name
	}
	if req.Description != nil {
		if err := checkDescription(*req.Description); err != nil {
			return err
		}
		set["description"] = *req.Description
	}
	if req.Date.set {
		d, err := req.Date.parseSet("date")
		if err != nil {
			return err
		}
		e.Date = d
		set["date"] = d
	}
	if req.Tags != nil {
		if err := checkTags(*req.Tags); err != nil {
			return err
		}
		set["tags"] = nonNil(*req.Tags)
	}
	if req.SalesStartAt.set {
		start, err := req.SalesStartAt.parseSet("salesStartAt")
		if err != nil {
			return err
		}
		e.SalesStartAt = start
		set["salesStartAt"] = start
	}
	if req.SalesEndAt.set {
		// null: back to the default, the event's start (and it follows the date again).
		if e.SalesEndAt, err = req.SalesEndAt.parse("salesEndAt"); err != nil {
			return err
		}
		if e.SalesEndAt != nil {
			set["salesEndAt"] = *e.SalesEndAt
		} else {
			unset["salesEndAt"] = ""
		}
	}
	// The window as it will be: an explicit end stays within the (new) date; a window the request
	// sets must not be empty. A date moved alone carries a default end with it.
	if req.Date.set || req.SalesStartAt.set || req.SalesEndAt.set {
		if err := checkWindow(e.SalesStart(), e.Date, e.SalesEndAt, req.SalesStartAt.set || req.SalesEndAt.set); err != nil {
			return err
		}
	}
	if req.MaxSeatsPerBuyer != nil {
		if err := checkSeatLimit(req.MaxSeatsPerBuyer); err != nil {
			return err
		}
		set["maxSeatsPerBuyer"] = *req.MaxSeatsPerBuyer
	}
	if req.WaitingRoom != nil {
		room, err := req.WaitingRoom.room()
		if err != nil {
			return err
		}
		if room.Enabled {
			set["waitingRoom"] = room
		} else {
			unset["waitingRoom"] = "" // off: the event reads as one that never had a room
		}
	}
	if req.VenueID != nil {
		if err := checkVenueID(*req.VenueID); err != nil {
			return err
		}
		v, err := a.store.venue(ctx, *req.VenueID)
		if mongodb.NotFound(err) {
			return httpapi.FieldError("venueId", "no such venue")
		}
		if err != nil {
			return err
		}
		set["venueId"] = v.ID
		set["venue"] = summaryOf(v)
	}
	if len(set) == 0 && len(unset) == 0 {
		return httpapi.Validation("nothing to update: give name, description, venueId, date, tags, salesStartAt, salesEndAt, maxSeatsPerBuyer or waitingRoom")
	}
	if err := a.store.updateEvent(ctx, id, set, unset); err != nil {
		return notFound(err, "event")
	}
	if e, err = a.store.event(ctx, id); err != nil {
		return notFound(err, "event")
	}
	return a.writeEvent(w, r, http.StatusOK, e)
}

// internalEvent is GET /internal/events/{id} (Client.Info): what the booking service needs.
func (a *api) internalEvent(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "event")
	if err != nil {
		return err
	}
	e, err := a.store.event(r.Context(), id)
	if err != nil {
		return notFound(err, "event")
	}
	httpapi.WriteJSON(w, http.StatusOK, e.Info())
	return nil
}

// reconcile finishes the seat loading of events whose creation was interrupted: at once, then
// every 5 s until ctx ends.
func (a *api) reconcile(ctx context.Context) {
	process.Every(ctx, 5*time.Second, process.AtOnce, func(ctx context.Context) {
		events, err := a.store.unloaded(ctx, 3*time.Second)
		if err != nil && ctx.Err() == nil {
			slog.Warn("reconcile: list unloaded events", "err", err)
		}
		for i := range events {
			if err := a.loadSeats(ctx, &events[i]); err != nil {
				slog.Warn("reconcile: load seats", "event", events[i].ID, "err", err)
			} else {
				slog.Info("reconcile: seats loaded", "event", events[i].ID)
			}
		}
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
