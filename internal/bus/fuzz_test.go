package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// fuzzPayloads makes an empty payload of each topic.
var fuzzPayloads = map[string]func() any{
	TopicUserRegistered:   func() any { return new(UserRegistered) },
	TopicBookingInitiated: func() any { return new(BookingInitiated) },
	TopicSeatsLocked:      func() any { return new(SeatsLocked) },
	TopicPaymentRequested: func() any { return new(PaymentRequested) },
	TopicPaymentProcessed: func() any { return new(PaymentProcessed) },
	TopicBookingConfirmed: func() any { return new(BookingConfirmed) },
	TopicBookingFailed:    func() any { return new(BookingEnded) },
	TopicBookingExpired:   func() any { return new(BookingEnded) },
	TopicBookingCancelled: func() any { return new(BookingEnded) },
	TopicSeatsReleased:    func() any { return new(SeatsReleased) },
	TopicPaymentRefunded:  func() any { return new(PaymentRefunded) },
}

var fuzzTopics = append(append([]string{}, ContractTopics...), ExtraTopics...)

func decodeAs(env Envelope, p any) error {
	return DecodePayload(env, p)
}

// FuzzEnvelope: for every topic, DecodeEnvelope and DecodePayload never panic; every refusal
// wraps ErrMalformed (so the consumer dead-letters it rather than retrying forever); an accepted
// envelope has the topic's eventType, an eventId of 1..200 bytes and an object payload; an accepted
// payload, as the Go value it decoded to, still matches the topic's schema, and re-publishing it
// (NewMessage, Kafka) gives a message that decodes to the same payload.
func FuzzEnvelope(f *testing.F) {
	const booking = "6f1c2f4e-1b7a-4c0e-9d7e-0a1b2c3d4e5f"
	seeds := []string{
		`{"eventId":"` + booking + `:booking.confirmed","eventType":"booking.confirmed","occurredAt":"2026-11-25T10:00:00Z","payload":{"bookingId":"` + booking + `","userId":"u1","userEmail":"a@b.co","eventId":"e1","eventName":"Show","seatIds":["FLOOR-A-1"],"amountMinor":100,"currency":"EUR","paymentId":"p1"}}`,
		`{"eventId":"x","eventType":"user.registered","occurredAt":"2026-11-25T10:00:00+02:00","payload":{"userId":"` + booking + `","email":"a@b.co","name":"Zoë"}}`,
		`{"eventId":"x","eventType":"seats.locked","occurredAt":"2026-11-25T10:00:00Z","payload":{"bookingId":"` + booking + `","eventId":"e","seatIds":["A-1","A-1"],"lockExpiresAt":"0001-01-01T00:00:00Z"}}`,
		`{"eventId":"x","eventType":"payment.processed","occurredAt":"2026-11-25T10:00:00Z","payload":{"bookingId":"` + booking + `","paymentId":"p","status":"SUCCESS","amountMinor":-1,"currency":"eur"}}`,
		`{"eventId":"x","eventType":"payment.requested","payload":{"bookingId":"` + booking + `","userId":"u","amountMinor":9223372036854775807,"currency":"EUR","paymentMethodToken":"tok_visa","idempotencyKey":"k"}}`,
		`{"eventId":"x","eventType":"booking.failed","payload":{"bookingId":"` + booking + `","status":"FAILED","seatIds":null}}`,
		`{"eventId":"x","eventType":"payment.refunded","payload":[]}`,
		`{"eventId":"x","eventType":"booking.initiated","payload":"{}"}`,
		`{"eventId":"","eventType":"booking.initiated","payload":{}}`,
		`{"eventId":"x","eventType":"booking.initiated","payload":{"bookingId":{"$gt":""}}}`,
		`{"eventId":"x","eventType":"booking.initiated","payload":{"seatIds":` + `["A","B","C","D","E","F","G","H","I","J","K"]}}`,
		`{"eventId":"x","eventType":"seats.released","occurredAt":"not a time","payload":{}}`,
		"{\"eventId\":\"\xff\",\"eventType\":\"seats.released\",\"payload\":{\"bookingId\":\"\xfe\"}}",
		`{"eventId":"x"} trailing`,
		`null`,
		``,
	}
	for i, s := range seeds {
		// Each seed on the topic its eventType names (and, for the rest, on some topic).
		index := uint8(i)
		var probe struct{ EventType string }
		if json.Unmarshal([]byte(s), &probe) == nil {
			for j, topic := range fuzzTopics {
				if EventType(topic) == probe.EventType {
					index = uint8(j)
				}
			}
		}
		f.Add(index, []byte(s))
	}
	f.Fuzz(func(t *testing.T, topicIndex uint8, value []byte) {
		topic := fuzzTopics[int(topicIndex)%len(fuzzTopics)]
		env, err := DecodeEnvelope(topic, value)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("envelope refusal %v does not wrap ErrMalformed", err)
			}
			return
		}
		if env.EventID == "" || len(env.EventID) > 200 {
			t.Fatalf("accepted eventId %q", env.EventID)
		}
		if env.EventType != EventType(topic) {
			t.Fatalf("accepted eventType %q on %s", env.EventType, topic)
		}
		if !json.Valid(env.Payload) || bytes.TrimSpace(env.Payload)[0] != '{' {
			t.Fatalf("accepted payload %q", env.Payload)
		}
		p := fuzzPayloads[topic]()
		if err := decodeAs(env, p); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("payload refusal %v does not wrap ErrMalformed", err)
			}
			return
		}
		if err := CheckPayload(topic, p); err != nil {
			t.Fatalf("accepted payload does not match its schema once decoded: %v", err)
		}
		// Re-publish it and read it back.
		m, err := NewMessage(topic, "key", env.EventID, env.OccurredAt, p)
		if err != nil {
			t.Fatalf("accepted payload cannot be published: %v", err)
		}
		km, err := m.Kafka()
		if err != nil {
			t.Fatalf("accepted envelope cannot be re-encoded: %v", err)
		}
		if Header(km, HeaderEventID) != env.EventID || Header(km, HeaderEventType) != env.EventType {
			t.Fatalf("headers %v", km.Headers)
		}
		env2, err := DecodeEnvelope(topic, km.Value)
		if err != nil {
			t.Fatalf("re-published envelope is refused: %v\n%s", err, km.Value)
		}
		if env2.EventID != env.EventID || !env2.OccurredAt.Equal(env.OccurredAt) || env2.OccurredAt.Location() != time.UTC {
			t.Fatalf("envelope changed: %+v vs %+v", env, env2)
		}
		p2 := fuzzPayloads[topic]()
		if err := decodeAs(env2, p2); err != nil {
			t.Fatalf("re-published payload is refused: %v", err)
		}
		a, _ := json.Marshal(p)
		b, _ := json.Marshal(p2)
		if !bytes.Equal(a, b) {
			t.Fatalf("payload changed:\n%s\n%s", a, b)
		}
	})
}
