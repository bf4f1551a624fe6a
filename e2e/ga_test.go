//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/tools/audit"
)

// General admission (issue 26): an event's section with a capacity is an area sold by quantity,
// with the guarantees of seats.

// newGAEvent creates an event with `seats` seats in row A of Floor (FLOOR-A-1..n; none when 0)
// and a general-admission area Pit (key PIT) of `capacity` places, each at priceMinor.
func newGAEvent(t testing.TB, seats, capacity int, priceMinor int64) event {
	t.Helper()
	adm := admin(t)
	var v venue
	adm.expect(201, "POST", "/api/venues", map[string]string{"name": "Venue " + uniq(), "address": "1 Test St",
		"city": "Testville", "country": "TS", "timezone": "Europe/Oslo"}, &v)
	sections := []map[string]any{{"name": "Pit", "priceMinor": priceMinor, "capacity": capacity}}
	if seats > 0 {
		sections = append([]map[string]any{{"name": "Floor", "priceMinor": priceMinor,
			"rows": []map[string]any{{"label": "A", "seats": seats}}}}, sections...)
	}
	var e event
	adm.expect(201, "POST", "/api/events", map[string]any{"name": "Festival " + uniq(), "description": "test",
		"venueId": v.ID, "date": inDays(60), "currency": "EUR", "tags": []string{"test"}, "sections": sections}, &e)
	return e
}

// bookPlaces asks for places of the Pit (and seats, when given).
func bookPlaces(c *client, eventID string, quantity int, seats []string, tok string, headers ...string) response {
	body := map[string]any{"eventId": eventID, "quantities": []map[string]any{{"section": "Pit", "quantity": quantity}}}
	if seats != nil {
		body["seatIds"] = seats
	}
	if tok != "" {
		body["paymentMethod"] = map[string]string{"type": "card", "token": tok}
	}
	return c.do("POST", "/api/bookings", body, headers...)
}

// areaCounts reads the Pit's counts from the status snapshot.
type areaCount struct {
	Section                               string
	Capacity, Available, Locked, Reserved int
}

func pitCounts(t testing.TB, eventID string) areaCount {
	t.Helper()
	var snap struct {
		Areas []areaCount `json:"areas"`
	}
	if err := getJSON(loadConfig(t).URLs[config.Gateway]+"/api/inventory/events/"+eventID+"/seats/status", &snap, t); err != nil {
		t.Fatal(err)
	}
	if len(snap.Areas) != 1 || snap.Areas[0].Section != "PIT" {
		t.Fatalf("areas of the snapshot: %+v", snap.Areas)
	}
	return snap.Areas[0]
}

// buyer is a buyer with a token of its own and its own address (no registration: the services
// trust a verified token, as the load generator's buyers are made).
func buyer(t testing.TB) *client {
	id := ids.New()
	return newClient(t).as(token(t, auth.Identity{UserID: id, Email: "ga-" + id[:8] + "@example.com", Role: auth.RoleUser}, time.Hour))
}

// 80 buyers race for an area of 50, one place each: exactly 50 are held and confirmed, the other
// 30 are refused with 409 naming the area, the area is sold out, and the stores agree (audit).
func TestEightyBuyersRaceForAnAreaOfFifty(t *testing.T) {
	t.Parallel()
	e := newGAEvent(t, 0, 50, 2500)
	if e.SeatCount != 50 || e.Availability.Total != 50 {
		t.Fatalf("event of an area of 50: %+v", e)
	}
	const buyers = 80
	statuses := make([]int, buyers)
	bookingIDs := make([]string, buyers)
	clients := make([]*client, buyers)
	for i := range clients {
		clients[i] = buyer(t)
	}
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			r := bookPlaces(clients[i], e.ID, 1, nil, "tok_visa")
			statuses[i] = r.status
			switch r.status {
			case 202:
				var b booking
				r.decode(t, &b)
				bookingIDs[i] = b.ID
			case 409:
				if er := r.err(t); er.Error.Code != "SEATS_UNAVAILABLE" || fmt.Sprint(er.Error.Details["unavailableSections"]) != "[PIT]" {
					t.Errorf("409 %s", r.body)
				}
			}
		})
	}
	wg.Wait()
	won, lost := 0, 0
	for i, s := range statuses {
		switch s {
		case 202:
			won++
		case 409:
			lost++
		default:
			t.Errorf("buyer %d got %d", i, s)
		}
	}
	if won != 50 || lost != 30 {
		t.Fatalf("%d held, %d refused; want 50 and 30", won, lost)
	}
	for i, id := range bookingIDs {
		if id != "" {
			if b := waitStatus(t, clients[i], id, "CONFIRMED", 90*time.Second); b.AmountMinor != 2500 {
				t.Fatalf("booking %+v", b)
			}
		}
	}
	if c := pitCounts(t, e.ID); c.Capacity != 50 || c.Reserved != 50 || c.Available != 0 || c.Locked != 0 {
		t.Fatalf("the sold-out area: %+v", c)
	}
	// A late buyer is turned away.
	if r := bookPlaces(buyer(t), e.ID, 1, nil, ""); r.status != 409 {
		t.Fatalf("a booking of a sold-out area: %d %s", r.status, r.body)
	}
	auditEvent(t, e.ID)
}

// auditEvent runs the chaos run's audit on one event: every check passes (the areas' places among
// them: held only by live bookings, none sold past capacity, counts equal to the places).
func auditEvent(t *testing.T, eventID string) {
	t.Helper()
	cfg := loadConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := audit.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	if _, err := st.Drain(ctx, eventID, 90*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := st.Event(ctx, eventID, audit.Options{Settle: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passed() || rep.Places.Areas == 0 {
		var b lockedBuffer
		rep.Print(&b)
		t.Fatalf("audit of %s:\n%s", eventID, b.String())
	}
}

// Places come back when a hold expires, and when a booking is cancelled, pending or confirmed.
func TestAreaPlacesComeBackOnExpiryAndCancel(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	if cfg.HoldTTL > time.Minute {
		t.Fatalf("the suite needs a stack with a short HOLD_TTL (make test uses 60s); this one has %s", cfg.HoldTTL)
	}
	e := newGAEvent(t, 0, 4, 1000)
	c, _ := register(t)

	var expiring, pending, confirmed booking
	bookPlaces(c, e.ID, 2, nil, "tok_noResponse").decode(t, &expiring)
	bookPlaces(c, e.ID, 1, nil, "tok_noResponse").decode(t, &pending)
	if expiring.Status != "PENDING" || pending.Status != "PENDING" {
		t.Fatalf("holds: %+v %+v", expiring, pending)
	}
	if n := pitCounts(t, e.ID); n.Locked != 3 || n.Available != 1 {
		t.Fatalf("after two holds: %+v", n)
	}
	// Two places are asked; one is left: 409, nothing held.
	if r := bookPlaces(c, e.ID, 2, nil, ""); r.status != 409 {
		t.Fatalf("two of one place left: %d %s", r.status, r.body)
	}

	// Cancel while PENDING: its place is free at once.
	var got booking
	c.expect(200, "POST", "/api/bookings/"+pending.ID+"/cancel", nil, &got)
	if got.Status != "CANCELLED" {
		t.Fatalf("cancelled pending: %+v", got)
	}
	if n := pitCounts(t, e.ID); n.Locked != 2 || n.Available != 2 {
		t.Fatalf("after the cancel of a pending booking: %+v", n)
	}

	// Cancel after CONFIRMED: refunded, its places free.
	r := bookPlaces(c, e.ID, 2, nil, "tok_visa")
	if r.status != 202 {
		t.Fatalf("booking the 2 free places: %d %s", r.status, r.body)
	}
	r.decode(t, &confirmed)
	waitStatus(t, c, confirmed.ID, "CONFIRMED", 30*time.Second)
	if n := pitCounts(t, e.ID); n.Reserved != 2 || n.Available != 0 {
		t.Fatalf("after a confirmation: %+v", n)
	}
	c.expect(200, "POST", "/api/bookings/"+confirmed.ID+"/cancel", nil, &got)
	var p struct{ Status string }
	c.expect(200, "GET", "/api/payments/booking/"+confirmed.ID, nil, &p)
	if got.Status != "CANCELLED" || p.Status != "REFUNDED" {
		t.Fatalf("cancelled confirmed: %s, payment %s", got.Status, p.Status)
	}
	if n := pitCounts(t, e.ID); n.Reserved != 0 || n.Available != 2 {
		t.Fatalf("after the cancel of a confirmed booking: %+v", n)
	}

	// The hold the provider never answers expires: its two places come back.
	done := waitStatus(t, c, expiring.ID, "EXPIRED", cfg.HoldTTL+30*time.Second)
	if done.HoldExpiresAt.After(time.Now()) {
		t.Fatalf("expired before its hold ended: %+v", done)
	}
	if n := pitCounts(t, e.ID); n.Available != 4 || n.Locked != 0 || n.Reserved != 0 {
		t.Fatalf("after the expiry: %+v", n)
	}
	// And they can be bought again.
	if r := bookPlaces(c, e.ID, 4, nil, ""); r.status != 202 {
		t.Fatalf("booking the whole area again: %d %s", r.status, r.body)
	}
}

// A booking of seats and places is all or none: the hold takes neither when a seat is taken or
// when the area is short, and a booking of both that is held is confirmed whole.
func TestABookingOfSeatsAndPlacesIsAllOrNone(t *testing.T) {
	t.Parallel()
	e := newGAEvent(t, 3, 2, 1000)
	inv := internal(t, config.Inventory)
	until := time.Now().Add(time.Minute)
	holdPlaces := func(seats []string, quantity int) error {
		return inv.Post(t.Context(), "/internal/bookings/"+ids.New()+"/hold", map[string]any{"eventId": e.ID,
			"seatIds": seats, "quantities": []map[string]any{{"section": "PIT", "quantity": quantity}}, "holdUntil": until}, nil)
	}
	rival, _ := register(t)
	if r := book(rival, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse"); r.status != 202 {
		t.Fatalf("rival's seat: %d %s", r.status, r.body)
	}

	// The hold itself (past the quote): a taken seat takes no place…
	if err := holdPlaces([]string{"FLOOR-A-1"}, 1); err == nil {
		t.Fatal("a hold of a taken seat and a place succeeded")
	}
	if n := pitCounts(t, e.ID); n.Available != 2 {
		t.Fatalf("a refused hold kept places: %+v", n)
	}
	// …and a short area takes no seat.
	if err := holdPlaces([]string{"FLOOR-A-2"}, 3); err == nil {
		t.Fatal("a hold of 3 places of 2 succeeded")
	}
	if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-2") != "AVAILABLE" {
		t.Fatalf("a refused hold kept its seat: %s", sm.status("FLOOR-A-2"))
	}

	// Through the API: refused whole, naming what is taken.
	c, _ := register(t)
	r := bookPlaces(c, e.ID, 1, []string{"FLOOR-A-1", "FLOOR-A-3"}, "")
	if er := r.err(t); r.status != 409 || fmt.Sprint(er.Error.Details["unavailableSeatIds"]) != "[FLOOR-A-1]" {
		t.Fatalf("seat taken: %d %s", r.status, r.body)
	}
	r = bookPlaces(c, e.ID, 3, []string{"FLOOR-A-3"}, "")
	if er := r.err(t); r.status != 409 || fmt.Sprint(er.Error.Details["unavailableSections"]) != "[PIT]" {
		t.Fatalf("area short: %d %s", r.status, r.body)
	}
	if sm, n := readSeatMap(t, e.ID), pitCounts(t, e.ID); sm.status("FLOOR-A-3") != "AVAILABLE" || n.Available != 2 {
		t.Fatalf("after refusals: FLOOR-A-3 %s, %+v", sm.status("FLOOR-A-3"), n)
	}

	// Held and confirmed whole, priced from the seat data.
	var b booking
	r = bookPlaces(c, e.ID, 2, []string{"FLOOR-A-3"}, "tok_visa")
	if r.status != 202 {
		t.Fatalf("seat and places: %d %s", r.status, r.body)
	}
	r.decode(t, &b)
	var raw struct {
		Quantities []struct {
			Section  string
			Quantity int
		} `json:"quantities"`
	}
	r.decode(t, &raw)
	if b.AmountMinor != 3000 || len(raw.Quantities) != 1 || raw.Quantities[0].Section != "PIT" || raw.Quantities[0].Quantity != 2 {
		t.Fatalf("booking %s", r.body)
	}
	waitStatus(t, c, b.ID, "CONFIRMED", 30*time.Second)
	if sm, n := readSeatMap(t, e.ID), pitCounts(t, e.ID); sm.status("FLOOR-A-3") != "RESERVED" || n.Reserved != 2 {
		t.Fatalf("after confirmation: FLOOR-A-3 %s, %+v", sm.status("FLOOR-A-3"), n)
	}
	// The buyer limit counts places with seats.
	if e.Availability.Total != 5 {
		t.Fatalf("the event's total counts its places: %+v", e.Availability)
	}
}

// What a booking of places may ask for: bad quantities are 400, an area the event lacks 404, a
// place by its id 404, more than 10 seats and places in all 400, past maxSeatsPerBuyer 409.
func TestPlacesBadInput(t *testing.T) {
	t.Parallel()
	e := newGAEvent(t, 2, 20, 100)
	c, _ := register(t)
	for name, body := range map[string]map[string]any{
		"zero places":         {"eventId": e.ID, "quantities": []map[string]any{{"section": "PIT", "quantity": 0}}},
		"eleven places":       {"eventId": e.ID, "quantities": []map[string]any{{"section": "PIT", "quantity": 11}}},
		"eleven in all":       {"eventId": e.ID, "seatIds": []string{"FLOOR-A-1", "FLOOR-A-2"}, "quantities": []map[string]any{{"section": "PIT", "quantity": 9}}},
		"an area twice":       {"eventId": e.ID, "quantities": []map[string]any{{"section": "PIT", "quantity": 1}, {"section": "pit", "quantity": 1}}},
		"no section":          {"eventId": e.ID, "quantities": []map[string]any{{"quantity": 1}}},
		"nothing":             {"eventId": e.ID, "quantities": []map[string]any{}},
		"an unknown field":    {"eventId": e.ID, "quantities": []map[string]any{{"section": "PIT", "quantity": 1, "price": 1}}},
		"a quantity in words": {"eventId": e.ID, "quantities": []map[string]any{{"section": "PIT", "quantity": "two"}}},
	} {
		if r := c.do("POST", "/api/bookings", body); r.status != 400 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	r := c.do("POST", "/api/bookings", map[string]any{"eventId": e.ID, "quantities": []map[string]any{{"section": "Balcony", "quantity": 1}}})
	if er := r.err(t); r.status != 404 || fmt.Sprint(er.Error.Details["unknownSections"]) != "[BALCONY]" {
		t.Errorf("unknown area: %d %s", r.status, r.body)
	}
	r = c.do("POST", "/api/bookings", map[string]any{"eventId": e.ID, "quantities": []map[string]any{{"section": "Floor", "quantity": 1}}})
	if r.status != 404 {
		t.Errorf("a seated section by quantity: %d %s", r.status, r.body)
	}
	if r := book(c, e.ID, []string{"PIT-1"}, ""); r.status != 404 {
		t.Errorf("a place by its id: %d %s", r.status, r.body)
	}
	// maxSeatsPerBuyer (10) counts places and seats across the buyer's live bookings.
	if r := bookPlaces(c, e.ID, 9, nil, "tok_noResponse"); r.status != 202 {
		t.Fatalf("9 places: %d %s", r.status, r.body)
	}
	r = book(c, e.ID, []string{"FLOOR-A-1", "FLOOR-A-2"}, "")
	if r.status != 409 || r.err(t).Error.Code != "BUYER_LIMIT" {
		t.Fatalf("past the buyer limit: %d %s", r.status, r.body)
	}
	if r := book(c, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse"); r.status != 202 {
		t.Fatalf("the tenth: %d %s", r.status, r.body)
	}
}

// An area's counts reach stream watchers with each change of its places, and a booking of places
// is announced on Kafka with its quantities (schema version 2), from booking.initiated to
// seats.released.
func TestAreaCountsAreStreamedAndItsMessagesCarryQuantities(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	e := newGAEvent(t, 0, 10, 1000)
	c, u := register(t)
	st := openStream(t, e.ID, "Last-Event-ID", strconv.FormatInt(statusVersion(t, e.ID), 10))
	var b booking
	bookPlaces(c, e.ID, 3, nil, "tok_visa").decode(t, &b)
	ev := st.next(t, "seats", 10*time.Second)
	if len(ev.data.Changes) == 0 {
		t.Fatalf("change %+v", ev.data)
	}
	first := ev.data.Changes[0]
	if first.Status != "LOCKED" || len(first.SeatIDs) != 0 || len(first.Areas) != 1 ||
		first.Areas[0].Section != "PIT" || first.Areas[0].Available != 7 || first.Areas[0].Locked != 3 {
		t.Fatalf("the hold's change %+v", first)
	}
	waitStatus(t, c, b.ID, "CONFIRMED", 30*time.Second)
	c.expect(200, "POST", "/api/bookings/"+b.ID+"/cancel", nil, nil)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want := []bus.Quantity{{Section: "PIT", Quantity: 3}}
	for _, topic := range []string{bus.TopicBookingInitiated, bus.TopicSeatsLocked, bus.TopicBookingConfirmed,
		bus.TopicSeatsReleased, bus.TopicBookingCancelled} {
		var recs []topicRecord
		eventually(t, 20*time.Second, func() error {
			var err error
			recs, err = readTopicWithKafkaGo(ctx, cfg.KafkaBrokers, topic, map[string]bool{b.ID: true})
			if err == nil && len(recs) == 0 {
				err = fmt.Errorf("no %s of %s yet", topic, b.ID)
			}
			return err
		})
		if err := bus.ValidateMessage(topic, []byte(recs[0].Value)); err != nil {
			t.Errorf("%s: %v", topic, err)
		}
		var p struct {
			UserID     string         `json:"userId"`
			SeatIDs    []string       `json:"seatIds"`
			Quantities []bus.Quantity `json:"quantities"`
		}
		var env bus.Envelope
		if err := json.Unmarshal([]byte(recs[0].Value), &env); err != nil || json.Unmarshal(env.Payload, &p) != nil {
			t.Fatalf("%s: %s", topic, recs[0].Value)
		}
		if p.SeatIDs == nil || len(p.SeatIDs) != 0 || !reflect.DeepEqual(p.Quantities, want) ||
			(p.UserID != "" && p.UserID != u.ID) {
			t.Errorf("%s payload %s", topic, env.Payload)
		}
	}
}
