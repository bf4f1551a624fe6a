package workflows

import (
	"strings"
	"testing"
	"time"

	"ticketflow/activities"
	"ticketflow/internal/bus"
	"ticketflow/internal/lifecycle"
	"ticketflow/services/payment"
)

// A Temporal cancel that lands while a decline's compensations run ends the booking once,
// whenever it lands: the record, the workflow and the facts name one end.
func TestATemporalCancelDuringADeclineEndsOnce(t *testing.T) {
	for _, at := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 7 * time.Second} {
		h := newHarness(t)
		h.delay["ReleaseSeats"] = 5 * time.Second
		h.pay(time.Second, bus.PaymentFailed, "card declined")
		h.env.RegisterDelayedCallback(h.env.CancelWorkflow, at)
		s := h.run()
		if len(h.statuses) != 1 || h.statuses[0] != s.Status {
			t.Fatalf("cancel at %s: final %s, recorded %s", at, s.Status, strings.Join(h.statuses, ","))
		}
	}
}

// The record already holds an end that an earlier attempt of this run wrote (its workflow task
// was lost with a killed worker and ran again, this time with a Temporal cancel in it): the run
// adopts the recorded end instead of deciding a second one, and compensates as that end requires.
func TestARunAdoptsTheEndItsRecordHoldsAlready(t *testing.T) {
	t.Run("cancelled while the record says FAILED", func(t *testing.T) {
		h := newHarness(t)
		h.recorded = activities.RecordedStatus{Status: lifecycle.StatusFailed, FailureReason: "card declined"}
		h.env.RegisterDelayedCallback(h.env.CancelWorkflow, 2*time.Second)
		s := h.run()
		if s.Status != lifecycle.StatusFailed || s.FailureReason != "card declined" || len(h.statuses) != 0 {
			t.Fatalf("final %s (%s), recorded anew %v", s.Status, s.FailureReason, h.statuses)
		}
		if h.count("ReleaseSeats") == 0 || !strings.HasSuffix(strings.Join(h.emitted, ","), "booking.failed") {
			t.Fatalf("calls %v emitted %v", h.calls, h.emitted)
		}
		if q := h.query(); q.Status != lifecycle.StatusFailed {
			t.Fatalf("status query says %s", q.Status)
		}
	})
	t.Run("paid while the record says FAILED", func(t *testing.T) {
		h := newHarness(t)
		h.recorded = activities.RecordedStatus{Status: lifecycle.StatusFailed, FailureReason: "payment timed out"}
		h.pay(time.Second, bus.PaymentSuccess, "")
		s := h.run()
		if s.Status != lifecycle.StatusFailed || len(h.statuses) != 0 {
			t.Fatalf("final %s, recorded anew %v", s.Status, h.statuses)
		}
		// The capture is given back and the seats go back on sale: nothing is kept for a booking
		// that did not end CONFIRMED.
		if h.rec.Status != payment.StatusRefunded || h.count("ReleaseSeats") == 0 {
			t.Fatalf("payment %s, calls %v", h.rec.Status, h.calls)
		}
	})
}
