// Package seatplan is the seat plan of an event — sections with a price, rows with a number of
// seats — and its one expansion into seats with stable ids. The event service validates plans
// with it; the inventory service turns them into seat rows with it.
package seatplan

import (
	"fmt"
	"regexp"
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

// Section is a priced part of a seat plan.
type Section struct {
	Name       string `json:"name" bson:"name"`
	PriceMinor int64  `json:"priceMinor" bson:"priceMinor"`
	Rows       []Row  `json:"rows" bson:"rows"`
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

// Seat is one seat of a plan.
type Seat struct {
	ID         string `json:"id"`
	Section    string `json:"section"`
	Row        string `json:"row"`
	Number     int    `json:"number"`
	Label      string `json:"label"`
	PriceMinor int64  `json:"priceMinor"`
}

// Expand checks the sections and lists every seat, with ids stable and unique within the event:
// SECTION-ROW-NUMBER, such as FLOOR-C-7.
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
		if len(s.Rows) == 0 || len(s.Rows) > maxRowsPerSect {
			return nil, httpapi.FieldError(f+".rows", fmt.Sprintf("must hold 1..%d rows", maxRowsPerSect))
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
