// Package seatplan is the seat plan of an event — sections with a price, rows with a number of
// seats, or a capacity for a general-admission area sold by quantity — and its one expansion into
// seats and places with stable ids. The event service validates plans with it; the inventory
// service turns them into rows with it; the booking service checks what a booking asks for
// (seat ids and quantities) with it.
package seatplan

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
)

// Limits of a plan (the contract: no seats, a negative price or more than 100,000 seats is a 400).
const (
	MaxSeats        = 100_000
	maxSections     = 50
	maxRowsPerSect  = 1000
	maxSeatsPerRow  = 10_000
	maxPriceMinor   = 100_000_000_00 // 100 million in major units
	maxLabelLen     = 20
	maxSectionLabel = 30
)

// MaxSeatsPerBooking is the most seats one booking may hold.
const MaxSeatsPerBooking = 10

// Section is a priced part of a seat plan: numbered seats in Rows, or — with Capacity instead — a
// general-admission area of Capacity places sold by quantity (a standing pit, a festival field).
type Section struct {
	Name       string `json:"name" bson:"name"`
	PriceMinor int64  `json:"priceMinor" bson:"priceMinor"`
	Rows       []Row  `json:"rows,omitempty" bson:"rows"`
	Capacity   int    `json:"capacity,omitempty" bson:"capacity,omitempty"`
}

// IsArea reports whether the section is a general-admission area (a capacity, no rows).
func (s Section) IsArea() bool { return s.Capacity > 0 }

// Places is how many seats or places the section has.
func (s Section) Places() int {
	n := s.Capacity
	for _, r := range s.Rows {
		n += r.Seats
	}
	return n
}

// Row is a row of a section with its number of seats (numbered from 1).
type Row struct {
	Label string `json:"label" bson:"label"`
	Seats int    `json:"seats" bson:"seats"`
}

var nonAlnum = regexp.MustCompile(`[^A-Z0-9]+`)

// idPart turns a section name or row label into the part of a seat id: upper case, runs of other
// characters as one underscore ("Floor A" → FLOOR_A).
func idPart(s string) string {
	return strings.Trim(nonAlnum.ReplaceAllString(strings.ToUpper(s), "_"), "_")
}

// SectionKey is a section's key: its name as it appears in seat ids ("Floor A" → FLOOR_A). Two
// names with one key are one section ("Pit", "PIT" and "pit" name the same area); bookings,
// messages and the seat map name general-admission areas by their key.
func SectionKey(name string) string { return idPart(name) }

// Seat is one seat of a plan, or one place of a general-admission area (Area: its id is
// SECTION-NUMBER, such as PIT-17, its Row empty; a place is never booked by its id, only by
// quantity).
type Seat struct {
	ID         string `json:"id"`
	Section    string `json:"section"`
	Row        string `json:"row"`
	Number     int    `json:"number"`
	Label      string `json:"label"`
	PriceMinor int64  `json:"priceMinor"`
	Area       bool   `json:"area,omitempty"`
}

// Expand checks the sections and lists every seat, with ids stable and unique within the event:
// SECTION-ROW-NUMBER, such as FLOOR-C-7; and every place of a general-admission area,
// SECTION-NUMBER, such as PIT-17. A section has rows or a capacity, never both; the plan holds at
// most MaxSeats seats and places together.
func Expand(sections []Section) ([]Seat, error) {
	if len(sections) == 0 || len(sections) > maxSections {
		return nil, httpapi.FieldError("sections", fmt.Sprintf("must hold 1..%d sections", maxSections))
	}
	total := 0
	seenSection := map[string]bool{}
	for i, s := range sections {
		f := fmt.Sprintf("sections[%d]", i)
		if err := httpapi.Required(f+".name", s.Name, maxSectionLabel); err != nil {
			return nil, err
		}
		key := idPart(s.Name)
		if key == "" {
			return nil, httpapi.FieldError(f+".name", "must contain a letter or digit")
		}
		if seenSection[key] {
			return nil, httpapi.FieldError(f+".name", "two sections have the same name")
		}
		seenSection[key] = true
		if s.PriceMinor < 0 || s.PriceMinor > maxPriceMinor {
			return nil, httpapi.FieldError(f+".priceMinor", "must be from 0 (minor units)")
		}
		if s.Capacity != 0 {
			if len(s.Rows) > 0 {
				return nil, httpapi.FieldError(f, "has rows and a capacity: a section is seated (rows) or general admission (capacity), not both")
			}
			if s.Capacity < 1 || s.Capacity > MaxSeats {
				return nil, httpapi.FieldError(f+".capacity", fmt.Sprintf("must be 1..%d places (or give the section rows)", MaxSeats))
			}
			total += s.Capacity
			if total > MaxSeats {
				return nil, httpapi.FieldError("sections", fmt.Sprintf("a plan holds at most %d seats", MaxSeats))
			}
			continue
		}
		if len(s.Rows) == 0 || len(s.Rows) > maxRowsPerSect {
			return nil, httpapi.FieldError(f+".rows", fmt.Sprintf("must hold 1..%d rows (or give the section a capacity: general admission)", maxRowsPerSect))
		}
		seenRow := map[string]bool{}
		for j, r := range s.Rows {
			rf := fmt.Sprintf("%s.rows[%d]", f, j)
			if err := httpapi.Required(rf+".label", r.Label, maxLabelLen); err != nil {
				return nil, err
			}
			rk := idPart(r.Label)
			if rk == "" || seenRow[rk] {
				return nil, httpapi.FieldError(rf+".label", "must be a distinct label with a letter or digit")
			}
			seenRow[rk] = true
			if r.Seats < 1 || r.Seats > maxSeatsPerRow {
				return nil, httpapi.FieldError(rf+".seats", fmt.Sprintf("must be 1..%d", maxSeatsPerRow))
			}
			total += r.Seats
			if total > MaxSeats {
				return nil, httpapi.FieldError("sections", fmt.Sprintf("a plan holds at most %d seats", MaxSeats))
			}
		}
	}
	out := make([]Seat, 0, total)
	for _, s := range sections {
		for n := 1; n <= s.Capacity; n++ {
			out = append(out, Seat{ID: fmt.Sprintf("%s-%d", idPart(s.Name), n), Section: s.Name, Number: n,
				Label: fmt.Sprintf("%s, place %d", s.Name, n), PriceMinor: s.PriceMinor, Area: true})
		}
		for _, r := range s.Rows {
			for n := 1; n <= r.Seats; n++ {
				out = append(out, Seat{
					ID:      fmt.Sprintf("%s-%s-%d", idPart(s.Name), idPart(r.Label), n),
					Section: s.Name, Row: r.Label, Number: n,
					Label:      fmt.Sprintf("%s, row %s, seat %d", s.Name, r.Label, n),
					PriceMinor: s.PriceMinor,
				})
			}
		}
	}
	return out, nil
}

// CheckSeatIDs enforces the contract's seat list rules: 1..10 distinct well-formed seat ids.
func CheckSeatIDs(seatIDs []string) error {
	if len(seatIDs) < 1 || len(seatIDs) > MaxSeatsPerBooking {
		return httpapi.FieldError("seatIds", fmt.Sprintf("must hold 1..%d seats", MaxSeatsPerBooking))
	}
	seen := map[string]bool{}
	for _, id := range seatIDs {
		if !ids.IsSeat(id) {
			return httpapi.FieldError("seatIds", fmt.Sprintf("%.70q is not a seat id", id))
		}
		if seen[id] {
			return httpapi.FieldError("seatIds", "seat "+id+" is listed twice")
		}
		seen[id] = true
	}
	return nil
}

// Quantity asks for places of a general-admission area: the area by its section's name or key
// (SectionKey: "Pit" and "PIT" are one area) and how many places.
type Quantity struct {
	Section  string `json:"section"`
	Quantity int    `json:"quantity"`
}

// Places counts the places of quantities.
func Places(quantities []Quantity) int {
	n := 0
	for _, q := range quantities {
		n += q.Quantity
	}
	return n
}

// CheckBooking enforces what one booking may ask for: 0..10 distinct well-formed seat ids and
// quantities of distinct areas (each 1..10 places), 1..MaxSeatsPerBooking seats and places in
// all. It returns the quantities in their one form — each area by its key, in key order — which
// the booking, its messages and the inventory carry. A booking of seats only (no quantities) is
// checked exactly as CheckSeatIDs checks it.
func CheckBooking(seatIDs []string, quantities []Quantity) ([]Quantity, error) {
	if len(quantities) == 0 {
		return nil, CheckSeatIDs(seatIDs)
	}
	if len(seatIDs) > 0 {
		if err := CheckSeatIDs(seatIDs); err != nil {
			return nil, err
		}
	}
	if len(quantities) > MaxSeatsPerBooking {
		return nil, httpapi.FieldError("quantities", fmt.Sprintf("must name at most %d areas", MaxSeatsPerBooking))
	}
	out := make([]Quantity, 0, len(quantities))
	seen := map[string]bool{}
	for i, q := range quantities {
		f := fmt.Sprintf("quantities[%d]", i)
		if err := httpapi.Required(f+".section", q.Section, maxSectionLabel); err != nil {
			return nil, err
		}
		key := idPart(q.Section)
		if key == "" {
			return nil, httpapi.FieldError(f+".section", "must name a section (a letter or digit)")
		}
		if seen[key] {
			return nil, httpapi.FieldError(f+".section", "area "+key+" is listed twice")
		}
		seen[key] = true
		if q.Quantity < 1 || q.Quantity > MaxSeatsPerBooking {
			return nil, httpapi.FieldError(f+".quantity", fmt.Sprintf("must be 1..%d places", MaxSeatsPerBooking))
		}
		out = append(out, Quantity{Section: key, Quantity: q.Quantity})
	}
	if n := len(seatIDs) + Places(out); n > MaxSeatsPerBooking {
		return nil, httpapi.FieldError("quantities", fmt.Sprintf("a booking holds at most %d seats and places in all (this one asks for %d)",
			MaxSeatsPerBooking, n))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Section < out[j].Section })
	return out, nil
}
