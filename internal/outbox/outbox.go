// Package outbox carries Kafka messages written in the same PostgreSQL transaction as the fact
// they announce, so a fact and its message never part ways: Write adds the message to the outbox
// table (see services/user/migrations for its schema) inside the caller's transaction, and Relay publishes it once the transaction commits —
// woken at once by LISTEN/NOTIFY, with a slow poll as the backstop.
package outbox

import (
	"context"
	"log/slog"
	"math"
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

	// unmarked holds the eventIds this relay published whose "published" mark did not commit
	// (PostgreSQL failed after Kafka took them): their next publish looks for them first.
	unmarked map[string]bool
}

// staleAfter is the age past which an unpublished row may have been published already by a relay
// that died before marking it: rows are relayed within milliseconds of their commit, so an old one
// is looked for on its topic before it is sent.
const staleAfter = 15 * time.Second

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

// publishBatch publishes up to 100 unpublished messages in order and marks them published. Rows are
// locked (SKIP LOCKED) so that two relays of the same database never publish the same batch at
// once. A batch that may be on its topic already (its mark failed to commit here, or it is older
// than staleAfter: a relay may have died between publishing and marking) is looked for before it
// is sent, so Kafka holds each message once.
func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	var n int
	var sent []bus.Message // published to Kafka in this call
	err := pgx.BeginFunc(ctx, r.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, topic, msg_key, event_id, value, created_at < now() - $1::interval
			FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED`, staleAfter)
		if err != nil {
			return err
		}
		type row struct {
			id                  int64
			topic, key, eventID string
			value               []byte
			stale               bool
		}
		var batch []row
		for rows.Next() {
			var x row
			if err := rows.Scan(&x.id, &x.topic, &x.key, &x.eventID, &x.value, &x.stale); err != nil {
				return err
			}
			batch = append(batch, x)
		}
		if err := rows.Err(); err != nil || len(batch) == 0 {
			return err
		}
		ids := make([]int64, 0, len(batch))
		msgs := make([]bus.Message, 0, len(batch))
		check := false
		for _, x := range batch {
			env, err := bus.DecodeEnvelope(x.topic, x.value)
			if err != nil {
				return err
			}
			msgs = append(msgs, bus.Message{Topic: x.topic, Key: x.key, Envelope: env})
			ids = append(ids, x.id)
			check = check || x.stale || r.unmarked[x.eventID]
		}
		publish := r.Writer.Publish
		if check {
			publish = r.Writer.PublishChecked
		}
		if err := publish(ctx, msgs...); err != nil {
			return err
		}
		sent = msgs
		_, err = tx.Exec(ctx, `UPDATE outbox SET published_at = now() WHERE id = ANY($1)`, ids)
		n = len(ids)
		return err
	})
	if err == nil {
		published.Add(float64(n))
		for _, m := range sent {
			delete(r.unmarked, m.Envelope.EventID)
		}
	} else if len(sent) > 0 {
		// Kafka has them, the table does not say so: the next try looks before it sends.
		if r.unmarked == nil {
			r.unmarked = map[string]bool{}
		}
		for _, m := range sent {
			r.unmarked[m.Envelope.EventID] = true
		}
	}
	return n, err
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
