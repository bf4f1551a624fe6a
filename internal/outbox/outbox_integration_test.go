//go:build integration

package outbox

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"

	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/internal/pgdb"
)

// relayTest is a relay over an outbox table in a schema of its own on the stack's users database,
// publishing to the stack's Kafka, and a seats.released message of a new booking to put in it.
func relayTest(t *testing.T) (context.Context, *Relay, bus.Message, []string) {
	t.Helper()
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	schema := "outbox_test_" + ids.New()[:8]
	admin, err := pgdb.Open(ctx, cfg.PostgresDSN(config.UsersDB), 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema+`;
		CREATE TABLE `+schema+`.outbox (id bigserial PRIMARY KEY, topic text NOT NULL, msg_key text NOT NULL,
			event_id text NOT NULL UNIQUE, value bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
			published_at timestamptz, attempts int NOT NULL DEFAULT 0, lease_until timestamptz)`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := url.Parse(cfg.PostgresDSN(config.UsersDB))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	pool, err := pgdb.Open(ctx, u.String(), 2, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	w := bus.NewWriter(cfg.KafkaBrokers, "outbox-test")
	t.Cleanup(func() { _ = w.Close() })
	booking := ids.New()
	m, err := bus.NewMessage(bus.TopicSeatsReleased, booking, bus.FactID(booking, bus.TopicSeatsReleased), time.Now(),
		bus.SeatsReleased{BookingID: booking, EventID: ids.New(), SeatIDs: []string{"A-1-1"}, Reason: "outbox test"})
	if err != nil {
		t.Fatal(err)
	}
	return ctx, &Relay{Pool: pool, Writer: w}, m, cfg.KafkaBrokers
}

func write(t *testing.T, ctx context.Context, pool *pgxpool.Pool, m bus.Message) {
	t.Helper()
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return Write(ctx, tx, m) }); err != nil {
		t.Fatal(err)
	}
}

// onTopic counts the messages with m's eventId on the partition m's key maps to.
func onTopic(t *testing.T, ctx context.Context, brokers []string, m bus.Message) int {
	t.Helper()
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(m.Topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, 0, len(parts))
	for _, p := range parts {
		ids = append(ids, p.ID)
	}
	km, err := m.Kafka()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range ids {
		leader, err := kafka.DialLeader(ctx, "tcp", brokers[0], m.Topic, p)
		if err != nil {
			t.Fatal(err)
		}
		first, last, err := leader.ReadOffsets()
		leader.Close()
		if err != nil {
			t.Fatal(err)
		}
		if last <= first {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: m.Topic, Partition: p, MaxWait: 50 * time.Millisecond})
		_ = r.SetOffset(max(first, last-2000))
		for {
			got, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatal(err)
			}
			if bus.Header(got, bus.HeaderEventID) == bus.Header(km, bus.HeaderEventID) {
				n++
			}
			if got.Offset >= last-1 {
				break
			}
		}
		r.Close()
	}
	return n
}

func unpublished(t *testing.T, ctx context.Context, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A written message is published once and marked.
func TestRelayPublishesAndMarks(t *testing.T) {
	ctx, r, m, brokers := relayTest(t)
	write(t, ctx, r.Pool, m)
	write(t, ctx, r.Pool, m) // the same fact written twice is recorded once
	if n, err := r.publishBatch(ctx); err != nil || n != 1 {
		t.Fatalf("publishBatch: %d, %v; want 1 message", n, err)
	}
	if n := unpublished(t, ctx, r.Pool); n != 0 {
		t.Fatalf("%d rows left unpublished", n)
	}
	if n := onTopic(t, ctx, brokers, m); n != 1 {
		t.Fatalf("the message is on its topic %d times, want 1", n)
	}
}

// A relay that died between publishing and marking left a claimed row that is on the topic
// already: while its lease runs no other relay takes it, and once it has run out the next relay
// looks for it and does not send it twice.
func TestRelayDoesNotResendWhatADeadRelayPublished(t *testing.T) {
	ctx, r, m, brokers := relayTest(t)
	write(t, ctx, r.Pool, m)
	// The dead relay's claim and publish.
	if _, err := r.Pool.Exec(ctx, `UPDATE outbox SET attempts = 1, lease_until = now() + interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	if err := r.Writer.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}
	if n, err := r.publishBatch(ctx); err != nil || n != 0 {
		t.Fatalf("publishBatch under another relay's lease: %d, %v; want nothing taken", n, err)
	}
	if _, err := r.Pool.Exec(ctx, `UPDATE outbox SET lease_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if n, err := r.publishBatch(ctx); err != nil || n != 1 {
		t.Fatalf("publishBatch: %d, %v; want the row marked", n, err)
	}
	if n := onTopic(t, ctx, brokers, m); n != 1 {
		t.Fatalf("the message is on its topic %d times, want 1", n)
	}
}

// A batch whose mark did not commit (PostgreSQL failed after Kafka took it) is looked for when it
// is claimed again.
func TestRelayRetryAfterAFailedMarkDoesNotResend(t *testing.T) {
	ctx, r, m, brokers := relayTest(t)
	write(t, ctx, r.Pool, m)
	// The mark fails: a trigger refuses the first UPDATE that marks a row published, after the
	// publish (a sequence counts, since the refusal rolls back everything else).
	if _, err := r.Pool.Exec(ctx, `CREATE SEQUENCE marks;
		CREATE FUNCTION refuse_once() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.published_at IS NOT NULL AND nextval('marks') = 1 THEN RAISE EXCEPTION 'mark refused'; END IF;
		RETURN NEW; END $$;
		CREATE TRIGGER refuse BEFORE UPDATE ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_once()`); err != nil {
		t.Fatal(err)
	}
	if _, err := r.publishBatch(ctx); err == nil {
		t.Fatal("the refused mark went unreported")
	}
	if n := unpublished(t, ctx, r.Pool); n != 1 {
		t.Fatalf("%d rows unpublished after the failed mark, want 1", n)
	}
	// Its lease runs out (2 minutes; here at once).
	if _, err := r.Pool.Exec(ctx, `UPDATE outbox SET lease_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if n, err := r.publishBatch(ctx); err != nil || n != 1 {
		t.Fatalf("retry: %d, %v", n, err)
	}
	if n := onTopic(t, ctx, brokers, m); n != 1 {
		t.Fatalf("the message is on its topic %d times, want 1", n)
	}
}

// A publish that fails gives its lease back: the batch is tried again at once, and sent once.
func TestRelayFailedPublishIsRetriedAtOnce(t *testing.T) {
	ctx, r, m, brokers := relayTest(t)
	write(t, ctx, r.Pool, m)
	good := r.Writer
	r.Writer = bus.NewWriter([]string{"127.0.0.1:1"}, "outbox-test-unreachable") // nothing listens there
	defer r.Writer.Close()
	if _, err := r.publishBatch(ctx); err == nil {
		t.Fatal("a publish to an unreachable broker reported success")
	}
	r.Writer = good
	if n, err := r.publishBatch(ctx); err != nil || n != 1 {
		t.Fatalf("retry: %d, %v; want the row published at once", n, err)
	}
	if n := onTopic(t, ctx, brokers, m); n != 1 {
		t.Fatalf("the message is on its topic %d times, want 1", n)
	}
}
