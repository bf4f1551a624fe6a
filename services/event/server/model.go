package server

import (
	"encoding/json"
	"fmt"
	"time"

	"ticketflow/internal/clock"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/idempotency"
	"ticketflow/internal/ids"
	"ticketflow/internal/money"
	"ticketflow/internal/seatplan"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
)

const (
	maxTags        = 20
	maxNameLen     = 200
	maxDescription = 5000
)

// Venue is a place events happen at.
type Venue struct {
	ID      string `json:"id" bson:"_id"`
	Name    string `json:"name" bson:"name"`
	Address string `json:"address" bson:"address"`
	City    string `json:"city" bson:"city"`
	Country string `json:"country" bson:"country"`
	// Timezone is the venue's IANA time zone (Europe/Oslo); empty on venues made before venues
	// had one, whose events are then answered without local times.
	Timezone  string    `json:"timezone,omitempty" bson:"timezone,omitempty"`
	CreatedAt time.Time `json:"createdAt" bson:"createdAt"`
}

// maxMaxSeatsPerBuyer is the largest buyer limit an event may set.
const maxMaxSeatsPerBuyer = 1000

// Event is an event with its seat plan. Its JSON form (MarshalJSON) adds what is derived: the
// sales window as it applies, local times at the venue, the lowest price and the seat total.
type Event struct {
	ID          string             `json:"id" bson:"_id"`
	Name        string             `json:"name" bson:"name"`
	Description string             `json:"description" bson:"description"`
	VenueID     string             `json:"venueId" bson:"venueId"`
	Venue       *VenueSummary      `json:"venue,omitempty" bson:"venue,omitempty"`
	Date        time.Time          `json:"-" bson:"date"`
	Currency    string             `json:"currency" bson:"currency"`
	Tags        []string           `json:"tags" bson:"tags"`
	Sections    []seatplan.Section `json:"sections" bson:"sections"`
	SeatCount   int                `json:"seatCount" bson:"seatCount"`
	// SalesStartAt is when booking opens (zero on events made before sales windows: their
	// creation). SalesEndAt is when it closes; nil means when the event starts, so it moves with
	// the date.
	SalesStartAt time.Time  `json:"-" bson:"salesStartAt"`
	SalesEndAt   *time.Time `json:"-" bson:"salesEndAt,omitempty"`
	// MaxSeatsPerBuyer is how many seats of the event one buyer may hold or have bought at once,
	// across bookings (0 on events made before limits: DefaultMaxSeatsPerBuyer).
	MaxSeatsPerBuyer int `json:"-" bson:"maxSeatsPerBuyer"`
	// WaitingRoom is the event's waiting room; nil (and absent from answers) when it has none, so
	// an event without one reads exactly as before rooms existed.
	WaitingRoom *event.WaitingRoom `json:"waitingRoom,omitempty" bson:"waitingRoom,omitempty"`
	// SeatsLoaded is false until inventory has the event's seats; a reconciler finishes the job
	// for an event whose creation was interrupted.
	SeatsLoaded  bool               `json:"-" bson:"seatsLoaded"`
	CreatedBy    string             `json:"-" bson:"createdBy"`
	CreatedAt    time.Time          `json:"createdAt" bson:"createdAt"`
	UpdatedAt    time.Time          `json:"updatedAt" bson:"updatedAt"`
	Availability *inventory.Summary `json:"availability,omitempty" bson:"-"` // live, from inventory
}

// SalesStart is when booking opens.
func (e *Event) SalesStart() time.Time {
	if e.SalesStartAt.IsZero() {
		return e.CreatedAt.Truncate(time.Second).UTC()
	}
	return e.SalesStartAt
}

// SalesEnd is when booking closes: salesEndAt, or the event's start.
func (e *Event) SalesEnd() time.Time {
	if e.SalesEndAt != nil {
		return *e.SalesEndAt
	}
	return e.Date
}

// SeatLimit is the most seats one buyer may have of the event.
func (e *Event) SeatLimit() int {
	if e.MaxSeatsPerBuyer <= 0 {
		return event.DefaultMaxSeatsPerBuyer
	}
	return e.MaxSeatsPerBuyer
}

// SalesStatus says whether the event can be booked at now (see Info.SalesStatus).
func (e *Event) SalesStatus(now time.Time) string { return e.Info().SalesStatus(now) }

// Info is the event as a booking needs it, with its defaults applied.
func (e *Event) Info() event.Info {
	info := event.Info{ID: e.ID, Name: e.Name, Currency: e.Currency, Date: e.Date, SalesStartAt: e.SalesStart(),
		SalesEndAt: e.SalesEnd(), MaxSeatsPerBuyer: e.SeatLimit(), SeatCount: e.SeatCount, SeatsLoaded: e.SeatsLoaded}
	if e.WaitingRoom != nil {
		info.WaitingRoom = *e.WaitingRoom
	}
	return info
}

// lowestPrice is the price of the cheapest section, in minor units.
func (e *Event) lowestPrice() int64 {
	var low int64 = -1
	for _, s := range e.Sections {
		if low < 0 || s.PriceMinor < low {
			low = s.PriceMinor
		}
	}
	return max(low, 0)
}

// MarshalJSON is the event as answers show it.
func (e *Event) MarshalJSON() ([]byte, error) {
	type plain Event // the stored fields, without this method
	tz := ""
	if e.Venue != nil {
		tz = e.Venue.Timezone
	}
	sections := e.Sections
	if sections == nil {
		sections = []seatplan.Section{}
	}
	date, start, end := e.Date.Truncate(time.Second).UTC(), e.SalesStart().UTC(), e.SalesEnd().Truncate(time.Second).UTC()
	return json.Marshal(struct {
		*plain
		Sections          []seatplan.Section `json:"sections"`
		Date              time.Time          `json:"date"`
		DateLocal         *string            `json:"dateLocal,omitempty"`
		SalesStartAt      time.Time          `json:"salesStartAt"`
		SalesStartAtLocal *string            `json:"salesStartAtLocal,omitempty"`
		SalesEndAt        time.Time          `json:"salesEndAt"`
		SalesEndAtLocal   *string            `json:"salesEndAtLocal,omitempty"`
		SalesStatus       string             `json:"salesStatus"`
		MaxSeatsPerBuyer  int                `json:"maxSeatsPerBuyer"`
		Price             money.Amount       `json:"price"`
		TotalSeats        int                `json:"totalSeats"`
	}{(*plain)(e), sections, date, localTime(date, tz), start, localTime(start, tz), end, localTime(end, tz),
		e.SalesStatus(clock.Now()), e.SeatLimit(), money.Amount{Minor: e.lowestPrice(), Currency: e.Currency}, e.SeatCount})
}

// VenueSummary is the part of a venue shown with its events.
type VenueSummary struct {
	Name     string `json:"name" bson:"name"`
	City     string `json:"city" bson:"city"`
	Country  string `json:"country" bson:"country"`
	Timezone string `json:"timezone,omitempty" bson:"timezone,omitempty"`
}

func summaryOf(v *Venue) *VenueSummary {
	return &VenueSummary{Name: v.Name, City: v.City, Country: v.Country, Timezone: v.Timezone}
}

type venueRequest struct {
	Name     string `json:"name"`
	Address  string `json:"address"`
	City     string `json:"city"`
	Country  string `json:"country"`
	Timezone string `json:"timezone"`
}

func (v *venueRequest) check() error {
	for _, f := range []struct{ name, value string }{{"name", v.Name}, {"address", v.Address}, {"city", v.City}, {"country", v.Country}} {
		if err := httpapi.Required(f.name, f.value, maxNameLen); err != nil {
			return err
		}
	}
	return checkTimezone(v.Timezone)
}

type eventRequest struct {
	Name             string             `json:"name"`
	Description      string             `json:"description"`
	VenueID          string             `json:"venueId"`
	Date             timeField          `json:"date"`
	Currency         string             `json:"currency"`
	Tags             []string           `json:"tags"`
	Sections         []seatplan.Section `json:"sections"`
	SalesStartAt     timeField          `json:"salesStartAt"`
	SalesEndAt       timeField          `json:"salesEndAt"`
	MaxSeatsPerBuyer *int               `json:"maxSeatsPerBuyer"`
	WaitingRoom      *roomRequest       `json:"waitingRoom"`

	// Set by check: the times parsed (salesStart and salesEnd nil when not given), the room (nil
	// when off).
	date                 time.Time
	salesStart, salesEnd *time.Time
	room                 *event.WaitingRoom
}

// fingerprint identifies the request's meaning for its Idempotency-Key: its fields as understood
// (times as instants, absent tags as none). Call after check.
func (q *eventRequest) fingerprint() string {
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	return idempotency.Fingerprint([]any{q.Name, q.Description, q.VenueID, q.date.UTC(), q.Currency, nonNil(q.Tags),
		q.Sections, utc(q.salesStart), utc(q.salesEnd), q.MaxSeatsPerBuyer, q.room})
}

// eventUpdate is PUT /api/events/{id}: any of these fields; the seat plan cannot change once its
// seats exist (bookings refer to them). salesEndAt null goes back to the default (the event's
// start, following the date). waitingRoom replaces the event's room ({"enabled": false} turns it
// off).
type eventUpdate struct {
	Name             *string      `json:"name"`
	Description      *string      `json:"description"`
	VenueID          *string      `json:"venueId"`
	Date             timeField    `json:"date"`
	Tags             *[]string    `json:"tags"`
	SalesStartAt     timeField    `json:"salesStartAt"`
	SalesEndAt       timeField    `json:"salesEndAt"`
	MaxSeatsPerBuyer *int         `json:"maxSeatsPerBuyer"`
	WaitingRoom      *roomRequest `json:"waitingRoom"`
}

// roomRequest is an event's waitingRoom in a request: enabled is required; admitPerMinute, when
// given, fixes the rate (1..MaxAdmitPerMinute), and left out lets the room meter itself.
type roomRequest struct {
	Enabled        *bool `json:"enabled"`
	AdmitPerMinute *int  `json:"admitPerMinute"`
}

// room checks the request's room and returns it as stored.
func (q *roomRequest) room() (event.WaitingRoom, error) {
	if q.Enabled == nil {
		return event.WaitingRoom{}, httpapi.FieldError("waitingRoom.enabled", "is required (true or false)")
	}
	w := event.WaitingRoom{Enabled: *q.Enabled}
	if q.AdmitPerMinute != nil {
		if n := *q.AdmitPerMinute; n < 1 || n > event.MaxAdmitPerMinute {
			return w, httpapi.FieldError("waitingRoom.admitPerMinute",
				fmt.Sprintf("must be a whole number from 1 to %d (leave it out to admit at the rate bookings are confirmed)", event.MaxAdmitPerMinute))
		}
		w.AdmitPerMinute = *q.AdmitPerMinute
	}
	return w, nil
}

func checkName(v string) error        { return httpapi.Required("name", v, maxNameLen) }
func checkDescription(v string) error { return httpapi.Text("description", v, maxDescription, true) }

func checkTags(tags []string) error {
	if len(tags) > maxTags {
		return httpapi.FieldError("tags", fmt.Sprintf("at most %d tags", maxTags))
	}
	for i, t := range tags {
		if err := httpapi.Required(fmt.Sprintf("tags[%d]", i), t, 50); err != nil {
			return err
		}
	}
	return nil
}

func checkVenueID(v string) error {
	if !ids.IsUUID(v) {
		return httpapi.FieldError("venueId", "must be a venue id")
	}
	return nil
}

func checkSeatLimit(n *int) error {
	if n != nil && (*n < 1 || *n > maxMaxSeatsPerBuyer) {
		return httpapi.FieldError("maxSeatsPerBuyer", fmt.Sprintf("must be a whole number from 1 to %d", maxMaxSeatsPerBuyer))
	}
	return nil
}

// checkWindow checks a sales window against the event's date: an explicit end is not after the
// event starts, and a window given explicitly (either edge) is not empty. A window left to its
// defaults may be empty: an event dated in the past is simply not on sale.
func checkWindow(start, date time.Time, end *time.Time, explicit bool) error {
	if end != nil && end.After(date) {
		return httpapi.FieldError("salesEndAt", "must not be after the event's date (sales end when the event starts at the latest)")
	}
	effectiveEnd := date
	if end != nil {
		effectiveEnd = *end
	}
	if explicit && !start.Before(effectiveEnd) {
		return httpapi.FieldError("salesStartAt", "must be before the end of sales ("+effectiveEnd.Format(time.RFC3339)+")")
	}
	return nil
}

// check validates the request and parses its times; now is the default start of sales.
func (e *eventRequest) check(now time.Time) error {
	if err := checkName(e.Name); err != nil {
		return err
	}
	if err := checkDescription(e.Description); err != nil {
		return err
	}
	if err := checkVenueID(e.VenueID); err != nil {
		return err
	}
	if !e.Date.set {
		return httpapi.FieldError("date", "is required ("+timeHint[len("must be "):]+")")
	}
	var err error
	if e.date, err = e.Date.parseSet("date"); err != nil {
		return err
	}
	if !money.Known(e.Currency) {
		return httpapi.FieldError("currency", "must be a current ISO 4217 currency code, such as EUR")
	}
	if err := checkTags(e.Tags); err != nil {
		return err
	}
	if _, err := seatplan.Expand(e.Sections); err != nil {
		return err
	}
	if e.SalesStartAt.set {
		start, err := e.SalesStartAt.parseSet("salesStartAt")
		if err != nil {
			return err
		}
		e.salesStart = &start
	}
	if e.salesEnd, err = e.SalesEndAt.parse("salesEndAt"); err != nil {
		return err
	}
	start := now.Truncate(time.Second).UTC()
	if e.salesStart != nil {
		start = *e.salesStart
	}
	if err := checkWindow(start, e.date, e.salesEnd, e.salesStart != nil || e.salesEnd != nil); err != nil {
		return err
	}
	if err := checkSeatLimit(e.MaxSeatsPerBuyer); err != nil {
		return err
	}
	if e.WaitingRoom != nil {
		room, err := e.WaitingRoom.room()
		if err != nil {
			return err
		}
		if room.Enabled {
			e.room = &room
		}
	}
	return nil
}
