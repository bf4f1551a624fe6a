package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Envelope is the value of every TicketFlow message:
// {"eventId","eventType","occurredAt","payload":{...}}. eventId is deterministic for a fact
// (see FactID), so a re-sent message is recognisably the same one.
type Envelope struct {
	EventID    string          `json:"eventId"`
	EventType  string          `json:"eventType"`
	OccurredAt time.Time       `json:"occurredAt"`
	Payload    json.RawMessage `json:"payload"`
}

// Header names set on every message (the envelope stays the contract; headers help tools).
const (
	HeaderEventID   = "eventId"
	HeaderEventType = "eventType"
	HeaderProducer  = "producer"
)

// FactID is the deterministic eventId of a fact: "<subjectId>:<eventType>", for example
// "1b4e…:booking.confirmed".
func FactID(subjectID, topic string) string { return subjectID + ":" + EventType(topic) }

// Message is one fact ready to publish: topic, key (booking id, or user id for user.registered),
// and the envelope.
type Message struct {
	Topic    string
	Key      string
	Envelope Envelope
	Producer string
}

// NewMessage builds the message of a fact with its deterministic id. occurredAt must itself be
// deterministic for the fact (taken from workflow time or the stored row), so a retry re-sends
// exactly the same bytes.
func NewMessage(topic, key, eventID string, occurredAt time.Time, payload any) (Message, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return Message{}, fmt.Errorf("encode %s payload: %w", topic, err)
	}
	return Message{Topic: topic, Key: key, Envelope: Envelope{
		EventID: eventID, EventType: EventType(topic), OccurredAt: occurredAt.UTC(), Payload: raw,
	}}, nil
}

// NewTicketMessage is NewMessage for a fact about one ticket (the ticket topics): keyed by its
// booking id like every booking's message, so one booking's facts stay ordered on one partition,
// with the ticket id as the subject of its eventId ("<ticketId>:ticket.issued").
func NewTicketMessage(topic, bookingID, ticketID string, occurredAt time.Time, payload any) (Message, error) {
	return NewMessage(topic, bookingID, FactID(ticketID, topic), occurredAt, payload)
}

// Kafka encodes m as a kafka-go message.
func (m Message) Kafka() (kafka.Message, error) {
	value, err := json.Marshal(m.Envelope)
	if err != nil {
		return kafka.Message{}, err
	}
	headers := []kafka.Header{
		{Key: HeaderEventID, Value: []byte(m.Envelope.EventID)},
		{Key: HeaderEventType, Value: []byte(m.Envelope.EventType)},
	}
	if m.Producer != "" {
		headers = append(headers, kafka.Header{Key: HeaderProducer, Value: []byte(m.Producer)})
	}
	return kafka.Message{Topic: m.Topic, Key: []byte(m.Key), Value: value, Headers: headers}, nil
}

// ErrMalformed marks a message no retry can fix; consumers send it to the dead-letter topic.
var ErrMalformed = errors.New("malformed message")

// DecodeEnvelope parses a message value of topic, checking the envelope's required fields and
// that its eventType is the topic's.
func DecodeEnvelope(topic string, value []byte) (Envelope, error) {
	var env Envelope
	dec := json.NewDecoder(bytes.NewReader(value))
	if err := dec.Decode(&env); err != nil {
		return env, fmt.Errorf("%w: envelope is not JSON: %v", ErrMalformed, err)
	}
	switch {
	case env.EventID == "" || len(env.EventID) > 200:
		return env, fmt.Errorf("%w: eventId missing or too long", ErrMalformed)
	case env.EventType != EventType(topic):
		return env, fmt.Errorf("%w: eventType %q on topic %s", ErrMalformed, env.EventType, topic)
	case len(env.Payload) == 0 || env.Payload[0] != '{':
		return env, fmt.Errorf("%w: payload must be a JSON object", ErrMalformed)
	case env.OccurredAt.UTC().Year() < 0 || env.OccurredAt.UTC().Year() > 9999:
		// Its zone offset puts it outside what RFC 3339 in UTC can carry: it could not be re-sent.
		return env, fmt.Errorf("%w: occurredAt is out of range", ErrMalformed)
	}
	return env, nil
}

// DecodePayload validates an envelope's payload against its topic's JSON Schema (bus/schemas,
// the same documents ValidateMessage and the docs use: the one statement of what a payload may
// hold), then decodes it into dst and applies the rules a schema cannot state (one address rule,
// current ISO 4217 codes). A refusal wraps ErrMalformed and names the fields.
func DecodePayload(env Envelope, dst any) error {
	if err := ValidatePayload("ticketflow."+env.EventType, env.Payload); err != nil {
		return err
	}
	if err := json.Unmarshal(env.Payload, dst); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if r, ok := dst.(ruled); ok {
		if err := r.rules(); err != nil {
			return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
		}
	}
	return nil
}

// Header returns the value of a message header ("" when absent).
func Header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
