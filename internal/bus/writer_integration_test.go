//go:build integration

package bus

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/internal/config"
	"ticketflow/internal/ids"
)

// writerTest is a writer to the stack's Kafka and a seats.released message of a new booking.
func writerTest(t *testing.T) (*config.Config, context.Context, *Writer, Message) {
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	w := NewWriter(cfg.KafkaBrokers, "test")
	t.Cleanup(func() { w.Close() })
	booking := ids.New()
	m, err := NewMessage(TopicSeatsReleased, booking, FactID(booking, TopicSeatsReleased), time.Now(),
		SeatsReleased{BookingID: booking, EventID: ids.New(), SeatIDs: []string{"A-1-1"}, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, ctx, w, m
}

// A message written once and then written again "checked" (as a retried emit does) is on its
// topic once.
func TestACheckedRetryDoesNotWriteTwice(t *testing.T) {
	cfg, ctx, w, m := writerTest(t)
	booking := m.Key
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

// A message whose first write failed is looked for before every later write in the process, also
// after a write of it succeeded: a redelivery of what made it (a consumer group rebalanced while
// the first delivery was retrying) does not put it on its topic twice.
func TestAMessageOnceUnsureIsNeverWrittenTwice(t *testing.T) {
	cfg, ctx, w, m := writerTest(t)
	booking := m.Key
	m.Topic = "test.writer." + booking // not there yet: the first write fails
	if err := w.Publish(ctx, m); err == nil {
		t.Fatal("a write to a missing topic succeeded")
	}
	admin := &kafka.Client{Addr: kafka.TCP(cfg.KafkaBrokers...)}
	if _, err := admin.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: m.Topic, NumPartitions: 1, ReplicationFactor: 1}}}); err != nil {
		t.Fatal(err)
	}
	defer admin.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{m.Topic}})
	for err := w.Publish(ctx, m); err != nil; err = w.Publish(ctx, m) { // the retry, once the topic has a leader
		time.Sleep(200 * time.Millisecond)
	}
	if err := w.Publish(ctx, m); err != nil { // the redelivery's re-send
		t.Fatal(err)
	}
	conn, err := kafka.DialLeader(ctx, "tcp", cfg.KafkaBrokers[0], m.Topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	first, last, err := conn.ReadOffsets()
	conn.Close()
	if err != nil || last-first != 1 {
		t.Fatalf("the message is on its topic %d times (%v)", last-first, err)
	}
}

// Two checked publishes of one message at once — a delivery retrying its publish while a
// redelivery re-sends the same outcome — put it on its topic once.
func TestConcurrentCheckedPublishesWriteOnce(t *testing.T) {
	cfg, ctx, w, m := writerTest(t)
	m.Topic = "test.writer." + m.Key
	admin := &kafka.Client{Addr: kafka.TCP(cfg.KafkaBrokers...)}
	if _, err := admin.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: m.Topic, NumPartitions: 1, ReplicationFactor: 1}}}); err != nil {
		t.Fatal(err)
	}
	defer admin.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: []string{m.Topic}})
	probe := m
	probe.Envelope.EventID = "probe:" + m.Key // wait for the new topic's leader without writing m
	for err := w.Publish(ctx, probe); err != nil; err = w.Publish(ctx, probe) {
		time.Sleep(200 * time.Millisecond)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.PublishChecked(ctx, m); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	conn, err := kafka.DialLeader(ctx, "tcp", cfg.KafkaBrokers[0], m.Topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	first, last, err := conn.ReadOffsets()
	conn.Close()
	if err != nil || last-first != 2 { // the probe and m, once
		t.Fatalf("%d messages on the topic, want 2 (the probe and the message once): %v", last-first, err)
	}
}
