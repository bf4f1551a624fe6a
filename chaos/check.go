package chaos

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.temporal.io/api/workflowservice/v1"

	"ticketflow/bus"
	"ticketflow/config"
	"ticketflow/httpapi"
	"ticketflow/loadgen"
	"ticketflow/mongodb"
	"ticketflow/temporalclient"
)

// stores are the run's read-only views of each service's store: the checks look at the truth,
// not at what the API says.
type stores struct {
	bookings, inventory *pgxpool.Pool
	payments, notes     *mongo.Database
}

func openStores(ctx context.Context, cfg *config.Config) (*stores, error) {
	b, err := pgxpool.New(ctx, cfg.PostgresDSN(config.BookingsDB))
	if err != nil {
		return nil, err
	}
	i, err := pgxpool.New(ctx, cfg.PostgresDSN(config.InventoryDB))
	if err != nil {
		return nil, err
	}
	p, err := mongodb.Connect(ctx, cfg.MongoURI, config.PaymentsDB, 30*time.Second)
	if err != nil {
		return nil, err
	}
	n, err := mongodb.Connect(ctx, cfg.MongoURI, config.NotificationsDB, 30*time.Second)
	if err != nil {
		return nil, err
	}
	return &stores{bookings: b, inventory: i, payments: p, notes: n}, nil
}

func (s *stores) close(ctx context.Context) {
	s.bookings.Close()
	s.inventory.Close()
	_ = s.payments.Client().Disconnect(ctx)
	_ = s.notes.Client().Disconnect(ctx)
}

// drain waits until no booking of the event is PENDING.
func (s *stores) drain(ctx context.Context, eventID string, within time.Duration, out io.Writer) error {
	deadline := time.Now().Add(within)
	for {
		var pending int
		if err := s.bookings.QueryRow(ctx, `SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'PENDING'`,
			eventID).Scan(&pending); err != nil {
			return err
		}
		if pending == 0 || time.Now().After(deadline) {
			fmt.Fprintf(out, "drained: %d bookings still PENDING\n", pending)
			return nil
		}
		time.Sleep(2 * time.Second)
	}
}

type bookingRow struct {
	id, status, userID string
	seats              []string
	paymentID          *string
}

func check(ctx context.Context, cfg *config.Config, st *stores, eventID string, buyers []*loadgen.Buyer, res *Result) error {
	add := func(name string, ok bool, format string, args ...any) {
		res.Lines = append(res.Lines, Line{Check: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	rows, err := st.bookings.Query(ctx, `SELECT id::text, status, user_id, seat_ids, payment_id FROM bookings WHERE event_id = $1`, eventID)
	if err != nil {
		return err
	}
	bookings, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (bookingRow, error) {
		var b bookingRow
		err := r.Scan(&b.id, &b.status, &b.userID, &b.seats, &b.paymentID)
		return b, err
	})
	if err != nil {
		return err
	}
	res.Counts = map[string]int{}
	confirmed := map[string]bookingRow{}
	var ids []string
	for _, b := range bookings {
		res.Counts[b.status]++
		ids = append(ids, b.id)
		if b.status == "CONFIRMED" {
			confirmed[b.id] = b
		}
	}

	// 1. Every booking ended.
	add(fmt.Sprintf("every booking terminal (%d bookings)", len(bookings)), res.Counts["PENDING"] == 0,
		"%d PENDING", res.Counts["PENDING"])

	// 2 and 3. Seats sold are exactly the confirmed bookings' seats; no seat sold twice.
	soldTo := map[string]string{}
	twice := 0
	for _, b := range confirmed {
		for _, s := range b.seats {
			if _, dup := soldTo[s]; dup {
				twice++
			}
			soldTo[s] = b.id
		}
	}
	srows, err := st.inventory.Query(ctx, `SELECT seat_id, coalesce(booking_id::text, '') FROM seats WHERE event_id = $1 AND status = 'RESERVED'`, eventID)
	if err != nil {
		return err
	}
	reserved := map[string]string{}
	for srows.Next() {
		var seat, by string
		if err := srows.Scan(&seat, &by); err != nil {
			return err
		}
		reserved[seat] = by
	}
	if err := srows.Err(); err != nil {
		return err
	}
	mismatch := 0
	for seat, by := range reserved {
		if soldTo[seat] != by {
			mismatch++
		}
	}
	for seat := range soldTo {
		if _, ok := reserved[seat]; !ok {
			mismatch++
		}
	}
	add("seats RESERVED = seats of CONFIRMED bookings", mismatch == 0, "%d reserved, %d sold, %d differ", len(reserved), len(soldTo), mismatch)
	add("no seat in two CONFIRMED bookings", twice == 0, "%d seats sold twice", twice)

	var locked int
	if err := st.inventory.QueryRow(ctx, `SELECT count(*) FROM seats WHERE event_id = $1 AND status = 'LOCKED' AND held_until > now()`, eventID).Scan(&locked); err != nil {
		return err
	}
	add("no seat still held after the drain", locked == 0, "%d seats LOCKED with a live hold", locked)

	// 4 and 5. Money: one charge per confirmed booking, none kept for any other.
	cur, err := st.payments.Collection("payments").Find(ctx, bson.M{"bookingId": bson.M{"$in": ids}})
	if err != nil {
		return err
	}
	var pays []struct {
		ID        string `bson:"_id"`
		BookingID string `bson:"bookingId"`
		Status    string `bson:"status"`
	}
	if err := cur.All(ctx, &pays); err != nil {
		return err
	}
	charges := map[string]int{}
	kept := 0
	byBooking := map[string]string{}
	for _, p := range pays {
		byBooking[p.BookingID] = p.Status
		if p.Status == "SUCCEEDED" || p.Status == "REFUNDED" {
			charges[p.BookingID]++
		}
		if p.Status == "SUCCEEDED" {
			if _, ok := confirmed[p.BookingID]; !ok {
				kept++
			}
		}
	}
	badCharges := 0
	for id, b := range confirmed {
		if charges[id] != 1 || byBooking[id] != "SUCCEEDED" || b.paymentID == nil {
			badCharges++
		}
	}
	add("one successful charge per CONFIRMED booking", badCharges == 0, "%d confirmed bookings without exactly one kept charge", badCharges)
	add("every charge of a non-CONFIRMED booking refunded", kept == 0, "%d charges kept for bookings not confirmed", kept)

	// 6. One confirmation email per confirmed booking (the notification record and Mailpit agree).
	emailIssues := 0
	emails := 0
	mailpit := httpapi.NewClient(cfg.MailpitURL, "", 20*time.Second)
	byUser := map[string]string{}
	for _, b := range buyers {
		byUser[b.UserID] = b.Email
	}
	for id, b := range confirmed {
		var res struct {
			MessagesCount int `json:"messages_count"`
		}
		q := url.QueryEscape(fmt.Sprintf(`to:"%s" subject:"is confirmed"`, byUser[b.userID]))
		if err := mailpit.Get(ctx, "/api/v1/search?query="+q, &res); err != nil {
			return fmt.Errorf("mailpit: %w", err)
		}
		emails += res.MessagesCount
		if res.MessagesCount != 1 {
			emailIssues++
			_ = id
		}
	}
	add("one confirmation email per CONFIRMED booking", emailIssues == 0, "%d emails for %d confirmed bookings", emails, len(confirmed))

	// 7. Dead letters: none about this run's bookings.
	dead, err := deadLetters(ctx, cfg, ids)
	if err != nil {
		return err
	}
	add("no DLT message left unexplained", len(dead) == 0, "%d dead letters for this run's bookings %s", len(dead), strings.Join(dead, "; "))

	// 8. Every workflow of the event closed.
	tc, err := temporalclient.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer tc.Close()
	cnt, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: cfg.TemporalNS,
		Query: fmt.Sprintf(`EventId = %q AND ExecutionStatus = "Running"`, eventID)})
	if err != nil {
		return err
	}
	add("every workflow of the event closed", cnt.Count == 0, "%d still running", cnt.Count)
	return nil
}

// deadLetters lists the dead letters keyed by one of the bookings, with their reasons.
func deadLetters(ctx context.Context, cfg *config.Config, bookingIDs []string) ([]string, error) {
	want := map[string]bool{}
	for _, id := range bookingIDs {
		want[id] = true
	}
	var out []string
	for _, topic := range append(append([]string{}, bus.ContractTopics...), bus.ExtraTopics...) {
		dlt := bus.DLT(topic)
		conn, err := kafka.DialContext(ctx, "tcp", cfg.KafkaBrokers[0])
		if err != nil {
			return nil, err
		}
		parts, err := conn.ReadPartitions(dlt)
		conn.Close()
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			msgs, err := readPartition(ctx, cfg, dlt, p.ID)
			if err != nil {
				return nil, err
			}
			for _, m := range msgs {
				if want[string(m.Key)] {
					out = append(out, fmt.Sprintf("%s %s: %s", dlt, m.Key, bus.Header(m, "dlt.reason")))
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func readPartition(ctx context.Context, cfg *config.Config, topic string, partition int) ([]kafka.Message, error) {
	pc, err := kafka.DialLeader(ctx, "tcp", cfg.KafkaBrokers[0], topic, partition)
	if err != nil {
		return nil, err
	}
	first, last, err := pc.ReadOffsets()
	pc.Close()
	if err != nil || last <= first {
		return nil, err
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.KafkaBrokers, Topic: topic, Partition: partition, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return nil, err
	}
	var out []kafka.Message
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
		if m.Offset >= last-1 {
			return out, nil
		}
	}
}
