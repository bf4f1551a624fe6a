package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/trace"
)

// Writer publishes TicketFlow messages: it waits for every in-sync replica to acknowledge
// (RequireAll), partitions by key the way Java clients do (murmur2, so one booking's messages stay
// ordered on one partition whoever produces them), and flushes within milliseconds instead of
// kafka-go's default second.
type Writer struct {
	w        *kafka.Writer
	producer string
	brokers  []string

	mu         sync.Mutex
	unsure     map[string]bool // eventIds whose write failed once: they may be on the topic already
	partitions map[string][]int
	// checking holds the eventIds of checked publishes under way, each with a channel closed when
	// it ends: a second checked publish of one of them waits, then looks, and finds it written.
	checking map[string]chan struct{}
}

// NewWriter returns a writer to brokers; producer names this process in a message header.
func NewWriter(brokers []string, producer string) *Writer {
	return &Writer{producer: producer, brokers: brokers, unsure: map[string]bool{}, partitions: map[string][]int{},
		checking: map[string]chan struct{}{}, w: &kafka.Writer{
			Addr:         kafka.TCP(brokers...),
			Balancer:     &kafka.Murmur2Balancer{},
			RequiredAcks: kafka.RequireAll,
			BatchTimeout: 2 * time.Millisecond,
			BatchSize:    200,
			WriteTimeout: 10 * time.Second,
			ReadTimeout:  10 * time.Second,
			// One attempt per publish: kafka-go's own retry re-sends a batch whose acknowledgement
			// was lost, blind, and Kafka then holds the message twice (seen after a broker
			// outage: payment.processed written twice). A failed publish is retried by its caller
			// (a consumer's redelivery, an activity, the outbox), and that retry looks for the
			// message first (unsure, dedupe.go).
			MaxAttempts:            1,
			AllowAutoTopicCreation: false,
		}}
}

// Publish writes msgs and returns once Kafka has acknowledged all of them. Messages to the same
// topic and partition keep their order. A message whose write failed before in this process is
// first looked for on its partition and not written twice (see dedupe.go).
func (w *Writer) Publish(ctx context.Context, msgs ...Message) error {
	return w.publish(ctx, false, msgs)
}

// PublishChecked is Publish for a caller that may have written these messages before in another
// process (an activity retried after its worker died): it always looks for them first.
func (w *Writer) PublishChecked(ctx context.Context, msgs ...Message) error {
	return w.publish(ctx, true, msgs)
}

func (w *Writer) publish(ctx context.Context, check bool, msgs []Message) error {
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
	w.mu.Lock()
	for _, m := range msgs {
		check = check || w.unsure[m.Envelope.EventID]
	}
	w.mu.Unlock()
	if check {
		release, err := w.exclusive(ctx, msgs)
		if err != nil {
			return err
		}
		defer release()
		if out, err = w.absent(ctx, out); err != nil {
			return fmt.Errorf("look for earlier writes: %w", err)
		}
	}
	var err error
	if len(out) > 0 {
		var span trace.Span
		ctx, span = startPublish(ctx, out)
		err = w.write(ctx, out)
		endSpan(span, err)
	}
	// A message stays marked once a write of it failed, even after a later write succeeds: a
	// redelivery of what made it (a consumer group rebalanced while the first delivery was still
	// retrying its publish) would otherwise write it a second time right after.
	w.mu.Lock()
	for _, m := range msgs {
		if err != nil && len(w.unsure) < 100_000 {
			w.unsure[m.Envelope.EventID] = true
		}
	}
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("publish %d message(s) to %s: %w", len(out), msgs[0].Topic, err)
	}
	return nil
}

// exclusive waits until no other checked publish of msgs' eventIds is under way in this process,
// and claims them until release is called. Without it, two checked publishes of one message at once
// (a delivery retrying its publish and a redelivery re-sending the same outcome) both look, both
// find nothing yet, and both write.
func (w *Writer) exclusive(ctx context.Context, msgs []Message) (release func(), err error) {
	for {
		w.mu.Lock()
		var busy chan struct{}
		for _, m := range msgs {
			if ch, ok := w.checking[m.Envelope.EventID]; ok {
				busy = ch
				break
			}
		}
		if busy == nil {
			done := make(chan struct{})
			for _, m := range msgs {
				w.checking[m.Envelope.EventID] = done
			}
			w.mu.Unlock()
			return func() {
				w.mu.Lock()
				for _, m := range msgs {
					delete(w.checking, m.Envelope.EventID)
				}
				w.mu.Unlock()
				close(done)
			}, nil
		}
		w.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// PublishRaw writes already-encoded messages (the dead-letter path keeps original bytes).
func (w *Writer) PublishRaw(ctx context.Context, msgs ...kafka.Message) error {
	return w.write(ctx, msgs)
}

// write writes msgs in one attempt, then again — only the messages refused — while the broker
// refused them before appending anything (a leader moving after a restart or a new topic; see
// refusedUnwritten): such a retry cannot write a message twice. Any other failure is returned at
// once, and the caller's retry looks before it writes.
func (w *Writer) write(ctx context.Context, msgs []kafka.Message) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := w.w.WriteMessages(ctx, msgs...)
		var werrs kafka.WriteErrors
		if err == nil || attempt == 6 || !errors.As(err, &werrs) || len(werrs) != len(msgs) {
			return err
		}
		var again []kafka.Message
		for i, e := range werrs {
			if e == nil {
				continue
			}
			if !refusedUnwritten(e) {
				return err
			}
			again = append(again, msgs[i])
		}
		msgs = again
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// refusedUnwritten reports a produce error the broker answers before it appends anything: the
// partition has no leader here (yet), or too few replicas are in sync to accept a write
// (NotEnoughReplicas, unlike NotEnoughReplicasAfterAppend). Kafka protocol error codes 3, 5, 6, 19.
func refusedUnwritten(err error) bool {
	var ke kafka.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke {
	case kafka.UnknownTopicOrPartition, kafka.LeaderNotAvailable, kafka.NotLeaderForPartition, kafka.NotEnoughReplicas:
		return true
	}
	return false
}

// Close flushes and closes the writer.
func (w *Writer) Close() error { return w.w.Close() }
