package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"ticketflow/internal/auth"
	"ticketflow/internal/clock"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/idempotency"
	"ticketflow/internal/ids"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/seatplan"
	"ticketflow/internal/telemetry"
	"ticketflow/services/booking"
	"ticketflow/services/inventory"
)

type api struct {
	store     *store
	keys      *idempotency.Keys
	orch      *orchestrator
	events    *eventCache
	inventory *inventory.Client
	holdTTL   time.Duration
	// admissionKey checks the Admission-Token of bookings for events with a waiting room.
	admissionKey []byte
}

func (a *api) routes(r chi.Router, secret []byte, internalToken string) {
	r.Group(func(r chi.Router) {
		r.Use(httpapi.Authenticate(secret))
		r.Post("/api/bookings", httpapi.Handle(a.create))
		r.Get("/api/bookings/my", httpapi.Handle(a.mine))
		r.With(bookingInPath).Get("/api/bookings/{id}", httpapi.Handle(a.get))
		r.With(bookingInPath).Post("/api/bookings/{id}/cancel", httpapi.Handle(a.cancel))
	})
	r.Route("/internal/bookings", func(r chi.Router) {
		r.Use(httpapi.InternalOnly(internalToken))
		r.Post("/", httpapi.Handle(a.createInternal))
		r.With(bookingInPath).Get("/{id}", httpapi.Handle(a.getInternal))
		r.With(bookingInPath).Post("/{id}/status", httpapi.Handle(a.setStatus))
	})
}

// bookingInPath puts the booking id of the route ({id}) in the request's context, for its logs
// and its spans.
func bookingInPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := chi.URLParam(r, "id"); ids.IsUUID(id) {
			r = r.WithContext(telemetry.WithBookingID(r.Context(), id))
		}
		next.ServeHTTP(w, r)
	})
}

// Test payment tokens of the contract; any other token reaches the provider, which declines it.
const defaultPaymentToken = "tok_visa"

// Where a booking came from.
const (
	originREST  = "rest"
	originKafka = "kafka" // a booking.initiated of another producer
)

type paymentMethod struct {
	Type  string `json:"type"`
	Token string `json:"token"`
}

// createRequest is the body of POST /api/bookings. EventName and TotalAmount are fields the
// original TicketFlow frontend sends; they are accepted and ignored (the server names and prices
// every booking from the event's data): see docs/compatibility.md.
type createRequest struct {
	EventID       string              `json:"eventId"`
	SeatIDs       []string            `json:"seatIds"`
	Quantities    []seatplan.Quantity `json:"quantities"`
	PaymentMethod *paymentMethod      `json:"paymentMethod"`
	EventName     *json.RawMessage    `json:"eventName"`
	TotalAmount   *json.RawMessage    `json:"totalAmount"`
}

func (q *createRequest) check() error {
	if !ids.IsUUID(q.EventID) {
		return httpapi.FieldError("eventId", "must be an event id")
	}
	var err error
	if q.Quantities, err = seatplan.CheckBooking(q.SeatIDs, q.Quantities); err != nil {
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
	if err := legacyField("eventName", q.EventName, '"'); err != nil {
		return err
	}
	return legacyField("totalAmount", q.TotalAmount, 'n')
}

// legacyField checks an ignored legacy field: absent, null, or of its documented JSON type
// (kind '"' a string, 'n' a number).
func legacyField(name string, raw *json.RawMessage, kind byte) error {
	if raw == nil || string(*raw) == "null" {
		return nil
	}
	b := []byte(*raw)
	if kind == '"' && b[0] == '"' || kind == 'n' && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return nil
	}
	want := map[byte]string{'"': "a string", 'n': "a number"}[kind]
	return httpapi.FieldError(name, "must be "+want+" or null (it is ignored: the server prices and names bookings)")
}

// spec is a booking to make, from REST or from a booking.initiated message.
type spec struct {
	ID, UserID, UserEmail, EventID string
	SeatIDs                        []string
	Quantities                     []seatplan.Quantity // by area key, in key order (seatplan.CheckBooking)
	PaymentToken                   string
	IdempotencyKey                 *string
	Origin                         string
	// Minted is true when ID was made for this request (no Idempotency-Key): no booking can
	// exist under it yet, so the decision skips looking for one.
	Minted bool
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
	if err := a.admitted(r, who.UserID, req.EventID); err != nil {
		return err
	}
	sp := spec{UserID: who.UserID, UserEmail: who.Email, EventID: req.EventID, SeatIDs: nonNil(req.SeatIDs),
		Quantities: req.Quantities, PaymentToken: defaultPaymentToken, Origin: originREST}
	if req.PaymentMethod != nil {
		sp.PaymentToken = req.PaymentMethod.Token
	}
	key, err := idempotency.Key(r)
	if err != nil {
		return err
	}
	if key == "" {
		sp.ID, sp.Minted = ids.New(), true
		ans := a.decide(r, sp)
		ans.write(w)
		return nil
	}
	sp.IdempotencyKey = &key
	return a.createWithKey(w, r, sp, key, fingerprint(&req))
}

// createWithKey makes the booking of a request with an Idempotency-Key (see idempotency.go).
func (a *api) createWithKey(w http.ResponseWriter, r *http.Request, sp spec, key, fp string) error {
	ctx := r.Context()
	c, err := a.keys.Claim(ctx, sp.UserID, key, fp, ids.New)
	if err != nil {
		return err
	}
	if c.Replay() {
		return a.replay(w, r, c)
	}
	sp.ID = c.ResourceID
	ans := a.decide(r, sp)
	// A client that hung up still has its key decided.
	if err := a.keys.Finish(context.WithoutCancel(ctx), c, ans.status, ans.body, ans.bookingOpen); err != nil {
		// The booking stands; the key just cannot replay this answer. A retry takes the key over
		// once its lease ends and gets the booking's decision from its workflow.
		slog.ErrorContext(ctx, "store the answer of an idempotency key", "booking", sp.ID, "err", err)
	}
	ans.write(w)
	return nil
}

// replay answers a request whose key was answered before, with that answer.
func (a *api) replay(w http.ResponseWriter, r *http.Request, c *idempotency.Claim) error {
	if c.Answer.Body != nil {
		ans := answer{status: c.Answer.Status, body: c.Answer.Body}
		if ans.status == http.StatusAccepted || ans.status == http.StatusOK {
			ans.bookingID = c.ResourceID
		}
		ans.write(w)
		return nil
	}
	// A key of the first design: its booking as it stands.
	b, err := a.store.get(r.Context(), c.ResourceID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if b.Status == lifecycle.StatusPending {
		status = http.StatusAccepted
	}
	bookingAnswer(status, b).write(w)
	return nil
}

// upstream turns another service's failure into a 503 (its 4xx answers are handled by callers).
func upstream(ctx context.Context, service string, err error) error {
	slog.ErrorContext(ctx, "upstream failed", "service", service, "err", err)
	return httpapi.Unavailable(service + " service is unavailable")
}

// owned loads a booking the caller may see: its owner or an ADMIN; anyone else gets 404.
func (a *api) owned(r *http.Request) (*booking.Booking, auth.Identity, error) {
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
	a.showEvent(r.Context(), b)
	httpapi.WriteJSON(w, http.StatusOK, b)
	return nil
}

// showEvent gives a booking shown to its buyer its event's name as the event service has it now
// (eventTTL at most old): the name stored with the booking is a copy of the moment it was made,
// and an admin may rename the event since. When the event service cannot answer, the copy it is.
func (a *api) showEvent(ctx context.Context, bs ...*booking.Booking) {
	for _, b := range bs {
		if ev, err := a.events.get(ctx, b.EventID); err == nil && ev.Name != "" {
			b.EventName = ev.Name
		}
	}
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
	a.showEvent(r.Context(), list...)
	httpapi.WriteJSON(w, http.StatusOK, list)
	return nil
}

func (a *api) cancel(w http.ResponseWriter, r *http.Request) error {
	b, _, err := a.owned(r)
	if err != nil {
		return err
	}
	if b.Status != lifecycle.StatusPending && b.Status != lifecycle.StatusConfirmed {
		return notCancellable(b.Status)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	// When the event begins is the event service's fact, read now (eventTTL at most old): an
	// event moved since the booking was made is cancelled by its new date, not the booking's copy.
	ev, err := a.events.get(ctx, b.EventID)
	if err != nil {
		return upstream(ctx, "event", err)
	}
	if !clock.Now().Before(ev.Date) {
		return httpapi.Conflict(CodeEventStarted, "the event began at "+ev.Date.UTC().Format(time.RFC3339)+
			"; its bookings can no longer be cancelled").WithDetails(map[string]any{"eventDate": ev.Date.UTC()})
	}
	res, err := a.orch.cancel(ctx, b, ev.Date, func(ctx context.Context) (*booking.Booking, error) { return a.store.get(ctx, b.ID) })
	if err != nil {
		slog.ErrorContext(ctx, "cancel failed", "booking", b.ID, "err", err)
		return httpapi.Unavailable("the booking could not be cancelled right now; retry")
	}
	if res.Status != lifecycle.StatusCancelled {
		return notCancellable(res.Status)
	}
	fresh, err := a.store.get(r.Context(), b.ID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, fresh)
	return nil
}

// CodeEventStarted is the 409 of a cancel after the event began.
const CodeEventStarted = "EVENT_STARTED"

func notCancellable(status string) error {
	return httpapi.Conflict("BOOKING_NOT_CANCELLABLE", "a "+status+" booking cannot be cancelled")
}

// --- internal API (the worker's activities and the bridge) -------------------------------------

// createInternal is POST /internal/bookings (Client.Create): a booking announced on Kafka by
// another producer (booking.initiated), made exactly as REST would make it.
func (a *api) createInternal(w http.ResponseWriter, r *http.Request) error {
	var req booking.AnnouncedBooking
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
	check := createRequest{EventID: req.EventID, SeatIDs: req.SeatIDs, Quantities: req.Quantities}
	if err := check.check(); err != nil {
		return err
	}
	// The booking id is the message's: a message delivered twice books once. Its idempotencyKey is
	// kept on the record for reference, never used as a REST Idempotency-Key (it is not the
	// buyer's, and must not bind or replay a buyer's answers).
	sp := spec{ID: req.BookingID, UserID: req.UserID, UserEmail: req.UserEmail, EventID: req.EventID,
		SeatIDs: nonNil(req.SeatIDs), Quantities: check.Quantities, PaymentToken: req.PaymentToken, Origin: originKafka}
	if sp.PaymentToken == "" {
		sp.PaymentToken = defaultPaymentToken
	}
	if req.IdempotencyKey != "" {
		sp.IdempotencyKey = &req.IdempotencyKey
	}
	a.decide(r, sp).write(w)
	return nil
}

// getInternal is GET /internal/bookings/{id} (Client.Get): the booking record.
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

// setStatus is POST /internal/bookings/{id}/status (Client.RecordStatus), sent only by the
// workflow's RecordStatus activity.
func (a *api) setStatus(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if !ids.IsUUID(id) {
		return httpapi.NotFound("booking")
	}
	var req booking.StatusChange
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if req.BookingID != "" && req.BookingID != id {
		return httpapi.FieldError("bookingId", "must be the booking of the path")
	}
	if !lifecycle.Terminal(req.Status) {
		return httpapi.FieldError("status", "must be a terminal status")
	}
	if req.At.IsZero() {
		req.At = clock.Now()
	}
	b, changed, err := a.store.setStatus(r.Context(), id, req.Status, optional(req.Reason), optional(req.PaymentID), req.At)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return httpapi.NotFound("booking")
	case errors.Is(err, ErrBadTransition) && b != nil:
		// The record ended already: its status stands (the workflow adopts it), and is named.
		recorded := booking.RecordedStatus{Status: b.Status}
		if b.FailureReason != nil {
			recorded.FailureReason = *b.FailureReason
		}
		return booking.TransitionRefusal(err, recorded)
	case err != nil:
		return err
	}
	if changed { // once per booking and status: a retried activity changes nothing
		bookingsTotal.WithLabelValues(req.Status).Inc()
		if req.Status == lifecycle.StatusConfirmed {
			confirmSeconds.Observe(req.At.Sub(b.CreatedAt).Seconds())
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, b)
	return nil
}

// nonNil is a booking's seat ids: an empty list (never null) for a booking of places only.
func nonNil(seatIDs []string) []string {
	if seatIDs == nil {
		return []string{}
	}
	return seatIDs
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
