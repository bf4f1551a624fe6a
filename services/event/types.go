// Package event is the event service's contract: the typed Client of its internal API (what a
// booking needs of its event), the sales states it answers with. Other processes import this
// package, never the server (services/event/server).
package event

// Sales states of an event (salesStatus). The booking service refuses a booking outside the
// window with the state as its 409 code.
const (
	SalesOpen       = "ON_SALE"
	SalesNotStarted = "SALES_NOT_STARTED"
	SalesClosed     = "SALES_CLOSED"
)

// DefaultMaxSeatsPerBuyer is the buyer limit of an event that does not set one (the contract's
// maxSeatsPerBuyer default).
const DefaultMaxSeatsPerBuyer = 10

// WaitingRoom is an event's waiting room for its on-sale: off unless Enabled. With it on, buyers
// join a line at the gateway (POST /api/events/{id}/queue) and book only with the Admission-Token
// it gives them. AdmitPerMinute fixes how many buyers it lets in a minute; 0 lets it meter itself
// to what the booking pipeline confirms (docs/operations.md, "The waiting room").
type WaitingRoom struct {
	Enabled        bool `json:"enabled" bson:"enabled"`
	AdmitPerMinute int  `json:"admitPerMinute,omitempty" bson:"admitPerMinute,omitempty"`
}

// MaxAdmitPerMinute is the largest fixed admission rate an event may set.
const MaxAdmitPerMinute = 60_000
