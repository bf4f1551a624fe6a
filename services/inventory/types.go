// Package inventory is the inventory service's contract: the typed Client of its internal API,
// the wire types, the seat statuses, the error codes it answers and the errors Client returns for
// them. Other processes import this package, never the server (services/inventory/server), so
// that calling the inventory links none of its storage or routing.
package inventory

import (
	"errors"
	"fmt"
	"time"

	"ticketflow/internal/seatplan"
)

// Seat statuses.
const (
	Available = "AVAILABLE"
	Locked    = "LOCKED"
	Reserved  = "RESERVED"
)

// Summary counts an event's seats by status, the places of its general-admission areas included.
type Summary struct {
	Total     int `json:"total"`
	Available int `json:"available"`
	Locked    int `json:"locked"`
	Reserved  int `json:"reserved"`
}

// Errors callers branch on.
var (
	ErrNoSeatPlan  = errors.New("event has no seats")
	ErrUnknownSeat = errors.New("unknown seats")
	ErrUnavailable = errors.New("seats unavailable")
	ErrHoldLost    = errors.New("hold lost")
	// ErrBookingReleased: the booking's seats were released; it can never hold seats again.
	ErrBookingReleased = errors.New("booking already released")
	// ErrBuyerLimit is wrapped by *BuyerLimitError.
	ErrBuyerLimit = errors.New("buyer limit reached")
)

// BuyerLimitError refuses a hold past the event's maxSeatsPerBuyer.
type BuyerLimitError struct {
	Limit int // seats a buyer may have for the event
	Live  int // seats the buyer already holds or bought, other than this booking's
}

func (e *BuyerLimitError) Error() string {
	return fmt.Sprintf("a buyer may have at most %d seats of this event; %d already held or bought", e.Limit, e.Live)
}

func (e *BuyerLimitError) Unwrap() error { return ErrBuyerLimit }

// SeatsError names the seats, and the general-admission areas (by key), an operation could not
// take: unknown ones (ErrUnknownSeat), or taken ones (ErrUnavailable: for an area, fewer places
// left than asked for).
type SeatsError struct {
	Err      error
	SeatIDs  []string
	Sections []string
}

func (e *SeatsError) Error() string {
	if len(e.Sections) > 0 {
		return fmt.Sprintf("%v: %v, areas %v", e.Err, e.SeatIDs, e.Sections)
	}
	return fmt.Sprintf("%v: %v", e.Err, e.SeatIDs)
}

func (e *SeatsError) Unwrap() error { return e.Err }

// Quote is the price of a set of seats and places, from the seat data, and which of them are
// taken right now (seats sold, or held by a hold that has not expired; areas with fewer places left
// than asked for). The booking service turns buyers away on that without starting a saga; only the
// hold decides who gets a seat.
type Quote struct {
	Seats               []QuotedSeat `json:"seats"`
	Areas               []QuotedArea `json:"areas,omitempty"`
	AmountMinor         int64        `json:"amountMinor"`
	Currency            string       `json:"currency"`
	UnavailableSeatIDs  []string     `json:"unavailableSeatIds,omitempty"`
	UnavailableSections []string     `json:"unavailableSections,omitempty"`
}

// QuotedArea is the places asked of one general-admission area, priced: PriceMinor each.
type QuotedArea struct {
	Section    string `json:"section"` // the area's key (seatplan.SectionKey)
	Name       string `json:"name"`
	Quantity   int    `json:"quantity"`
	PriceMinor int64  `json:"priceMinor"`
}

// QuotedSeat is one priced seat.
type QuotedSeat struct {
	ID         string `json:"id"`
	Label      string `json:"label"`
	PriceMinor int64  `json:"priceMinor"`
}

// HoldRequest asks for every seat of SeatIDs and the places of Quantities (general-admission
// areas by key, seatplan.CheckBooking's form) for BookingID until HoldUntil, or none of them.
type HoldRequest struct {
	BookingID  string              `json:"-"`
	EventID    string              `json:"eventId"`
	SeatIDs    []string            `json:"seatIds"`
	Quantities []seatplan.Quantity `json:"quantities,omitempty"`
	HoldUntil  time.Time           `json:"holdUntil"`
	// BuyerID is who the seats are for; with MaxSeatsPerBuyer > 0, the hold is refused
	// (ErrBuyerLimit) when the buyer's live seats and places of the event (held or sold, this
	// booking's excepted) plus these would exceed it.
	BuyerID          string `json:"buyerId,omitempty"`
	MaxSeatsPerBuyer int    `json:"maxSeatsPerBuyer,omitempty"`
}

// Add counts one seat of the given status.
func (s *Summary) Add(status string) {
	switch status {
	case Available:
		s.Available++
	case Locked:
		s.Locked++
	case Reserved:
		s.Reserved++
	}
}

// SeatsRequest names a booking's seats and the places it asked of each general-admission area
// (confirm, release).
type SeatsRequest struct {
	EventID    string              `json:"eventId"`
	SeatIDs    []string            `json:"seatIds"`
	Quantities []seatplan.Quantity `json:"quantities,omitempty"`
}

// QuoteRequest names the seats and the places to price.
type QuoteRequest struct {
	SeatIDs    []string            `json:"seatIds"`
	Quantities []seatplan.Quantity `json:"quantities,omitempty"`
}

// AreaCount is a general-admission area of the seat map: its key, name, capacity and price, and
// its places by status as readers see them (a place whose hold expired is available).
type AreaCount struct {
	Section    string `json:"section"`
	Name       string `json:"name"`
	Capacity   int    `json:"capacity"`
	PriceMinor int64  `json:"priceMinor"`
	Available  int    `json:"available"`
	Locked     int    `json:"locked"`
	Reserved   int    `json:"reserved"`
}
