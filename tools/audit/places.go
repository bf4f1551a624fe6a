package audit

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// PlacesReport is the audit of an event's general-admission areas, from the inventory's rows and
// the booking records.
type PlacesReport struct {
	Areas    int // areas of the event
	Held     int // places held by a live hold or sold
	Sold     int // places sold (RESERVED)
	Asked    int // places the live bookings asked for (CONFIRMED and PENDING)
	Capacity int // places of all the areas
	// Mismatched names each booking whose places differ from what it may have: a CONFIRMED booking
	// that has not exactly its quantity sold (and none held), a PENDING one holding more than it
	// asked for, any other holding or having bought any; and places held by no booking of the event.
	Mismatched []string
	// Oversold names each area with more places sold, or more places in CONFIRMED bookings, than it
	// holds.
	Oversold []string
	// Drift names each area whose kept counts (the seat map's) differ from its places' rows.
	Drift []string
}

// Wrong counts what the audit of the areas found wrong: oversold areas, bookings whose places
// differ from what they may have, drifted counts.
func (p PlacesReport) Wrong() int { return len(p.Oversold) + len(p.Mismatched) + len(p.Drift) }

// areaRow is an area with its kept counts.
type areaRow struct {
	key, section               string
	capacity, locked, reserved int
}

// holding is what one holder has of one area: places held by a live hold, sold, and LOCKED at all
// (live or lapsed: what the kept count counts).
type holding struct {
	booking, section   string
	held, sold, locked int
}

// places audits the event's areas (nothing when it has none).
func (s *Stores) places(ctx context.Context, r *Report, eventID string, bookings []bookingRow) error {
	rows, err := s.inventory.Query(ctx, `SELECT key, section, capacity, locked, reserved FROM areas WHERE event_id = $1`, eventID)
	if err != nil {
		return err
	}
	var areas []areaRow
	for rows.Next() {
		var a areaRow
		if err := rows.Scan(&a.key, &a.section, &a.capacity, &a.locked, &a.reserved); err != nil {
			return err
		}
		areas = append(areas, a)
	}
	if err := rows.Err(); err != nil || len(areas) == 0 {
		return err
	}
	rows, err = s.inventory.Query(ctx, `SELECT coalesce(booking_id::text, ''), section,
			count(*) FILTER (WHERE status = 'LOCKED' AND held_until > now()),
			count(*) FILTER (WHERE status = 'RESERVED'),
			count(*) FILTER (WHERE status = 'LOCKED')
		FROM seats WHERE event_id = $1 AND area AND status <> 'AVAILABLE' GROUP BY 1, 2`, eventID)
	if err != nil {
		return err
	}
	var held []holding
	for rows.Next() {
		var h holding
		if err := rows.Scan(&h.booking, &h.section, &h.held, &h.sold, &h.locked); err != nil {
			return err
		}
		held = append(held, h)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	r.Places = checkPlaces(bookings, areas, held)
	p := r.Places
	r.add("places held = places of live bookings", len(p.Mismatched) == 0,
		"%d held or sold, %d asked by live bookings, %d bookings differ %s", p.Held, p.Asked, len(p.Mismatched),
		strings.Join(first(p.Mismatched, 5), "; "))
	r.add("places sold <= each area's capacity", len(p.Oversold) == 0, "%d sold of %d places in %d areas %s",
		p.Sold, p.Capacity, p.Areas, strings.Join(p.Oversold, "; "))
	r.add("each area's counts = its places", len(p.Drift) == 0, "%d areas drift %s", len(p.Drift), strings.Join(p.Drift, "; "))
	return nil
}

// checkPlaces is the audit of the areas, on what the stores hold: the event's bookings, its areas
// with their kept counts, and what each holder has of each area.
func checkPlaces(bookings []bookingRow, areas []areaRow, held []holding) PlacesReport {
	var p PlacesReport
	p.Areas = len(areas)
	byName := map[string]areaRow{}
	for _, a := range areas {
		byName[a.section] = a
		p.Capacity += a.capacity
	}
	bookingOf := map[string]bookingRow{}
	for _, b := range bookings {
		bookingOf[b.id] = b
	}
	type key struct{ booking, area string }
	have := map[key]holding{}
	stored := map[string][2]int{} // area key → LOCKED, RESERVED rows
	sold := map[string]int{}
	for _, h := range held {
		a, ok := byName[h.section]
		if !ok {
			p.Mismatched = append(p.Mismatched, fmt.Sprintf("places of %s, an area the event does not list", h.section))
			continue
		}
		c := stored[a.key]
		stored[a.key] = [2]int{c[0] + h.locked, c[1] + h.sold}
		sold[a.key] += h.sold
		p.Held += h.held + h.sold
		p.Sold += h.sold
		if h.held+h.sold == 0 {
			continue // lapsed holds only: nobody has them
		}
		if _, ok := bookingOf[h.booking]; !ok {
			p.Mismatched = append(p.Mismatched, fmt.Sprintf("%d places of %s held by %q, no booking of the event", h.held+h.sold, a.key, h.booking))
			continue
		}
		have[key{h.booking, a.key}] = h
	}
	confirmed := map[string]int{}
	for _, b := range bookings {
		asked := map[string]int{}
		for _, q := range b.quantities {
			asked[q.Section] = q.Quantity
			if b.status == "CONFIRMED" || b.status == "PENDING" {
				p.Asked += q.Quantity
			}
			if b.status == "CONFIRMED" {
				confirmed[q.Section] += q.Quantity
			}
		}
		for _, a := range areas {
			h, q := have[key{b.id, a.key}], asked[a.key]
			var ok bool
			switch b.status {
			case "CONFIRMED":
				ok = h.sold == q && h.held == 0
			case "PENDING":
				ok = h.held+h.sold <= q
			default:
				ok = h.held+h.sold == 0
			}
			if !ok {
				p.Mismatched = append(p.Mismatched, fmt.Sprintf("%s %s asked %d of %s, holds %d, bought %d", b.id, b.status, q, a.key, h.held, h.sold))
			}
		}
	}
	for _, a := range areas {
		if sold[a.key] > a.capacity || confirmed[a.key] > a.capacity {
			p.Oversold = append(p.Oversold, fmt.Sprintf("%s: %d sold, %d in confirmed bookings, capacity %d", a.key, sold[a.key], confirmed[a.key], a.capacity))
		}
		if c := stored[a.key]; c[0] != a.locked || c[1] != a.reserved {
			p.Drift = append(p.Drift, fmt.Sprintf("%s: counts %d locked %d reserved, places %d locked %d reserved", a.key, a.locked, a.reserved, c[0], c[1]))
		}
	}
	sort.Strings(p.Mismatched)
	return p
}
