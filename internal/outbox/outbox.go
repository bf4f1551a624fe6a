// Package outbox carries Kafka messages written in the same PostgreSQL transaction as the fact
// they announce, so a fact and its message never part ways: Write adds the message to the outbox
// table (see services/user/migrations for its schema) inside the caller's transaction, and Relay
// publishes it once the transaction commits — woken at once by LISTEN/NOTIFY, with a slow poll as
// the backstop — and each message reaches its topic once (see publishBatch).
package outbox

import (
	"context"
	"log/slog"
	"math"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"ticketflow/internal/bus"
	"ticketflow/internal/telemetry"
)

const channel = "ticketflow_outbox"

// Write records m in tx's outbox. A fact written twice (same eventId) is recorded once.
func Write(ctx context.Context, tx pgx.Tx, m bus.Message) error {
	km, err := m.Kafka()
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (topic, msg_key, event_id, value) VALUES ($1, $2, $3, $4)
		ON CONFLICT (event_id) DO NOTHING`, m.Topic, m.Key, m.Envelope.EventID, km.Value); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `SELECT pg_notify($1, '')`, channel)
	return err
}

// Relay publishes the outbox of one database.
type Relay struct {
	Pool   *pgxpool.Pool
	Writer *bus.Writer
	// Poll is the backstop interval when no notification arrives.
	Poll time.Duration
}

// lease is how long a claimed batch is kept from other relays: longer than a publish may take
// (publishTimeout, a checked publish's look included). A relay that dies holding one delays its
// rows by at most this long.
const (
	lease          = 2 * time.Minute
	publishTimeout = time.Minute
)

// Run relays until ctx ends. While it runs, the process's metrics show its backlog.
func (r *Relay) Run(ctx context.Context) {
	telemetry.Register(published)
	backlog := r.backlogMetric()
	telemetry.Register(backlog)
	defer telemetry.Registry.Unregister(backlog)
	poll := r.Poll
	if poll == 0 {
		poll = 5 * time.Second
	}
	wake := make(chan struct{}, 1)
	go r.listen(ctx, wake)
	for {
		for {
			n, err := r.publishBatch(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				slog.Warn("outbox relay failed; retrying", "err", err)
				break
			}
			if n == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(poll):
		}
	}
}

// listen turns notifications into wake-ups, reconnecting when the connection drops.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		conn, err := r.Pool.Acquire(ctx)
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		if _, err := conn.Exec(ctx, "LISTEN "+channel); err == nil {
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					break
				}
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}
		conn.Hijack().Close(context.Background()) // a connection that LISTENed goes, not back to the pool
	}
}

// publishBatch publishes up to 100 unpublished messages in order and marks them published.
//
// It claims the batch first, in a statement of its own: each row's claim count goes up and a lease
// keeps other relays off it (SKIP LOCKED while claiming, the lease after). A row claimed before
// may be on its topic already — a relay died, or its mark failed to commit, after Kafka took it —
// so a batch holding one is looked for on its partitions before it is sent (PublishChecked), and
// Kafka holds each message once. A publish that fails gives the lease back at once.
func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	rows, err := r.Pool.Query(ctx, `UPDATE outbox o SET attempts = o.attempts + 1, lease_until = now() + $1::interval
		FROM (SELECT id FROM outbox WHERE published_at IS NULL AND (lease_until IS NULL OR lease_until < now())
			ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED) pick
		WHERE o.id = pick.id
		RETURNING o.id, o.topic, o.msg_key, o.value, o.attempts`, lease)
	if err != nil {
		return 0, err
	}
	type row struct {
		id         int64
		topic, key string
		value      []byte
		attempts   int
	}
	batch, err := pgx.CollectRows(rows, func(rw pgx.CollectableRow) (row, error) {
		var x row
		err := rw.Scan(&x.id, &x.topic, &x.key, &x.value, &x.attempts)
		return x, err
	})
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	sort.Slice(batch, func(i, j int) bool { return batch[i].id < batch[j].id }) // RETURNING has no order
	ids := make([]int64, 0, len(batch))
	msgs := make([]bus.Message, 0, len(batch))
	again := false
	for _, x := range batch {
		env, err := bus.DecodeEnvelope(x.topic, x.value)
		if err != nil {
			return 0, err
		}
		msgs = append(msgs, bus.Message{Topic: x.topic, Key: x.key, Envelope: env})
		ids = append(ids, x.id)
		again = again || x.attempts > 1
	}
	publish := r.Writer.Publish
	if again {
		publish = r.Writer.PublishChecked
	}
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	err = publish(pctx, msgs...)
	cancel()
	if err != nil {
		// Give the lease back so the batch is tried again at once, in order (best effort: if this
		// fails too, the lease runs out).
		_, _ = r.Pool.Exec(context.WithoutCancel(ctx), `UPDATE outbox SET lease_until = NULL WHERE id = ANY($1)`, ids)
		return 0, err
	}
	if _, err := r.Pool.Exec(ctx, `UPDATE outbox SET published_at = now(), lease_until = NULL WHERE id = ANY($1)`, ids); err != nil {
		return 0, err // claimed again after the lease, and then looked for before it is sent
	}
	published.Add(float64(len(ids)))
	return len(ids), nil
}

// published counts the messages relays of this process published.
var published = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "ticketflow_outbox_published_total",
	Help: "Outbox messages published to Kafka.",
})

// backlogMetric is ticketflow_outbox_backlog: the messages written and not yet published, counted
// at each scrape (an index holds exactly those rows). A backlog that grows means Kafka is not
// taking them.
func (r *Relay) backlogMetric() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ticketflow_outbox_backlog",
		Help: "Outbox messages not yet published to Kafka.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var n int64
		if err := r.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
			return math.NaN()
		}
		return float64(n)
	})
}
