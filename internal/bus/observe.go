package bus

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"ticketflow/internal/telemetry"
)

// Traces cross Kafka in the message headers: the writer puts the W3C `traceparent` (and the
// baggage with the request and booking ids) on every message it publishes, and the consumer
// continues that trace while it handles the message.

// tracer keeps the scope name "ticketflow/bus", which trace queries filter on, across the package's
// move to internal/.
func tracer() trace.Tracer { return otel.Tracer("ticketflow/bus") }

// headerCarrier lets the propagator read and write kafka-go headers.
type headerCarrier struct{ headers *[]kafka.Header }

func (c headerCarrier) Get(key string) string {
	for _, h := range *c.headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func (c headerCarrier) Set(key, value string) {
	for i, h := range *c.headers {
		if h.Key == key {
			(*c.headers)[i].Value = []byte(value)
			return
		}
	}
	*c.headers = append(*c.headers, kafka.Header{Key: key, Value: []byte(value)})
}

func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(*c.headers))
	for _, h := range *c.headers {
		keys = append(keys, h.Key)
	}
	return keys
}

// startPublish starts the span of one publish (named after its topics) and puts its context on
// the messages.
func startPublish(ctx context.Context, msgs []kafka.Message) (context.Context, trace.Span) {
	var topics []string
	for _, m := range msgs {
		if !slices.Contains(topics, m.Topic) {
			topics = append(topics, m.Topic)
		}
	}
	ctx, span := tracer().Start(ctx, strings.Join(topics, ", ")+" publish", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.system", "kafka"),
			attribute.StringSlice("messaging.destination.name", topics),
			attribute.Int("messaging.batch.message_count", len(msgs))))
	for i := range msgs {
		telemetry.Propagator.Inject(ctx, headerCarrier{&msgs[i].Headers})
	}
	return ctx, span
}

// endSpan ends a span, marking it failed with err.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// startProcess starts the span of handling m, continuing the trace its producer began, with the
// booking id (the key of every booking topic) in the context for the logs.
func (c *Consumer) startProcess(ctx context.Context, m kafka.Message) (context.Context, trace.Span) {
	ctx = telemetry.Propagator.Extract(ctx, headerCarrier{&m.Headers})
	if m.Topic != TopicUserRegistered && len(m.Key) > 0 && len(m.Key) <= 64 {
		ctx = telemetry.WithBookingID(ctx, string(m.Key))
	}
	return tracer().Start(ctx, m.Topic+" process", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.destination.name", m.Topic),
			attribute.String("messaging.consumer.group.name", c.cfg.GroupID),
			attribute.String("messaging.kafka.message.key", string(m.Key)),
			attribute.Int("messaging.destination.partition.id", m.Partition),
			attribute.Int64("messaging.kafka.offset", m.Offset)))
}

// Metrics: the consumers' own counters (the ones /stats shows), read at each scrape.
var (
	consumerHandled = prometheus.NewDesc("ticketflow_kafka_messages_handled_total",
		"Messages a consumer handled (including duplicates it dropped).", []string{"topic", "group"}, nil)
	consumerRetried = prometheus.NewDesc("ticketflow_kafka_messages_retried_total",
		"Failed attempts at a message that were retried.", []string{"topic", "group"}, nil)
	consumerDeadLettered = prometheus.NewDesc("ticketflow_kafka_messages_dead_lettered_total",
		"Messages sent to the topic's dead-letter topic.", []string{"topic", "group"}, nil)
	consumerLag = prometheus.NewDesc("ticketflow_kafka_consumer_lag",
		"Messages of the topic not yet fetched by the consumer, as its reader last saw.", []string{"topic", "group"}, nil)
)

// runningConsumers are the consumers of this process that run now; the collector reports them.
var runningConsumers = &consumerSet{set: map[*Consumer]bool{}}

type consumerSet struct {
	mu  sync.Mutex
	set map[*Consumer]bool
}

func (s *consumerSet) add(c *Consumer) {
	telemetry.Register(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set[c] = true
}

func (s *consumerSet) remove(c *Consumer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.set, c)
}

func (s *consumerSet) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{consumerHandled, consumerRetried, consumerDeadLettered, consumerLag} {
		ch <- d
	}
}

func (s *consumerSet) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	consumers := make([]*Consumer, 0, len(s.set))
	for c := range s.set {
		consumers = append(consumers, c)
	}
	s.mu.Unlock()
	for _, c := range consumers {
		st := c.Stats()
		ch <- prometheus.MustNewConstMetric(consumerHandled, prometheus.CounterValue, float64(st.Handled), st.Topic, st.Group)
		ch <- prometheus.MustNewConstMetric(consumerRetried, prometheus.CounterValue, float64(st.Retried), st.Topic, st.Group)
		ch <- prometheus.MustNewConstMetric(consumerDeadLettered, prometheus.CounterValue, float64(st.DeadLet), st.Topic, st.Group)
		ch <- prometheus.MustNewConstMetric(consumerLag, prometheus.GaugeValue, float64(st.Lag), st.Topic, st.Group)
	}
}
