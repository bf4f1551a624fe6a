package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"ticketflow/internal/clock"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/telemetry"
	"ticketflow/services/booking"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
)

// The seat decision within the request. The booking service makes it itself — one statement in
// inventory, so the buyer learns in milliseconds whether the seats are held — and hands every
// booking it stores to the booking's workflow, the only decider of the booking from then on:
//
//   - outside the event's sales window: 409 SALES_NOT_STARTED or SALES_CLOSED before anything is
//     stored or held (REST; a booking announced on Kafka is stored refused, so that its workflow
//     records it FAILED and booking.failed says why);
//   - seats visibly taken at the quote: 409 at once, and no booking is stored (REST only);
//   - the booking stored PENDING, then the hold: held → 202; refused (nothing held) → 409 or 404.
//     Either way the decision is stored with the booking before the answer, and the workflow is
//     started with it: it records a refusal FAILED (with booking.failed), runs the saga of a hold;
//   - a hold whose outcome is unknown (the inventory did not answer in time, or failed): the
//     workflow holds, idempotently, and the answer waits for its decision (the "hold" update). If
//     that too takes too long, the answer is 503 and the booking's fate stays with its workflow
//     (a retry with the same Idempotency-Key gets the workflow's decision).
//
// The decision runs detached from the client's connection: a client that goes away does not
// abandon a hold half made.
const (
	decideBudget = 20 * time.Second
	holdTimeout  = 3 * time.Second
	askTimeout   = 12 * time.Second
)

// answer is the answer to a booking request, as it will be written (and, with an
// Idempotency-Key, stored and replayed).
type answer struct {
	status    int
	body      []byte
	bookingID string // set for 200/202: the Location
	// bookingOpen is true when a booking was stored whose fate its workflow still decides.
	bookingOpen bool
}

func (ans answer) write(w http.ResponseWriter) {
	if ans.bookingID != "" && ans.status == http.StatusAccepted {
		w.Header().Set("Location", "/api/bookings/"+ans.bookingID)
	}
	httpapi.WriteRaw(w, ans.status, ans.body)
}

func bookingAnswer(status int, b *booking.Booking) answer {
	body, _ := json.Marshal(b)
	return answer{status: status, body: append(body, '\n'), bookingID: b.ID}
}

// decide makes the booking of sp (sp.ID fixed by the caller) and returns the answer, timed for
// ticketflow_booking_decision_seconds. From here on the request's context carries the booking id.
func (a *api) decide(r *http.Request, sp spec) answer {
	start := time.Now()
	r = r.WithContext(telemetry.WithBookingID(r.Context(), sp.ID))
	ans := a.decideSeats(r, sp)
	decisionSeconds.WithLabelValues(codeLabel(ans.status)).Observe(time.Since(start).Seconds())
	return ans
}

func (a *api) decideSeats(r *http.Request, sp spec) answer {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), decideBudget)
	defer cancel()
	fail := func(err error) answer {
		status, body := httpapi.RenderError(r, err)
		return answer{status: status, body: body}
	}

	// A request taken over, or a message delivered twice: the booking exists and its workflow
	// decides. An id minted for this request names no booking yet: no need to look.
	var existing *booking.Booking
	if !sp.Minted {
		var err error
		existing, err = a.store.get(ctx, sp.ID)
		switch {
		case err == nil:
			return a.decided(r, ctx, existing)
		case !errors.Is(err, pgx.ErrNoRows):
			return fail(err)
		}
	}

	ev, err := a.events.get(ctx, sp.EventID)
	if errors.Is(err, event.ErrNoEvent) {
		return fail(httpapi.NotFound("event"))
	}
	if err != nil {
		return fail(upstream(ctx, "event", err))
	}
	outside := salesRefusal(ev, clock.Now())
	if outside != nil && sp.Origin == originREST {
		return fail(outside)
	}
	q, err := a.inventory.Quote(ctx, sp.EventID, inventory.QuoteRequest{SeatIDs: sp.SeatIDs, Quantities: sp.Quantities})
	if inventory.IsRefusal(err) {
		return fail(decisionError(inventory.Decision(err, time.Time{}), ""))
	}
	if err != nil {
		return fail(upstream(ctx, "inventory", err))
	}
	if len(q.UnavailableSeatIDs)+len(q.UnavailableSections) > 0 && sp.Origin == originREST {
		// Seats already sold or held, or an area with too few places left: turn the buyer away at
		// once, without a booking or a saga. In a flash sale most buyers lose; this keeps them off
		// the orchestrator. (A booking announced on Kafka is stored and refused by its workflow, so
		// booking.failed says so.)
		taken := &inventory.SeatsError{Err: inventory.ErrUnavailable, SeatIDs: q.UnavailableSeatIDs,
			Sections: q.UnavailableSections}
		return fail(decisionError(inventory.Decision(taken, time.Time{}), ""))
	}

	now := clock.Now().UTC().Truncate(time.Microsecond)
	starts := ev.Date.UTC()
	b := &booking.Booking{ID: sp.ID, UserID: sp.UserID, UserEmail: sp.UserEmail, EventID: sp.EventID, EventName: ev.Name,
		SeatIDs: sp.SeatIDs, Quantities: sp.Quantities, AmountMinor: q.AmountMinor, Currency: q.Currency, Status: lifecycle.StatusPending,
		HoldExpiresAt: now.Add(a.holdTTL), PaymentToken: sp.PaymentToken, IdempotencyKey: sp.IdempotencyKey,
		Origin: sp.Origin, EventStartsAt: &starts, MaxSeatsPerBuyer: ev.MaxSeatsPerBuyer, CreatedAt: now, UpdatedAt: now}
	if outside != nil { // announced on Kafka outside the window: stored refused, nothing held
		b.HoldDecision = &lifecycle.HoldResult{Code: outside.Code, Reason: outside.Message}
	}
	if existing, err = a.store.create(ctx, b); err != nil {
		return fail(err)
	}
	if existing != nil {
		return a.decided(r, ctx, existing) // made meanwhile by a delivery of the same message
	}
	bookingsTotal.WithLabelValues(lifecycle.StatusPending).Inc()
	if b.HoldDecision != nil {
		a.orch.startSoon(ctx, b) // its workflow records the refusal FAILED, with booking.failed
		return fail(decisionError(*b.HoldDecision, b.ID))
	}

	holdCtx, cancelHold := context.WithTimeout(ctx, holdTimeout)
	holdStart := time.Now()
	err = a.inventory.Hold(holdCtx, inventory.HoldRequest{BookingID: b.ID, EventID: b.EventID, SeatIDs: b.SeatIDs,
		Quantities: b.Quantities, HoldUntil: b.HoldExpiresAt, BuyerID: b.UserID, MaxSeatsPerBuyer: b.MaxSeatsPerBuyer})
	holdSeconds.WithLabelValues(holdOutcome(err)).Observe(time.Since(holdStart).Seconds())
	cancelHold()
	if err != nil && !inventory.IsRefusal(err) {
		slog.WarnContext(ctx, "hold outcome unknown; the booking's workflow decides", "booking", b.ID, "err", err)
		return a.decided(r, ctx, b)
	}
	d := inventory.Decision(err, b.HoldExpiresAt)
	if err := a.store.setHoldDecision(ctx, b.ID, &d); err != nil {
		// The decision must be stored before it is told (the workflow would hold again without
		// it): leave the booking to its workflow, which decides on its own.
		slog.ErrorContext(ctx, "store the hold decision", "booking", b.ID, "err", err)
		return a.decided(r, ctx, b)
	}
	b.HoldDecision = &d
	a.orch.startSoon(ctx, b)
	if !d.Held {
		return fail(decisionError(d, b.ID))
	}
	return bookingAnswer(http.StatusAccepted, b)
}

// decided answers for a stored booking whose seat decision is its workflow's: the stored decision
// when there is one, else the workflow's answer to the "hold" update.
func (a *api) decided(r *http.Request, ctx context.Context, b *booking.Booking) answer {
	fail := func(err error) answer {
		status, body := httpapi.RenderError(r, err)
		return answer{status: status, body: body}
	}
	d := b.HoldDecision
	if d == nil {
		askCtx, cancel := context.WithTimeout(ctx, askTimeout)
		res, ok, err := a.orch.askHold(askCtx, b)
		cancel()
		switch {
		case err != nil:
			slog.WarnContext(ctx, "the booking's workflow has not decided the hold yet", "booking", b.ID, "err", err)
			ans := fail(httpapi.Unavailable("the seats could not be decided right now; retry with the same Idempotency-Key").
				WithRetryAfter(2))
			ans.bookingOpen = true
			return ans
		case ok:
			d = &res
		}
	}
	fresh, err := a.store.get(ctx, b.ID)
	if err != nil {
		return fail(err)
	}
	if d == nil { // the workflow closed: it decided, and the record says how
		d = fresh.HoldDecision
	}
	switch {
	case d != nil && d.Held, d == nil && fresh.Status != lifecycle.StatusFailed:
		return bookingAnswer(http.StatusAccepted, fresh)
	case d != nil && d.Code == lifecycle.HoldFailed:
		return fail(httpapi.Unavailable("the seats could not be held right now; retry"))
	case d != nil:
		return fail(decisionError(*d, b.ID))
	}
	return fail(httpapi.Conflict(inventory.CodeSeatsUnavailable, "the seats could not be held").
		WithDetails(map[string]any{"unavailableSeatIds": []string{}, "bookingId": b.ID}))
}

// holdOutcome is the outcome label of a hold's answer.
func holdOutcome(err error) string {
	switch {
	case err == nil:
		return "held"
	case inventory.IsRefusal(err):
		return "refused"
	}
	return "unknown"
}

// decisionError is the contract's answer to a refused seat decision (inventory.Decision), the same
// whether the request or the workflow decided; bookingID, when a booking was stored, goes into the
// details.
func decisionError(d lifecycle.HoldResult, bookingID string) error {
	details := map[string]any{}
	if bookingID != "" {
		details["bookingId"] = bookingID
	}
	switch d.Code {
	case lifecycle.HoldNoSeatPlan:
		return httpapi.NotFound("event").WithDetails(details)
	case lifecycle.HoldSeatNotFound:
		details["unknownSeatIds"] = orEmpty(d.UnknownSeatIDs)
		if len(d.UnknownSections) > 0 {
			details["unknownSections"] = d.UnknownSections
			if len(d.UnknownSeatIDs) == 0 {
				return httpapi.NotFound("section").WithDetails(details)
			}
		}
		return httpapi.NotFound("seat").WithDetails(details)
	case inventory.CodeBuyerLimit:
		return httpapi.Conflict(inventory.CodeBuyerLimit, orDefault(d.Reason, "the buyer's seat limit for this event is reached")).WithDetails(details)
	case event.SalesNotStarted, event.SalesClosed:
		return httpapi.Conflict(d.Code, d.Reason).WithDetails(details)
	}
	details["unavailableSeatIds"] = orEmpty(d.UnavailableSeatIDs)
	if len(d.UnavailableSections) > 0 {
		details["unavailableSections"] = d.UnavailableSections
		if len(d.UnavailableSeatIDs) == 0 {
			return httpapi.Conflict(inventory.CodeSeatsUnavailable, "too few places are left in "+
				strings.Join(d.UnavailableSections, ", ")).WithDetails(details)
		}
	}
	return httpapi.Conflict(inventory.CodeSeatsUnavailable, "some of the seats are taken").WithDetails(details)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
