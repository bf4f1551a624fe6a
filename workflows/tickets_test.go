package workflows

import (
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"ticketflow/activities"
	"ticketflow/internal/bus"
	"ticketflow/internal/lifecycle"
)

// indexOf is the position of call in the harness's calls (-1 when absent).
func (h *harness) indexOf(call string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Index(h.calls, call)
}

// A confirmed booking's tickets are issued after the record says CONFIRMED and before
// booking.confirmed goes out (so the confirmation email carries them); a cancel after
// confirmation revokes them before it gives the money back.
func TestTicketsAreIssuedBeforeTheConfirmationAndRevokedFirstOnCancel(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.EventStartsAt = t0.Add(48 * time.Hour)
	h.pay(time.Second, bus.PaymentSuccess, "")
	var res *lifecycle.CancelResult
	h.cancelAt(2*time.Hour, &res)
	s := h.runWith(in)
	if s.Status != lifecycle.StatusCancelled || res == nil || !res.Refunded {
		t.Fatalf("final %+v, cancel %+v", s, res)
	}
	confirmed, issued, revoked, refunded := h.indexOf("RecordStatus:CONFIRMED"), h.indexOf("IssueTickets"),
		h.indexOf("RevokeTickets"), h.indexOf("RefundPayment")
	if !(confirmed >= 0 && confirmed < issued && issued < revoked && revoked < refunded) || h.count("IssueTickets") != 1 {
		t.Fatalf("calls %v", h.calls)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if i := slices.Index(h.emitted, "booking.confirmed"); i < 0 {
		t.Fatalf("emitted %v", h.emitted)
	}
}

// Issuing never un-confirms a booking: a refusal is logged, booking.confirmed still goes out.
func TestARefusalToIssueTicketsLeavesTheBookingConfirmed(t *testing.T) {
	h := newHarness(t)
	in := input()
	in.EventStartsAt = t0.Add(time.Hour)
	h.onSeats("IssueTickets", func(int) error {
		return temporal.NewNonRetryableApplicationError("400 VALIDATION_ERROR", activities.ErrTicketsRefused, nil)
	})
	h.pay(time.Second, bus.PaymentSuccess, "")
	s := h.runWith(in)
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.Status != lifecycle.StatusConfirmed || !slices.Contains(h.emitted, "booking.confirmed") || slices.Contains(h.calls, "RefundPayment") {
		t.Fatalf("final %+v calls %v emitted %v", s, h.calls, h.emitted)
	}
}
