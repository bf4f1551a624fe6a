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
