package bus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"ticketflow/internal/telemetry"
)

func TestMessagesCarryTheTraceAndIDsToTheirConsumer(t *testing.T) {
	otel.SetTracerProvider(sdktrace.NewTracerProvider())
	ctx, span := otel.Tracer("test").Start(context.Background(), "request")
	defer span.End()
	ctx = telemetry.WithRequestID(ctx, "req-7")
	const booking = "0b5f9a4c-1111-4222-8333-444455556666"

	m, err := NewMessage(TopicPaymentRequested, booking, FactID(booking, TopicPaymentRequested), time.Now(), map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	km, err := m.Kafka()
	if err != nil {
		t.Fatal(err)
	}
	msgs := []kafka.Message{km}
	pctx, pspan := startPublish(ctx, msgs)
	endSpan(pspan, nil)
	if tp := Header(msgs[0], "traceparent"); !strings.Contains(tp, span.SpanContext().TraceID().String()) {
		t.Fatalf("traceparent header %q does not carry the trace", tp)
	}
	if Header(msgs[0], HeaderEventID) == "" {
		t.Error("the contract's headers were lost")
	}

	c := &Consumer{cfg: ConsumerConfig{GroupID: "g"}}
	cctx, cspan := c.startProcess(context.Background(), msgs[0])
	defer cspan.End()
	if got, want := telemetry.TraceID(cctx), telemetry.TraceID(pctx); got != want {
		t.Errorf("consumer trace %s, producer trace %s", got, want)
	}
	if got := telemetry.RequestID(cctx); got != "req-7" {
		t.Errorf("consumer request id %q", got)
	}
	if got := telemetry.BookingID(cctx); got != booking {
		t.Errorf("consumer booking id %q (the key of a booking topic)", got)
	}

	// user.registered is keyed by user id: no booking id from its key.
	u := kafka.Message{Topic: TopicUserRegistered, Key: []byte("user-1")}
	uctx, uspan := c.startProcess(context.Background(), u)
	defer uspan.End()
	if got := telemetry.BookingID(uctx); got != "" {
		t.Errorf("user.registered gave booking id %q", got)
	}
}

func TestRunningConsumersAreCollected(t *testing.T) {
	c := NewConsumer(ConsumerConfig{Brokers: []string{"127.0.0.1:1"}, GroupID: "g", Topic: TopicPaymentProcessed})
	defer c.reader.Close()
	c.handled.Add(3)
	c.deadLet.Add(1)
	runningConsumers.add(c)
	if n := testutil.CollectAndCount(runningConsumers); n != 4 {
		t.Errorf("collected %d metrics for one consumer, want 4 (handled, retried, dead-lettered, lag)", n)
	}
	want := `
# HELP ticketflow_kafka_messages_dead_lettered_total Messages sent to the topic's dead-letter topic.
# TYPE ticketflow_kafka_messages_dead_lettered_total counter
ticketflow_kafka_messages_dead_lettered_total{group="g",topic="ticketflow.payment.processed"} 1
# HELP ticketflow_kafka_messages_handled_total Messages a consumer handled (including duplicates it dropped).
# TYPE ticketflow_kafka_messages_handled_total counter
ticketflow_kafka_messages_handled_total{group="g",topic="ticketflow.payment.processed"} 3
`
	if err := testutil.CollectAndCompare(runningConsumers, strings.NewReader(want),
		"ticketflow_kafka_messages_handled_total", "ticketflow_kafka_messages_dead_lettered_total"); err != nil {
		t.Error(err)
	}
	runningConsumers.remove(c)
	if n := testutil.CollectAndCount(runningConsumers); n != 0 {
		t.Errorf("a stopped consumer is still collected (%d metrics)", n)
	}
}
