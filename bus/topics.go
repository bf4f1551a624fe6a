// Package bus is TicketFlow's Kafka contract: the topic names, the one message envelope, the
// payload of every topic, and the writer and consumer every process uses to speak it (acks from
// all replicas, keys by booking id, fetch-handle-commit, retries and a dead-letter topic).
package bus

// The six contract topics.
const (
	UserRegistered   = "ticketflow.user.registered"
	BookingInitiated = "ticketflow.booking.initiated"
	SeatsLocked      = "ticketflow.seats.locked"
	PaymentRequested = "ticketflow.payment.requested"
	PaymentProcessed = "ticketflow.payment.processed"
	BookingConfirmed = "ticketflow.booking.confirmed"
)

// Topics added where a fact had no home among the six (documented in docs/events.md).
const (
	BookingFailed    = "ticketflow.booking.failed"
	BookingExpired   = "ticketflow.booking.expired"
	BookingCancelled = "ticketflow.booking.cancelled"
	SeatsReleased    = "ticketflow.seats.released"
	PaymentRefunded  = "ticketflow.payment.refunded"
	EventCreated     = "ticketflow.event.created"
)

// ContractTopics are the six documented topics, in the order a booking produces them.
var ContractTopics = []string{
	UserRegistered, BookingInitiated, SeatsLocked, PaymentRequested, PaymentProcessed, BookingConfirmed,
}

// ExtraTopics are the topics TicketFlow adds to the contract.
var ExtraTopics = []string{
	BookingFailed, BookingExpired, BookingCancelled, SeatsReleased, PaymentRefunded, EventCreated,
}

// DLT is the dead-letter topic of a topic.
func DLT(topic string) string { return topic + ".DLT" }

// AllTopics is every topic the stack creates at start-up: each topic and its dead-letter topic.
func AllTopics() []string {
	var out []string
	for _, t := range append(append([]string{}, ContractTopics...), ExtraTopics...) {
		out = append(out, t, DLT(t))
	}
	return out
}

// EventType is the envelope's eventType for a topic: its name without the "ticketflow." prefix.
func EventType(topic string) string {
	const prefix = "ticketflow."
	if len(topic) > len(prefix) && topic[:len(prefix)] == prefix {
		return topic[len(prefix):]
	}
	return topic
}
