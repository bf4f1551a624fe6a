//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/lifecycle"
	"ticketflow/tools/devstack"
)

// What docs/events.md promises about the topics, checked on real traffic: one booking confirmed
// with tok_visa and one confirmed then cancelled, read back from every topic (and every dead-letter
// topic) with two independent clients, kcat and kafka-go.

// topicRecord is one Kafka record as a client read it.
type topicRecord struct {
	Topic     string
	Partition int
	Offset    int64
	Key       string
	Value     string
	Headers   []string // name, value, name, value...
}

func (r topicRecord) header(name string) (string, int) {
	var v string
	n := 0
	for i := 0; i+1 < len(r.Headers); i += 2 {
		if r.Headers[i] == name {
			v, n = r.Headers[i+1], n+1
		}
	}
	return v, n
}

// readTopicWithKcat reads topic from the beginning to its end with kcat, keeping the records
// whose key is in keys.
func readTopicWithKcat(ctx context.Context, broker, topic string, keys map[string]bool) ([]topicRecord, error) {
	cmd := exec.CommandContext(ctx, "kcat", "-b", broker, "-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kcat -C -t %s: %v: %s", topic, err, stderr.String())
	}
	var recs []topicRecord
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var m struct {
			Topic     string   `json:"topic"`
			Partition int      `json:"partition"`
			Offset    int64    `json:"offset"`
			Key       *string  `json:"key"`
			Payload   *string  `json:"payload"`
			Headers   []string `json:"headers"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("kcat -J line %q: %v", line, err)
		}
		if m.Key == nil || !keys[*m.Key] {
			continue
		}
		r := topicRecord{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: *m.Key, Headers: m.Headers}
		if m.Payload != nil {
			r.Value = *m.Payload
		}
		recs = append(recs, r)
	}
	sortRecords(recs)
	return recs, nil
}

// readTopicWithKafkaGo reads topic from the beginning to the end offsets it has now, one Reader per
// partition, keeping the records whose key is in keys.
func readTopicWithKafkaGo(ctx context.Context, brokers []string, topic string, keys map[string]bool) ([]topicRecord, error) {
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return nil, err
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	var recs []topicRecord
	for _, p := range parts {
		leader, err := kafka.DialLeader(ctx, "tcp", brokers[0], topic, p.ID)
		if err != nil {
			return nil, err
		}
		first, last, err := leader.ReadOffsets()
		leader.Close()
		if err != nil {
			return nil, fmt.Errorf("offsets of %s/%d: %w", topic, p.ID, err)
		}
		if last <= first {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p.ID,
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
		if err := r.SetOffset(first); err != nil {
			r.Close()
			return nil, err
		}
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				return nil, fmt.Errorf("read %s/%d: %w", topic, p.ID, err)
			}
			if keys[string(m.Key)] {
				rec := topicRecord{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Value: string(m.Value)}
				for _, h := range m.Headers {
					rec.Headers = append(rec.Headers, h.Key, string(h.Value))
				}
				recs = append(recs, rec)
			}
			if m.Offset >= last-1 {
				break
			}
		}
		r.Close()
	}
	sortRecords(recs)
	return recs, nil
}

func sortRecords(recs []topicRecord) {
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].Partition != recs[j].Partition {
			return recs[i].Partition < recs[j].Partition
		}
		return recs[i].Offset < recs[j].Offset
	})
}

// topicsTestBooking is what a booking's messages must say, from the REST API's view of it.
type topicsTestBooking struct {
	booking
	user           user
	event          event
	token          string // the payment method token it was booked with
	idempotencyKey string // the Idempotency-Key header it was booked with ("" for none)
	paymentRef     string // the payment's providerRef (GET /api/payments/booking/{id})
	cancelled      bool
}

// topicsTestPayment is GET /api/payments/booking/{id}.
type topicsTestPayment struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	AmountMinor int64  `json:"amountMinor"`
	Currency    string `json:"currency"`
	ProviderRef string `json:"providerRef"`
}

func TestTopicsCarryExactlyTheDocumentedMessages(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	started := time.Now()
	e := newEvent(t, 4, 4550)
	c, u := register(t)

	// One booking confirmed (with an Idempotency-Key, which booking.initiated carries) ...
	key := "topics-" + uniq()
	var confirmed topicsTestBooking
	r := book(c, e.ID, []string{"FLOOR-A-1", "FLOOR-A-2"}, "tok_visa", "Idempotency-Key", key)
	if r.status != 202 {
		t.Fatalf("POST /api/bookings = %d %s", r.status, r.body)
	}
	r.decode(t, &confirmed.booking)
	confirmed.user, confirmed.event, confirmed.token, confirmed.idempotencyKey = u, e, "tok_visa", key
	// ... and one confirmed, then cancelled (refund, seats released).
	var cancelled topicsTestBooking
	r = book(c, e.ID, []string{"FLOOR-A-3"}, "tok_visa")
	if r.status != 202 {
		t.Fatalf("POST /api/bookings = %d %s", r.status, r.body)
	}
	r.decode(t, &cancelled.booking)
	cancelled.user, cancelled.event, cancelled.token, cancelled.cancelled = u, e, "tok_visa", true

	confirmed.booking = waitStatus(t, c, confirmed.ID, "CONFIRMED", 30*time.Second)
	waitStatus(t, c, cancelled.ID, "CONFIRMED", 30*time.Second)
	c.expect(200, "POST", "/api/bookings/"+cancelled.ID+"/cancel", nil, nil)
	cancelled.booking = waitStatus(t, c, cancelled.ID, "CANCELLED", 30*time.Second)
	for _, b := range []*topicsTestBooking{&confirmed, &cancelled} {
		if b.PaymentID == nil || b.AmountMinor <= 0 || b.Currency != "EUR" || b.EventName != e.Name {
			t.Fatalf("booking %s as the API shows it: %+v", b.ID, b.booking)
		}
		var p topicsTestPayment
		c.expect(200, "GET", "/api/payments/booking/"+b.ID, nil, &p)
		want := map[bool]string{false: "SUCCEEDED", true: "REFUNDED"}[b.cancelled]
		if p.ID != *b.PaymentID || p.Status != want || p.ProviderRef == "" {
			t.Fatalf("payment of %s: %+v, want %s", b.ID, p, want)
		}
		b.paymentRef = p.ProviderRef
	}

	// Which topics must hold a message for which key. Everything else must hold none.
	keys := map[string]bool{u.ID: true, confirmed.ID: true, cancelled.ID: true}
	expected := map[string][]string{ // topic -> keys
		bus.TopicUserRegistered: {u.ID},
	}
	for _, topic := range []string{bus.TopicBookingInitiated, bus.TopicSeatsLocked, bus.TopicPaymentRequested,
		bus.TopicPaymentProcessed, bus.TopicBookingConfirmed} {
		expected[topic] = []string{confirmed.ID, cancelled.ID}
	}
	for _, topic := range []string{bus.TopicSeatsReleased, bus.TopicBookingCancelled, bus.TopicPaymentRefunded} {
		expected[topic] = []string{cancelled.ID}
	}
	// The ticket service's facts are one per ticket: how many of each per booking.
	ticketFacts := map[string]map[string]int{
		bus.TopicTicketIssued:      {confirmed.ID: 2, cancelled.ID: 1},
		bus.TopicTicketRevoked:     {cancelled.ID: 1},
		bus.TopicTicketCheckedIn:   {},
		bus.TopicTicketTransferred: {},
	}
	for topic, per := range ticketFacts {
		for k := range per {
			expected[topic] = append(expected[topic], k)
		}
	}

	// Facts are published right after the status changes (the cancel answers first): wait until
	// every expected message is there, then read everything once more with both clients.
	ctx := testContext(t, 3*time.Minute)
	eventually(t, 30*time.Second, func() error {
		for topic, want := range expected {
			recs, err := readTopicWithKafkaGo(ctx, cfg.KafkaBrokers, topic, keys)
			if err != nil {
				return err
			}
			for _, k := range want {
				if !slices.ContainsFunc(recs, func(r topicRecord) bool { return r.Key == k }) {
					return fmt.Errorf("no message keyed %s on %s yet", k, topic)
				}
			}
		}
		return nil
	})

	var allTopics []string
	for _, topic := range append(append([]string{}, bus.ContractTopics...), bus.ExtraTopics...) {
		allTopics = append(allTopics, topic, bus.DLT(topic))
	}
	type reading struct{ kcat, kafkaGo []topicRecord }
	read := map[string]*reading{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(allTopics))
	for _, topic := range allTopics {
		rd := &reading{}
		read[topic] = rd
		wg.Go(func() {
			recs, err := readTopicWithKafkaGo(ctx, cfg.KafkaBrokers, topic, keys)
			if err != nil {
				errs <- err
				return
			}
			// kcat reads after kafka-go, so it sees at least as much.
			kc, err := readTopicWithKcat(ctx, cfg.KafkaBrokers[0], topic, keys)
			if err != nil {
				errs <- err
				return
			}
			rd.kafkaGo, rd.kcat = recs, kc
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	byID := map[string]*topicsTestBooking{confirmed.ID: &confirmed, cancelled.ID: &cancelled}
	for _, topic := range allTopics {
		rd := read[topic]
		// The two clients read the same records, byte for byte, headers included.
		if !reflect.DeepEqual(rd.kcat, rd.kafkaGo) {
			t.Errorf("%s: kcat and kafka-go disagree:\nkcat:     %+v\nkafka-go: %+v", topic, rd.kcat, rd.kafkaGo)
			continue
		}
		t.Logf("%-38s %d message(s) of this test's keys, the same from kcat and kafka-go", topic, len(rd.kcat))
		if strings.HasSuffix(topic, ".DLT") {
			for _, rec := range rd.kcat {
				reason, _ := rec.header("dlt.reason")
				t.Errorf("%s holds a message of this test's key %s (offset %d): %s", topic, rec.Key, rec.Offset, reason)
			}
			continue
		}
		if per, ok := ticketFacts[topic]; ok {
			checkTicketRecords(t, topic, rd.kcat, per, cfg)
			continue
		}
		wantKeys := expected[topic]
		for _, rec := range rd.kcat {
			if !slices.Contains(wantKeys, rec.Key) {
				t.Errorf("%s: unexpected message keyed %s: %s", topic, rec.Key, rec.Value)
			}
		}
		for _, k := range wantKeys {
			var mine []topicRecord
			for _, rec := range rd.kcat {
				if rec.Key == k {
					mine = append(mine, rec)
				}
			}
			if len(mine) != 1 {
				t.Errorf("%s: %d messages keyed %s, want exactly one: %+v", topic, len(mine), k, mine)
				continue
			}
			checkTopicRecord(t, mine[0], started, cfg)
			if topic == bus.TopicUserRegistered {
				checkUserRegistered(t, mine[0], u)
			} else {
				checkBookingPayload(t, mine[0], byID[k])
			}
		}
	}
}

// checkTicketRecords checks a ticket topic's messages: as many per booking as it has facts, each
// keyed by its booking on murmur2's partition, produced by the ticket service, valid by its
// schema (whose eventId check makes the ticket id its subject), each fact once.
func checkTicketRecords(t *testing.T, topic string, recs []topicRecord, per map[string]int, cfg *devstack.Settings) {
	t.Helper()
	got, ids := map[string]int{}, map[string]bool{}
	partitions := make([]int, cfg.KafkaPartitions)
	for i := range partitions {
		partitions[i] = i
	}
	for _, rec := range recs {
		got[rec.Key]++
		if err := bus.ValidateMessage(topic, []byte(rec.Value)); err != nil {
			t.Errorf("%s key %s: %v", topic, rec.Key, err)
		}
		id, _ := rec.header(bus.HeaderEventID)
		if ids[id] {
			t.Errorf("%s: the fact %s twice", topic, id)
		}
		ids[id] = true
		if p, n := rec.header(bus.HeaderProducer); n != 1 || p != config.Ticket {
			t.Errorf("%s key %s: producer %q", topic, rec.Key, p)
		}
		if want := (&kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: []byte(rec.Key)}, partitions...); rec.Partition != want {
			t.Errorf("%s key %s: on partition %d, murmur2 of the key says %d", topic, rec.Key, rec.Partition, want)
		}
	}
	for k, n := range per {
		if got[k] != n {
			t.Errorf("%s: %d messages keyed %s, want %d", topic, got[k], k, n)
		}
	}
	for k := range got {
		if _, ok := per[k]; !ok {
			t.Errorf("%s: unexpected messages keyed %s", topic, k)
		}
	}
}

// checkTopicRecord checks what every message shares: key and partition, headers, envelope,
// schema.
func checkTopicRecord(t *testing.T, rec topicRecord, started time.Time, cfg *devstack.Settings) {
	t.Helper()
	where := fmt.Sprintf("%s key %s", rec.Topic, rec.Key)
	if err := bus.ValidateMessage(rec.Topic, []byte(rec.Value)); err != nil {
		t.Errorf("%s: does not match its schema: %v\n%s", where, err, rec.Value)
	}
	var env bus.Envelope
	if err := json.Unmarshal([]byte(rec.Value), &env); err != nil {
		t.Errorf("%s: envelope: %v", where, err)
		return
	}
	factID := bus.FactID(rec.Key, rec.Topic)
	if env.EventID != factID || env.EventType != strings.TrimPrefix(rec.Topic, "ticketflow.") {
		t.Errorf("%s: eventId %q eventType %q, want %q %q", where, env.EventID, env.EventType, factID, bus.EventType(rec.Topic))
	}
	if env.OccurredAt.Before(started.Add(-time.Minute)) || env.OccurredAt.After(time.Now().Add(time.Minute)) ||
		env.OccurredAt.Location() != time.UTC {
		t.Errorf("%s: occurredAt %s is not this test's time in UTC", where, env.OccurredAt)
	}
	producer := map[string]string{bus.TopicUserRegistered: config.User, bus.TopicPaymentProcessed: config.Payment,
		bus.TopicPaymentRefunded: config.Payment}[rec.Topic]
	if producer == "" {
		producer = config.Worker
	}
	for name, want := range map[string]string{bus.HeaderEventID: factID, bus.HeaderEventType: env.EventType,
		bus.HeaderProducer: producer} {
		if got, n := rec.header(name); n != 1 || got != want {
			t.Errorf("%s: header %s = %q (%d times), want %q once", where, name, got, n, want)
		}
	}
	// Partitioned by murmur2 of the key, as Java clients do, so every producer of a booking's
	// messages puts them on the same partition.
	partitions := make([]int, cfg.KafkaPartitions)
	for i := range partitions {
		partitions[i] = i
	}
	if want := (&kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: []byte(rec.Key)}, partitions...); rec.Partition != want {
		t.Errorf("%s: on partition %d, murmur2 of the key says %d", where, rec.Partition, want)
	}
}

func decodePayloadOf(t *testing.T, rec topicRecord, dst any) bool {
	t.Helper()
	var env bus.Envelope
	if err := json.Unmarshal([]byte(rec.Value), &env); err != nil {
		t.Errorf("%s: %v", rec.Topic, err)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(env.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		t.Errorf("%s key %s: payload: %v", rec.Topic, rec.Key, err)
		return false
	}
	return true
}

func checkUserRegistered(t *testing.T, rec topicRecord, u user) {
	t.Helper()
	var p bus.UserRegistered
	if decodePayloadOf(t, rec, &p) && p != (bus.UserRegistered{UserID: u.ID, Email: u.Email, Name: u.Name}) {
		t.Errorf("user.registered payload %+v, want the user %+v", p, u)
	}
}

// checkBookingPayload compares a booking topic's payload with the booking as the API shows it.
func checkBookingPayload(t *testing.T, rec topicRecord, b *topicsTestBooking) {
	t.Helper()
	paymentID, failureReason := *b.PaymentID, ""
	if b.FailureReason != nil {
		failureReason = *b.FailureReason
	}
	var got, want any
	switch rec.Topic {
	case bus.TopicBookingInitiated:
		got, want = &bus.BookingInitiated{}, &bus.BookingInitiated{BookingID: b.ID, UserID: b.user.ID, UserEmail: b.user.Email,
			EventID: b.event.ID, EventName: b.event.Name, SeatIDs: b.SeatIDs, AmountMinor: b.AmountMinor, Currency: b.Currency,
			IdempotencyKey: b.idempotencyKey}
	case bus.TopicSeatsLocked:
		got, want = &bus.SeatsLocked{}, &bus.SeatsLocked{BookingID: b.ID, EventID: b.event.ID, SeatIDs: b.SeatIDs,
			LockExpiresAt: b.HoldExpiresAt}
	case bus.TopicPaymentRequested:
		got, want = &bus.PaymentRequested{}, &bus.PaymentRequested{BookingID: b.ID, UserID: b.user.ID, AmountMinor: b.AmountMinor,
			Currency: b.Currency, PaymentMethodToken: b.token, IdempotencyKey: lifecycle.PaymentIdempotencyKey(b.ID)}
	case bus.TopicPaymentProcessed:
		got, want = &bus.PaymentProcessed{}, &bus.PaymentProcessed{BookingID: b.ID, PaymentID: paymentID, Status: bus.PaymentSuccess,
			AmountMinor: b.AmountMinor, Currency: b.Currency, ProviderRef: b.paymentRef}
	case bus.TopicBookingConfirmed:
		got, want = &bus.BookingConfirmed{}, &bus.BookingConfirmed{BookingID: b.ID, UserID: b.user.ID, UserEmail: b.user.Email,
			EventID: b.event.ID, EventName: b.event.Name, SeatIDs: b.SeatIDs, AmountMinor: b.AmountMinor, Currency: b.Currency,
			PaymentID: paymentID}
	case bus.TopicSeatsReleased:
		got, want = &bus.SeatsReleased{}, &bus.SeatsReleased{BookingID: b.ID, EventID: b.event.ID, SeatIDs: b.SeatIDs,
			Reason: "cancelled by the buyer"}
	case bus.TopicBookingCancelled:
		got, want = &bus.BookingEnded{}, &bus.BookingEnded{BookingID: b.ID, UserID: b.user.ID, EventID: b.event.ID,
			SeatIDs: b.SeatIDs, Status: "CANCELLED", Reason: failureReason}
	case bus.TopicPaymentRefunded:
		got = &bus.PaymentRefunded{}
		// The refund's providerRef is the provider's refund reference, which the API does not show.
		w := bus.PaymentRefunded{BookingID: b.ID, PaymentID: paymentID, AmountMinor: b.AmountMinor, Currency: b.Currency,
			Reason: "cancelled by the buyer"}
		if !decodePayloadOf(t, rec, got) {
			return
		}
		g := *got.(*bus.PaymentRefunded)
		if g.ProviderRef == "" || g.ProviderRef == b.paymentRef {
			t.Errorf("payment.refunded providerRef %q: want the refund's own reference", g.ProviderRef)
		}
		g.ProviderRef = ""
		if !reflect.DeepEqual(g, w) {
			t.Errorf("payment.refunded of %s:\n got %+v\nwant %+v", b.ID, g, w)
		}
		return
	default:
		t.Errorf("%s: no payload check", rec.Topic)
		return
	}
	if !decodePayloadOf(t, rec, got) {
		return
	}
	if sl, ok := got.(*bus.SeatsLocked); ok {
		// Compare the instant; the API and the message may spell the zone differently.
		if !sl.LockExpiresAt.Equal(b.HoldExpiresAt) {
			t.Errorf("seats.locked of %s: lockExpiresAt %s, holdExpiresAt %s", b.ID, sl.LockExpiresAt, b.HoldExpiresAt)
		}
		sl.LockExpiresAt = want.(*bus.SeatsLocked).LockExpiresAt
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s of %s:\n got %+v\nwant %+v", rec.Topic, b.ID, got, want)
	}
}
