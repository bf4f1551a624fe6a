package seatplan

import (
	"reflect"
	"testing"
)

func TestAnAreaExpandsIntoPlacesCountedWithTheSeats(t *testing.T) {
	seats, err := Expand([]Section{
		{Name: "Floor", PriceMinor: 9000, Rows: []Row{{Label: "A", Seats: 2}}},
		{Name: "Pit area", PriceMinor: 5000, Capacity: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range seats {
		got = append(got, s.ID)
	}
	if want := []string{"FLOOR-A-1", "FLOOR-A-2", "PIT_AREA-1", "PIT_AREA-2", "PIT_AREA-3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ids %v, want %v", got, want)
	}
	if p := seats[3]; !p.Area || p.Row != "" || p.Number != 2 || p.PriceMinor != 5000 || p.Section != "Pit area" || p.Label != "Pit area, place 2" {
		t.Fatalf("place %+v", p)
	}
	if seats[0].Area {
		t.Fatal("a seat marked as a place")
	}
}

func TestASectionIsSeatedOrAnAreaWithinTheLimit(t *testing.T) {
	for name, sections := range map[string][]Section{
		"rows and capacity": {{Name: "Pit", Capacity: 10, Rows: []Row{{Label: "A", Seats: 1}}}},
		"neither":           {{Name: "Pit"}},
		"negative capacity": {{Name: "Pit", Capacity: -5}},
		"over the plan's limit together": {{Name: "Pit", Capacity: MaxSeats},
			{Name: "Floor", Rows: []Row{{Label: "A", Seats: 1}}}},
	} {
		if _, err := Expand(sections); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			mustRefuse400(t, err)
		}
	}
}

func TestCheckBookingGivesQuantitiesTheirOneForm(t *testing.T) {
	got, err := CheckBooking([]string{"FLOOR-A-1"}, []Quantity{{Section: "vip deck", Quantity: 2}, {Section: "Pit", Quantity: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Quantity{{Section: "PIT", Quantity: 3}, {Section: "VIP_DECK", Quantity: 2}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
	if got, err := CheckBooking(nil, []Quantity{{Section: "PIT", Quantity: 10}}); err != nil || len(got) != 1 {
		t.Fatalf("an area alone, 10 places: %v %v", got, err)
	}
	if got, err := CheckBooking([]string{"A-1-1"}, nil); err != nil || got != nil {
		t.Fatalf("seats alone: %v %v", got, err)
	}
}

func TestCheckBookingRefuses(t *testing.T) {
	for name, c := range map[string]struct {
		seats []string
		q     []Quantity
	}{
		"nothing":                {nil, nil},
		"empty quantities":       {nil, []Quantity{}},
		"zero places":            {nil, []Quantity{{Section: "PIT", Quantity: 0}}},
		"negative":               {nil, []Quantity{{Section: "PIT", Quantity: -1}}},
		"an area twice":          {nil, []Quantity{{Section: "Pit", Quantity: 1}, {Section: "PIT", Quantity: 1}}},
		"no section":             {nil, []Quantity{{Quantity: 1}}},
		"a section of nothing":   {nil, []Quantity{{Section: "!!", Quantity: 1}}},
		"eleven places":          {nil, []Quantity{{Section: "PIT", Quantity: 11}}},
		"eleven in all":          {[]string{"A-1-1", "A-1-2"}, []Quantity{{Section: "PIT", Quantity: 9}}},
		"a bad seat beside them": {[]string{"a b"}, []Quantity{{Section: "PIT", Quantity: 1}}},
	} {
		if _, err := CheckBooking(c.seats, c.q); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			mustRefuse400(t, err)
		}
	}
}
