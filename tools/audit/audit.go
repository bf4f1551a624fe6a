// Package audit checks, from each service's own store, that the bookings of one event are
// consistent: every booking ended, seats sold exactly once and only to confirmed bookings, the
// places of each general-admission area held only by live bookings, as many as they asked for,
// and never more sold than the area holds, one
// kept charge of its amount per confirmed booking and none kept for any other, one confirmation
// email each, no dead letter about them that nobody sent on purpose, and each booking's record
// status equal to its workflow's. The chaos run and the benchmark both end with it.
package audit

import (
	"context"
	"errors"
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
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/mongodb"
	"ticketflow/internal/seatplan"
	"ticketflow/internal/temporalclient"
	"ticketflow/tools/devstack"
	"ticketflow/tools/progress"
)

// Stores are read-only views of each service's store: the audit looks at the truth, not at what
// the API says.
type Stores struct {
	cfg                 *devstack.Settings
	bookings, inventory *pgxpool.Pool
	payments            *mongo.Database
}

// Open connects to the stores of cfg's stack.
func Open(ctx context.Context, cfg *devstack.Settings) (*Stores, error) {
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
	return &Stores{cfg: cfg, bookings: b, inventory: i, payments: p}, nil
}

// Close releases the connections.
func (s *Stores) Close(ctx context.Context) {
	s.bookings.Close()
	s.inventory.Close()
	_ = s.payments.Client().Disconnect(ctx)
}

// Drain waits (up to within) until no booking of the event is PENDING, and returns how many still
// are. Its progress (bookings ended of all) goes to p.
func (s *Stores) Drain(ctx context.Context, eventID string, within time.Duration, p *progress.Reporter) (int, error) {
	deadline := time.Now().Add(within)
	first := true
	defer p.End()
	for {
		var pending, total int
		if err := s.bookings.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'PENDING'), count(*) FROM bookings
			WHERE event_id = $1`, eventID).Scan(&pending, &total); err != nil {
			return 0, err
		}
		if first {
			p.Phase("drain", int64(total), "bookings ended")
			p.Note(fmt.Sprintf("waiting up to %s for every booking to end", within))
			first = false
		}
		p.Set(int64(total - pending))
		if pending == 0 || time.Now().After(deadline) {
			return pending, nil
		}
		select {
		case <-ctx.Done():
			return pending, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Report is the outcome of an audit: the numbers, and one line per check.
type Report struct {
	Bookings      int
	Counts        map[string]int // bookings by status
	Pending       int            // bookings not terminal
	Reserved      int            // seats RESERVED
	Sold          int            // seats of CONFIRMED bookings
	Mismatched    int            // seats RESERVED but not by their CONFIRMED (or PENDING) buyer, or the reverse
	Oversold      int            // seats in two CONFIRMED bookings
	StillHeld     int            // seats LOCKED with a live hold after the drain
	Places        PlacesReport   // the places of general-admission areas
	DoubleCharged int            // bookings with more than one charge
	BadCharges    int            // CONFIRMED bookings without exactly one kept charge
	KeptCharges   int            // charges kept for bookings that ended otherwise than CONFIRMED
	Refunds       int            // payment.refunded facts about the bookings
	BadRefunds    []string       // payment.refunded facts no record says REFUNDED for
	Emails        int            // confirmation emails found
	EmailIssues   int            // CONFIRMED bookings without exactly one confirmation email
	DeadLetters   []string       // dead letters keyed by one of the bookings, not expected
	Disagree      []string       // bookings whose workflow does not say the record's status
	Lines         []Line
}

// Line is one check of the table.
type Line struct {
	Check  string
	OK     bool
	Detail string
}

// Passed reports whether every check passed.
func (r *Report) Passed() bool {
	for _, l := range r.Lines {
		if !l.OK {
			return false
		}
	}
	return len(r.Lines) > 0
}

// Print writes the table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%-52s %-6s %s\n", "check", "result", "detail")
	fmt.Fprintln(w, strings.Repeat("-", 100))
	for _, l := range r.Lines {
		res := "PASS"
		if !l.OK {
			res = "FAIL"
		}
		fmt.Fprintf(w, "%-52s %-6s %s\n", l.Check, res, l.Detail)
	}
}

// Add appends a line to the table (checks of the caller's own).
func (r *Report) Add(check string, ok bool, format string, args ...any) {
	r.add(check, ok, format, args...)
}

func (r *Report) add(check string, ok bool, format string, args ...any) {
	r.Lines = append(r.Lines, Line{Check: check, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// Options say which checks to make.
type Options struct {
	// Emails maps user ids to the addresses their confirmation emails go to; nil skips the email
	// check (it asks Mailpit once per confirmed booking).
	Emails map[string]string
	// Settle is how long the checks of things that trail a booking's end (its workflow closing,
	// its email arriving) wait for them before failing. Default one minute.
	Settle time.Duration
	// ExpectedDeadLetters are the eventIds of messages sent on purpose to be dead-lettered (forged
	// payment results of a chaos run): their dead letters are explained.
	ExpectedDeadLetters map[string]bool
}

type bookingRow struct {
	id, status, userID string
	seats              []string
	quantities         []seatplan.Quantity
	paymentID          *string
	amountMinor        int64
	currency           string
}

// Event audits the bookings of one event.
func (s *Stores) Event(ctx context.Context, eventID string, opt Options) (*Report, error) {
	r := &Report{Counts: map[string]int{}}
	rows, err := s.bookings.Query(ctx, `SELECT id::text, status, user_id, seat_ids, quantities, payment_id, amount_minor, currency
		FROM bookings WHERE event_id = $1`, eventID)
	if err != nil {
		return nil, err
	}
	bookings, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bookingRow, error) {
		var b bookingRow
		err := row.Scan(&b.id, &b.status, &b.userID, &b.seats, &b.quantities, &b.paymentID, &b.amountMinor, &b.currency)
		return b, err
	})
	if err != nil {
		return nil, err
	}
	confirmed := map[string]bookingRow{}
	pending := map[string]bool{}
	var ids []string
	for _, b := range bookings {
		r.Counts[b.status]++
		ids = append(ids, b.id)
		switch b.status {
		case "CONFIRMED":
			confirmed[b.id] = b
		case "PENDING":
			pending[b.id] = true
		}
	}
	r.Bookings, r.Pending = len(bookings), r.Counts["PENDING"]
	r.add(fmt.Sprintf("every booking terminal (%d bookings)", len(bookings)), r.Pending == 0, "%d PENDING", r.Pending)

	if err := s.seats(ctx, r, eventID, confirmed, pending); err != nil {
		return nil, err
	}
	if err := s.places(ctx, r, eventID, bookings); err != nil {
		return nil, err
	}
	if err := s.money(ctx, r, bookings); err != nil {
		return nil, err
	}
	if err := s.refunds(ctx, r, ids); err != nil {
		return nil, err
	}
	if opt.Settle == 0 {
		opt.Settle = time.Minute
	}
	settleBy := time.Now().Add(opt.Settle)
	if opt.Emails != nil {
		if err := s.emails(ctx, r, confirmed, opt.Emails, settleBy); err != nil {
			return nil, err
		}
	}
	// Kafka may still be coming back from the last fault: give it a minute.
	for deadline := time.Now().Add(time.Minute); ; {
		if r.DeadLetters, err = deadLetters(ctx, s.cfg, ids, opt.ExpectedDeadLetters); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		return nil, err
	}
	r.add("no DLT message left unexplained", len(r.DeadLetters) == 0, "%d dead letters for these bookings %s",
		len(r.DeadLetters), strings.Join(r.DeadLetters, "; "))

	if err := s.workflows(ctx, r, eventID, bookings, settleBy); err != nil {
		return nil, err
	}
	return r, nil
}

// workflows: each booking's latest workflow run says the record's status (its BookingStatus, the
// status query's answer), has completed or is still open for a CONFIRMED booking, and none was
// left closed abnormally (terminated, timed out) without a run that took the booking up.
func (s *Stores) workflows(ctx context.Context, r *Report, eventID string, bookings []bookingRow, settleBy time.Time) error {
	tc, err := temporalclient.Dial(ctx, s.cfg.Config)
	if err != nil {
		return err
	}
	defer tc.Close()
	for {
		latest, err := latestRuns(ctx, tc, s.cfg.TemporalNS, eventID)
		if err != nil {
			return err
		}
		r.Disagree = r.Disagree[:0]
		for _, b := range bookings {
			run, ok := latest["booking-"+b.id]
			switch {
			case !ok:
				r.Disagree = append(r.Disagree, b.id+": no workflow")
			case run.status != b.status:
				r.Disagree = append(r.Disagree, fmt.Sprintf("%s: record %s, workflow %s", b.id, b.status, run.status))
			case run.execution != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED &&
				!(run.execution == enums.WORKFLOW_EXECUTION_STATUS_RUNNING && b.status == "CONFIRMED"):
				r.Disagree = append(r.Disagree, fmt.Sprintf("%s: %s workflow %s", b.id, b.status, run.execution))
			}
		}
		if len(r.Disagree) == 0 || time.Now().After(settleBy) {
			break
		}
		time.Sleep(time.Second)
	}
	sort.Strings(r.Disagree)
	r.add("each record's status = its workflow's", len(r.Disagree) == 0, "%d disagree %s", len(r.Disagree),
		strings.Join(first(r.Disagree, 5), "; "))
	return nil
}

type run struct {
	status    string
	execution enums.WorkflowExecutionStatus
	started   time.Time
}

// latestRuns maps each workflow id of the event to its latest run.
func latestRuns(ctx context.Context, tc client.Client, namespace, eventID string) (map[string]run, error) {
	out := map[string]run{}
	var token []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace,
			PageSize: 1000, NextPageToken: token, Query: fmt.Sprintf(`EventId = %q`, eventID)})
		if err != nil {
			return nil, err
		}
		for _, ex := range resp.GetExecutions() {
			var status string
			if p := ex.GetSearchAttributes().GetIndexedFields()["BookingStatus"]; p != nil {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &status)
			}
			id, started := ex.GetExecution().GetWorkflowId(), ex.GetStartTime().AsTime()
			if cur, ok := out[id]; !ok || started.After(cur.started) {
				out[id] = run{status: status, execution: ex.GetStatus(), started: started}
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// NotFailed returns those of the bookings that are not FAILED: a booking the buyer was told 409
// about must have gone nowhere.
func (s *Stores) NotFailed(ctx context.Context, bookingIDs []string) ([]string, error) {
	if len(bookingIDs) == 0 {
		return nil, nil
	}
	rows, err := s.bookings.Query(ctx, `SELECT id::text || ' ' || status FROM bookings WHERE id = ANY($1::uuid[])
		AND status <> 'FAILED'`, bookingIDs)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// StrayRefunds counts the captures (by provider reference) the payment service refunded as
// captures no booking keeps.
func (s *Stores) StrayRefunds(ctx context.Context, refs []string) (int, error) {
	keys := make([]string, len(refs))
	for i, r := range refs {
		keys[i] = "capture:" + r
	}
	n, err := s.payments.Collection("refunds").CountDocuments(ctx, bson.M{"_id": bson.M{"$in": keys},
		"providerRef": bson.M{"$ne": ""}})
	return int(n), err
}

// seats: the seats sold are exactly the confirmed bookings' seats, none sold twice, none held. A
// seat RESERVED for a booking still PENDING (its confirmation under way) is not counted as a
// mismatch: the booking is counted once, as not terminal.
func (s *Stores) seats(ctx context.Context, r *Report, eventID string, confirmed map[string]bookingRow, pending map[string]bool) error {
	soldTo := map[string]string{}
	for _, b := range confirmed {
		for _, seat := range b.seats {
			if _, dup := soldTo[seat]; dup {
				r.Oversold++
			}
			soldTo[seat] = b.id
		}
	}
	rows, err := s.inventory.Query(ctx, `SELECT seat_id, coalesce(booking_id::text, '') FROM seats
		WHERE event_id = $1 AND status = 'RESERVED' AND NOT area`, eventID)
	if err != nil {
		return err
	}
	reserved := map[string]string{}
	for rows.Next() {
		var seat, by string
		if err := rows.Scan(&seat, &by); err != nil {
			return err
		}
		reserved[seat] = by
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for seat, by := range reserved {
		if soldTo[seat] != by && !pending[by] {
			r.Mismatched++
		}
	}
	for seat := range soldTo {
		if _, ok := reserved[seat]; !ok {
			r.Mismatched++
		}
	}
	r.Reserved, r.Sold = len(reserved), len(soldTo)
	r.add("seats RESERVED = seats of CONFIRMED bookings", r.Mismatched == 0, "%d reserved, %d sold, %d differ",
		r.Reserved, r.Sold, r.Mismatched)
	r.add("no seat in two CONFIRMED bookings", r.Oversold == 0, "%d seats sold twice", r.Oversold)
	if err := s.inventory.QueryRow(ctx, `SELECT count(*) FROM seats WHERE event_id = $1 AND status = 'LOCKED' AND held_until > now()`,
		eventID).Scan(&r.StillHeld); err != nil {
		return err
	}
	r.add("no seat or place still held after the drain", r.StillHeld == 0, "%d seats and places LOCKED with a live hold", r.StillHeld)
	return nil
}

// money: each CONFIRMED booking keeps exactly one charge — its payment of record, SUCCEEDED, of
// its amount and currency — and no other booking keeps any.
func (s *Stores) money(ctx context.Context, r *Report, bookings []bookingRow) error {
	ids := make([]string, 0, len(bookings))
	for _, b := range bookings {
		ids = append(ids, b.id)
	}
	cur, err := s.payments.Collection("payments").Find(ctx, bson.M{"bookingId": bson.M{"$in": ids}})
	if err != nil {
		return err
	}
	var pays []struct {
		ID          string `bson:"_id"`
		BookingID   string `bson:"bookingId"`
		Status      string `bson:"status"`
		AmountMinor int64  `bson:"amountMinor"`
		Currency    string `bson:"currency"`
	}
	if err := cur.All(ctx, &pays); err != nil {
		return err
	}
	type charge struct {
		id, status, currency string
		amount               int64
	}
	charges := map[string][]charge{}
	for _, p := range pays {
		if p.Status == "SUCCEEDED" || p.Status == "REFUNDED" {
			charges[p.BookingID] = append(charges[p.BookingID], charge{p.ID, p.Status, p.Currency, p.AmountMinor})
		}
	}
	var badIDs, keptIDs []string
	for _, b := range bookings {
		cs := charges[b.id]
		if len(cs) > 1 {
			r.DoubleCharged++
		}
		kept := 0
		for _, c := range cs {
			if c.status == "SUCCEEDED" {
				kept++
			}
		}
		if b.status == "PENDING" {
			continue // a charge under way; the booking is counted once, as not terminal
		}
		if b.status != "CONFIRMED" {
			r.KeptCharges += kept
			if kept > 0 {
				keptIDs = append(keptIDs, b.id)
			}
			continue
		}
		if len(cs) != 1 || kept != 1 || b.paymentID == nil || cs[0].id != *b.paymentID ||
			cs[0].amount != b.amountMinor || cs[0].currency != b.currency {
			r.BadCharges++
			badIDs = append(badIDs, b.id)
		}
	}
	r.add("no booking charged twice", r.DoubleCharged == 0, "%d bookings charged more than once", r.DoubleCharged)
	r.add("one kept charge of its amount per CONFIRMED booking", r.BadCharges == 0,
		"%d confirmed bookings without exactly one kept charge of their amount %v", r.BadCharges, first(badIDs, 5))
	r.add("no kept charge for a booking not CONFIRMED", r.KeptCharges == 0, "%d charges kept for bookings not confirmed %v",
		r.KeptCharges, first(keptIDs, 5))
	return nil
}

// refunds: every payment.refunded fact about the bookings is told by a record too. A booking's
// refund (eventId <bookingId>:payment.refunded) names its payment of record, which must say
// REFUNDED with that refund's provider reference; the refund of a capture no payment keeps
// (eventId capture:<ref>:payment.refunded) must be the payment service's refund of that capture.
func (s *Stores) refunds(ctx context.Context, r *Report, bookingIDs []string) error {
	want := map[string]bool{}
	for _, id := range bookingIDs {
		want[id] = true
	}
	msgs, err := readTopic(ctx, s.cfg, bus.TopicPaymentRefunded)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		if !want[string(m.Key)] {
			continue
		}
		env, err := bus.DecodeEnvelope(bus.TopicPaymentRefunded, m.Value)
		if err != nil || seen[env.EventID] {
			continue // unreadable facts are the DLT check's; a re-sent fact is counted once
		}
		seen[env.EventID] = true
		var pl bus.PaymentRefunded
		if err := bus.DecodePayload(env, &pl); err != nil {
			continue
		}
		r.Refunds++
		if strings.HasPrefix(env.EventID, "capture:") {
			var ref struct {
				ProviderRef string `bson:"providerRef"`
			}
			key := strings.TrimSuffix(env.EventID, ":"+bus.EventType(bus.TopicPaymentRefunded))
			err := s.payments.Collection("refunds").FindOne(ctx, bson.M{"_id": key}).Decode(&ref)
			if err != nil || ref.ProviderRef != pl.ProviderRef {
				r.BadRefunds = append(r.BadRefunds, fmt.Sprintf("%s (capture refund %s: %v)", pl.BookingID, pl.ProviderRef, err))
			}
			continue
		}
		var p struct {
			Status    string `bson:"status"`
			RefundRef string `bson:"refundRef"`
		}
		err = s.payments.Collection("payments").FindOne(ctx, bson.M{"_id": pl.PaymentID}).Decode(&p)
		if err != nil || p.Status != "REFUNDED" || p.RefundRef != pl.ProviderRef {
			r.BadRefunds = append(r.BadRefunds, fmt.Sprintf("%s (payment %s is %s, refund %q, announced %q)",
				pl.BookingID, pl.PaymentID, p.Status, p.RefundRef, pl.ProviderRef))
		}
	}
	sort.Strings(r.BadRefunds)
	r.add(fmt.Sprintf("every payment.refunded told by a record (%d)", r.Refunds), len(r.BadRefunds) == 0,
		"%d refunds announced that no record says %v", len(r.BadRefunds), first(r.BadRefunds, 3))
	return nil
}

// brokerBackFor is how long the audit waits for a broker that does not answer: one restarting
// after a fault (a full disk, a kill) is back within it.
const brokerBackFor = time.Minute

// readTopic reads every message of every partition of topic, waiting up to brokerBackFor for a
// broker that cannot be read yet.
func readTopic(ctx context.Context, cfg *devstack.Settings, topic string) ([]kafka.Message, error) {
	deadline := time.Now().Add(brokerBackFor)
	for {
		msgs, err := readTopicOnce(ctx, cfg, topic)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return msgs, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func readTopicOnce(ctx context.Context, cfg *devstack.Settings, topic string) ([]kafka.Message, error) {
	conn, err := kafka.DialContext(ctx, "tcp", cfg.KafkaBrokers[0])
	if err != nil {
		return nil, err
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return nil, err
	}
	var out []kafka.Message
	for _, p := range parts {
		msgs, err := readPartition(ctx, cfg, topic, p.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, msgs...)
	}
	return out, nil
}

// emails: one confirmation email per confirmed booking, counted in Mailpit by the buyer's address.
// An email still on its way (the notification consumer trails the booking) is waited for until
// settleBy; a second email is a failure at once.
func (s *Stores) emails(ctx context.Context, r *Report, confirmed map[string]bookingRow, addr map[string]string, settleBy time.Time) error {
	mailpit := httpapi.NewClient(s.cfg.MailpitURL, "", 20*time.Second)
	for _, b := range confirmed {
		for {
			var res struct {
				MessagesCount int `json:"messages_count"`
			}
			q := url.QueryEscape(fmt.Sprintf(`to:"%s" subject:"is confirmed"`, addr[b.userID]))
			if err := mailpit.Get(ctx, "/api/v1/search?query="+q, &res); err != nil {
				return fmt.Errorf("mailpit: %w", err)
			}
			if res.MessagesCount == 0 && time.Now().Before(settleBy) {
				time.Sleep(500 * time.Millisecond)
				continue
			}
			r.Emails += res.MessagesCount
			if res.MessagesCount != 1 {
				r.EmailIssues++
			}
			break
		}
	}
	r.add("one confirmation email per CONFIRMED booking", r.EmailIssues == 0, "%d emails for %d confirmed bookings",
		r.Emails, len(confirmed))
	return nil
}

// deadLetters lists the dead letters keyed by one of the bookings, with their reasons, but for
// those of messages sent to be dead-lettered (expected, by eventId).
func deadLetters(ctx context.Context, cfg *devstack.Settings, bookingIDs []string, expected map[string]bool) ([]string, error) {
	want := map[string]bool{}
	for _, id := range bookingIDs {
		want[id] = true
	}
	var out []string
	for _, topic := range append(append([]string{}, bus.ContractTopics...), bus.ExtraTopics...) {
		dlt := bus.DLT(topic)
		msgs, err := readTopic(ctx, cfg, dlt)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if want[string(m.Key)] && !expected[bus.Header(m, bus.HeaderEventID)] {
				out = append(out, fmt.Sprintf("%s %s: %s", dlt, m.Key, bus.Header(m, "dlt.reason")))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func readPartition(ctx context.Context, cfg *devstack.Settings, topic string, partition int) ([]kafka.Message, error) {
	pc, err := kafka.DialLeader(ctx, "tcp", cfg.KafkaBrokers[0], topic, partition)
	if err != nil {
		return nil, err
	}
	first, last, err := pc.ReadOffsets()
	pc.Close()
	if err != nil || last <= first {
		return nil, err
	}
	rd := kafka.NewReader(kafka.ReaderConfig{Brokers: cfg.KafkaBrokers, Topic: topic, Partition: partition, MaxWait: 100 * time.Millisecond})
	defer rd.Close()
	if err := rd.SetOffset(first); err != nil {
		return nil, err
	}
	var out []kafka.Message
	for {
		m, err := rd.ReadMessage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
		if m.Offset >= last-1 {
			return out, nil
		}
	}
}

// Statuses maps each of the bookings to its record's status.
func (s *Stores) Statuses(ctx context.Context, bookingIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(bookingIDs) == 0 {
		return out, nil
	}
	rows, err := s.bookings.Query(ctx, `SELECT id::text, status FROM bookings WHERE id = ANY($1::uuid[])`, bookingIDs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			return nil, err
		}
		out[id] = status
	}
	return out, rows.Err()
}

// Hold is a seat LOCKED for a booking, as the inventory's row says.
type Hold struct {
	SeatID, BookingID string
	HeldUntil         time.Time
}

// Holds lists the event's LOCKED seats and PostgreSQL's clock as it read them (the clock the
// inventory decides a hold's expiry by).
func (s *Stores) Holds(ctx context.Context, eventID string) ([]Hold, time.Time, error) {
	rows, err := s.inventory.Query(ctx, `SELECT seat_id, coalesce(booking_id::text, ''), held_until, now() FROM seats
		WHERE event_id = $1 AND status = 'LOCKED' AND held_until IS NOT NULL`, eventID)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rows.Close()
	var out []Hold
	var now time.Time
	for rows.Next() {
		var h Hold
		if err := rows.Scan(&h.SeatID, &h.BookingID, &h.HeldUntil, &now); err != nil {
			return nil, now, err
		}
		out = append(out, h)
	}
	if now.IsZero() {
		err = s.inventory.QueryRow(ctx, `SELECT now()`).Scan(&now)
	}
	return out, now, errors.Join(err, rows.Err())
}
