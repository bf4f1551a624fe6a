package workflows

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"ticketflow/activities"
	"ticketflow/internal/bus"
	"ticketflow/internal/lifecycle"
	"ticketflow/services/inventory"
	"ticketflow/services/payment"
)

// The tests of this file pin "one decider per booking": whatever arrives when, the workflow alone
// ends the booking, and record, seats and money agree.

func (h *harness) cancelAt(after time.Duration, res **lifecycle.CancelResult) {
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(lifecycle.UpdateCancel, "cancel-"+after.String(), &testsuite.TestUpdateCallback{
			OnReject: func(err error) { h.t.Errorf("cancel rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(v any, err error) {
				r, _ := v.(lifecycle.CancelResult)
				if res != nil {
					*res = &r
				}
			},
		})
	}, after)
}

func TestADecisionTheRequestMadeIsNotMadeAgain(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.Hold = &lifecycle.HoldResult{Held: true, Code: lifecycle.HoldOK, HoldExpiresAt: in.HoldExpiresAt}
	h.pay(time.Second, bus.PaymentSuccess, "")
	if s := h.runWith(in); s.Status != lifecycle.StatusConfirmed {
		t.Fatalf("final state %+v", s)
	}
	if h.count("DecideHold") != 0 || h.hold == nil || !h.hold.Held {
		t.Fatalf("calls %v hold answer %+v: the request's hold is not repeated, and the update answers it", h.calls, h.hold)
	}
}

func TestARefusalTheRequestMadeIsRecordedFailedWithoutHolding(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.Hold = &lifecycle.HoldResult{Code: inventory.CodeSeatsUnavailable, UnavailableSeatIDs: []string{"MAIN-C-2"}, Reason: "seats unavailable"}
	s := h.runWith(in)
	if s.Status != lifecycle.StatusFailed || s.FailureReason != "seats unavailable" || strings.Join(h.statuses, ",") != lifecycle.StatusFailed {
		t.Fatalf("final state %+v recorded %v", s, h.statuses)
	}
	if h.count("DecideHold")+h.count("ReleaseSeats")+h.count("RefundPayment") != 0 {
		t.Fatalf("calls %v: nothing was held or paid, nothing is undone", h.calls)
	}
	h.wantEmitted("booking.initiated", "booking.failed")
}

func TestAKafkaBookingRefusedAtTheHoldPublishesBookingFailed(t *testing.T) {
	h := newHarness(t)
	h.onSeats("DecideHold", func(int) error {
		return &inventory.SeatsError{Err: inventory.ErrUnavailable, SeatIDs: []string{"MAIN-C-1"}}
	})
	in := input()
	in.Announced = true
	if s := h.runWith(in); s.Status != lifecycle.StatusFailed {
		t.Fatalf("final state %+v", s)
	}
	h.wantEmitted("booking.failed")
}

func TestAHoldOfUnknownOutcomeIsReleasedAndFailed(t *testing.T) {
	h := newHarness(t)
	h.onSeats("DecideHold", func(int) error { return errors.New("inventory: timeout") })
	s := h.run()
	if s.Status != lifecycle.StatusFailed || h.hold == nil || h.hold.Code != lifecycle.HoldFailed || h.count("ReleaseSeats") != 1 {
		t.Fatalf("final state %+v hold %+v calls %v", s, h.hold, h.calls)
	}
}

func TestCancelFromTemporalWhileAwaitingPaymentCompensates(t *testing.T) {
	h := newHarness(t)
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, time.Minute)
	s := h.run()
	if s.Status != lifecycle.StatusCancelled || s.FailureReason != reasonOperator || strings.Join(h.statuses, ",") != lifecycle.StatusCancelled {
		t.Fatalf("final state %+v recorded %v", s, h.statuses)
	}
	if h.count("ReleaseSeats") != 1 || h.count("RefundPayment") != 1 || h.rec.Status != payment.StatusFailed {
		t.Fatalf("calls %v record %+v: seats released and the payment voided", h.calls, h.rec)
	}
	h.wantEmitted("booking.initiated", "seats.locked", "payment.requested", "seats.released", "booking.cancelled")
}

func TestCancelFromTemporalDuringTheConfirmRefundsOnceAndEnds(t *testing.T) {
	h := newHarness(t)
	h.delay["ConfirmSeats"] = 5 * time.Second
	h.pay(time.Second, bus.PaymentSuccess, "")
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 3*time.Second)
	s := h.run()
	if s.Status != lifecycle.StatusCancelled || !s.Refunded || h.count("RefundPayment") != 1 || h.rec.Status != payment.StatusRefunded {
		t.Fatalf("final state %+v calls %v record %+v", s, h.calls, h.rec)
	}
	if strings.Join(h.statuses, ",") != "CONFIRMED,CANCELLED" || h.count("ReleaseSeats") != 1 {
		t.Fatalf("recorded %v calls %v", h.statuses, h.calls)
	}
}

func TestAPaymentResultWithoutAPaymentOfRecordNeverConfirms(t *testing.T) {
	h := newHarness(t)
	h.claim(time.Second, lifecycle.PaymentResult{PaymentProcessed: bus.PaymentProcessed{BookingID: bookingID, PaymentID: "forged", Status: bus.PaymentSuccess,
		AmountMinor: 1, Currency: "EUR"}})
	s := h.run()
	if s.Status != lifecycle.StatusExpired || h.count("ConfirmSeats") != 0 {
		t.Fatalf("final state %+v calls %v", s, h.calls)
	}
}

// The bridge's result, sealed, is the payment of record: the workflow confirms on it without
// reading the record again (generation 9).
func TestASealedPaymentResultIsUsedWithoutReadingTheRecord(t *testing.T) {
	h := newHarness(t)
	h.pay(time.Second, bus.PaymentSuccess, "")
	if s := h.run(); s.Status != lifecycle.StatusConfirmed || h.count("PaymentOfRecord") != 0 {
		t.Fatalf("final state %+v calls %v", s, h.calls)
	}
}

// A seal that does not hold (typed by hand in the Temporal UI, say) is no seal: the workflow reads
// the record, and with none behind the claim nothing is confirmed.
func TestAForgedSealIsNotTrusted(t *testing.T) {
	h := newHarness(t)
	h.claim(time.Second, lifecycle.PaymentResult{PaymentProcessed: bus.PaymentProcessed{BookingID: bookingID,
		PaymentID: "pay-1", Status: bus.PaymentSuccess, AmountMinor: 12000, Currency: "EUR"},
		RecordStatus: payment.StatusSucceeded, Seal: "0123456789abcdef"})
	s := h.run()
	if s.Status != lifecycle.StatusExpired || h.count("ConfirmSeats") != 0 || h.count("PaymentOfRecord") == 0 {
		t.Fatalf("final state %+v calls %v", s, h.calls)
	}
}

func TestAPaymentOfRecordForAnotherAmountIsGivenBackNotUsed(t *testing.T) {
	h := newHarness(t)
	h.rec = activities.PaymentRecord{Found: true, View: payment.View{ID: "pay-1", BookingID: bookingID, AmountMinor: 1,
		Currency: "EUR", Status: payment.StatusSucceeded}}
	h.claim(time.Second, lifecycle.PaymentResult{PaymentProcessed: bus.PaymentProcessed{BookingID: bookingID, PaymentID: "pay-1", Status: bus.PaymentSuccess,
		AmountMinor: 1, Currency: "EUR"}})
	s := h.run()
	if s.Status != lifecycle.StatusExpired || h.count("ConfirmSeats") != 0 || h.rec.Status != payment.StatusRefunded {
		t.Fatalf("final state %+v calls %v record %+v", s, h.calls, h.rec)
	}
}

func TestASecondSuccessWithAnotherPaymentIDLeavesTheKeptPayment(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.EventStartsAt = t0.Add(time.Hour)
	h.pay(time.Second, bus.PaymentSuccess, "")
	h.claim(time.Minute, lifecycle.PaymentResult{PaymentProcessed: bus.PaymentProcessed{BookingID: bookingID, PaymentID: "pay-2", Status: bus.PaymentSuccess,
		AmountMinor: 12000, Currency: "EUR"}})
	s := h.runWith(in)
	if s.Status != lifecycle.StatusConfirmed || h.rec.Status != payment.StatusSucceeded || h.count("RefundPayment") != 0 {
		t.Fatalf("final state %+v record %+v calls %v", s, h.rec, h.calls)
	}
}

func TestAConfirmedBookingsWorkflowIsItsOneTruthUntilTheEvent(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.EventStartsAt = t0.Add(48 * time.Hour)
	h.pay(time.Second, bus.PaymentSuccess, "")
	var before lifecycle.BookingState
	h.env.RegisterDelayedCallback(func() { before = h.query() }, time.Hour)
	var res *lifecycle.CancelResult
	h.cancelAt(2*time.Hour, &res)
	s := h.runWith(in)
	if before.Status != lifecycle.StatusConfirmed || s.Status != lifecycle.StatusCancelled {
		t.Fatalf("status an hour in %q, final %q", before.Status, s.Status)
	}
	if res == nil || !res.Cancelled || !res.Refunded || h.count("ReleaseSeats") != 1 {
		t.Fatalf("cancel answer %+v calls %v", res, h.calls)
	}
	if !slices.Equal(h.upserts, []string{lifecycle.StatusConfirmed, lifecycle.StatusCancelled}) {
		t.Fatalf("BookingStatus upserts %v", h.upserts)
	}
	if h.env.Now().After(t0.Add(3 * time.Hour)) {
		t.Fatalf("after the cancel the run waited on until %v", h.env.Now())
	}
}

func TestAConfirmedBookingsWorkflowClosesWhenTheEventBegins(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.EventStartsAt = t0.Add(48 * time.Hour)
	h.pay(time.Second, bus.PaymentSuccess, "")
	if s := h.runWith(in); s.Status != lifecycle.StatusConfirmed {
		t.Fatalf("final state %+v", s)
	}
	if h.env.Now().Before(in.EventStartsAt) {
		t.Fatalf("closed at %v, before the event at %v", h.env.Now(), in.EventStartsAt)
	}
}

// An event postponed after its bookings were made: at the date the booking copied, the run asks
// the event service for the date now and waits on, so the booking can still be cancelled (and
// refunded) before the event's real start.
func TestAPostponedEventKeepsItsConfirmedBookingOpenForCancels(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.EventStartsAt = t0.Add(48 * time.Hour)
	h.eventDate = t0.Add(72 * time.Hour) // postponed by a day
	h.pay(time.Second, bus.PaymentSuccess, "")
	var res *lifecycle.CancelResult
	h.cancelAt(60*time.Hour, &res)
	s := h.runWith(in)
	if s.Status != lifecycle.StatusCancelled || res == nil || !res.Refunded || h.count("EventStartsAt") != 1 {
		t.Fatalf("final state %+v cancel %+v calls %v", s, res, h.calls)
	}
}

// Without a cancel, the run of a postponed event closes at its new date, not the copied one.
func TestAPostponedEventsRunClosesAtTheNewDate(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.EventStartsAt = t0.Add(48 * time.Hour)
	h.eventDate = t0.Add(72 * time.Hour)
	h.pay(time.Second, bus.PaymentSuccess, "")
	if s := h.runWith(in); s.Status != lifecycle.StatusConfirmed {
		t.Fatalf("final state %+v", s)
	}
	if h.env.Now().Before(h.eventDate) {
		t.Fatalf("closed at %v, before the event's new date %v", h.env.Now(), h.eventDate)
	}
}

func TestALongOutageBecomesARegularActivityWithBackoff(t *testing.T) {
	h := newHarness(t)
	h.onSeats("ReleaseSeats", func(int) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.regular["ReleaseSeats"] < 4 {
			return errors.New("inventory down")
		}
		return nil
	})
	h.pay(time.Second, bus.PaymentFailed, "card declined")
	s := h.run()
	if s.Status != lifecycle.StatusFailed || h.regular["ReleaseSeats"] != 4 {
		t.Fatalf("final state %+v regular attempts %d", s, h.regular["ReleaseSeats"])
	}
	if !slices.Contains(h.upserts, "RetryingStep=release seats") || !slices.Contains(h.upserts, "RetryingStep=") {
		t.Fatalf("upserts %v: operators see the step while it is retried, and no more after", h.upserts)
	}
}

// A status write that outlasts its local budget runs as a regular activity, whose input is
// serialised: the change must still name its booking (it once lost the id, and the call went to
// /internal/bookings//status forever).
func TestAStatusWriteRetriedAsARegularActivityKeepsItsBookingID(t *testing.T) {
	h := newHarness(t)
	var regularIDs []string
	h.onRecord = func(c activities.StatusChange, local bool) error {
		if local {
			return errors.New("booking service down")
		}
		regularIDs = append(regularIDs, c.BookingID)
		return nil
	}
	h.pay(time.Second, bus.PaymentFailed, "card declined")
	s := h.run()
	if s.Status != lifecycle.StatusFailed || len(regularIDs) == 0 {
		t.Fatalf("final state %+v, regular status writes %v", s, regularIDs)
	}
	for _, id := range regularIDs {
		if id != bookingID {
			t.Fatalf("a regular status write named booking %q, want %q", id, bookingID)
		}
	}
}

func TestRepairConfirmsAPaidBookingWhoseRunWasTerminated(t *testing.T) {
	h := newHarness(t)
	h.rec = activities.PaymentRecord{Found: true, View: payment.View{ID: "pay-1", BookingID: bookingID, AmountMinor: 12000,
		Currency: "EUR", Status: payment.StatusSucceeded}}
	in := input()
	in.Mode, in.Status = lifecycle.ModeRepair, lifecycle.StatusPending
	if s := h.runWith(in); s.Status != lifecycle.StatusConfirmed || h.count("ConfirmSeats") != 1 {
		t.Fatalf("final state %+v calls %v", s, h.calls)
	}
}

func TestRepairFailsAndCompensatesAnUnpaidBookingWhoseRunWasTerminated(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.Mode, in.Status = lifecycle.ModeRepair, lifecycle.StatusPending
	s := h.runWith(in)
	if s.Status != lifecycle.StatusFailed || s.FailureReason != reasonRepaired || h.count("ReleaseSeats") != 1 ||
		h.rec.Status != payment.StatusFailed || strings.Join(h.statuses, ",") != lifecycle.StatusFailed {
		t.Fatalf("final state %+v calls %v record %+v", s, h.calls, h.rec)
	}
}

func TestAResumedConfirmedBookingServesACancel(t *testing.T) {
	h := newHarness(t)
	h.rec = activities.PaymentRecord{Found: true, View: payment.View{ID: "pay-1", BookingID: bookingID, AmountMinor: 12000,
		Currency: "EUR", Status: payment.StatusSucceeded}}
	in := input()
	in.Mode, in.Status, in.PaymentID, in.EventStartsAt = lifecycle.ModeConfirmed, lifecycle.StatusConfirmed, "pay-1", t0.Add(24*time.Hour)
	var res *lifecycle.CancelResult
	h.cancelAt(time.Minute, &res)
	s := h.runWith(in)
	if s.Status != lifecycle.StatusCancelled || res == nil || !res.Refunded || h.rec.Status != payment.StatusRefunded ||
		h.count("ReleaseSeats") != 1 || h.count("DecideHold") != 0 {
		t.Fatalf("final state %+v answer %+v calls %v", s, res, h.calls)
	}
}

// A run terminated after it recorded CONFIRMED but before it issued the tickets and published
// booking.confirmed left the buyer without tickets or an email (make chaos, kills: "98 emails for
// 99 confirmed"). The run that takes the booking up does both, the fact only if it is not on its
// topic yet; whether taken up for a cancel or a repair (ModeConfirmed), or by a repair that
// finds the record CONFIRMED (ModeRepair).
func TestAConfirmedBookingTakenUpGetsItsTicketsAndItsConfirmation(t *testing.T) {
	for _, mode := range []string{lifecycle.ModeConfirmed, lifecycle.ModeRepair} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t)
			in := input()
			in.Mode, in.Status, in.PaymentID, in.EventStartsAt = mode, lifecycle.StatusConfirmed, "pay-1", t0.Add(24*time.Hour)
			h.eventDate = in.EventStartsAt
			s := h.runWith(in)
			if s.Status != lifecycle.StatusConfirmed || s.PaymentID != "pay-1" || h.count("IssueTickets") != 1 ||
				h.count("ReleaseSeats") != 0 || h.count("RefundPayment") != 0 || len(h.statuses) != 0 {
				t.Fatalf("final state %+v calls %v statuses %v", s, h.calls, h.statuses)
			}
			if got := strings.Join(h.emittedAgain, ","); got != "booking.confirmed" || len(h.emitted) != 0 {
				t.Fatalf("published %v, and with a look first %v: want only booking.confirmed, looked for first", h.emitted, h.emittedAgain)
			}
		})
	}
}

func TestTheRunCompletesInATaskWithoutLocalActivities(t *testing.T) {
	// The server refuses to complete a workflow when a signal or update arrived during the task;
	// local activities of a refused task would be lost from the history. The run therefore ends
	// the task of its last local activities with a 1 ms timer before it completes.
	h := newHarness(t)
	h.pay(time.Second, bus.PaymentFailed, "card declined")
	h.run()
	if len(h.timers) == 0 || h.timers[len(h.timers)-1] != time.Millisecond {
		t.Fatalf("timers %v: the last must be the 1 ms one before completing", h.timers)
	}
}
