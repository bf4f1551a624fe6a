//go:build integration

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/tools/devstack"
)

// Faults on the Kafka path: duplicates, poison messages, a killed bridge, a broker outage.

// topicMessages reads every message of topic from the beginning to the current end, keyed by key
// (all keys when key is "").
func topicMessages(t testing.TB, topic, key string) []kafka.Message {
	t.Helper()
	cfg := loadConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := kafka.DialContext(ctx, "tcp", cfg.KafkaBrokers[0])
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out []kafka.Message
	for _, p := range parts {
		pc, err := kafka.DialLeader(ctx, "tcp", cfg.KafkaBrokers[0], topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		first, last, err := pc.ReadOffsets()
		pc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if last <= first {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.KafkaBrokers, Topic: topic, Partition: p.ID, MaxWait: 100 * time.Millisecond})
		_ = r.SetOffset(first)
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, p.ID, err)
			}
			if key == "" || string(m.Key) == key {
				out = append(out, m)
			}
			if m.Offset >= last-1 {
				break
			}
		}
		r.Close()
	}
	return out
}

func produce(t testing.TB, msgs ...kafka.Message) {
	t.Helper()
	cfg := loadConfig(t)
	w := &kafka.Writer{Addr: kafka.TCP(cfg.KafkaBrokers...), Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(t.Context(), msgs...); err != nil {
		t.Fatal(err)
	}
}

func mailCount(t testing.TB, query string) int {
	t.Helper()
	var res struct {
		MessagesCount int `json:"messages_count"`
	}
	if err := getJSON(loadConfig(t).MailpitURL+"/api/v1/search?query="+urlQuery(query), &res); err != nil {
		t.Fatal(err)
	}
	return res.MessagesCount
}

func TestPaymentProcessedTwiceConfirmsChargesAndMailsOnce(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 1000)
	c, u := register(t)
	var b booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_visa").decode(t, &b)
	waitStatus(t, c, b.ID, "CONFIRMED", 30*time.Second)
	// Deliver the provider's answer again, byte for byte.
	orig := topicMessages(t, bus.TopicPaymentProcessed, b.ID)
	if len(orig) != 1 {
		t.Fatalf("payment.processed for the booking: %d messages", len(orig))
	}
	produce(t, kafka.Message{Topic: bus.TopicPaymentProcessed, Key: orig[0].Key, Value: orig[0].Value, Headers: orig[0].Headers})
	time.Sleep(3 * time.Second) // let the bridge handle it
	var got booking
	c.expect(200, "GET", "/api/bookings/"+b.ID, nil, &got)
	var p struct{ Status string }
	c.expect(200, "GET", "/api/payments/booking/"+b.ID, nil, &p)
	if got.Status != "CONFIRMED" || p.Status != "SUCCEEDED" {
		t.Fatalf("after a duplicate result: booking %s, payment %s", got.Status, p.Status)
	}
	if n := len(topicMessages(t, bus.TopicBookingConfirmed, b.ID)); n != 1 {
		t.Fatalf("%d booking.confirmed messages", n)
	}
	eventually(t, 15*time.Second, func() error {
		if n := mailCount(t, `to:"`+u.Email+`" subject:"confirmed"`); n != 1 {
			return fmt.Errorf("%d confirmation emails", n)
		}
		return nil
	})
}

func TestMalformedMessagesAreDeadLetteredAndConsumersKeepGoing(t *testing.T) {
	t.Parallel()
	for _, topic := range []string{bus.TopicPaymentRequested, bus.TopicPaymentProcessed, bus.TopicBookingInitiated,
		bus.TopicUserRegistered, bus.TopicBookingConfirmed} {
		t.Run(bus.EventType(topic), func(t *testing.T) {
			key := ids.New()
			poison := []byte(`{"eventId":"poison-` + key + `","eventType":"` + bus.EventType(topic) + `","payload":{"bookingId":42}}`)
			produce(t, kafka.Message{Topic: topic, Key: []byte(key), Value: poison,
				Headers: []kafka.Header{{Key: "test", Value: []byte("poison")}}})
			var dl kafka.Message
			eventually(t, 60*time.Second, func() error {
				got := topicMessages(t, bus.DLT(topic), key)
				if len(got) == 0 {
					return fmt.Errorf("nothing in %s for key %s yet", bus.DLT(topic), key)
				}
				dl = got[0]
				return nil
			})
			if string(dl.Value) != string(poison) || bus.Header(dl, "test") != "poison" ||
				bus.Header(dl, "dlt.reason") == "" || bus.Header(dl, "dlt.original.topic") != topic {
				t.Fatalf("dead letter lost the original or the reason: value %s headers %v", dl.Value, dl.Headers)
			}
		})
	}
	// After the poison, the consumers still work: a full booking goes through every one of them.
	e := newEvent(t, 1, 100)
	c, _ := register(t)
	var b booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "").decode(t, &b)
	waitStatus(t, c, b.ID, "CONFIRMED", 30*time.Second)
}

func TestBookingInitiatedFromKcatBecomesAConfirmedBooking(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	e := newEvent(t, 3, 2500)
	_, u := register(t)
	bookingID := ids.New()
	env := map[string]any{"eventId": bus.FactID(bookingID, bus.TopicBookingInitiated), "eventType": "booking.initiated",
		"occurredAt": time.Now().UTC(), "payload": map[string]any{"bookingId": bookingID, "userId": u.ID,
			"userEmail": u.Email, "eventId": e.ID, "eventName": "ignored", "seatIds": []string{"FLOOR-A-2"},
			"amountMinor": 1, "currency": "EUR", "idempotencyKey": ""}}
	value, _ := json.Marshal(env)
	cmd := exec.Command("kcat", "-b", cfg.KafkaBrokers[0], "-P", "-t", bus.TopicBookingInitiated, "-k", bookingID)
	cmd.Stdin = strings.NewReader(string(value) + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v %s", err, out)
	}
	adm := admin(t)
	var b booking
	poll(t, 60*time.Second, 500*time.Millisecond, func() error {
		r := adm.do("GET", "/api/bookings/"+bookingID, nil)
		if r.status != 200 {
			return fmt.Errorf("booking not there yet: %d", r.status)
		}
		r.decode(t, &b)
		if b.Status != "CONFIRMED" {
			return fmt.Errorf("booking is %s", b.Status)
		}
		return nil
	})
	// The price comes from the seat data, not from the message.
	if b.AmountMinor != 2500 || b.EventName != e.Name || b.UserID != u.ID {
		t.Fatalf("booking from kcat %+v", b)
	}
	eventually(t, 15*time.Second, func() error {
		if n := mailCount(t, `to:"`+u.Email+`" subject:"confirmed"`); n != 1 {
			return fmt.Errorf("%d confirmation emails", n)
		}
		return nil
	})
}

func TestKilledBridgeMidBookingStillConfirms(t *testing.T) {
	cfg := loadConfig(t)
	e := newEvent(t, 2, 100)
	c, _ := register(t)
	var b booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_visa").decode(t, &b)
	old, err := devstack.Kill(cfg, config.Bridge, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := devstack.WaitRestarted(ctx, cfg, config.Bridge, old, cfg.URLs[config.Bridge]+"/health"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, b.ID, "CONFIRMED", 60*time.Second)
}

// Kafka stops for 20 seconds in the middle of 20 bookings: all of them end, every topic has each
// of their messages once (by eventId), nothing lost.
func TestKafkaOutageDelaysButLosesNothing(t *testing.T) {
	cfg := loadConfig(t)
	e := newEvent(t, 20, 100)
	const n = 20
	clients := make([]*client, n)
	for i := range clients {
		clients[i], _ = register(t)
	}
	bookingIDs := make([]string, n)
	started := make([]time.Time, n)
	var wg sync.WaitGroup
	outage := make(chan struct{})
	for i := 0; i < n; i++ {
		if i == n/2 {
			killFor(t, cfg, "kafka", 20*time.Second)
			close(outage)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			started[i] = time.Now()
			r := book(clients[i], e.ID, []string{fmt.Sprintf("FLOOR-A-%d", i+1)}, "tok_visa")
			if r.status != 202 {
				t.Errorf("booking %d: %d %s", i, r.status, r.body)
				return
			}
			var b booking
			r.decode(t, &b)
			bookingIDs[i] = b.ID
		}(i)
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	<-outage
	defer devstack.Release(cfg, "kafka")
	var slowest time.Duration
	final := map[string]string{}
	for i, id := range bookingIDs {
		if id == "" {
			continue
		}
		var b booking
		poll(t, 3*time.Minute, time.Second, func() error {
			clients[i].expect(200, "GET", "/api/bookings/"+id, nil, &b)
			if b.Status == "PENDING" {
				return fmt.Errorf("booking %d still PENDING", i)
			}
			return nil
		})
		final[id] = b.Status
		if d := time.Since(started[i]); d > slowest {
			slowest = d
		}
	}
	t.Logf("Kafka down 20 s: the slowest of %d bookings took %s from POST to its end; statuses %v", n, slowest.Round(time.Second), countStatuses(final))
	// Each booking's messages are on their topics exactly once.
	for id, status := range final {
		want := []string{bus.TopicBookingInitiated, bus.TopicSeatsLocked, bus.TopicPaymentRequested}
		if status == "CONFIRMED" {
			want = append(want, bus.TopicPaymentProcessed, bus.TopicBookingConfirmed)
		}
		for _, topic := range want {
			msgs := topicMessages(t, topic, id)
			seen := map[string]int{}
			for _, m := range msgs {
				env, err := bus.DecodeEnvelope(topic, m.Value)
				if err != nil {
					t.Fatalf("%s: %v", topic, err)
				}
				seen[env.EventID]++
			}
			if len(seen) != 1 || seen[bus.FactID(id, topic)] < 1 {
				t.Errorf("booking %s (%s): %s holds %v", id, status, topic, seen)
			}
			if seen[bus.FactID(id, topic)] > 1 {
				t.Errorf("booking %s: %s holds its message %d times", id, topic, seen[bus.FactID(id, topic)])
			}
		}
	}
}

func countStatuses(m map[string]string) map[string]int {
	out := map[string]int{}
	for _, s := range m {
		out[s]++
	}
	return out
}
