//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"
	"go.temporal.io/api/enums/v1"
	tclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/internal/lifecycle"
	"ticketflow/services/payment"
	"ticketflow/tools/devstack"
)

// One decider per booking, on the real stack: each test pins one of the cases of the issue that
// introduced it. Whatever arrives when, the booking ends with its record, its workflow, its
// payment and its seats in agreement.

func temporalClient(t testing.TB) tclient.Client {
	t.Helper()
	cfg := loadConfig(t)
	tc, err := tclient.Dial(tclient.Options{HostPort: cfg.TemporalAddr, Namespace: cfg.TemporalNS})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	return tc
}

// paymentRecord reads the payment service's record of a booking's payment.
func paymentRecord(t testing.TB, bookingID string) payment.Record {
	t.Helper()
	cfg := loadConfig(t)
	rec, err := payment.NewClient(cfg.Endpoints[config.Payment], auth.InternalToken([]byte(cfg.JWTSecret)), 10*time.Second).
		Record(t.Context(), bookingID)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// agrees waits until the booking's latest workflow run says the record's status, and checks that
// money and seats agree with it: a CONFIRMED booking keeps its payment and owns its seats, any
// other keeps no payment and holds no seat.
func agrees(t testing.TB, c *client, id string, within time.Duration) booking {
	t.Helper()
	tc := temporalClient(t)
	var b booking
	poll(t, within, 500*time.Millisecond, func() error {
		c.expect(200, "GET", "/api/bookings/"+id, nil, &b)
		if b.Status == lifecycle.StatusPending {
			return errorf("booking %s is still PENDING", id)
		}
		d, err := tc.DescribeWorkflowExecution(t.Context(), lifecycle.WorkflowID(id), "")
		if err != nil {
			return err
		}
		var status string
		if p := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()["BookingStatus"]; p != nil {
			_ = converter.GetDefaultDataConverter().FromPayload(p, &status)
		}
		if status != b.Status {
			return errorf("booking %s: record %s, workflow's BookingStatus %s", id, b.Status, status)
		}
		st := d.GetWorkflowExecutionInfo().GetStatus()
		if st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED && !(st == enums.WORKFLOW_EXECUTION_STATUS_RUNNING && b.Status == lifecycle.StatusConfirmed) {
			return errorf("booking %s is %s and its workflow %s", id, b.Status, st)
		}
		return nil
	})
	rec := paymentRecord(t, id)
	if kept := rec.Kept(); kept != (b.Status == lifecycle.StatusConfirmed) {
		t.Fatalf("booking %s is %s, its payment of record %+v", id, b.Status, rec)
	}
	cfg := loadConfig(t)
	conn, err := pgx.Connect(t.Context(), cfg.PostgresDSN(config.InventoryDB))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var reserved, held int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE status = 'RESERVED'),
		count(*) FILTER (WHERE status = 'LOCKED' AND held_until > now()) FROM seats WHERE booking_id = $1`, id).
		Scan(&reserved, &held); err != nil {
		t.Fatal(err)
	}
	wantReserved := 0
	if b.Status == lifecycle.StatusConfirmed {
		wantReserved = len(b.SeatIDs)
	}
	if reserved != wantReserved || held != 0 {
		t.Fatalf("booking %s is %s, and owns %d RESERVED and %d held seats", id, b.Status, reserved, held)
	}
	return b
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// Case 1: the inventory answers a hold after the booking service stopped waiting, and the buyer
// retries with the same key. One booking, decided once, consistent.
func TestAHoldAnsweredLateAndRetriedEndsConsistent(t *testing.T) {
	cfg := loadConfig(t)
	e := newEvent(t, 4, 2500)
	c, _ := register(t)
	key := ids.New()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := devstack.Pause(cfg, config.Inventory, 6*time.Second); err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(200 * time.Millisecond)
	impatient := c.withTimeout(time.Second)
	first := book(impatient, e.ID, []string{"FLOOR-A-1"}, "tok_visa", "Idempotency-Key", key)
	<-done
	var b booking
	poll(t, time.Minute, time.Second, func() error {
		r := book(c, e.ID, []string{"FLOOR-A-1"}, "tok_visa", "Idempotency-Key", key)
		if r.status != http.StatusAccepted && r.status != http.StatusOK {
			return errorf("retry answered %d %s (first: %d)", r.status, r.body, first.status)
		}
		r.decode(t, &b)
		return nil
	})
	got := agrees(t, c, b.ID, cfg.HoldTTL+time.Minute)
	if got.Status != lifecycle.StatusConfirmed {
		t.Fatalf("booking %+v", got)
	}
	var mine []booking
	c.expect(200, "GET", "/api/bookings/my", nil, &mine)
	if len(mine) != 1 {
		t.Fatalf("%d bookings for one key", len(mine))
	}
}

// Case 2: duplicates while the first request is deciding all get the first answer; never a 202
// before the seats are held; the same key with other seats is 422; a 503 does not bind the key.
func TestIdempotencyKeyInFlightDuplicatesGetTheFirstAnswer(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 4, 1200)
	c, _ := register(t)
	rival, _ := register(t)
	key := ids.New()
	var wg sync.WaitGroup
	answers := make([]response, 4)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = book(c, e.ID, []string{"FLOOR-A-1", "FLOOR-A-2"}, "tok_visa", "Idempotency-Key", key)
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); book(rival, e.ID, []string{"FLOOR-A-2"}, "tok_visa") }()
	wg.Wait()
	for i, a := range answers {
		if a.status == http.StatusConflict && strings.Contains(string(a.body), "IDEMPOTENCY_KEY_IN_USE") {
			continue // waited too long for the first: allowed, and says so
		}
		if a.status != answers[0].status || string(a.body) != string(answers[0].body) {
			t.Fatalf("answer %d: %d %s; answer 0: %d %s", i, a.status, a.body, answers[0].status, answers[0].body)
		}
	}
	again := book(c, e.ID, []string{"FLOOR-A-2", "FLOOR-A-1"}, "tok_visa", "Idempotency-Key", key)
	if again.status != answers[0].status || string(again.body) != string(answers[0].body) {
		t.Fatalf("retry: %d %s, first %d %s", again.status, again.body, answers[0].status, answers[0].body)
	}
	if answers[0].status == http.StatusAccepted {
		var b booking
		answers[0].decode(t, &b)
		if loc := answers[0].header.Get("Location"); loc != "/api/bookings/"+b.ID {
			t.Fatalf("Location %q", loc)
		}
		if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-1") == "AVAILABLE" {
			t.Fatal("202 while the seats are not held")
		}
	}
	other := book(c, e.ID, []string{"FLOOR-A-3"}, "tok_visa", "Idempotency-Key", key)
	if other.status != http.StatusUnprocessableEntity || other.err(t).Error.Code != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("same key, other seats: %d %s", other.status, other.body)
	}
}

func TestAServiceUnavailableAnswerDoesNotBindTheKey(t *testing.T) {
	cfg := loadConfig(t)
	e := newEvent(t, 2, 1200)
	c, _ := register(t)
	key := ids.New()
	killFor(t, cfg, config.Inventory, 8*time.Second)
	first := book(c, e.ID, []string{"FLOOR-A-1"}, "tok_visa", "Idempotency-Key", key)
	if first.status != http.StatusServiceUnavailable || first.header.Get("Retry-After") == "" {
		t.Fatalf("with the inventory down: %d %s (Retry-After %q)", first.status, first.body, first.header.Get("Retry-After"))
	}
	poll(t, time.Minute, time.Second, func() error {
		r := book(c, e.ID, []string{"FLOOR-A-1"}, "tok_visa", "Idempotency-Key", key)
		if r.status != http.StatusAccepted {
			return errorf("retry: %d %s", r.status, r.body)
		}
		return nil
	})
}

// Case 3: a cancel in the Temporal UI or CLI runs the compensations; a terminate is repaired.
func TestCancelFromTemporalCompensatesAndRecords(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 1800)
	c, _ := register(t)
	var b booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse").decode(t, &b)
	waitRun(t, b.ID) // the booking service starts the workflow just after it answers
	if err := temporalClient(t).CancelWorkflow(t.Context(), lifecycle.WorkflowID(b.ID), ""); err != nil {
		t.Fatal(err)
	}
	got := agrees(t, c, b.ID, time.Minute)
	if got.Status != lifecycle.StatusCancelled || paymentRecord(t, b.ID).Status != payment.StatusFailed {
		t.Fatalf("booking %+v payment %+v", got, paymentRecord(t, b.ID))
	}
}

func TestATerminatedWorkflowIsRepaired(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 1800)
	c, _ := register(t)
	var b booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse").decode(t, &b)
	waitRun(t, b.ID) // the booking service starts the workflow just after it answers
	if err := temporalClient(t).TerminateWorkflow(t.Context(), lifecycle.WorkflowID(b.ID), "", "test: terminated"); err != nil {
		t.Fatal(err)
	}
	got := agrees(t, c, b.ID, 2*time.Minute)
	if got.Status != lifecycle.StatusFailed {
		t.Fatalf("booking %+v", got)
	}
}

// A CONFIRMED booking whose run is terminated is taken up by a new run (the reconciler's, in
// ModeConfirmed), which completes the confirmation in case the old run had not (generation 10):
// here it had, so the new run finds booking.confirmed on its topic and the tickets issued, and
// nothing is published, issued or mailed twice.
func TestATerminatedConfirmedBookingIsTakenUpAndNothingHappensTwice(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 1800)
	bt := bookTickets(t, e, "FLOOR-A-1")
	waitMail(t, bt.user.Email, 2) // the welcome, and the confirmation
	tc := temporalClient(t)
	wid := lifecycle.WorkflowID(bt.booking.ID)
	d, err := tc.DescribeWorkflowExecution(t.Context(), wid, "")
	if err != nil {
		t.Fatal(err)
	}
	firstRun := d.WorkflowExecutionInfo.Execution.RunId
	if err := tc.TerminateWorkflow(t.Context(), wid, firstRun, "test: terminated"); err != nil {
		t.Fatal(err)
	}
	state := waitTakenUp(t, tc, wid, firstRun)
	if state.Status != lifecycle.StatusConfirmed || state.PaymentID == "" {
		t.Fatalf("the new run's state %+v", state)
	}
	if n := len(topicMessages(t, bus.TopicBookingConfirmed, bt.booking.ID)); n != 1 {
		t.Fatalf("%d booking.confirmed messages for the booking, want 1", n)
	}
	if again := ticketsOf(t, bt.buyer, bt.booking.ID, 1); len(again) != 1 || again[0].ID != bt.tickets[0].ID {
		t.Fatalf("tickets after the new run %+v, before %+v", again, bt.tickets)
	}
	time.Sleep(3 * time.Second) // a second email, were one sent, would be in Mailpit by now
	if n := mailCount(t, `to:"`+bt.user.Email+`" subject:"confirmed"`); n != 1 {
		t.Fatalf("%d confirmation emails", n)
	}
}

// waitRun waits until the booking's workflow has a run that has made its first step (its status
// query answers).
func waitRun(t testing.TB, bookingID string) {
	t.Helper()
	tc := temporalClient(t)
	poll(t, 30*time.Second, 200*time.Millisecond, func() error {
		_, err := tc.QueryWorkflow(t.Context(), lifecycle.WorkflowID(bookingID), "", lifecycle.QueryStatus)
		return err
	})
}

// waitTakenUp waits until a run other than firstRun is open for the workflow and has reached
// a CONFIRMED booking's wait for its event, and returns its state.
func waitTakenUp(t testing.TB, tc tclient.Client, wid, firstRun string) lifecycle.BookingState {
	t.Helper()
	var state lifecycle.BookingState
	poll(t, 2*time.Minute, time.Second, func() error {
		d, err := tc.DescribeWorkflowExecution(t.Context(), wid, "")
		if err != nil {
			return err
		}
		info := d.WorkflowExecutionInfo
		if info.Execution.RunId == firstRun || info.Status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return fmt.Errorf("no new run yet: run %s is %s", info.Execution.RunId, info.Status)
		}
		v, err := tc.QueryWorkflow(t.Context(), wid, "", lifecycle.QueryStatus)
		if err != nil {
			return err
		}
		if err := v.Get(&state); err != nil {
			return err
		}
		if state.Step != "confirmed; open until the event for cancels" {
			return fmt.Errorf("the new run is at step %q", state.Step)
		}
		return nil
	})
	return state
}

// Case 4: a payment result that is not the payment of record confirms nothing and is
// dead-lettered with its reason; a second success with another payment id refunds nothing.
func TestPaymentResultsAreCheckedAgainstTheRecord(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	e := newEvent(t, 4, 11400)
	c, _ := register(t)
	var pending, confirmed booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse").decode(t, &pending)
	book(c, e.ID, []string{"FLOOR-A-2"}, "tok_visa").decode(t, &confirmed)
	waitStatus(t, c, confirmed.ID, lifecycle.StatusConfirmed, time.Minute)
	forged := []bus.PaymentProcessed{
		{BookingID: pending.ID, PaymentID: ids.New(), Status: bus.PaymentSuccess, AmountMinor: 1, Currency: "EUR", ProviderRef: "x"},
		{BookingID: confirmed.ID, PaymentID: ids.New(), Status: bus.PaymentSuccess, AmountMinor: 11400, Currency: "EUR", ProviderRef: "y"},
	}
	for _, p := range forged {
		produce(t, paymentMessage(t, p))
	}
	for _, p := range forged {
		poll(t, time.Minute, time.Second, func() error {
			for _, m := range topicMessages(t, bus.DLT(bus.TopicPaymentProcessed), p.BookingID) {
				if strings.Contains(bus.Header(m, "dlt.reason"), "not the payment of record") {
					return nil
				}
			}
			return errorf("no dead letter for the forged result of %s", p.BookingID)
		})
	}
	c.expect(200, "GET", "/api/bookings/"+pending.ID, nil, &pending)
	if pending.Status != lifecycle.StatusPending {
		t.Fatalf("a forged success moved the booking: %+v", pending)
	}
	if rec := paymentRecord(t, confirmed.ID); rec.Status != payment.StatusSucceeded {
		t.Fatalf("the confirmed booking's payment was touched: %+v", rec)
	}
	c.expect(200, "POST", "/api/bookings/"+pending.ID+"/cancel", nil, nil)
	agrees(t, c, pending.ID, time.Minute)
	agrees(t, c, confirmed.ID, time.Minute)
	_ = cfg
}

func paymentMessage(t testing.TB, p bus.PaymentProcessed) kafka.Message {
	t.Helper()
	msg, err := bus.NewMessage(bus.TopicPaymentProcessed, p.BookingID, "test:"+ids.New(), time.Now(), p)
	if err != nil {
		t.Fatal(err)
	}
	km, err := msg.Kafka()
	if err != nil {
		t.Fatal(err)
	}
	return km
}

// Case 5: a real capture no booking keeps is refunded by its reference and announced; a success
// for a booking nobody knows leaves nothing behind but its dead letter.
func TestCapturesNobodyExpectedAreRefundedOrDeadLettered(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	e := newEvent(t, 2, 2000)
	c, _ := register(t)
	var b booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse").decode(t, &b)
	c.expect(200, "POST", "/api/bookings/"+b.ID+"/cancel", nil, nil)
	capture, err := payment.NewClient(cfg.Endpoints[config.Payment], auth.InternalToken([]byte(cfg.JWTSecret)), 30*time.Second).
		MockCapture(t.Context(), payment.MockCapture{Key: b.ID, AmountMinor: 2000, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	produce(t, paymentMessage(t, bus.PaymentProcessed{BookingID: b.ID, PaymentID: ids.New(), Status: bus.PaymentSuccess,
		AmountMinor: 2000, Currency: "EUR", ProviderRef: capture.ProviderRef}))
	poll(t, time.Minute, time.Second, func() error {
		for _, m := range topicMessages(t, bus.TopicPaymentRefunded, b.ID) {
			var env bus.Envelope
			_ = json.Unmarshal(m.Value, &env)
			if strings.Contains(string(env.Payload), capture.ProviderRef) || env.EventID == "capture:"+capture.ProviderRef+":payment.refunded" {
				return nil
			}
		}
		return errorf("no payment.refunded for the capture %s", capture.ProviderRef)
	})
	if got := agrees(t, c, b.ID, time.Minute); got.Status != lifecycle.StatusCancelled {
		t.Fatalf("booking %+v", got)
	}

	unknown := ids.New()
	produce(t, paymentMessage(t, bus.PaymentProcessed{BookingID: unknown, PaymentID: ids.New(), Status: bus.PaymentSuccess,
		AmountMinor: 100, Currency: "EUR", ProviderRef: "nobody"}))
	poll(t, time.Minute, time.Second, func() error {
		if len(topicMessages(t, bus.DLT(bus.TopicPaymentProcessed), unknown)) == 0 {
			return errorf("no dead letter for a success of an unknown booking")
		}
		return nil
	})
	if rec := paymentRecord(t, unknown); rec.Found {
		t.Fatalf("a payment record was made for a booking nobody knows: %+v", rec)
	}
	_ = cfg
}

// Case 7: a booking whose workflow was never started (a process died in between) is found by the
// reconciler, whatever its age or the number of others.
func TestABookingWithoutAWorkflowIsStartedByTheReconciler(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	e := newEvent(t, 2, 1000)
	id := ids.New()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, cfg.PostgresDSN(config.BookingsDB))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	created := time.Now().Add(-10 * time.Minute)
	if _, err := conn.Exec(ctx, `INSERT INTO bookings (id, user_id, user_email, event_id, event_name, seat_ids,
		amount_minor, currency, status, hold_expires_at, workflow_started, created_at, updated_at)
		VALUES ($1, $6, 'orphan@example.com', $2, 'orphan', $3, 1000, 'EUR', 'PENDING', $4, false, $5, $5)`,
		// The buyer's id is a UUID, as every user id is: the payment service refuses (dead-letters) a
		// payment.requested whose userId is not one (its schema says so).
		id, e.ID, []string{"FLOOR-A-1"}, time.Now().Add(cfg.HoldTTL), created, ids.New()); err != nil {
		t.Fatal(err)
	}
	var started bool
	poll(t, 2*time.Minute, time.Second, func() error {
		if err := conn.QueryRow(ctx, `SELECT workflow_started FROM bookings WHERE id = $1`, id).Scan(&started); err != nil || !started {
			return errorf("workflow_started %v %v", started, err)
		}
		return nil
	})
	if got := agrees(t, admin(t), id, time.Minute); got.Status != lifecycle.StatusConfirmed {
		t.Fatalf("booking %+v", got)
	}
}

// Case 8: a booking.initiated from another producer whose seats are taken is recorded FAILED and
// announced as booking.failed.
func TestAKafkaBookingForTakenSeatsIsRecordedFailed(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 1000)
	c, u := register(t)
	var first booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_visa").decode(t, &first)
	recordedFailed(t, c, announce(t, c, u, e.ID, "FLOOR-A-1"), "seats unavailable")
}

// announce publishes a booking.initiated of another producer for u's seat of the event, and
// waits for the bridge to make the booking; it returns the booking's id.
func announce(t *testing.T, c *client, u user, eventID, seat string) string {
	t.Helper()
	id := ids.New()
	msg, err := bus.NewMessage(bus.TopicBookingInitiated, id, bus.FactID(id, bus.TopicBookingInitiated), time.Now(),
		bus.BookingInitiated{BookingID: id, UserID: u.ID, UserEmail: u.Email, EventID: eventID, EventName: "x",
			SeatIDs: []string{seat}, AmountMinor: 1, Currency: "EUR", IdempotencyKey: "other-team-key"})
	if err != nil {
		t.Fatal(err)
	}
	km, _ := msg.Kafka()
	produce(t, km)
	poll(t, time.Minute, 500*time.Millisecond, func() error { // the bridge makes the booking
		if r := c.do("GET", "/api/bookings/"+id, nil); r.status != http.StatusOK {
			return errorf("booking %s: %d", id, r.status)
		}
		return nil
	})
	return id
}

// recordedFailed waits for booking id to end FAILED with a reason containing reason, announced on
// booking.failed, with Temporal agreeing.
func recordedFailed(t *testing.T, c *client, id, reason string) {
	t.Helper()
	b := waitStatus(t, c, id, lifecycle.StatusFailed, time.Minute)
	if b.FailureReason == nil || !strings.Contains(*b.FailureReason, reason) {
		t.Fatalf("booking %+v", b)
	}
	poll(t, time.Minute, time.Second, func() error {
		if len(topicMessages(t, bus.TopicBookingFailed, id)) != 1 {
			return errorf("no booking.failed for %s", id)
		}
		return nil
	})
	agrees(t, c, id, time.Minute)
}

// Case 9: cancelling a CONFIRMED booking is done by its own workflow, whose status query and
// BookingStatus then say CANCELLED: one truth.
func TestCancelAfterConfirmationIsOneTruthInTemporal(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 1000)
	c, _ := register(t)
	var b booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_visa").decode(t, &b)
	waitStatus(t, c, b.ID, lifecycle.StatusConfirmed, time.Minute)
	c.expect(200, "POST", "/api/bookings/"+b.ID+"/cancel", nil, nil)
	v, err := temporalClient(t).QueryWorkflow(t.Context(), lifecycle.WorkflowID(b.ID), "", lifecycle.QueryStatus)
	var st lifecycle.BookingState
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil && !strings.Contains(err.Error(), "completed") {
		t.Fatal(err)
	}
	if err == nil && st.Status != lifecycle.StatusCancelled {
		t.Fatalf("status query says %q", st.Status)
	}
	if got := agrees(t, c, b.ID, time.Minute); got.Status != lifecycle.StatusCancelled {
		t.Fatalf("booking %+v", got)
	}
}
