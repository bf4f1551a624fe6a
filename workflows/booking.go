package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"ticketflow/activities"
	"ticketflow/internal/bus"
	"ticketflow/internal/lifecycle"
)

// a is only used to name activity methods; the worker registers the real instance.
var a *activities.Activities

// Reasons written to the booking record and to booking.failed / .expired / .cancelled.
const (
	reasonBuyer       = "cancelled by the buyer"
	reasonOperator    = "cancelled in Temporal by an operator"
	reasonExpired     = "the hold expired before the payment arrived"
	reasonHoldUnknown = "seats could not be held"
	reasonRepaired    = "its workflow run ended before the booking did; compensated"
)

// BookingWorkflow is the booking saga and the one decider of its booking: once the booking record
// exists, only this workflow moves its status, its seats and its money.
//
//  1. The seat decision: taken from the booking service (BookingInput.Hold), or made here by
//     holding the seats when the booking service could not tell. The "hold" update answers it.
//  2. Announce the booking and ask for payment (Kafka).
//  3. Wait for whichever comes first: a payment result, a cancel (the buyer's update, or a cancel
//     of this workflow from the Temporal UI or CLI), or the end of the hold.
//  4. End: confirm, or compensate in reverse — release the seats, void or refund the payment —
//     and record FAILED, EXPIRED or CANCELLED.
//  5. A CONFIRMED booking's workflow stays open until the event begins, serving cancels (refund,
//     release, CANCELLED), so its status query and BookingStatus are the booking's one truth.
//
// A payment result is only a hint: the workflow acts on the payment service's record, and only
// when that record is for the booking's amount and currency. A payment of record that no
// confirmed booking keeps is refunded.
func BookingWorkflow(ctx workflow.Context, in lifecycle.BookingInput) (lifecycle.BookingState, error) {
	gen := workflow.GetVersion(ctx, versionOneDecider, workflow.DefaultVersion, currentGeneration)
	if gen == workflow.DefaultVersion {
		return legacyBookingWorkflow(ctx, in)
	}
	b := newBooking(in)
	b.gen = gen
	if err := b.setup(ctx); err != nil {
		return b.state, err
	}
	return b.run(ctx)
}

// booking is the state of one run.
type booking struct {
	in    lifecycle.BookingInput
	state lifecycle.BookingState
	saga  saga

	hold        lifecycle.HoldResult
	holdDecided bool

	// What may decide the booking, as it arrives: payment results not yet checked against the
	// record, and a requested cancel with its reason.
	claims       []lifecycle.PaymentResult
	cancelReason string
	// The payment of record the booking is confirmed with.
	confirmedPayID string
	// paymentAsked is set once payment.requested is out: from then on an end voids or refunds.
	paymentAsked bool
	// ranLocal is set when a local activity ran in the current workflow task (mechanics.go,
	// complete).
	ranLocal bool
	// gen is the run's generation marker (generations.go): what it does differently from
	// earlier runs is decided by it, and only in mechanics.go, legacy.go and tickets.go.
	gen workflow.Version
}

func newBooking(in lifecycle.BookingInput) *booking {
	return &booking{in: in, state: lifecycle.BookingState{
		BookingID: in.BookingID, Status: lifecycle.StatusPending, Step: "deciding the hold", EventID: in.EventID,
		SeatIDs: in.SeatIDs, Quantities: in.Quantities, AmountMinor: in.AmountMinor, Currency: in.Currency,
		HoldExpiresAt: in.HoldExpiresAt,
	}}
}

// setup registers the query, the updates and the payment signal before the first step, so that an
// Update-with-Start finds its handler.
func (b *booking) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, lifecycle.QueryStatus, func() (lifecycle.BookingState, error) { return b.state, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, lifecycle.UpdateHold, func(ctx workflow.Context) (lifecycle.HoldResult, error) {
		err := workflow.Await(ctx, func() bool { return b.holdDecided })
		return b.hold, err
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, lifecycle.UpdateCancel, b.onCancel, workflow.UpdateHandlerOptions{
		Validator: b.validateCancel,
	}); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, lifecycle.SignalPaymentResult)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var p lifecycle.PaymentResult
			ch.Receive(ctx, &p)
			b.claims = append(b.claims, p)
		}
	})
	// A cancel of the workflow itself (Temporal UI, `temporal workflow cancel`) is a cancel of the
	// booking: the saga runs on a disconnected context (see run) and compensates as for a buyer.
	workflow.Go(ctx, func(gctx workflow.Context) {
		ctx.Done().Receive(gctx, nil)
		b.requestCancel(reasonOperator)
	})
	return nil
}

func (b *booking) validateCancel(ctx workflow.Context) error {
	if s := b.state.Status; s != lifecycle.StatusPending && s != lifecycle.StatusConfirmed {
		return temporal.NewApplicationError("booking is "+s+" and cannot be cancelled", lifecycle.ErrNotCancellable)
	}
	return nil
}

// onCancel asks the saga to cancel and answers with the booking's final status.
func (b *booking) onCancel(ctx workflow.Context) (lifecycle.CancelResult, error) {
	b.requestCancel(reasonBuyer)
	// cancelReason is cleared once the cancel has acted — record written, facts announced — or
	// found the booking ended.
	err := workflow.Await(ctx, func() bool { return b.cancelReason == "" })
	return lifecycle.CancelResult{Status: b.state.Status, Cancelled: b.state.Status == lifecycle.StatusCancelled, Refunded: b.state.Refunded}, err
}

// requestCancel records a cancel; the saga acts on it at its next step (cancelReason is cleared
// when a cancel is refused because the booking ended meanwhile).
func (b *booking) requestCancel(reason string) {
	if b.cancelReason == "" && (b.state.Status == lifecycle.StatusPending || b.state.Status == lifecycle.StatusConfirmed) {
		b.cancelReason = reason
	}
}

func (b *booking) run(root workflow.Context) (lifecycle.BookingState, error) {
	// Every step runs on a disconnected context: cancelling the workflow cannot interrupt a step
	// or skip a compensation; it is a cancel request like the buyer's.
	ctx, _ := workflow.NewDisconnectedContext(root)
	switch b.in.Mode {
	case lifecycle.ModeConfirmed:
		b.resumeConfirmed()
		if b.gen >= genConfirmationTakenUp {
			b.completeConfirmation(ctx)
		}
		return b.keep(ctx)
	case lifecycle.ModeRepair:
		b.repair(ctx)
		return b.keep(ctx)
	}

	// 1. The seat decision.
	if !b.decideHold(ctx) {
		if msgs := b.announce(workflow.Now(ctx)); len(msgs) > 0 {
			b.emit(ctx, msgs...)
		}
		b.finish(ctx, lifecycle.StatusFailed, orDefault(b.hold.Reason, reasonHoldUnknown))
		return b.keep(ctx)
	}
	b.state.Step = "awaiting payment"

	// 2. Announce the booking and ask for payment (the payment service answers on Kafka).
	now := workflow.Now(ctx)
	b.emit(ctx, append(b.announce(now), b.seatsLocked(now), b.paymentRequested(now))...)

	// 3. Wait for the payment of record, a cancel, or the end of the hold.
	for {
		left := b.in.HoldExpiresAt.Sub(workflow.Now(ctx))
		arrived, _ := b.awaitFor(ctx, max(left, 0), func() bool {
			return len(b.claims) > 0 || b.cancelReason != ""
		})
		switch {
		case b.cancelReason != "":
			b.finish(ctx, lifecycle.StatusCancelled, b.cancelReason)
		case !arrived:
			b.finish(ctx, lifecycle.StatusExpired, reasonExpired)
		default:
			rec, ok := b.checkClaims(ctx)
			if !ok {
				continue // no settled payment of record for this booking yet: keep waiting
			}
			if rec.Kept() {
				b.confirm(ctx, rec)
			} else {
				b.finish(ctx, lifecycle.StatusFailed, "payment declined: "+orDefault(rec.FailureReason, "no reason given"))
			}
		}
		break
	}
	return b.keep(ctx)
}

// decideHold makes the seat decision (or takes the booking service's) and reports whether the
// seats are held. Whatever a hold of unknown outcome may have taken is released on failure.
func (b *booking) decideHold(ctx workflow.Context) bool {
	switch {
	case b.in.Hold != nil:
		b.hold = *b.in.Hold
	case b.gen < genOneTranslation:
		b.hold = b.legacyHold(ctx)
	default:
		// The inventory's answer, translated by inventory.Decision as the request path does. An
		// error is an outcome still unknown when holdOptions gave up: nothing is known to be held.
		b.ranLocal = true
		err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, holdOptions), a.DecideHold,
			b.seats(true)).Get(ctx, &b.hold)
		if err != nil {
			b.hold = lifecycle.HoldResult{Code: lifecycle.HoldFailed, Reason: reasonHoldUnknown}
		}
	}
	b.holdDecided = true
	if b.hold.Held || b.hold.Code == lifecycle.HoldFailed {
		b.saga.add("release seats", b.release)
	}
	return b.hold.Held
}

// checkClaims takes the payment results that arrived and reads the payment of record: ok when it
// is settled and is this booking's (same amount and currency). A record for another amount (a
// payment.requested from another producer, say) is never used; its money is given back in keep.
func (b *booking) checkClaims(ctx workflow.Context) (activities.PaymentRecord, bool) {
	rec := b.paymentOfRecordAfterClaims(ctx)
	if !rec.Settled() {
		return rec, false
	}
	if rec.AmountMinor != b.in.AmountMinor || rec.Currency != b.in.Currency {
		workflow.GetLogger(ctx).Warn("payment of record is not for this booking's amount; ignored",
			"bookingId", b.in.BookingID, "paymentId", rec.ID, "amountMinor", rec.AmountMinor, "currency", rec.Currency)
		return rec, false
	}
	return rec, true
}

// confirm makes the seats sold and the booking CONFIRMED. If another booking took a seat after the
// hold lapsed, the payment is refunded and the booking FAILED instead.
func (b *booking) confirm(ctx workflow.Context, rec activities.PaymentRecord) {
	b.state.Step = "confirming"
	b.state.PaymentID = rec.ID
	err := b.step(ctx, "confirm seats", a.ConfirmSeats, b.seats(false), nil)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == activities.ErrHoldLost {
		b.finish(ctx, lifecycle.StatusFailed, "the seats were lost after the hold expired; payment refunded")
		return
	}
	b.confirmedPayID = rec.ID
	b.saga.clear() // the seats are sold: a later failure must not release them
	b.setStatus(ctx, lifecycle.StatusConfirmed, "")
	now := workflow.Now(ctx)
	if status, reason := b.record(ctx, lifecycle.StatusConfirmed, "", now); status != lifecycle.StatusConfirmed {
		// An earlier attempt of this run ended the booking first (see record): its end stands.
		b.unconfirm(ctx, reason)
		b.emit(ctx, b.released(reason, now), b.ended(status, reason, now))
		b.state.Step = "done"
		return
	}
	b.issueTickets(ctx)
	b.emit(ctx, b.confirmed(now))
	b.state.Step = "confirmed; open until the event for cancels"
}

// finish ends a booking that is not CONFIRMED: compensations in reverse (seats released), the
// payment voided or refunded, the record updated and the facts announced.
func (b *booking) finish(ctx workflow.Context, status, reason string) {
	b.state.Step = "compensating"
	b.saga.compensate(ctx)
	if b.paymentAsked {
		b.giveBack(ctx, "", reason)
	}
	b.setStatus(ctx, status, reason)
	now := workflow.Now(ctx)
	status, reason = b.record(ctx, status, reason, now)
	msgs := []bus.Message{b.ended(status, reason, now)}
	if b.hold.Held {
		msgs = append([]bus.Message{b.released(reason, now)}, msgs...)
	}
	b.emit(ctx, msgs...)
	b.cancelReason = ""
	b.state.Step = "done"
}

// cancelConfirmed cancels a CONFIRMED booking: refund, release, CANCELLED.
func (b *booking) cancelConfirmed(ctx workflow.Context, reason string) {
	b.state.Step = "cancelling"
	b.revokeTickets(ctx, reason)
	b.unconfirm(ctx, reason)
	b.setStatus(ctx, lifecycle.StatusCancelled, reason)
	now := workflow.Now(ctx)
	status, reason := b.record(ctx, lifecycle.StatusCancelled, reason, now)
	b.emit(ctx, b.released(reason, now), b.ended(status, reason, now))
	b.cancelReason = ""
	b.state.Step = "done"
}

// unconfirm gives back what a confirmation took: the payment refunded, then the seats released.
func (b *booking) unconfirm(ctx workflow.Context, reason string) {
	b.giveBack(ctx, "", reason)
	b.release(ctx)
	b.confirmedPayID = ""
}

// resumeConfirmed takes up a CONFIRMED booking whose earlier run closed.
func (b *booking) resumeConfirmed() {
	b.hold = lifecycle.HoldResult{Held: true, Code: lifecycle.HoldOK, HoldExpiresAt: b.in.HoldExpiresAt}
	b.holdDecided = true
	b.confirmedPayID = b.in.PaymentID
	b.state.PaymentID = b.in.PaymentID
	b.state.Status = lifecycle.StatusConfirmed
	b.state.Step = "confirmed; open until the event for cancels"
}

// completeConfirmation does what follows a CONFIRMED record (confirm) for a booking taken up by
// a new run (generation 10 on): the earlier run may have closed after recording CONFIRMED but
// before it issued the tickets or published booking.confirmed, which would leave the buyer with no
// tickets and no confirmation email. Issuing is idempotent per booking, and the fact is
// published with a look at its topic first (EmitAgain), so neither happens twice when that run
// did get that far.
func (b *booking) completeConfirmation(ctx workflow.Context) {
	b.issueTickets(ctx)
	_ = b.step(ctx, "publish to Kafka unless already published", a.EmitAgain,
		[]bus.Message{b.confirmed(workflow.Now(ctx))}, nil)
	b.state.Step = "confirmed; open until the event for cancels"
}

// repair ends a booking whose earlier run closed without ending it (terminated, timed out): what
// that run did is unknown, so the stores decide. A CONFIRMED record stays confirmed. Otherwise a
// settled payment of the booking's amount with seats still held confirms it; anything else is
// compensated (seats released, payment voided or refunded) and the booking ends FAILED — or keeps
// the terminal status its record already has.
func (b *booking) repair(ctx workflow.Context) {
	b.holdDecided = true
	if b.in.Status == lifecycle.StatusConfirmed {
		b.resumeConfirmed()
		if b.gen >= genConfirmationTakenUp {
			b.completeConfirmation(ctx)
		} else {
			b.issueTickets(ctx) // the earlier run may have ended before it issued them
			b.state.Step = "confirmed; open until the event for cancels"
		}
		return
	}
	b.hold = lifecycle.HoldResult{Held: true, Code: lifecycle.HoldOK, HoldExpiresAt: b.in.HoldExpiresAt}
	b.saga.add("release seats", b.release)
	b.paymentAsked = true // perhaps: void or refund whatever there is
	if b.in.Status == lifecycle.StatusPending {
		if rec, ok := b.checkClaims(ctx); ok && rec.Kept() {
			b.confirm(ctx, rec)
			return
		}
	}
	status := b.in.Status
	if !lifecycle.Terminal(status) {
		status = lifecycle.StatusFailed
	}
	b.finish(ctx, status, reasonRepaired)
}

// keep is the rest of the run once the booking has a status. A CONFIRMED booking waits here until
// its event begins, serving cancels. Every booking gives back a payment of record that arrived
// for it and that it does not keep (lifecycle.OwesRefund: the booking has a status here, so that
// is every captured payment but the one a CONFIRMED booking was confirmed with; the bridge applies
// the same rule once the run has closed). The run completes once every update has its answer.
func (b *booking) keep(ctx workflow.Context) (lifecycle.BookingState, error) {
	for {
		confirmed := b.state.Status == lifecycle.StatusConfirmed
		wait := time.Duration(0)
		if confirmed && !b.in.EventStartsAt.IsZero() {
			wait = max(b.in.EventStartsAt.Sub(workflow.Now(ctx)), 0)
		}
		woken := false
		if wait > 0 {
			woken, _ = b.awaitFor(ctx, wait, func() bool { return len(b.claims) > 0 || b.cancelReason != "" })
		} else {
			woken = len(b.claims) > 0 || b.cancelReason != ""
		}
		switch {
		case b.cancelReason != "" && confirmed:
			b.cancelConfirmed(ctx, b.cancelReason)
		case b.cancelReason != "":
			b.cancelReason = "" // the booking ended before the cancel could act
		case len(b.claims) > 0:
			if rec := b.paymentOfRecordAfterClaims(ctx); rec.Kept() && lifecycle.OwesRefund(b.state.Status, b.confirmedPayID, rec.ID) {
				b.giveBack(ctx, rec.ID, "payment arrived after the booking ended ("+b.state.Status+")")
			}
		case !woken && wait > 0 && b.gen >= genFreshEventDate && b.eventMoved(ctx):
			// The event was postponed since the booking was made: keep waiting for its new date.
		case !woken:
			return b.complete(ctx)
		}
	}
}

// eventMoved asks the event service when the event begins now (the booking's copy of the date is
// the moment it was made) and reports whether that is still ahead, taking it as the date to wait
// for. An event brought forward needs nothing here: the booking service refuses a cancel after
// the event's real start, and the run ends when its copy's timer fires.
func (b *booking) eventMoved(ctx workflow.Context) bool {
	var starts time.Time
	if err := b.step(ctx, "read the event's date", a.EventStartsAt, b.in.EventID, &starts); err != nil {
		return false
	}
	if !starts.After(workflow.Now(ctx)) {
		return false
	}
	b.in.EventStartsAt = starts
	return true
}

// paymentOfRecordAfterClaims is the payment of record for the claims that arrived: the one the
// bridge checked and sealed, when one of them carries its seal (generation 9); otherwise read
// from the payment service.
func (b *booking) paymentOfRecordAfterClaims(ctx workflow.Context) activities.PaymentRecord {
	claims := b.claims
	b.claims = nil
	if b.gen >= genSealedPayment {
		if rec, ok := b.sealedRecord(ctx, claims); ok {
			return rec
		}
	}
	return b.paymentOfRecord(ctx)
}

// --- steps ------------------------------------------------------------------------------------

func (b *booking) seats(forHold bool) activities.SeatsRequest {
	r := activities.SeatsRequest{BookingID: b.in.BookingID, EventID: b.in.EventID, SeatIDs: b.in.SeatIDs,
		Quantities: b.in.Quantities}
	if forHold {
		r.HoldUntil, r.BuyerID, r.MaxSeatsPerBuyer = b.in.HoldExpiresAt, b.in.UserID, b.in.MaxSeatsPerBuyer
	}
	return r
}

func (b *booking) release(ctx workflow.Context) {
	_ = b.step(ctx, "release seats", a.ReleaseSeats, b.seats(false), nil)
}

// giveBack refunds the booking's payment (or voids it while the provider has not answered); with
// paymentID, only that payment. The payment service does it once per payment.
func (b *booking) giveBack(ctx workflow.Context, paymentID, reason string) {
	var res activities.RefundResult
	req := activities.RefundRequest{BookingID: b.in.BookingID, PaymentID: paymentID, Reason: reason}
	if err := b.step(ctx, "refund payment", a.RefundPayment, req, &res); err != nil {
		return
	}
	if res.Refunded {
		b.state.Refunded = true
	}
}

func (b *booking) paymentOfRecord(ctx workflow.Context) activities.PaymentRecord {
	var rec activities.PaymentRecord
	_ = b.step(ctx, "read the payment of record", a.PaymentOfRecord, b.in.BookingID, &rec)
	return rec
}

func (b *booking) setStatus(ctx workflow.Context, status, reason string) {
	b.state.Status = status
	b.state.FailureReason = reason
	if err := workflow.UpsertTypedSearchAttributes(ctx, lifecycle.BookingStatusKey.ValueSet(status)); err != nil {
		workflow.GetLogger(ctx).Warn("search attribute upsert failed", "err", err)
	}
}

// record writes the status to the booking record and returns the status that stands, with its
// reason. The record takes the first end it is given: a terminal status never changes again (but
// CONFIRMED → CANCELLED). A refusal means an earlier attempt of this very run already ended the
// booking otherwise — local activities take effect before their workflow task is recorded, and a
// task lost with a killed worker is run again, possibly with an event more (a cancel from the
// Temporal UI, say) that makes it decide otherwise. The end already recorded stands: the run adopts
// it (its compensations are the same, and idempotent).
func (b *booking) record(ctx workflow.Context, status, reason string, at time.Time) (string, string) {
	change := activities.StatusChange{BookingID: b.in.BookingID, Status: status, Reason: reason,
		PaymentID: b.state.PaymentID, At: at}
	err := b.step(ctx, "record the status", a.RecordStatus, change, nil)
	var appErr *temporal.ApplicationError
	var cur activities.RecordedStatus
	if err == nil || !errors.As(err, &appErr) || appErr.Type() != activities.ErrBadTransition ||
		appErr.Details(&cur) != nil || !lifecycle.Terminal(cur.Status) || cur.Status == status {
		if err != nil {
			workflow.GetLogger(ctx).Error("booking record refused the status", "bookingId", b.in.BookingID,
				"status", status, "err", err)
		}
		return status, reason
	}
	workflow.GetLogger(ctx).Warn("the booking record holds an earlier end of this run; adopting it",
		"bookingId", b.in.BookingID, "decided", status, "recorded", cur.Status)
	if workflow.GetVersion(ctx, versionAdoptRecorded, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return status, reason
	}
	b.setStatus(ctx, cur.Status, cur.FailureReason)
	return cur.Status, cur.FailureReason
}

// versionAdoptRecorded: a run whose record refused its end adopts the recorded one (runs that met
// the refusal before this change only logged it).
const versionAdoptRecorded = "adopt-recorded-status"

func (b *booking) emit(ctx workflow.Context, msgs ...bus.Message) {
	_ = b.step(ctx, "publish to Kafka", a.Emit, msgs, nil)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (b *booking) announce(at time.Time) []bus.Message  { return announcement(b.in, at) }
func (b *booking) seatsLocked(at time.Time) bus.Message { return seatsLockedMessage(b.in, at) }
func (b *booking) paymentRequested(at time.Time) bus.Message {
	b.paymentAsked = true
	return paymentRequestedMessage(b.in, at)
}
func (b *booking) confirmed(at time.Time) bus.Message {
	return confirmedMessage(b.in, b.confirmedPayID, at)
}
func (b *booking) released(reason string, at time.Time) bus.Message {
	return releasedMessage(b.in, reason, at)
}
func (b *booking) ended(status, reason string, at time.Time) bus.Message {
	return endedMessage(b.in, status, reason, at)
}
