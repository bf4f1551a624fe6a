package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/mailaddr"
)

// Fixed ids in the form the system makes them (ids.New: canonical lower-case UUIDs).
const (
	tUser    = "0164ab67-3edb-4d1e-840b-fa8b0a53b446"
	tBooking = "4d83bc22-3ad0-4007-a4a4-08476a0574c0"
	tEvent   = "8ba3b1dc-4206-4ff7-949b-ceb073051fd0"
	tPayment = "92c48da8-0147-463a-ab0e-c74fd591d919"
)

// Times as each producer takes them: the worker uses workflow time (nanoseconds), the payment
// service Mongo's milliseconds, the user service microseconds.
var (
	tWorkflowNow = time.Date(2026, 11, 25, 21, 25, 28, 485087259, time.UTC)
	tHoldUntil   = time.Date(2026, 11, 25, 21, 25, 43, 473668000, time.UTC)
	tPaymentNow  = time.Date(2026, 11, 25, 21, 25, 28, 520000000, time.Local)
	tUserNow     = time.Date(2026, 11, 25, 21, 25, 28, 330577000, time.UTC)
)

type builtMessage struct {
	name string
	msg  Message
}

// producedMessages builds every kind of message the system publishes, with bus.NewMessage and the
// payload types exactly as its producers do: services/user/store.go (create),
// workflows/booking.go (initiated, seatsLocked, paymentRequested, confirmed, released, ended) and
// services/payment/model.go (processedMessage, refundedMessage), services/ticket/server/store.go
// (NewTicketMessage: issue, checkIn, revoke, transfer).
func producedMessages(t *testing.T) []builtMessage {
	t.Helper()
	var out []builtMessage
	add := func(name string) func(Message, error) {
		return func(m Message, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out = append(out, builtMessage{name, m})
		}
	}
	// The booking workflow's messages: key and eventId subject are the booking id.
	worker := func(topic string, payload any) (Message, error) {
		return NewMessage(topic, tBooking, FactID(tBooking, topic), tWorkflowNow, payload)
	}
	seats := []string{"FLOOR-C-1", "FLOOR-C-2"}
	tenSeats := []string{"A-1", "A-2", "A-3", "A-4", "A-5", "A-6", "A-7", "A-8", "A-9", "BALCONY_2-R-10"}

	add(TopicUserRegistered)(NewMessage(TopicUserRegistered, tUser, FactID(tUser, TopicUserRegistered), tUserNow,
		UserRegistered{UserID: tUser, Email: "jane.doe@example.com", Name: "Jane Doe"}))
	add(TopicUserRegistered + " (unicode name)")(NewMessage(TopicUserRegistered, tUser, FactID(tUser, TopicUserRegistered), tUserNow,
		UserRegistered{UserID: tUser, Email: "zoë+tix@mail.example.org", Name: "Zoë Ægir-Łukasz"}))

	initiated := BookingInitiated{BookingID: tBooking, UserID: tUser, UserEmail: "jane.doe@example.com", EventID: tEvent,
		EventName: "Docs Concert", SeatIDs: seats, AmountMinor: 9100, Currency: "EUR", IdempotencyKey: ""}
	add(TopicBookingInitiated + " (no Idempotency-Key)")(worker(TopicBookingInitiated, initiated))
	initiated.IdempotencyKey, initiated.SeatIDs, initiated.AmountMinor = "idem-7f3a", tenSeats, 0
	add(TopicBookingInitiated + " (key, 10 seats, free)")(worker(TopicBookingInitiated, initiated))

	add(TopicSeatsLocked)(worker(TopicSeatsLocked, SeatsLocked{BookingID: tBooking, EventID: tEvent, SeatIDs: seats,
		LockExpiresAt: tHoldUntil.UTC()}))
	add(TopicPaymentRequested)(worker(TopicPaymentRequested, PaymentRequested{BookingID: tBooking, UserID: tUser,
		AmountMinor: 9100, Currency: "EUR", PaymentMethodToken: "tok_visa",
		IdempotencyKey: "booking-" + tBooking + "-payment"})) // lifecycle.PaymentIdempotencyKey

	// The payment service's messages (processedMessage, refundedMessage): occurredAt from the
	// stored payment or refund.
	payment := func(topic string, payload any) (Message, error) {
		return NewMessage(topic, tBooking, FactID(tBooking, topic), tPaymentNow, payload)
	}
	add(TopicPaymentProcessed + " (SUCCESS)")(payment(TopicPaymentProcessed, PaymentProcessed{BookingID: tBooking,
		PaymentID: tPayment, Status: PaymentSuccess, AmountMinor: 9100, Currency: "EUR", ProviderRef: "mock_ch_ee187b83c1795f40"}))
	add(TopicPaymentProcessed + " (declined)")(payment(TopicPaymentProcessed, PaymentProcessed{BookingID: tBooking,
		PaymentID: tPayment, Status: PaymentFailed, AmountMinor: 9100, Currency: "EUR", ProviderRef: "mock_ch_06dfb7f1037962bd",
		FailureReason: "card declined"}))
	add(TopicPaymentProcessed + " (voided)")(payment(TopicPaymentProcessed, PaymentProcessed{BookingID: tBooking,
		PaymentID: tPayment, Status: PaymentFailed, AmountMinor: 9100, Currency: "EUR", ProviderRef: "",
		FailureReason: "voided: the hold expired before the payment arrived"}))

	add(TopicBookingConfirmed)(worker(TopicBookingConfirmed, BookingConfirmed{BookingID: tBooking, UserID: tUser,
		UserEmail: "jane.doe@example.com", EventID: tEvent, EventName: "Docs Concert", SeatIDs: seats, AmountMinor: 9100,
		Currency: "EUR", PaymentID: tPayment}))

	for _, c := range []struct{ topic, status, reason string }{
		{TopicBookingFailed, "FAILED", "payment declined: card declined"},
		{TopicBookingFailed, "FAILED", "seats unavailable"},
		{TopicBookingFailed, "FAILED", "the seats were lost after the hold expired; payment refunded"},
		{TopicBookingExpired, "EXPIRED", "the hold expired before the payment arrived"},
		{TopicBookingCancelled, "CANCELLED", "cancelled by the buyer"},
	} {
		add(c.topic + " (" + c.reason + ")")(worker(c.topic, BookingEnded{BookingID: tBooking, UserID: tUser, EventID: tEvent,
			SeatIDs: seats, Status: c.status, Reason: c.reason}))
	}
	add(TopicSeatsReleased)(worker(TopicSeatsReleased, SeatsReleased{BookingID: tBooking, EventID: tEvent, SeatIDs: seats,
		Reason: "cancelled by the buyer"}))
	add(TopicPaymentRefunded)(payment(TopicPaymentRefunded, PaymentRefunded{BookingID: tBooking, PaymentID: tPayment,
		AmountMinor: 9100, Currency: "EUR", ProviderRef: "mock_re_d48ccaaf4c9e6bb7", Reason: "cancelled by the buyer"}))

	// Version 2: a booking of places of general-admission areas, alone or beside seats.
	for _, c := range []struct {
		name  string
		seats []string
		q     []Quantity
	}{
		{"places only", []string{}, []Quantity{{Section: "PIT", Quantity: 2}}},
		{"seats and places", seats, []Quantity{{Section: "GA_FIELD", Quantity: 1}, {Section: "PIT", Quantity: 7}}},
	} {
		initiated := BookingInitiated{BookingID: tBooking, UserID: tUser, UserEmail: "jane.doe@example.com", EventID: tEvent,
			EventName: "Docs Festival", SeatIDs: c.seats, Quantities: c.q, AmountMinor: 10000, Currency: "EUR"}
		add(TopicBookingInitiated + " (" + c.name + ")")(worker(TopicBookingInitiated, initiated))
		add(TopicSeatsLocked + " (" + c.name + ")")(worker(TopicSeatsLocked, SeatsLocked{BookingID: tBooking, EventID: tEvent,
			SeatIDs: c.seats, Quantities: c.q, LockExpiresAt: tHoldUntil.UTC()}))
		add(TopicBookingConfirmed + " (" + c.name + ")")(worker(TopicBookingConfirmed, BookingConfirmed{BookingID: tBooking,
			UserID: tUser, UserEmail: "jane.doe@example.com", EventID: tEvent, EventName: "Docs Festival", SeatIDs: c.seats,
			Quantities: c.q, AmountMinor: 10000, Currency: "EUR", PaymentID: tPayment}))
		for _, topic := range []string{TopicBookingFailed, TopicBookingExpired, TopicBookingCancelled} {
			status := strings.ToUpper(strings.TrimPrefix(topic, "ticketflow.booking."))
			add(topic + " (" + c.name + ")")(worker(topic, BookingEnded{BookingID: tBooking, UserID: tUser, EventID: tEvent,
				SeatIDs: c.seats, Quantities: c.q, Status: status, Reason: "seats unavailable: too few places left in PIT"}))
		}
		add(TopicSeatsReleased + " (" + c.name + ")")(worker(TopicSeatsReleased, SeatsReleased{BookingID: tBooking,
			EventID: tEvent, SeatIDs: c.seats, Quantities: c.q, Reason: "cancelled by the buyer"}))
	}

	// The ticket service's messages: keyed by the booking, the ticket id as the eventId's subject.
	const tTicket, tTicket2 = "5b0d7a8e-2f61-4c1e-9d3a-0c7e6f1b2a90", "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4"
	tTicketNow := tWorkflowNow.Add(time.Second)
	add(TopicTicketIssued)(NewTicketMessage(TopicTicketIssued, tBooking, tTicket, tTicketNow, TicketIssued{TicketID: tTicket,
		BookingID: tBooking, EventID: tEvent, SeatID: "FLOOR-C-1", HolderUserID: tUser, Kid: "k-20261125-8f3a", IssuedAt: tTicketNow}))
	add(TopicTicketIssued + " (transfer)")(NewTicketMessage(TopicTicketIssued, tBooking, tTicket2, tTicketNow, TicketIssued{TicketID: tTicket2,
		BookingID: tBooking, EventID: tEvent, SeatID: "FLOOR-C-1", HolderUserID: tUser, Kid: "k-20261125-8f3a", IssuedAt: tTicketNow,
		Replaces: tTicket}))
	add(TopicTicketCheckedIn)(NewTicketMessage(TopicTicketCheckedIn, tBooking, tTicket, tTicketNow, TicketCheckedIn{TicketID: tTicket,
		BookingID: tBooking, EventID: tEvent, SeatID: "FLOOR-C-1", Gate: "North 2", CheckedInAt: tTicketNow, ScannerID: tUser}))
	add(TopicTicketRevoked)(NewTicketMessage(TopicTicketRevoked, tBooking, tTicket, tTicketNow, TicketRevoked{TicketID: tTicket,
		BookingID: tBooking, EventID: tEvent, SeatID: "FLOOR-C-1", RevokedAt: tTicketNow, Reason: "cancelled by the buyer"}))
	add(TopicTicketTransferred)(NewTicketMessage(TopicTicketTransferred, tBooking, tTicket, tTicketNow, TicketTransferred{TicketID: tTicket,
		NewTicketID: tTicket2, BookingID: tBooking, EventID: tEvent, EventName: "Docs Concert", SeatID: "FLOOR-C-1",
		FromUserID: tUser, FromEmail: "jane.doe@example.com", FromName: "Jane Doe", ToUserID: tEvent, ToEmail: "max@example.org",
		ToName: "Max Mustermann", At: tTicketNow}))
	return out
}

// Version 2 only adds: a booking of seats only is encoded as in version 1, byte for byte (no
// quantities member), and a message names at least one seat or one place, 1..10 places an area.
func TestVersionTwoOnlyAdds(t *testing.T) {
	m, err := NewMessage(TopicSeatsLocked, tBooking, FactID(tBooking, TopicSeatsLocked), tWorkflowNow,
		SeatsLocked{BookingID: tBooking, EventID: tEvent, SeatIDs: []string{"FLOOR-C-1"}, LockExpiresAt: tHoldUntil})
	if err != nil {
		t.Fatal(err)
	}
	if v := string(wire(t, m)); strings.Contains(v, "quantities") {
		t.Fatalf("a booking of seats only carries quantities: %s", v)
	}
	payload := func(extra string) []byte {
		return []byte(`{"eventId":"` + tBooking + `:seats.locked","eventType":"seats.locked","occurredAt":"2026-11-25T21:25:28Z",` +
			`"payload":{"bookingId":"` + tBooking + `","eventId":"` + tEvent + `","lockExpiresAt":"2026-11-25T21:25:43Z",` + extra + `}}`)
	}
	for extra, ok := range map[string]bool{
		`"seatIds":["A-1-1"]`: true,
		`"seatIds":[],"quantities":[{"section":"PIT","quantity":2}]`:         true,
		`"seatIds":["A-1-1"],"quantities":[{"section":"PIT","quantity":10}]`: true,
		`"seatIds":[]`:                 false,
		`"seatIds":[],"quantities":[]`: false,
		`"seatIds":[],"quantities":[{"section":"PIT","quantity":0}]`:           false,
		`"seatIds":[],"quantities":[{"section":"PIT","quantity":11}]`:          false,
		`"seatIds":[],"quantities":[{"section":"pit","quantity":1}]`:           false,
		`"seatIds":[],"quantities":[{"section":"PIT"}]`:                        false,
		`"seatIds":[],"quantities":[{"section":"PIT","quantity":1,"price":5}]`: false,
		`"quantities":[{"section":"PIT","quantity":1}]`:                        false, // seatIds stays required
	} {
		err := ValidateMessage(TopicSeatsLocked, payload(extra))
		if (err == nil) != ok {
			t.Errorf("%s: %v, want ok=%v", extra, err, ok)
		}
	}
}

// Every schema file says its version; the payloads that carry seats are at version 2.
func TestSchemaFilesSayTheirVersion(t *testing.T) {
	names, err := fs.Glob(schemaFiles, "schemas/*.json")
	if err != nil {
		t.Fatal(err)
	}
	two := map[string]bool{"common.json": true, "booking.initiated.json": true, "seats.locked.json": true,
		"booking.confirmed.json": true, "booking.failed.json": true, "booking.expired.json": true,
		"booking.cancelled.json": true, "seats.released.json": true}
	for _, name := range names {
		raw, _ := schemaFiles.ReadFile(name)
		var head struct {
			Version int `json:"x-version"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			t.Fatal(err)
		}
		file := strings.TrimPrefix(name, "schemas/")
		want := 1
		if two[file] {
			want = 2
		}
		if head.Version != want {
			t.Errorf("%s: x-version %d, want %d", file, head.Version, want)
		}
	}
}

// wire is the value exactly as it goes to Kafka.
func wire(t *testing.T, m Message) []byte {
	t.Helper()
	km, err := m.Kafka()
	if err != nil {
		t.Fatal(err)
	}
	return km.Value
}

func TestEveryProducedMessageValidates(t *testing.T) {
	covered := map[string]bool{}
	for _, b := range producedMessages(t) {
		if err := ValidateMessage(b.msg.Topic, wire(t, b.msg)); err != nil {
			t.Errorf("%s: %v\nvalue: %s", b.name, err, wire(t, b.msg))
		}
		// And the consumers' own checks (DecodeEnvelope, DecodePayload) take it too.
		env, err := DecodeEnvelope(b.msg.Topic, wire(t, b.msg))
		if err == nil {
			err = DecodePayload(env, payloadOf(b.msg.Topic))
		}
		if err != nil {
			t.Errorf("%s: consumer check: %v", b.name, err)
		}
		covered[b.msg.Topic] = true
	}
	for _, topic := range append(append([]string{}, ContractTopics...), ExtraTopics...) {
		if !covered[topic] {
			t.Errorf("no produced message of %s is checked", topic)
		}
	}
}

// payloadOf is a new payload value of topic's type.
func payloadOf(topic string) any {
	switch topic {
	case TopicUserRegistered:
		return &UserRegistered{}
	case TopicBookingInitiated:
		return &BookingInitiated{}
	case TopicSeatsLocked:
		return &SeatsLocked{}
	case TopicPaymentRequested:
		return &PaymentRequested{}
	case TopicPaymentProcessed:
		return &PaymentProcessed{}
	case TopicBookingConfirmed:
		return &BookingConfirmed{}
	case TopicBookingFailed, TopicBookingExpired, TopicBookingCancelled:
		return &BookingEnded{}
	case TopicSeatsReleased:
		return &SeatsReleased{}
	case TopicPaymentRefunded:
		return &PaymentRefunded{}
	case TopicTicketIssued:
		return &TicketIssued{}
	case TopicTicketCheckedIn:
		return &TicketCheckedIn{}
	case TopicTicketRevoked:
		return &TicketRevoked{}
	case TopicTicketTransferred:
		return &TicketTransferred{}
	}
	panic("no payload type for " + topic)
}

// The user service writes the encoded value to its outbox, and the relay decodes and republishes
// it: what reaches Kafka must still validate.
func TestOutboxRoundTripValidates(t *testing.T) {
	m, err := NewMessage(TopicUserRegistered, tUser, FactID(tUser, TopicUserRegistered), tUserNow,
		UserRegistered{UserID: tUser, Email: "jane.doe@example.com", Name: "Jane Doe"})
	if err != nil {
		t.Fatal(err)
	}
	stored := wire(t, m)
	env, err := DecodeEnvelope(TopicUserRegistered, stored)
	if err != nil {
		t.Fatal(err)
	}
	relayed := wire(t, Message{Topic: TopicUserRegistered, Key: tUser, Envelope: env, Producer: "user"})
	if string(relayed) != string(stored) {
		t.Fatalf("relay changed the bytes:\n%s\n%s", stored, relayed)
	}
	if err := ValidateMessage(TopicUserRegistered, relayed); err != nil {
		t.Fatal(err)
	}
}

// mutate decodes a valid value, lets f change it, and encodes it again.
func mutate(t *testing.T, value []byte, f func(env, payload map[string]any)) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(value, &env); err != nil {
		t.Fatal(err)
	}
	f(env, env["payload"].(map[string]any))
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInvalidMessagesAreRejected(t *testing.T) {
	byTopic := map[string][]byte{}
	for _, b := range producedMessages(t) {
		if _, ok := byTopic[b.msg.Topic]; !ok {
			byTopic[b.msg.Topic] = wire(t, b.msg)
		}
	}
	seats := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = fmt.Sprintf("FLOOR-A-%d", i+1)
		}
		return out
	}
	cases := []struct {
		name, topic string
		change      func(env, p map[string]any)
		want        string // a fragment of the error
	}{
		// The brief's four: missing field, wrong type, bad currency, 11 seats.
		{"missing currency", TopicPaymentRequested, func(_, p map[string]any) { delete(p, "currency") }, "currency"},
		{"missing paymentId", TopicBookingConfirmed, func(_, p map[string]any) { delete(p, "paymentId") }, "paymentId"},
		{"missing userId", TopicUserRegistered, func(_, p map[string]any) { delete(p, "userId") }, "userId"},
		{"amountMinor as a string", TopicBookingInitiated, func(_, p map[string]any) { p["amountMinor"] = "9100" }, "amountMinor"},
		{"seatIds as a string", TopicSeatsLocked, func(_, p map[string]any) { p["seatIds"] = "FLOOR-C-1" }, "seatIds"},
		{"lower-case currency", TopicBookingConfirmed, func(_, p map[string]any) { p["currency"] = "eur" }, "currency"},
		{"four-letter currency", TopicPaymentProcessed, func(_, p map[string]any) { p["currency"] = "EURO" }, "currency"},
		{"11 seats", TopicBookingInitiated, func(_, p map[string]any) { p["seatIds"] = seats(11) }, "seatIds"},
		{"11 seats released", TopicSeatsReleased, func(_, p map[string]any) { p["seatIds"] = seats(11) }, "seatIds"},
		// More of what the contract fixes.
		{"no seats", TopicBookingConfirmed, func(_, p map[string]any) { p["seatIds"] = []any{} }, "seatIds"},
		{"a seat twice", TopicBookingCancelled, func(_, p map[string]any) { p["seatIds"] = []any{"A-1", "A-1"} }, "seatIds"},
		{"lower-case seat id", TopicSeatsLocked, func(_, p map[string]any) { p["seatIds"] = []any{"floor-c-1"} }, "seatIds"},
		{"negative amount", TopicPaymentRequested, func(_, p map[string]any) { p["amountMinor"] = -1 }, "amountMinor"},
		{"fractional amount", TopicPaymentRefunded, func(_, p map[string]any) { p["amountMinor"] = 91.5 }, "amountMinor"},
		{"bookingId not a UUID", TopicSeatsLocked, func(_, p map[string]any) { p["bookingId"] = "booking-1" }, "bookingId"},
		{"upper-case UUID", TopicBookingFailed, func(_, p map[string]any) { p["userId"] = strings.ToUpper(tUser) }, "userId"},
		{"bad email", TopicUserRegistered, func(_, p map[string]any) { p["email"] = "jane.doe" }, "email"},
		{"blank name", TopicUserRegistered, func(_, p map[string]any) { p["name"] = "   " }, "name"},
		{"control character in event name", TopicBookingConfirmed, func(_, p map[string]any) { p["eventName"] = "Gig\x07" }, "eventName"},
		{"unknown payload field", TopicBookingConfirmed, func(_, p map[string]any) { p["totalAmount"] = 91.0 }, "totalAmount"},
		{"bad lockExpiresAt", TopicSeatsLocked, func(_, p map[string]any) { p["lockExpiresAt"] = "tomorrow" }, "lockExpiresAt"},
		{"lockExpiresAt without zone", TopicSeatsLocked, func(_, p map[string]any) { p["lockExpiresAt"] = "2026-11-25T21:25:43" }, "lockExpiresAt"},
		{"unknown payment status", TopicPaymentProcessed, func(_, p map[string]any) { p["status"] = "SUCCEEDED" }, "status"},
		{"success with a failure reason", TopicPaymentProcessed, func(_, p map[string]any) { p["failureReason"] = "x" }, "failureReason"},
		{"success without providerRef", TopicPaymentProcessed, func(_, p map[string]any) { p["providerRef"] = "" }, "providerRef"},
		{"cancelled with status FAILED", TopicBookingCancelled, func(_, p map[string]any) { p["status"] = "FAILED" }, "status"},
		{"expired without reason", TopicBookingExpired, func(_, p map[string]any) { delete(p, "reason") }, "reason"},
		{"empty payment token", TopicPaymentRequested, func(_, p map[string]any) { p["paymentMethodToken"] = "" }, "paymentMethodToken"},
		// The envelope.
		{"no occurredAt", TopicBookingConfirmed, func(env, _ map[string]any) { delete(env, "occurredAt") }, "occurredAt"},
		{"occurredAt not a time", TopicBookingConfirmed, func(env, _ map[string]any) { env["occurredAt"] = "yesterday" }, "occurredAt"},
		{"unknown envelope field", TopicSeatsReleased, func(env, _ map[string]any) { env["version"] = 2 }, "version"},
		{"payload not an object", TopicSeatsReleased, func(env, _ map[string]any) { env["payload"] = []any{} }, "payload"},
		{"eventType of another topic", TopicBookingConfirmed, func(env, _ map[string]any) { env["eventType"] = "booking.initiated" }, "eventType"},
		{"eventType with the prefix", TopicBookingConfirmed, func(env, _ map[string]any) { env["eventType"] = "ticketflow.booking.confirmed" }, "eventType"},
		{"random eventId", TopicPaymentProcessed, func(env, _ map[string]any) { env["eventId"] = "8f0e6a1c" }, "eventId"},
		{"eventId of another booking", TopicPaymentProcessed, func(env, _ map[string]any) {
			env["eventId"] = FactID(tPayment, TopicPaymentProcessed)
		}, "eventId"},
		{"eventId of another fact", TopicBookingConfirmed, func(env, _ map[string]any) {
			env["eventId"] = FactID(tBooking, TopicBookingInitiated)
		}, "eventId"},
		{"user.registered keyed by email", TopicUserRegistered, func(env, _ map[string]any) {
			env["eventId"] = "jane.doe@example.com:user.registered"
		}, "eventId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			value := mutate(t, byTopic[c.topic], c.change)
			err := ValidateMessage(c.topic, value)
			if err == nil {
				t.Fatalf("%s accepted: %s", c.topic, value)
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not wrap ErrMalformed or name %q", err, c.want)
			}
		})
	}

	for _, c := range []struct{ name, topic, value string }{
		{"not JSON", TopicBookingConfirmed, "booking confirmed"},
		{"trailing data", TopicSeatsReleased, string(byTopic[TopicSeatsReleased]) + "{}"},
		{"JSON array", TopicSeatsReleased, "[]"},
		{"dead-letter topic", DLT(TopicPaymentRequested), string(byTopic[TopicPaymentRequested])},
		{"unknown topic", "ticketflow.event.created", string(byTopic[TopicBookingConfirmed])},
		// A valid booking.confirmed message is not a valid booking.initiated one.
		{"message on the wrong topic", TopicBookingInitiated, string(byTopic[TopicBookingConfirmed])},
	} {
		if err := ValidateMessage(c.topic, []byte(c.value)); err == nil || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// Each schema file declares draft 2020-12 and the $id it is loaded under, so the directory works
// as is in any other validator; and every topic has its payload schema.
func TestSchemaFilesAreSelfDescribing(t *testing.T) {
	if _, err := loadSchemas(); err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(schemaFiles, "schemas/*.json")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"envelope.json": true, "common.json": true}
	for _, topic := range append(append([]string{}, ContractTopics...), ExtraTopics...) {
		want[EventType(topic)+".json"] = true
	}
	for _, name := range names {
		file := strings.TrimPrefix(name, "schemas/")
		raw, _ := schemaFiles.ReadFile(name)
		var head struct {
			Schema string `json:"$schema"`
			ID     string `json:"$id"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if head.Schema != "https://json-schema.org/draft/2020-12/schema" || head.ID != schemaBase+file {
			t.Errorf("%s: $schema %q, $id %q", file, head.Schema, head.ID)
		}
		if !want[file] {
			t.Errorf("%s belongs to no topic", file)
		}
		delete(want, file)
	}
	for file := range want {
		t.Errorf("missing schema %s", file)
	}
}

// The example messages in docs/events.md are real captures; they must keep matching the schemas.
func TestDocumentedExamplesValidate(t *testing.T) {
	raw, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := regexp.MustCompile("(?s)```json\n(\\{\n  \"eventId\".*?)\n```").FindAllStringSubmatch(string(raw), -1)
	seen := map[string]bool{}
	for _, m := range examples {
		var env struct {
			EventType string `json:"eventType"`
		}
		if err := json.Unmarshal([]byte(m[1]), &env); err != nil {
			t.Fatalf("example is not JSON: %v\n%s", err, m[1])
		}
		topic := "ticketflow." + env.EventType
		seen[topic] = true
		if err := ValidateMessage(topic, []byte(m[1])); err != nil {
			t.Errorf("docs/events.md example of %s: %v", topic, err)
		}
	}
	for _, topic := range append(append([]string{}, ContractTopics...), ExtraTopics...) {
		if !seen[topic] {
			t.Errorf("docs/events.md has no example message of %s", topic)
		}
	}
}

// The schemas and the Go checks apply one address rule (mailaddr): every pinned case is accepted
// or refused by both alike.
func TestEmailRuleIsOneInSchemaAndCode(t *testing.T) {
	var base []byte
	for _, b := range producedMessages(t) {
		if b.msg.Topic == TopicUserRegistered {
			base = wire(t, b.msg)
			break
		}
	}
	for _, c := range mailaddr.Cases {
		value := mutate(t, base, func(_, p map[string]any) { p["email"] = c.In })
		schemaErr := ValidateMessage(TopicUserRegistered, value)
		env, err := DecodeEnvelope(TopicUserRegistered, value)
		if err == nil {
			err = DecodePayload(env, &UserRegistered{})
		}
		if valid := c.Want != ""; (schemaErr == nil) != valid || (err == nil) != valid {
			t.Errorf("%q: valid %v, schema says %v, consumer check says %v", c.In, valid, schemaErr, err)
		}
	}
}

// Consumers refuse a bad payload with the schema's verdict in words a DLT reason can carry: the
// field and what it must be, never a regular expression.
func TestDecodePayloadRefusesWithAClearReason(t *testing.T) {
	for _, c := range []struct{ topic, payload, want string }{
		{TopicPaymentRequested, `{"bookingId":"not-a-uuid","userId":"` + tUser + `","amountMinor":1,"currency":"EUR","paymentMethodToken":"t","idempotencyKey":"k"}`,
			"payload: bookingId must be a UUID (lower case)"},
		{TopicPaymentRequested, `{"bookingId":"` + tBooking + `","userId":"` + tUser + `","amountMinor":1,"paymentMethodToken":"t","idempotencyKey":"k"}`,
			"payload: missing property 'currency'"},
		{TopicBookingConfirmed, `{"bookingId":42}`, "bookingId must be a UUID"},
		{TopicPaymentProcessed, `{"bookingId":"` + tBooking + `","paymentId":"` + tPayment + `","status":"SUCCEEDED","amountMinor":1,"currency":"EUR","providerRef":"r"}`,
			"status: value must be one of 'SUCCESS', 'FAILED'"},
		{TopicPaymentRequested, `{"bookingId":"` + tBooking + `","userId":"` + tUser + `","amountMinor":1,"currency":"ZZZ","paymentMethodToken":"t","idempotencyKey":"k"}`,
			"currency must be a current ISO 4217 code"},
		{TopicSeatsLocked, `{"bookingId":"` + tBooking + `","eventId":"` + tEvent + `","seatIds":["A-1"],"lockExpiresAt":"2026-01-01T00:00:00Z","price":1}`,
			"additional properties 'price' not allowed"},
	} {
		env := Envelope{EventID: "x", EventType: EventType(c.topic), Payload: []byte(c.payload)}
		err := DecodePayload(env, payloadOf(c.topic))
		if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.topic, c.payload, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "^[") {
			t.Errorf("the reason quotes a pattern: %v", err)
		}
	}
	var p PaymentRequested
	good := `{"bookingId":"` + tBooking + `","userId":"` + tUser + `","amountMinor":9100,"currency":"EUR","paymentMethodToken":"tok_visa","idempotencyKey":"k"}`
	if err := DecodePayload(Envelope{EventType: EventType(TopicPaymentRequested), Payload: []byte(good)}, &p); err != nil || p.AmountMinor != 9100 {
		t.Fatalf("good payload: %v %+v", err, p)
	}
}
