package event

import (
	"fmt"
	"time"

	"ticketflow/httpapi"
	"ticketflow/ids"
	"ticketflow/money"
	"ticketflow/seatplan"
)

const (
	maxTags        = 20
	maxNameLen     = 200
	maxDescription = 5000
)

// Venue is a place events happen at.
type Venue struct {
	ID        string    `json:"id" bson:"_id"`
	Name      string    `json:"name" bson:"name"`
	Address   string    `json:"address" bson:"address"`
	City      string    `json:"city" bson:"city"`
	Country   string    `json:"country" bson:"country"`
	CreatedAt time.Time `json:"createdAt" bson:"createdAt"`
}

// Event is an event with its seat plan.
type Event struct {
	ID          string             `json:"id" bson:"_id"`
	Name        string             `json:"name" bson:"name"`
	Description string             `json:"description" bson:"description"`
	VenueID     string             `json:"venueId" bson:"venueId"`
	Venue       *VenueSummary      `json:"venue,omitempty" bson:"venue,omitempty"`
	Date        time.Time          `json:"date" bson:"date"`
	Currency    string             `json:"currency" bson:"currency"`
	Tags        []string           `json:"tags" bson:"tags"`
	Sections    []seatplan.Section `json:"sections" bson:"sections"`
	SeatCount   int                `json:"seatCount" bson:"seatCount"`
	// SeatsLoaded is false until inventory has the event's seats; a reconciler finishes the job
	// for an event whose creation was interrupted.
	SeatsLoaded  bool          `json:"-" bson:"seatsLoaded"`
	CreatedBy    string        `json:"-" bson:"createdBy"`
	CreatedAt    time.Time     `json:"createdAt" bson:"createdAt"`
	UpdatedAt    time.Time     `json:"updatedAt" bson:"updatedAt"`
	Availability *Availability `json:"availability,omitempty" bson:"-"`
}

// VenueSummary is the part of a venue shown with its events.
type VenueSummary struct {
	Name    string `json:"name" bson:"name"`
	City    string `json:"city" bson:"city"`
	Country string `json:"country" bson:"country"`
}

// Availability counts an event's seats by status (from inventory).
type Availability struct {
	Total     int `json:"total"`
	Available int `json:"available"`
	Locked    int `json:"locked"`
	Reserved  int `json:"reserved"`
}

type venueRequest struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	City    string `json:"city"`
	Country string `json:"country"`
}

func (v *venueRequest) check() error {
	for _, f := range []struct{ name, value string }{{"name", v.Name}, {"address", v.Address}, {"city", v.City}, {"country", v.Country}} {
		if err := httpapi.Required(f.name, f.value, maxNameLen); err != nil {
			return err
		}
	}
	return nil
}

type eventRequest struct {
	Name        string             `json:"name"`
	Description string             `json:"description"`
	VenueID     string             `json:"venueId"`
	Date        time.Time          `json:"date"`
	Currency    string             `json:"currency"`
	Tags        []string           `json:"tags"`
	Sections    []seatplan.Section `json:"sections"`
}

// eventUpdate is PUT /api/events/{id}: any of these fields; the seat plan cannot change once its
// seats exist (bookings refer to them).
type eventUpdate struct {
	Name        *string    `json:"name"`
	Description *string    `json:"description"`
	VenueID     *string    `json:"venueId"`
	Date        *time.Time `json:"date"`
	Tags        *[]string  `json:"tags"`
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

func (e *eventRequest) check() error {
	if err := checkName(e.Name); err != nil {
		return err
	}
	if err := checkDescription(e.Description); err != nil {
		return err
	}
	if err := checkVenueID(e.VenueID); err != nil {
		return err
	}
	if e.Date.IsZero() {
		return httpapi.FieldError("date", "is required (RFC 3339 with zone)")
	}
	if !money.Known(e.Currency) {
		return httpapi.FieldError("currency", "must be an ISO-4217 code such as EUR")
	}
	if err := checkTags(e.Tags); err != nil {
		return err
	}
	_, err := seatplan.Expand(e.Sections)
	return err
}
