package lifecycle

import "testing"

func TestAllowed(t *testing.T) {
	all := []string{StatusPending, StatusConfirmed, StatusFailed, StatusExpired, StatusCancelled}
	allowed := map[[2]string]bool{
		{StatusPending, StatusConfirmed}: true, {StatusPending, StatusFailed}: true,
		{StatusPending, StatusExpired}: true, {StatusPending, StatusCancelled}: true,
		{StatusConfirmed, StatusCancelled}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := Allowed(from, to); got != allowed[[2]string{from, to}] {
				t.Errorf("Allowed(%s, %s) = %v", from, to, got)
			}
		}
	}
}

// The rule for a captured payment that arrives for a booking: given back once the booking has
// ended, unless it is the payment a CONFIRMED booking was confirmed with.
func TestOwesRefund(t *testing.T) {
	for _, c := range []struct {
		status, confirmedWith, payment string
		owes                           bool
	}{
		{StatusPending, "", "p1", false}, // its run decides
		{StatusConfirmed, "p1", "p1", false},
		{StatusConfirmed, "p1", "p2", true}, // a second payment of a confirmed booking
		{StatusConfirmed, "", "p1", true},
		{StatusFailed, "", "p1", true},
		{StatusExpired, "", "p1", true},
		{StatusCancelled, "p1", "p1", true}, // cancelled after it was confirmed with it
	} {
		if got := OwesRefund(c.status, c.confirmedWith, c.payment); got != c.owes {
			t.Errorf("OwesRefund(%s, %q, %q) = %v, want %v", c.status, c.confirmedWith, c.payment, got, c.owes)
		}
	}
}

func TestBookingIDOfReadsTheWorkflowIDs(t *testing.T) {
	id := "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	for _, wf := range []string{WorkflowID(id), CancelWorkflowID(id)} {
		if got, ok := BookingIDOf(wf); !ok || got != id {
			t.Errorf("BookingIDOf(%q) = %q, %v; want %q", wf, got, ok, id)
		}
	}
	for _, wf := range []string{"bench-ceiling-1", "booking-", "e2e-echo-1"} {
		if got, ok := BookingIDOf(wf); ok {
			t.Errorf("BookingIDOf(%q) = %q; want no booking", wf, got)
		}
	}
}
