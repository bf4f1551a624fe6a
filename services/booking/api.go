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

// book prices the seats from the seat data, stores the booking and gets the seat decision from its
// workflow.
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
		b = existing // a concurrent request with the same key or id won
	}
	return a.answer(w, r, b)
}

// answer gets the seat decision of a PENDING booking from its workflow (starting the workflow, or
// attaching to it when it already runs: Update-with-Start, one round trip) and answers 202 with the
// held booking, or 409 SEATS_UNAVAILABLE naming the seats. A booking that already ended is
// answered as it stands.
func (a *api) answer(w http.ResponseWriter, r *http.Request, b *Booking) error {
	ctx := r.Context()
	if b.Status != workflows.StatusPending {
		httpapi.WriteJSON(w, http.StatusOK, b)
		return nil
	}
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hold, err := a.saga.hold(hctx, b)
	if err != nil {
		if alreadyStarted(err) {
			// Its workflow already ran to the end: answer with the record as it stands.
			if fresh, gerr := a.store.get(ctx, b.ID); gerr == nil {
				httpapi.WriteJSON(w, http.StatusOK, fresh)
				return nil
			}
		}
		slog.ErrorContext(ctx, "booking workflow did not answer", "booking", b.ID, "err", err)
		return httpapi.Unavailable("the booking could not be processed right now; retry with the same Idempotency-Key")
	}
	switch hold.Code {
	case workflows.HoldOK:
		httpapi.WriteJSON(w, http.StatusAccepted, b)
		return nil
	case workflows.HoldSeatsUnavailable:
		return httpapi.Conflict("SEATS_UNAVAILABLE", "some of the seats are taken").
			WithDetails(map[string]any{"unavailableSeatIds": hold.UnavailableSeatIDs, "bookingId": b.ID})
	case workflows.HoldSeatNotFound:
		return httpapi.NotFound("seat").WithDetails(map[string]any{"unknownSeatIds": hold.UnknownSeatIDs})
	}
	return httpapi.Unavailable("the seats could not be held right now; retry")
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
	res, err := a.saga.cancel(ctx, b)
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
