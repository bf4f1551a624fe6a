package lifecycle

import (
	"testing"

	"ticketflow/internal/seatplan"
)

// The workflow's summary line in the Temporal UI shows the amount as every other place does.
func TestWorkflowSummaryShowsMoneyByTheCurrencysExponent(t *testing.T) {
	d := NewDoor(nil, "q", "default")
	for _, c := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{1500, "JPY", "Gig · seats A-1 · 1500 JPY"},
		{1500, "EUR", "Gig · seats A-1 · 15.00 EUR"},
		{1500, "KWD", "Gig · seats A-1 · 1.500 KWD"},
	} {
		in := BookingInput{BookingID: "b", EventName: "Gig", SeatIDs: []string{"A-1"}, AmountMinor: c.minor, Currency: c.currency}
		if got := d.startOptions(in).StaticSummary; got != c.want {
			t.Errorf("summary %q, want %q", got, c.want)
		}
	}
}

// A general-admission booking's summary and SeatCount say its places too.
func TestWorkflowSummaryAndSeatCountCountPlaces(t *testing.T) {
	d := NewDoor(nil, "q", "default")
	in := BookingInput{BookingID: "b", EventName: "Gig", SeatIDs: []string{"A-1"}, AmountMinor: 1500, Currency: "EUR",
		Quantities: []seatplan.Quantity{{Section: "PIT", Quantity: 2}}}
	opts := d.startOptions(in)
	if want := "Gig · seats A-1, PIT × 2 · 15.00 EUR"; opts.StaticSummary != want {
		t.Errorf("summary %q, want %q", opts.StaticSummary, want)
	}
	if n, ok := opts.TypedSearchAttributes.GetInt64(SeatCountKey); !ok || n != 3 {
		t.Errorf("SeatCount %d, want 3", n)
	}
}
