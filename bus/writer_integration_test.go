//go:build integration

package bus

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/config"
	"ticketflow/ids"
)

// A message written once and then written again "checked" (as a retried emit does) is on its
// topic once.
func TestACheckedRetryDoesNotWriteTwice(t *testing.T) {
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := NewWriter(cfg.KafkaBrokers, "test")
	defer w.Close()
	booking := ids.New()
	m, err := NewMessage(TopicSeatsReleased, booking, FactID(booking, TopicSeatsReleased), time.Now(),
		SeatsReleased{BookingID: booking, EventID: ids.New(), SeatIDs: []string{"A-1-1"}, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := w.PublishChecked(ctx, m); err != nil {
		t.Fatal(err)
	}
	km, _ := m.Kafka()
	p, err := w.partitionOf(ctx, km)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.KafkaBrokers, Topic: TopicSeatsReleased, Partition: p, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	conn, err := kafka.DialLeader(ctx, "tcp", cfg.KafkaBrokers[0], TopicSeatsReleased, p)
	if err != nil {
		t.Fatal(err)
	}
	first, last, _ := conn.ReadOffsets()
	conn.Close()
	_ = r.SetOffset(max(first, last-100))
	for {
		msg, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(msg.Key) == booking {
			seen++
		}
		if msg.Offset >= last-1 {
			break
		}
	}
	if seen != 1 {
		t.Fatalf("the message is on its topic %d times", seen)
	}
}
