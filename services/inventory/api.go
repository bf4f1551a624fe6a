package inventory

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"ticketflow/httpapi"
	"ticketflow/ids"
	"ticketflow/money"
	"ticketflow/seatplan"
)

// api is the inventory's HTTP surface: the public seat map, and the internal operations of the
// saga and of the event service.
type api struct {
	store *store
	maps  *seatMaps
}

func (a *api) routes(r chi.Router, internalToken string) {
	r.Get("/api/inventory/events/{eventId}/seats", httpapi.Handle(a.getSeatMap))
	r.Route("/internal", func(r chi.Router) {
		r.Use(httpapi.InternalOnly(internalToken))
		r.Post("/events/{eventId}/seats", httpapi.Handle(a.createSeats))
		r.Post("/events/{eventId}/quote", httpapi.Handle(a.quote))
		r.Get("/events/{eventId}/availability", httpapi.Handle(a.availability))
		r.Post("/bookings/{bookingId}/hold", httpapi.Handle(a.hold))
		r.Post("/bookings/{bookingId}/confirm", httpapi.Handle(a.confirm))
		r.Post("/bookings/{bookingId}/release", httpapi.Handle(a.release))
	})
}

func eventParam(r *http.Request) (string, error) {
	id := chi.URLParam(r, "eventId")
	if !ids.IsUUID(id) {
		return "", httpapi.NotFound("event")
	}
	return id, nil
}

// seatMap is the cached seat map of the event in the path.
func (a *api) seatMap(r *http.Request) (cachedMap, error) {
	eventID, err := eventParam(r)
	if err != nil {
		return cachedMap{}, err
	}
	m, err := a.maps.get(r.Context(), eventID)
	if errors.Is(err, ErrNoSeatPlan) {
		return cachedMap{}, httpapi.NotFound("event")
	}
	return m, err
}

func (a *api) getSeatMap(w http.ResponseWriter, r *http.Request) error {
	m, err := a.seatMap(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(m.body)
	return err
}

func (a *api) availability(w http.ResponseWriter, r *http.Request) error {
	m, err := a.seatMap(r)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, m.summary)
	return nil
}

// createSeatsRequest is the event service's request to load an event's seat plan.
type createSeatsRequest struct {
	Currency string             `json:"currency"`
	Sections []seatplan.Section `json:"sections"`
}

func (a *api) createSeats(w http.ResponseWriter, r *http.Request) error {
	eventID, err := eventParam(r)
	if err != nil {
		return err
	}
	var req createSeatsRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if !money.Known(req.Currency) {
		return httpapi.FieldError("currency", "must be an ISO-4217 code")
	}
	seats, err := seatplan.Expand(req.Sections)
	if err != nil {
		return err
	}
	count, created, err := a.store.createSeats(r.Context(), eventID, req.Currency, seats)
	if err != nil {
		return err
	}
	if err := a.maps.invalidate(r.Context(), eventID); err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, status, map[string]any{"eventId": eventID, "seatCount": count, "created": created})
	return nil
}

// seatsRequest names a booking's seats (confirm, release).
type seatsRequest struct {
	EventID string   `json:"eventId"`
	SeatIDs []string `json:"seatIds"`
}

// quoteRequest names the seats to price.
type quoteRequest struct {
	SeatIDs []string `json:"seatIds"`
}

func (q *seatsRequest) check() error {
	if !ids.IsUUID(q.EventID) {
		return httpapi.FieldError("eventId", "must be an event id")
	}
	return seatplan.CheckSeatIDs(q.SeatIDs)
}

func (a *api) quote(w http.ResponseWriter, r *http.Request) error {
	eventID, err := eventParam(r)
	if err != nil {
		return err
	}
	var req quoteRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if err := seatplan.CheckSeatIDs(req.SeatIDs); err != nil {
		return err
	}
	q, err := a.store.quote(r.Context(), eventID, req.SeatIDs)
	if err != nil {
		return seatsAPIError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, q)
	return nil
}

// seatsAPIError maps the store's business errors to the contract's answers; Client maps them
// back (see errorOf).
func seatsAPIError(err error) error {
	var se *SeatsError
	var bl *BuyerLimitError
	switch {
	case errors.Is(err, ErrNoSeatPlan):
		return httpapi.NotFound("event")
	case errors.As(err, &se) && errors.Is(err, ErrUnknownSeat):
		return httpapi.NotFound("seat").WithDetails(map[string]any{"unknownSeatIds": se.SeatIDs})
	case errors.As(err, &se) && errors.Is(err, ErrUnavailable):
		return httpapi.Conflict(CodeSeatsUnavailable, "some seats are not available").
			WithDetails(map[string]any{"unavailableSeatIds": se.SeatIDs})
	case errors.Is(err, ErrHoldLost):
		return httpapi.Conflict(CodeHoldLost, "the booking no longer holds all of its seats")
	case errors.Is(err, ErrBookingReleased):
		return httpapi.Conflict(CodeBookingReleased, "the booking's seats were released; it cannot hold seats again")
	case errors.As(err, &bl):
		return httpapi.Conflict(CodeBuyerLimit, bl.Error()).WithDetails(map[string]any{"limit": bl.Limit, "live": bl.Live})
	}
	return err
}

func bookingParam(r *http.Request) (string, error) {
	id := chi.URLParam(r, "bookingId")
	if !ids.IsUUID(id) {
		return "", httpapi.NotFound("booking")
	}
	return id, nil
}

func (a *api) hold(w http.ResponseWriter, r *http.Request) error {
	bookingID, err := bookingParam(r)
	if err != nil {
		return err
	}
	var req HoldRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	req.BookingID = bookingID
	check := seatsRequest{EventID: req.EventID, SeatIDs: req.SeatIDs}
	if err := check.check(); err != nil {
		return err
	}
	if req.HoldUntil.IsZero() {
		return httpapi.FieldError("holdUntil", "is required")
	}
	if req.MaxSeatsPerBuyer < 0 || len(req.BuyerID) > 64 {
		return httpapi.FieldError("maxSeatsPerBuyer", "must be 0 (no limit) or more, with a buyerId of at most 64 bytes")
	}
	if err := a.store.hold(r.Context(), req); err != nil {
		return seatsAPIError(err)
	}
	if err := a.maps.invalidate(r.Context(), req.EventID); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"bookingId": bookingID, "eventId": req.EventID,
		"seatIds": req.SeatIDs, "holdUntil": req.HoldUntil.UTC()})
	return nil
}

func (a *api) confirm(w http.ResponseWriter, r *http.Request) error {
	bookingID, req, err := a.seatsBody(r)
	if err != nil {
		return err
	}
	if err := a.store.confirm(r.Context(), req.EventID, bookingID, req.SeatIDs); err != nil {
		return seatsAPIError(err)
	}
	if err := a.maps.invalidate(r.Context(), req.EventID); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"bookingId": bookingID, "confirmed": len(req.SeatIDs)})
	return nil
}

func (a *api) release(w http.ResponseWriter, r *http.Request) error {
	bookingID, req, err := a.seatsBody(r)
	if err != nil {
		return err
	}
	n, err := a.store.release(r.Context(), req.EventID, bookingID, req.SeatIDs)
	if err != nil {
		return err
	}
	if err := a.maps.invalidate(r.Context(), req.EventID); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"bookingId": bookingID, "released": n})
	return nil
}

func (a *api) seatsBody(r *http.Request) (string, seatsRequest, error) {
	bookingID, err := bookingParam(r)
	if err != nil {
		return "", seatsRequest{}, err
	}
	var req seatsRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return "", req, err
	}
	return bookingID, req, req.check()
}
