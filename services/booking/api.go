package booking

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"ticketflow/auth"
	"ticketflow/httpapi"
	"ticketflow/ids"
	"ticketflow/seatplan"
	"ticketflow/workflows"
)

type api struct {
	store     *store
	saga      *saga
	events    *eventCache
	inventory *httpapi.Client
	holdTTL   time.Duration
}

func (a *api) routes(r chi.Router, secret []byte, internalToken string) {
	r.Group(func(r chi.Router) {
		r.Use(httpapi.Authenticate(secret))
		r.Post("/api/bookings", httpapi.Handle(a.create))
		r.Get("/api/bookings/my", httpapi.Handle(a.mine))
		r.Get("/api/bookings/{id}", httpapi.Handle(a.get))
		r.Post("/api/bookings/{id}/cancel", httpapi.Handle(a.cancel))
	})
	r.Route("/internal/bookings", func(r chi.Router) {
		r.Use(httpapi.InternalOnly(internalToken))
		r.Post("/", httpapi.Handle(a.createInternal))
		r.Get("/{id}", httpapi.Handle(a.getInternal))
		r.Post("/{id}/status", httpapi.Handle(a.setStatus))
	})
}

// Test payment tokens of the contract; any other token reaches the provider, which declines it.
const defaultPaymentToken = "tok_visa"

type paymentMethod struct {
	Type  string `json:"type"`
	Token string `json:"token"`
}

type createRequest struct {
	EventID       string         `json:"eventId"`
	SeatIDs       []string       `json:"seatIds"`
	PaymentMethod *paymentMethod `json:"paymentMethod"`
}

func (q *createRequest) check() error {
	if !ids.IsUUID(q.EventID) {
		return httpapi.FieldError("eventId", "must be an event id")
	}
	if err := seatplan.CheckSeatIDs(q.SeatIDs); err != nil {
		return err
	}
	if q.PaymentMethod != nil {
		if q.PaymentMethod.Type != "card" {
			return httpapi.FieldError("paymentMethod.type", `must be "card"`)
		}
		if err := httpapi.Required("paymentMethod.token", q.PaymentMethod.Token, 200); err != nil {
			return err
		}
	}
	return nil
}

// spec is a booking to make, from REST or from a booking.initiated message.
type spec struct {
	ID, UserID, UserEmail, EventID string
	SeatIDs                        []string
	PaymentToken                   string
	IdempotencyKey                 *string
	Origin                         string
}

func (a *api) create(w http.ResponseWriter, r *http.Request) error {
	who, _ := httpapi.Identity(r.Context())
	var req createRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	sp := spec{ID: ids.New(), UserID: who.UserID, UserEmail: who.Email, EventID: req.EventID, SeatIDs: req.SeatIDs,
		PaymentToken: defaultPaymentToken, Origin: "rest"}
	if req.PaymentMethod != nil {
		sp.PaymentToken = req.PaymentMethod.Token
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		if err := httpapi.Text("Idempotency-Key", key, 200, false); err != nil {
			return err
		}
		sp.IdempotencyKey = &key
	}
	return a.book(w, r, sp)
}

// book prices the seats from the seat data, stores the booking, holds its seats and answers with
// the seat decision; the booking's workflow does the rest.
func (a *api) book(w http.ResponseWriter, r *http.Request, sp spec) error {
	ctx := r.Context()
	// A retried request (same Idempotency-Key) or a message delivered twice (same booking id) is
	// answered with the booking it made.
	existing, err := a.store.prior(ctx, sp.ID, sp.Origin == "kafka", sp.UserID, sp.IdempotencyKey)
	if err != nil {
		return err
	}
	if existing != nil {
		return a.answer(w, r, existing)
	}
	ev, err := a.events.get(ctx, sp.EventID)
	if httpapi.IsStatus(err, http.StatusNotFound) {
		return httpapi.NotFound("event")
	}
	if err != nil {
		return upstream(ctx, "event", err)
	}
	var q struct {
		AmountMinor        int64    `json:"amountMinor"`
		Currency           string   `json:"currency"`
		UnavailableSeatIDs []string `json:"unavailableSeatIds"`
	}
	err = a.inventory.Post(ctx, "/internal/events/"+sp.EventID+"/quote", map[string]any{"seatIds": sp.SeatIDs}, &q)
	var e *httpapi.Error
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		return e // unknown event or seats, with the seat ids in its details
	}
	if err != nil {
		return upstream(ctx, "inventory", err)
	}
	if len(q.UnavailableSeatIDs) > 0 {
		// Seats already sold or held: turn the buyer away at once, without a booking or a saga.
		// In a flash sale most buyers lose; this keeps them off the orchestrator.
		return httpapi.Conflict("SEATS_UNAVAILABLE", "some of the seats are taken").
			WithDetails(map[string]any{"unavailableSeatIds": q.UnavailableSeatIDs})
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	b := &Booking{ID: sp.ID, UserID: sp.UserID, UserEmail: sp.UserEmail, EventID: sp.EventID, EventName: ev.Name,
		SeatIDs: sp.SeatIDs, AmountMinor: q.AmountMinor, Currency: q.Currency, Status: workflows.StatusPending,
		HoldExpiresAt: now.Add(a.holdTTL), PaymentToken: sp.PaymentToken, IdempotencyKey: sp.IdempotencyKey,
		Origin: sp.Origin, CreatedAt: now, UpdatedAt: now}
	existing, err = a.store.create(ctx, b)
	if err != nil {
		return err
	}
	if existing != nil {
		return a.answer(w, r, existing) // a concurrent request with the same key or id won
	}
	return a.hold(w, r, b)
}

// answer answers with a stored booking: a PENDING one is held (202) and its workflow is made sure
// to run; one that already ended is answered as it stands (200).
func (a *api) answer(w http.ResponseWriter, r *http.Request, b *Booking) error {
	if b.Status != workflows.StatusPending {
		httpapi.WriteJSON(w, http.StatusOK, b)
		return nil
	}
	a.saga.startSoon(b)
	httpapi.WriteJSON(w, http.StatusAccepted, b)
	return nil
}

// hold holds the new booking's seats — all or none, in one statement in inventory — and answers
// with the seat decision at once: 202 and the booking's workflow started to take it from there,
// or 409 SEATS_UNAVAILABLE naming the seats (the booking is recorded FAILED; no saga runs for it).
// This is the saga's first step done within the request; the workflow's own hold finds the seats
// already held by the booking and changes nothing.
func (a *api) hold(w http.ResponseWriter, r *http.Request, b *Booking) error {
	ctx := r.Context()
	err := a.inventory.Post(ctx, "/internal/bookings/"+b.ID+"/hold",
		map[string]any{"eventId": b.EventID, "seatIds": b.SeatIDs, "holdUntil": b.HoldExpiresAt}, nil)
	if err == nil {
		return a.answer(w, r, b)
	}
	var e *httpapi.Error
	reason := "seats could not be held"
	switch {
	case errors.As(err, &e) && e.Code == "SEATS_UNAVAILABLE":
		reason = "seats unavailable"
		e = e.WithDetails(map[string]any{"unavailableSeatIds": e.Details["unavailableSeatIds"], "bookingId": b.ID})
	case errors.As(err, &e) && e.Status == http.StatusNotFound:
		reason = "unknown seats"
	default:
		// The hold's outcome is unknown: free whatever it may have taken (the hold also expires).
		_ = a.inventory.Post(context.WithoutCancel(ctx), "/internal/bookings/"+b.ID+"/release",
			map[string]any{"eventId": b.EventID, "seatIds": b.SeatIDs}, nil)
		e = httpapi.Unavailable("the seats could not be held right now; retry")
		slog.ErrorContext(ctx, "hold failed", "booking", b.ID, "err", err)
	}
	if _, serr := a.store.setStatus(context.WithoutCancel(ctx), b.ID, workflows.StatusFailed, &reason, nil, time.Now()); serr != nil {
		return serr
	}
	return e
}

// upstream turns another service's failure into a 503 (its 4xx answers are handled by callers).
func upstream(ctx context.Context, service string, err error) error {
	slog.ErrorContext(ctx, "upstream failed", "service", service, "err", err, "requestId", httpapi.RequestID(ctx))
	return httpapi.Unavailable(service + " service is unavailable")
}

// owned loads a booking the caller may see: its owner or an ADMIN; anyone else gets 404.
func (a *api) owned(r *http.Request) (*Booking, auth.Identity, error) {
	who, _ := httpapi.Identity(r.Context())
	id := chi.URLParam(r, "id")
	if !ids.IsUUID(id) {
		return nil, who, httpapi.NotFound("booking")
	}
	b, err := a.store.get(r.Context(), id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, who, httpapi.NotFound("booking")
	}
	if err != nil {
		return nil, who, err
	}
	if b.UserID != who.UserID && !who.Admin() {
		return nil, who, httpapi.NotFound("booking")
	}
	return b, who, nil
}

func (a *api) get(w http.ResponseWriter, r *http.Request) error {
	b, _, err := a.owned(r)
	if err != nil {
		return err
	}
	if b.History, err = a.store.history(r.Context(), b.ID); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (a *api) mine(w http.ResponseWriter, r *http.Request) error {
	who, _ := httpapi.Identity(r.Context())
	page, limit, err := httpapi.Page(r)
	if err != nil {
		return err
	}
	list, err := a.store.listByUser(r.Context(), who.UserID, page, limit)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, list)
	return nil
}

func (a *api) cancel(w http.ResponseWriter, r *http.Request) error {
	b, _, err := a.owned(r)
	if err != nil {
		return err
	}
	if b.Status != workflows.StatusPending && b.Status != workflows.StatusConfirmed {
		return notCancellable(b.Status)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	res, err := a.saga.cancel(ctx, b, func(ctx context.Context) (*Booking, error) { return a.store.get(ctx, b.ID) })
	if err != nil {
		slog.ErrorContext(ctx, "cancel failed", "booking", b.ID, "err", err)
		return httpapi.Unavailable("the booking could not be cancelled right now; retry")
	}
	if res.Status != workflows.StatusCancelled {
		return notCancellable(res.Status)
	}
	fresh, err := a.store.get(r.Context(), b.ID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, fresh)
	return nil
}

func notCancellable(status string) error {
	return httpapi.Conflict("BOOKING_NOT_CANCELLABLE", "a "+status+" booking cannot be cancelled")
}

// --- internal API (the worker's activities and the bridge) -------------------------------------

// createInternal makes a booking announced on Kafka by another producer (booking.initiated),
// exactly as REST would: the id is the message's, so a message delivered twice books once.
func (a *api) createInternal(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		BookingID      string   `json:"bookingId"`
		UserID         string   `json:"userId"`
		UserEmail      string   `json:"userEmail"`
		EventID        string   `json:"eventId"`
		SeatIDs        []string `json:"seatIds"`
		PaymentToken   string   `json:"paymentToken"`
		IdempotencyKey string   `json:"idempotencyKey"`
	}
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if !ids.IsUUID(req.BookingID) {
		return httpapi.FieldError("bookingId", "must be a UUID")
	}
	if err := httpapi.Required("userId", req.UserID, 64); err != nil {
		return err
	}
	if err := httpapi.Required("userEmail", req.UserEmail, 254); err != nil {
		return err
	}
	check := createRequest{EventID: req.EventID, SeatIDs: req.SeatIDs}
	if err := check.check(); err != nil {
		return err
	}
	sp := spec{ID: req.BookingID, UserID: req.UserID, UserEmail: req.UserEmail, EventID: req.EventID,
		SeatIDs: req.SeatIDs, PaymentToken: req.PaymentToken, Origin: "kafka"}
	if sp.PaymentToken == "" {
		sp.PaymentToken = defaultPaymentToken
	}
	if req.IdempotencyKey != "" {
		sp.IdempotencyKey = &req.IdempotencyKey
	}
	return a.book(w, r, sp)
}

func (a *api) getInternal(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if !ids.IsUUID(id) {
		return httpapi.NotFound("booking")
	}
	b, err := a.store.get(r.Context(), id)
	if errors.Is(err, pgx.ErrNoRows) {
		return httpapi.NotFound("booking")
	}
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, b)
	return nil
}

// setStatus is the workflow's RecordStatus activity.
func (a *api) setStatus(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if !ids.IsUUID(id) {
		return httpapi.NotFound("booking")
	}
	var req struct {
		Status    string    `json:"status"`
		Reason    string    `json:"reason"`
		PaymentID string    `json:"paymentId"`
		At        time.Time `json:"at"`
	}
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if !workflows.Terminal(req.Status) {
		return httpapi.FieldError("status", "must be a terminal status")
	}
	if req.At.IsZero() {
		req.At = time.Now()
	}
	b, err := a.store.setStatus(r.Context(), id, req.Status, optional(req.Reason), optional(req.PaymentID), req.At)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return httpapi.NotFound("booking")
	case errors.Is(err, ErrBadTransition):
		return httpapi.Conflict("CONFLICT", err.Error())
	case err != nil:
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, b)
	return nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
