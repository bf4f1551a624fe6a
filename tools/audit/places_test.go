package audit

import (
	"strings"
	"testing"

	"ticketflow/internal/seatplan"
)

func gaBooking(id, status string, q int) bookingRow {
	return bookingRow{id: id, status: status, quantities: []seatplan.Quantity{{Section: "PIT", Quantity: q}}}
}

var pit = areaRow{key: "PIT", section: "Pit", capacity: 5}

func withCounts(a areaRow, locked, reserved int) areaRow {
	a.locked, a.reserved = locked, reserved
	return a
}

func TestPlacesOfAConsistentSalePass(t *testing.T) {
	bookings := []bookingRow{gaBooking("b1", "CONFIRMED", 2), gaBooking("b2", "CONFIRMED", 3),
		gaBooking("b3", "EXPIRED", 2), gaBooking("b4", "PENDING", 1), {id: "b5", status: "CONFIRMED", seats: []string{"A-1-1"}}}
	held := []holding{
		{booking: "b1", section: "Pit", sold: 2},
		{booking: "b2", section: "Pit", sold: 3},
		{booking: "b4", section: "Pit", locked: 1}, // its hold lapsed: nobody has it
	}
	p := checkPlaces(bookings, []areaRow{withCounts(pit, 1, 5)}, held)
	if len(p.Mismatched)+len(p.Oversold)+len(p.Drift) > 0 {
		t.Fatalf("%+v", p)
	}
	if p.Held != 5 || p.Sold != 5 || p.Asked != 6 || p.Capacity != 5 || p.Areas != 1 {
		t.Fatalf("figures %+v", p)
	}
}

func TestPlacesAuditFindsWhatIsWrong(t *testing.T) {
	for name, c := range map[string]struct {
		bookings []bookingRow
		area     areaRow
		held     []holding
		want     string // "mismatched", "oversold" or "drift"
	}{
		"a confirmed booking short of its places": {[]bookingRow{gaBooking("b1", "CONFIRMED", 2)}, withCounts(pit, 0, 1),
			[]holding{{booking: "b1", section: "Pit", sold: 1}}, "mismatched"},
		"a confirmed booking whose places are still only held": {[]bookingRow{gaBooking("b1", "CONFIRMED", 2)}, withCounts(pit, 2, 0),
			[]holding{{booking: "b1", section: "Pit", held: 2, locked: 2}}, "mismatched"},
		"a cancelled booking keeping places": {[]bookingRow{gaBooking("b1", "CANCELLED", 2)}, withCounts(pit, 0, 2),
			[]holding{{booking: "b1", section: "Pit", sold: 2}}, "mismatched"},
		"a pending booking holding more than it asked": {[]bookingRow{gaBooking("b1", "PENDING", 1)}, withCounts(pit, 2, 0),
			[]holding{{booking: "b1", section: "Pit", held: 2, locked: 2}}, "mismatched"},
		"places held by nobody's booking": {nil, withCounts(pit, 1, 0),
			[]holding{{booking: "stray", section: "Pit", held: 1, locked: 1}}, "mismatched"},
		"more confirmed than the area holds": {[]bookingRow{gaBooking("b1", "CONFIRMED", 3), gaBooking("b2", "CONFIRMED", 3)},
			withCounts(pit, 0, 6), []holding{{booking: "b1", section: "Pit", sold: 3}, {booking: "b2", section: "Pit", sold: 3}}, "oversold"},
		"counts that drifted from the places": {[]bookingRow{gaBooking("b1", "CONFIRMED", 2)}, withCounts(pit, 1, 2),
			[]holding{{booking: "b1", section: "Pit", sold: 2}}, "drift"},
	} {
		p := checkPlaces(c.bookings, []areaRow{c.area}, c.held)
		got := map[string]int{"mismatched": len(p.Mismatched), "oversold": len(p.Oversold), "drift": len(p.Drift)}
		if got[c.want] == 0 {
			t.Errorf("%s: not found (%+v)", name, p)
		}
		for k, n := range got {
			if k != c.want && n > 0 && !strings.Contains(name, "more confirmed") {
				t.Errorf("%s: also %s %+v", name, k, p)
			}
		}
	}
}
