// Package bus is TicketFlow's Kafka contract: the topic names, the one message envelope, the
// payload of every topic, and the writer and consumer every process uses to speak it (acks from
// all replicas, keys by booking id, fetch-handle-commit, retries and a dead-letter topic).
package bus

// The six contract topics.
const (
	TopicUserRegistered   = "ticketflow.user.registered"
	TopicBookingInitiated = "ticketflow.booking.initiated"
	TopicSeatsLocked      = "ticketflow.seats.locked"
	TopicPaymentRequested = "ticketflow.payment.requested"
	TopicPaymentProcessed = "ticketflow.payment.processed"
	TopicBookingConfirmed = "ticketflow.booking.confirmed"
)

// Topics added where a fact had no home among the six (documented in docs/events.md).
const (
	TopicBookingFailed    = "ticketflow.booking.failed"
	TopicBookingExpired   = "ticketflow.booking.expired"
	TopicBookingCancelled = "ticketflow.booking.cancelled"
	TopicSeatsReleased    = "ticketflow.seats.released"
	TopicPaymentRefunded  = "ticketflow.payment.refunded"
)

// Topics of the ticket service (issue 27): facts about one ticket, keyed by its booking id like
// the six, with the ticket id as the subject of their eventId ("<ticketId>:ticket.issued").
const (
	TopicTicketIssued      = "ticketflow.ticket.issued"
	TopicTicketCheckedIn   = "ticketflow.ticket.checked_in"
	TopicTicketRevoked     = "ticketflow.ticket.revoked"
	TopicTicketTransferred = "ticketflow.ticket.transferred"
)

// ContractTopics are the six documented topics, in the order a booking produces them.
var ContractTopics = []string{
	TopicUserRegistered, TopicBookingInitiated, TopicSeatsLocked, TopicPaymentRequested, TopicPaymentProcessed, TopicBookingConfirmed,
}

// ExtraTopics are the topics TicketFlow adds to the contract.
var ExtraTopics = []string{
	TopicBookingFailed, TopicBookingExpired, TopicBookingCancelled, TopicSeatsReleased, TopicPaymentRefunded,
	TopicTicketIssued, TopicTicketCheckedIn, TopicTicketRevoked, TopicTicketTransferred,
}

// subjectField is the payload field whose value is the subject of a topic's eventId (FactID):
// userId for user.registered, ticketId for the ticket topics, bookingId for the rest.
func subjectField(topic string) string {
	switch topic {
	case TopicUserRegistered:
		return "userId"
	case TopicTicketIssued, TopicTicketCheckedIn, TopicTicketRevoked, TopicTicketTransferred:
		return "ticketId"
	}
	return "bookingId"
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
