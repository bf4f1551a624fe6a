package bus

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Handler handles one message. Return nil when done (including "already done": consumers are
// idempotent), an error wrapping ErrMalformed when no retry can help, any other error to retry.
type Handler func(ctx context.Context, m kafka.Message) error

// Handle is the Handler of topic whose messages carry a T: it decodes each message's envelope
// (DecodeEnvelope, against topic's eventType) and payload (DecodePayload: the topic's JSON Schema,
// then T's own rules), and calls fn with both and the message. A message that does not decode
// never reaches fn: Handle returns the decoding error, which wraps ErrMalformed (dead-lettered).
func Handle[T any](topic string, fn func(ctx context.Context, env Envelope, p T, m kafka.Message) error) Handler {
	return func(ctx context.Context, m kafka.Message) error {
		env, err := DecodeEnvelope(topic, m.Value)
		if err != nil {
			return err
		}
		var p T
		if err := DecodePayload(env, &p); err != nil {
			return err
		}
		return fn(ctx, env, p, m)
	}
}

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	Brokers []string
	GroupID string
	Topic   string
	Handler Handler
	// Lanes is how many messages are handled at once. Messages with the same key always go to the
	// same lane, so one booking's messages are handled in order.
	Lanes int
	// Attempts is how often a failing message is tried before it goes to the dead-letter topic.
	Attempts int
	// OutageWait bounds how long a message whose failure is not ErrMalformed keeps being retried
	// (a dependency being down is no reason to dead-letter a good message).
	OutageWait time.Duration
	// DLT publishes dead letters; required.
	DLT *Writer
}

// Stats are a consumer's counters, for health answers and logs.
type Stats struct {
	Topic     string `json:"topic"`
	Group     string `json:"group"`
	Handled   int64  `json:"handled"`
	Retried   int64  `json:"retried"`
	DeadLet   int64  `json:"deadLettered"`
	Lag       int64  `json:"lag"`
	LastError string `json:"lastError,omitempty"`
}

// Consumer reads one topic in a consumer group: fetch, handle, then commit. A message is
// committed only after it and every earlier message of its partition were handled (or
// dead-lettered), so a crash re-delivers and never skips. Commits are batched (CommitInterval):
// a crash re-delivers up to a second of handled messages, which their handlers drop by eventId.
type Consumer struct {
	cfg     ConsumerConfig
	reader  *kafka.Reader
	handled atomic.Int64
	retried atomic.Int64
	deadLet atomic.Int64
	lastErr atomic.Value
}

// NewConsumer returns a consumer; Run starts it.
func NewConsumer(cfg ConsumerConfig) *Consumer {
	if cfg.Lanes <= 0 {
		cfg.Lanes = 8
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.OutageWait <= 0 {
		cfg.OutageWait = 10 * time.Minute
	}
	return &Consumer{cfg: cfg, reader: kafka.NewReader(kafka.ReaderConfig{
		Brokers:     cfg.Brokers,
		GroupID:     cfg.GroupID,
		Topic:       cfg.Topic,
		StartOffset: kafka.FirstOffset,
		// A fetch waits at the broker until a message arrives (MinBytes 1 answers at once when
		// one does) or MaxWait passes: the latency comes from MinBytes, and a long MaxWait only
		// spares an idle consumer from asking again and again (with 50 ms, twenty fetches a second
		// per partition: most of an idle stack's CPU, the broker's and the consumers').
		MinBytes:         1,
		MaxBytes:         10 << 20,
		MaxWait:          5 * time.Second,
		ReadBatchTimeout: 10 * time.Second, // longer than MaxWait
		ReadBackoffMin:   20 * time.Millisecond,
		ReadBackoffMax:   500 * time.Millisecond,
		// Offsets are committed in batches, once a second, not one request per message: a
		// message handled but not yet committed when a consumer dies is delivered again, and
		// every handler drops a message whose eventId it has handled (the consumers' rule).
		CommitInterval: time.Second,
		// The default 3 s group-join delay per restart is dead time for a booking in flight.
		JoinGroupBackoff:      500 * time.Millisecond,
		HeartbeatInterval:     2 * time.Second,
		SessionTimeout:        6 * time.Second, // the broker's minimum: a killed consumer's partitions move on sooner
		RebalanceTimeout:      10 * time.Second,
		WatchPartitionChanges: true,
	})}
}

// Stats returns the consumer's counters.
func (c *Consumer) Stats() Stats {
	s := Stats{Topic: c.cfg.Topic, Group: c.cfg.GroupID, Handled: c.handled.Load(), Retried: c.retried.Load(),
		DeadLet: c.deadLet.Load(), Lag: c.reader.Stats().Lag}
	if e, ok := c.lastErr.Load().(string); ok {
		s.LastError = e
	}
	return s
}

// Run consumes until ctx ends.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.reader.Close()
	runningConsumers.add(c)
	defer runningConsumers.remove(c)
	log := slog.With("topic", c.cfg.Topic, "group", c.cfg.GroupID)
	tracker := newCommitTracker()
	lanes := make([]chan kafka.Message, c.cfg.Lanes)
	var wg sync.WaitGroup
	for i := range lanes {
		lanes[i] = make(chan kafka.Message, 64)
		wg.Add(1)
		go func(in <-chan kafka.Message) {
			defer wg.Done()
			for m := range in {
				if !c.process(ctx, log, m) {
					continue // ctx ended mid-message: leave it uncommitted
				}
				if off, ok := tracker.done(m.Partition, m.Offset); ok {
					c.commit(ctx, log, m.Topic, m.Partition, off)
				}
			}
		}(lanes[i])
	}
	defer func() {
		for _, l := range lanes {
			close(l)
		}
		wg.Wait()
	}()
	for {
		m, err := c.reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("fetch failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		tracker.add(m.Partition, m.Offset)
		select {
		case lanes[laneOf(m.Key, len(lanes))] <- m:
		case <-ctx.Done():
			return nil
		}
	}
}

func laneOf(key []byte, n int) int {
	h := fnv.New32a()
	_, _ = h.Write(key)
	return int(h.Sum32() % uint32(n))
}

// process handles m with retries and dead-letters it when it cannot be handled. It returns false
// only when ctx ended before m was settled. The handling is one span of the message's trace.
func (c *Consumer) process(ctx context.Context, log *slog.Logger, m kafka.Message) bool {
	ctx, span := c.startProcess(ctx, m)
	var failed error
	defer func() { endSpan(span, failed) }()
	start := time.Now()
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := c.cfg.Handler(ctx, m)
		if err == nil {
			c.handled.Add(1)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.lastErr.Store(err.Error())
		malformed := errors.Is(err, ErrMalformed)
		if (malformed && attempt >= c.cfg.Attempts) || (!malformed && time.Since(start) > c.cfg.OutageWait) {
			failed = err
			return c.deadLetter(ctx, log, m, err, attempt)
		}
		c.retried.Add(1)
		span.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", attempt), attribute.String("error", err.Error())))
		log.WarnContext(ctx, "message failed; retrying", "partition", m.Partition, "offset", m.Offset, "attempt", attempt,
			"key", string(m.Key), "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

// deadLetter publishes m's original key, value and headers to <topic>.DLT with the reason, and
// keeps trying until Kafka takes it: nothing is silently dropped.
func (c *Consumer) deadLetter(ctx context.Context, log *slog.Logger, m kafka.Message, cause error, attempts int) bool {
	headers := append(append([]kafka.Header{}, m.Headers...),
		kafka.Header{Key: "dlt.reason", Value: []byte(cause.Error())},
		kafka.Header{Key: "dlt.original.topic", Value: []byte(m.Topic)},
		kafka.Header{Key: "dlt.original.partition", Value: []byte(strconv.Itoa(m.Partition))},
		kafka.Header{Key: "dlt.original.offset", Value: []byte(strconv.FormatInt(m.Offset, 10))},
		kafka.Header{Key: "dlt.consumer.group", Value: []byte(c.cfg.GroupID)},
		kafka.Header{Key: "dlt.attempts", Value: []byte(strconv.Itoa(attempts))},
	)
	dl := kafka.Message{Topic: DLT(m.Topic), Key: m.Key, Value: m.Value, Headers: headers}
	for {
		err := c.cfg.DLT.PublishRaw(ctx, dl)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return false
		}
		log.ErrorContext(ctx, "dead-letter publish failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
	c.deadLet.Add(1)
	log.ErrorContext(ctx, "message dead-lettered", "dlt", DLT(m.Topic), "partition", m.Partition, "offset", m.Offset,
		"key", string(m.Key), "reason", cause.Error())
	return true
}

func (c *Consumer) commit(ctx context.Context, log *slog.Logger, topic string, partition int, offset int64) {
	for {
		err := c.reader.CommitMessages(ctx, kafka.Message{Topic: topic, Partition: partition, Offset: offset})
		if err == nil || ctx.Err() != nil {
			return
		}
		// A commit lost to a rebalance is harmless: the message is re-delivered and handled
		// idempotently. Retry briefly for transient broker errors.
		log.Warn("commit failed", "partition", partition, "offset", offset, "err", err)
		if errors.Is(err, kafka.RebalanceInProgress) || errors.Is(err, kafka.UnknownMemberId) ||
			errors.Is(err, kafka.IllegalGeneration) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// commitTracker knows, per partition, which fetched offsets are still being handled, so that a
// commit never moves past an unhandled message even when lanes finish out of order.
type commitTracker struct {
	mu      sync.Mutex
	pending map[int]map[int64]bool // partition -> offset -> done
}

func newCommitTracker() *commitTracker { return &commitTracker{pending: map[int]map[int64]bool{}} }

func (t *commitTracker) add(partition int, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pending[partition]
	if p == nil {
		p = map[int64]bool{}
		t.pending[partition] = p
	}
	p[offset] = false
}

// done marks an offset handled and returns the highest offset that may now be committed: the
// end of the run of handled offsets starting at the partition's lowest pending one.
func (t *commitTracker) done(partition int, offset int64) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pending[partition]
	if p == nil {
		return 0, false
	}
	p[offset] = true
	offsets := make([]int64, 0, len(p))
	for o := range p {
		offsets = append(offsets, o)
	}
	sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
	commit, ok := int64(0), false
	for _, o := range offsets {
		if !p[o] {
			break
		}
		commit, ok = o, true
		delete(p, o)
	}
	return commit, ok
}
