package lifecycle

import (
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Search attributes of BookingWorkflow, as the contract names them. Operators find bookings in the
// web UI and with `temporal workflow list --query 'BookingStatus="EXPIRED"'`.
var (
	BookingIDKey     = temporal.NewSearchAttributeKeyKeyword("BookingId")
	EventIDKey       = temporal.NewSearchAttributeKeyKeyword("EventId")
	UserIDKey        = temporal.NewSearchAttributeKeyKeyword("UserId")
	BookingStatusKey = temporal.NewSearchAttributeKeyKeyword("BookingStatus")
	SeatCountKey     = temporal.NewSearchAttributeKeyInt64("SeatCount")
	// RetryingStepKey names the step a booking is waiting on while it is retried with backoff
	// (a dependency is down): `temporal workflow list --query 'RetryingStep IS NOT NULL'`.
	RetryingStepKey = temporal.NewSearchAttributeKeyKeyword("RetryingStep")
)

// SearchAttributeDef is a search attribute's name and type as the Temporal CLI takes them.
type SearchAttributeDef struct {
	Name, Type string
	Indexed    enums.IndexedValueType
}

// SearchAttributeDefs are registered on the server when the local stack starts it, and by
// `ticketflow setup` on any other server.
var SearchAttributeDefs = []SearchAttributeDef{
	{BookingIDKey.GetName(), "Keyword", enums.INDEXED_VALUE_TYPE_KEYWORD},
	{EventIDKey.GetName(), "Keyword", enums.INDEXED_VALUE_TYPE_KEYWORD},
	{UserIDKey.GetName(), "Keyword", enums.INDEXED_VALUE_TYPE_KEYWORD},
	{BookingStatusKey.GetName(), "Keyword", enums.INDEXED_VALUE_TYPE_KEYWORD},
	{SeatCountKey.GetName(), "Int", enums.INDEXED_VALUE_TYPE_INT},
	{RetryingStepKey.GetName(), "Keyword", enums.INDEXED_VALUE_TYPE_KEYWORD},
}
