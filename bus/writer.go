package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Writer publishes TicketFlow messages: it waits for every in-sync replica to acknowledge
// (RequireAll), partitions by key the way Java clients do (murmur2, so one booking's messages stay
// ordered on one partition whoever produces them), and flushes within milliseconds instead of
// kafka-go's default second.
type Writer struct {
	w        *kafka.Writer
	producer string
}

// NewWriter returns a writer to brokers; producer names this process in a message header.
func NewWriter(brokers []string, producer string) *Writer {
	return &Writer{producer: producer, w: &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Balancer:               &kafka.Murmur2Balancer{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           2 * time.Millisecond,
		BatchSize:              200,
		WriteTimeout:           10 * time.Second,
		ReadTimeout:            10 * time.Second,
		MaxAttempts:            3,
		AllowAutoTopicCreation: false,
	}}
}

// Publish writes msgs and returns once Kafka has acknowledged all of them. Messages to the same
// topic and partition keep their order.
func (w *Writer) Publish(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	out := make([]kafka.Message, 0, len(msgs))
	for _, m := range msgs {
		if m.Producer == "" {
			m.Producer = w.producer
		}
		km, err := m.Kafka()
		if err != nil {
			return err
		}
		out = append(out, km)
	}
	if err := w.w.WriteMessages(ctx, out...); err != nil {
		return fmt.Errorf("publish %d message(s) to %s: %w", len(out), out[0].Topic, err)
	}
	return nil
}

// PublishRaw writes already-encoded messages (the dead-letter path keeps original bytes).
func (w *Writer) PublishRaw(ctx context.Context, msgs ...kafka.Message) error {
	return w.w.WriteMessages(ctx, msgs...)
}

// Close flushes and closes the writer.
func (w *Writer) Close() error { return w.w.Close() }
