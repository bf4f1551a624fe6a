package event

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"go.mongodb.org/mongo-driver/v2/bson"

	"ticketflow/httpapi"
	"ticketflow/ids"
	"ticketflow/mongodb"
	"ticketflow/seatplan"
)

type api struct {
	store     *store
	inventory *httpapi.Client
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
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
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

// createEvent stores the event, then has inventory load its seats. A retried request with the same
// Idempotency-Key returns the first event; a process that dies between the two steps leaves the
// event marked unloaded, and the reconciler finishes the job (inventory's load is idempotent).
func (a *api) createEvent(w http.ResponseWriter, r *http.Request) error {
	var req eventRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
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
	now := time.Now().UTC().Truncate(time.Millisecond)
	e := &Event{ID: ids.New(), Name: req.Name, Description: req.Description, VenueID: req.VenueID,
		Venue: &VenueSummary{Name: venue.Name, City: venue.City, Country: venue.Country},
		Date:  req.Date.UTC(), Currency: req.Currency, Tags: nonNil(req.Tags), Sections: req.Sections,
		SeatCount: len(seats), CreatedBy: who.UserID, CreatedAt: now, UpdatedAt: now}

	if key := r.Header.Get("Idempotency-Key"); key != "" {
		if err := httpapi.Text("Idempotency-Key", key, 200, false); err != nil {
			return err
		}
		prior, err := a.store.claimIdempotencyKey(ctx, who.UserID, key, e.ID)
		if err != nil {
			return err
		}
		if prior != "" {
			existing, err := a.store.event(ctx, prior)
			if mongodb.NotFound(err) {
				return httpapi.Conflict("CONFLICT", "this Idempotency-Key is still being processed; retry")
			}
			if err != nil {
				return err
			}
			if err := a.loadSeats(ctx, existing); err != nil {
				return err
			}
			return a.writeEvent(w, r, http.StatusOK, existing)
		}
	}
	if err := a.store.insertEvent(ctx, e); err != nil {
		return err
	}
	if err := a.loadSeats(ctx, e); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/events/"+e.ID)
	return a.writeEvent(w, r, http.StatusCreated, e)
}

// loadSeats has inventory create the event's seats (a no-op when it already has them) and marks
// the event loaded.
func (a *api) loadSeats(ctx context.Context, e *Event) error {
	if e.SeatsLoaded {
		return nil
	}
	err := a.inventory.Post(ctx, "/internal/events/"+e.ID+"/seats",
		map[string]any{"currency": e.Currency, "sections": e.Sections}, nil)
	if err != nil {
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
	var av Availability
	err := a.inventory.Get(r.Context(), "/internal/events/"+e.ID+"/availability", &av)
	switch {
	case err == nil:
	case httpapi.IsStatus(err, http.StatusNotFound):
		av = Availability{Total: e.SeatCount} // seats still loading
	default:
		slog.WarnContext(r.Context(), "availability unavailable", "event", e.ID, "err", err)
		return httpapi.Unavailable("seat availability is unavailable right now")
	}
	e.Availability = &av
	httpapi.WriteJSON(w, status, e)
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
	events, total, err := a.store.listEvents(r.Context(), search, page, limit)
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
	set := bson.M{}
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
	if req.Date != nil {
		if req.Date.IsZero() {
			return httpapi.FieldError("date", "must be a date (RFC 3339 with zone)")
		}
		set["date"] = req.Date.UTC()
	}
	if req.Tags != nil {
		if err := checkTags(*req.Tags); err != nil {
			return err
		}
		set["tags"] = nonNil(*req.Tags)
	}
	if req.VenueID != nil {
		if err := checkVenueID(*req.VenueID); err != nil {
			return err
		}
		v, err := a.store.venue(r.Context(), *req.VenueID)
		if mongodb.NotFound(err) {
			return httpapi.FieldError("venueId", "no such venue")
		}
		if err != nil {
			return err
		}
		set["venueId"] = v.ID
		set["venue"] = VenueSummary{Name: v.Name, City: v.City, Country: v.Country}
	}
	if len(set) == 0 {
		return httpapi.Validation("nothing to update: give name, description, venueId, date or tags")
	}
	if err := a.store.updateEvent(r.Context(), id, set); err != nil {
		return notFound(err, "event")
	}
	e, err := a.store.event(r.Context(), id)
	if err != nil {
		return notFound(err, "event")
	}
	return a.writeEvent(w, r, http.StatusOK, e)
}

// internalEvent is what the booking service needs: name, currency, date, and whether seats exist.
func (a *api) internalEvent(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "event")
	if err != nil {
		return err
	}
	e, err := a.store.event(r.Context(), id)
	if err != nil {
		return notFound(err, "event")
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"id": e.ID, "name": e.Name, "currency": e.Currency,
		"date": e.Date, "seatCount": e.SeatCount, "seatsLoaded": e.SeatsLoaded})
	return nil
}

// reconcile finishes the seat loading of events whose creation was interrupted.
func (a *api) reconcile(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
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
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
