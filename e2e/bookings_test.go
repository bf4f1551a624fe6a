//go:build integration

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/workflowservice/v1"
	tclient "go.temporal.io/sdk/client"

	"ticketflow/internal/config"
	"ticketflow/internal/ids"
)

type booking struct {
	ID            string    `json:"id"`
	BookingID     string    `json:"bookingId"`
	UserID        string    `json:"userId"`
	EventID       string    `json:"eventId"`
	EventName     string    `json:"eventName"`
	SeatIDs       []string  `json:"seatIds"`
	AmountMinor   int64     `json:"amountMinor"`
	TotalAmount   float64   `json:"totalAmount"`
	Currency      string    `json:"currency"`
	Status        string    `json:"status"`
	FailureReason *string   `json:"failureReason"`
	HoldExpiresAt time.Time `json:"holdExpiresAt"`
	PaymentID     *string   `json:"paymentId"`
	History       []struct {
		Status string `json:"status"`
	} `json:"history"`
}

func book(c *client, eventID string, seats []string, tok string, headers ...string) response {
	body := map[string]any{"eventId": eventID, "seatIds": seats}
	if tok != "" {
		body["paymentMethod"] = map[string]string{"type": "card", "token": tok}
	}
	return c.do("POST", "/api/bookings", body, headers...)
}

// waitStatus polls the booking until it reaches a terminal status (or want), returning it.
func waitStatus(t testing.TB, c *client, id, want string, within time.Duration) booking {
	t.Helper()
	var b booking
	// At most ~80 reads: the gateway allows a client 100 requests a minute.
	poll(t, within, max(500*time.Millisecond, within/80), func() error {
		c.expect(200, "GET", "/api/bookings/"+id, nil, &b)
		if b.Status != want {
			return fmt.Errorf("booking %s is %s, want %s", id, b.Status, want)
		}
		return nil
	})
	return b
}

func TestBookingIsHeldAtOnceAndConfirmedAfterPayment(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 10, 4550)
	c, u := register(t)
	r := book(c, e.ID, []string{"FLOOR-A-1", "FLOOR-A-2"}, "tok_visa")
	if r.status != 202 {
		t.Fatalf("POST /api/bookings = %d %s", r.status, r.body)
	}
	var b booking
	r.decode(t, &b)
	if b.ID == "" || b.BookingID != b.ID || b.Status != "PENDING" || b.UserID != u.ID || b.AmountMinor != 9100 ||
		b.TotalAmount != 91.00 || b.Currency != "EUR" || b.EventName != e.Name || time.Until(b.HoldExpiresAt) <= 0 {
		t.Fatalf("202 booking %s", r.body)
	}
	// The seats are held the moment the answer arrives: LOCKED, or already RESERVED when the
	// payment was quicker than this read (an idle stack confirms within a few hundred ms).
	if sm := readSeatMap(t, e.ID); !heldOrSold(sm.status("FLOOR-A-1")) || !heldOrSold(sm.status("FLOOR-A-2")) {
		t.Fatalf("seats after 202: %+v", sm.Seats[:2])
	}
	done := waitStatus(t, c, b.ID, "CONFIRMED", 20*time.Second)
	if done.PaymentID == nil || len(done.History) != 2 || done.History[0].Status != "PENDING" || done.History[1].Status != "CONFIRMED" {
		t.Fatalf("confirmed booking %+v", done)
	}
	if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-1") != "RESERVED" || sm.status("FLOOR-A-2") != "RESERVED" {
		t.Fatal("confirmed seats are not RESERVED")
	}
	var p struct {
		ID, Status  string
		AmountMinor int64
	}
	c.expect(200, "GET", "/api/payments/booking/"+b.ID, nil, &p)
	if p.Status != "SUCCEEDED" || p.AmountMinor != 9100 || p.ID != *done.PaymentID {
		t.Fatalf("payment %+v", p)
	}
	var mine []booking
	c.expect(200, "GET", "/api/bookings/my", nil, &mine)
	if len(mine) != 1 || mine[0].ID != b.ID {
		t.Fatalf("my bookings %+v", mine)
	}
}

func heldOrSold(status string) bool { return status == "LOCKED" || status == "RESERVED" }

func TestTakenSeatsAre409NamingThem(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 5, 100)
	c1, _ := register(t)
	c2, _ := register(t)
	if r := book(c1, e.ID, []string{"FLOOR-A-3"}, ""); r.status != 202 {
		t.Fatalf("first booking %d %s", r.status, r.body)
	}
	r := book(c2, e.ID, []string{"FLOOR-A-2", "FLOOR-A-3"}, "")
	if r.status != 409 {
		t.Fatalf("second booking %d %s", r.status, r.body)
	}
	if e := r.err(t); e.Error.Code != "SEATS_UNAVAILABLE" || fmt.Sprint(e.Error.Details["unavailableSeatIds"]) != "[FLOOR-A-3]" {
		t.Fatalf("409 body %s", r.body)
	}
	if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-2") != "AVAILABLE" {
		t.Fatal("a refused booking kept FLOOR-A-2")
	}
}

func TestBookingBadInput(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 12, 100)
	c, _ := register(t)
	eleven := []string{}
	for i := 1; i <= 11; i++ {
		eleven = append(eleven, fmt.Sprintf("FLOOR-A-%d", i))
	}
	cases := []struct {
		body   any
		status int
	}{
		{map[string]any{"eventId": e.ID, "seatIds": []string{}}, 400},
		{map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1", "FLOOR-A-1"}}, 400},
		{map[string]any{"eventId": e.ID, "seatIds": eleven}, 400},
		{map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1"}, "amountMinor": 1}, 400},
		{map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1"}, "status": "CONFIRMED"}, 400},
		{map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1"}, "userId": ids.New()}, 400},
		{map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1"}, "paymentMethod": map[string]string{"type": "cash", "token": "x"}}, 400},
		{map[string]any{"eventId": "nope", "seatIds": []string{"FLOOR-A-1"}}, 400},
		{map[string]any{"eventId": ids.New(), "seatIds": []string{"FLOOR-A-1"}}, 404},
		{map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-Z-99"}}, 404},
		{`{"eventId": 5}`, 400},
		{`[]`, 400},
	}
	for _, tc := range cases {
		r := c.do("POST", "/api/bookings", tc.body)
		if r.status != tc.status {
			t.Errorf("%v: %d %s", tc.body, r.status, r.body)
			continue
		}
		r.err(t)
	}
	var mine []booking
	c.expect(200, "GET", "/api/bookings/my", nil, &mine)
	if len(mine) != 0 {
		t.Fatalf("bad requests stored bookings: %+v", mine)
	}
}

func TestIdempotencyKeyReturnsTheOriginalBooking(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 4, 100)
	c, _ := register(t)
	key := "idem-" + uniq()
	var first, again booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "", "Idempotency-Key", key).decode(t, &first)
	r := book(c, e.ID, []string{"FLOOR-A-1"}, "", "Idempotency-Key", key)
	if r.status != 202 && r.status != 200 {
		t.Fatalf("retry with the same key: %d %s", r.status, r.body)
	}
	r.decode(t, &again)
	if first.ID == "" || again.ID != first.ID {
		t.Fatalf("same key, two bookings: %s %s", first.ID, again.ID)
	}
	// Another user's identical key is theirs alone.
	other, _ := register(t)
	if r := book(other, e.ID, []string{"FLOOR-A-2"}, "", "Idempotency-Key", key); r.status != 202 {
		t.Fatalf("another user's key: %d %s", r.status, r.body)
	}
}

func TestDeclinedCardFailsAndFreesTheSeats(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 3, 100)
	c, _ := register(t)
	var b booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_chargeDeclined").decode(t, &b)
	done := waitStatus(t, c, b.ID, "FAILED", 20*time.Second)
	if done.FailureReason == nil || *done.FailureReason != "payment declined: card declined" {
		t.Fatalf("failed booking %+v", done)
	}
	if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-1") != "AVAILABLE" {
		t.Fatal("seats of a declined booking are not AVAILABLE")
	}
}

func TestNoProviderAnswerExpiresTheHold(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	if cfg.HoldTTL > time.Minute {
		t.Fatalf("the suite needs a stack with a short HOLD_TTL (make test uses 60s); this one has %s", cfg.HoldTTL)
	}
	e := newEvent(t, 3, 100)
	c, _ := register(t)
	var b booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse").decode(t, &b)
	done := waitStatus(t, c, b.ID, "EXPIRED", cfg.HoldTTL+20*time.Second)
	if done.HoldExpiresAt.After(time.Now()) {
		t.Fatalf("expired before its hold ended: %+v", done)
	}
	if sm := readSeatMap(t, e.ID); sm.status("FLOOR-A-1") != "AVAILABLE" {
		t.Fatal("seats of an expired booking are not AVAILABLE")
	}
	// The payment the provider never answered is voided, not left PENDING.
	var p struct{ Status, FailureReason string }
	c.expect(200, "GET", "/api/payments/booking/"+b.ID, nil, &p)
	if p.Status != "FAILED" {
		t.Fatalf("payment of an expired booking is %s (%s)", p.Status, p.FailureReason)
	}
}

func TestCancelPendingAndConfirmedBookings(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 4, 700)
	c, _ := register(t)
	// PENDING (the provider never answers) → cancelled, seats released.
	var pending booking
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse").decode(t, &pending)
	var got booking
	c.expect(200, "POST", "/api/bookings/"+pending.ID+"/cancel", nil, &got)
	if got.Status != "CANCELLED" {
		t.Fatalf("cancelled pending: %+v", got)
	}
	// CONFIRMED → cancelled, refunded, seats released.
	var b booking
	book(c, e.ID, []string{"FLOOR-A-2"}, "tok_visa").decode(t, &b)
	waitStatus(t, c, b.ID, "CONFIRMED", 20*time.Second)
	c.expect(200, "POST", "/api/bookings/"+b.ID+"/cancel", nil, &got)
	if got.Status != "CANCELLED" {
		t.Fatalf("cancelled confirmed: %+v", got)
	}
	var p struct{ Status string }
	c.expect(200, "GET", "/api/payments/booking/"+b.ID, nil, &p)
	if p.Status != "REFUNDED" {
		t.Fatalf("payment of a cancelled confirmed booking is %s", p.Status)
	}
	sm := readSeatMap(t, e.ID)
	if sm.status("FLOOR-A-1") != "AVAILABLE" || sm.status("FLOOR-A-2") != "AVAILABLE" {
		t.Fatalf("seats after cancels: %+v", sm.Seats)
	}
	// Cancelling again is refused.
	r := c.do("POST", "/api/bookings/"+b.ID+"/cancel", nil)
	if r.status != 409 || r.err(t).Error.Code != "BOOKING_NOT_CANCELLABLE" {
		t.Fatalf("second cancel: %d %s", r.status, r.body)
	}
}

func TestOtherUsersCannotSeeOrCancelABooking(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 100)
	owner, _ := register(t)
	stranger, _ := register(t)
	var b booking
	book(owner, e.ID, []string{"FLOOR-A-1"}, "").decode(t, &b)
	waitStatus(t, owner, b.ID, "CONFIRMED", 20*time.Second)
	for _, req := range []struct{ method, path string }{
		{"GET", "/api/bookings/" + b.ID}, {"POST", "/api/bookings/" + b.ID + "/cancel"},
		{"GET", "/api/payments/booking/" + b.ID},
	} {
		r := stranger.do(req.method, req.path, nil)
		if r.status != 404 || r.err(t).Error.Code != "NOT_FOUND" {
			t.Errorf("%s %s by a stranger: %d %s", req.method, req.path, r.status, r.body)
		}
	}
	var got booking
	admin(t).expect(200, "GET", "/api/bookings/"+b.ID, nil, &got)
	if got.Status != "CONFIRMED" {
		t.Fatalf("admin sees %+v", got)
	}
}

// Twenty buyers want the same seat at once: one gets it, nineteen are told at once, every workflow
// closes, and the seats sold are exactly the confirmed bookings' seats.
func TestTwentyBuyersOneSeat(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 3, 100)
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	bookingIDs := make([]string, 20)
	for i := range statuses {
		c, _ := register(t)
		wg.Add(1)
		go func(i int, c *client) {
			defer wg.Done()
			r := book(c, e.ID, []string{"FLOOR-A-2"}, "")
			statuses[i] = r.status
			var b booking
			if r.status == 202 {
				r.decode(t, &b)
				bookingIDs[i] = b.ID
			}
		}(i, c)
	}
	wg.Wait()
	won, lost := 0, 0
	var winner string
	for i, s := range statuses {
		switch s {
		case 202:
			won++
			winner = bookingIDs[i]
		case 409:
			lost++
		default:
			t.Errorf("buyer %d got %d", i, s)
		}
	}
	if won != 1 || lost != 19 {
		t.Fatalf("%d won, %d lost", won, lost)
	}
	cfg := loadConfig(t)
	waitStatus(t, admin(t), winner, "CONFIRMED", 20*time.Second)
	// Every workflow of the event closes, but the winner's: a CONFIRMED booking's workflow stays
	// open until the event, for cancels.
	tc, err := tclient.Dial(tclient.Options{HostPort: cfg.TemporalAddr, Namespace: cfg.TemporalNS})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	eventually(t, 30*time.Second, func() error {
		resp, err := tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: cfg.TemporalNS, Query: fmt.Sprintf(`EventId = %q AND ExecutionStatus = "Running" AND BookingId != %q`,
				e.ID, winner)})
		if err != nil {
			return err
		}
		if resp.Count != 0 {
			return fmt.Errorf("%d workflows still running", resp.Count)
		}
		return nil
	})
	// Seats RESERVED are exactly the confirmed bookings' seats.
	conn, err := pgx.Connect(t.Context(), cfg.PostgresDSN(config.InventoryDB))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var reserved int
	var holder string
	if err := conn.QueryRow(t.Context(), `SELECT count(*), coalesce(max(booking_id::text), '') FROM seats WHERE event_id = $1 AND status = 'RESERVED'`, e.ID).Scan(&reserved, &holder); err != nil {
		t.Fatal(err)
	}
	if reserved != 1 || holder != winner {
		t.Fatalf("%d seats reserved, by %s; want 1 by %s", reserved, holder, winner)
	}
}

// A cancel sent the moment the booking is held races the payment result into the workflow; the
// booking must end CANCELLED with its money given back and its seats free, announced once.
func TestCancelRightAfterTheHoldIsConsistent(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 5, 1200)
	for i := 1; i <= 5; i++ {
		c, _ := register(t)
		var b booking
		r := book(c, e.ID, []string{fmt.Sprintf("FLOOR-A-%d", i)}, "tok_visa")
		if r.status != 202 {
			t.Fatalf("book: %d %s", r.status, r.body)
		}
		r.decode(t, &b)
		var got booking
		c.expect(200, "POST", "/api/bookings/"+b.ID+"/cancel", nil, &got)
		if got.Status != "CANCELLED" {
			t.Fatalf("cancel answered %+v", got)
		}
		var p struct{ Status string }
		poll(t, 30*time.Second, time.Second, func() error {
			c.expect(200, "GET", "/api/payments/booking/"+b.ID, nil, &p)
			if p.Status != "REFUNDED" && p.Status != "FAILED" {
				return fmt.Errorf("payment of a cancelled booking is %s", p.Status)
			}
			return nil
		})
		if sm := readSeatMap(t, e.ID); sm.status(fmt.Sprintf("FLOOR-A-%d", i)) != "AVAILABLE" {
			t.Fatal("the seat of a cancelled booking is not AVAILABLE")
		}
		if n := len(topicMessages(t, "ticketflow.booking.failed", b.ID)); n != 0 {
			t.Fatalf("a cancelled booking also announced booking.failed (%d)", n)
		}
		c.expect(200, "GET", "/api/bookings/"+b.ID, nil, &got)
		if got.Status != "CANCELLED" {
			t.Fatalf("booking ended %s", got.Status)
		}
	}
}
