package workflows

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"ticketflow/activities"
	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/lifecycle"
	"ticketflow/services/inventory"
	"ticketflow/services/payment"
	"ticketflow/services/ticket"
)

// t0 is the test clock's start. It is the real time: the test environment checks a local
// activity's schedule-to-close deadline against the wall clock.
var t0 = time.Now().UTC().Truncate(time.Second)

const bookingID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

func input() lifecycle.BookingInput {
	return lifecycle.BookingInput{BookingID: bookingID, UserID: "u-1", UserEmail: "buyer@example.com",
		EventID: "0b0e9d7a-3f8e-4d57-9b1b-6d5b8f4a2c11", EventName: "Jazz at Dawn", SeatIDs: []string{"MAIN-C-1", "MAIN-C-2"},
		AmountMinor: 12000, Currency: "EUR", PaymentToken: "tok_visa", HoldExpiresAt: t0.Add(10 * time.Minute)}
}

// harness is a test environment with every activity mocked and every call recorded.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu       sync.Mutex
	calls    []string
	statuses []string
	// recorded is the booking record's status; a test sets it to an end written earlier.
	recorded activities.RecordedStatus
	emitted  []string
	// emittedAgain are the facts published with a look at their topic first (EmitAgain).
	emittedAgain []string
	upserts      []string
	hold         *lifecycle.HoldResult
	holdErr      error
	// rec is the payment service's record of the booking's payment, as PaymentOfRecord answers.
	rec activities.PaymentRecord
	// regular counts steps run as regular activities (after their local budget), by activity.
	regular map[string]int
	// onRecord, when set, sees each status change first (local tells how it runs); an error fails
	// that attempt.
	onRecord func(c activities.StatusChange, local bool) error
	timers   []time.Duration
	// eventDate is the event's date as the event service has it when the run asks (EventStartsAt);
	// zero: the event is no longer known.
	eventDate time.Time
	// Per seat activity: what it answers on its n-th call, and how long it takes (workflow time).
	behaviour map[string]func(n int) error
	delay     map[string]time.Duration
}

func newEnv() *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return suite.NewTestWorkflowEnvironment()
}

// sealKey is the key the tests' "bridge" seals payment results with, as the worker gives it.
var sealKey = []byte("test-secret-of-thirty-two-bytes-at-least")

func newHarness(t *testing.T) *harness {
	SetPaymentSealKey(sealKey)
	h := &harness{t: t, env: newEnv(), behaviour: map[string]func(int) error{}, delay: map[string]time.Duration{},
		regular: map[string]int{}}
	h.env.SetOnTimerScheduledListener(func(_ string, d time.Duration) {
		h.mu.Lock()
		h.timers = append(h.timers, d)
		h.mu.Unlock()
	})
	h.env.SetStartTime(t0)
	h.env.RegisterActivity(&activities.Activities{})
	h.env.RegisterWorkflowWithOptions(BookingWorkflow, workflow.RegisterOptions{Name: lifecycle.BookingWorkflowName})
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if sa, ok := args.Get(0).(temporal.SearchAttributes); ok {
			if v, ok := sa.GetKeyword(lifecycle.BookingStatusKey); ok {
				h.upserts = append(h.upserts, v)
			}
			if v, ok := sa.GetKeyword(lifecycle.RetryingStepKey); ok {
				h.upserts = append(h.upserts, "RetryingStep="+v)
			}
			if sa.Size() == 0 { // an upsert that sets nothing unsets: only RetryingStep is ever unset
				h.upserts = append(h.upserts, "RetryingStep=")
			}
		}
	}).Return(nil).Maybe()
	h.mockDecideHold()
	h.mockSeats("ConfirmSeats", a.ConfirmSeats)
	h.mockSeats("ReleaseSeats", a.ReleaseSeats)
	h.env.OnActivity(a.RecordStatus, mock.Anything, mock.Anything).Return(func(ctx context.Context, c activities.StatusChange) error {
		h.record("RecordStatus:" + c.Status)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.onRecord != nil {
			if err := h.onRecord(c, activity.GetInfo(ctx).IsLocalActivity); err != nil {
				return err
			}
		}
		// The booking record's rule: its first end stands (but CONFIRMED → CANCELLED), and a
		// refusal names it, as the booking service answers 409.
		if r := h.recorded.Status; lifecycle.Terminal(r) && r != c.Status && (r != lifecycle.StatusConfirmed || c.Status != lifecycle.StatusCancelled) {
			return temporal.NewNonRetryableApplicationError("bad transition", activities.ErrBadTransition, nil, h.recorded)
		}
		h.recorded = activities.RecordedStatus{Status: c.Status, FailureReason: c.Reason}
		h.statuses = append(h.statuses, c.Status)
		return nil
	}).Maybe()
	h.env.OnActivity(a.RefundPayment, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.RefundRequest) (activities.RefundResult, error) {
		h.record("RefundPayment")
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.PaymentID != "" && r.PaymentID != h.rec.ID {
			return activities.RefundResult{PaymentID: r.PaymentID}, nil
		}
		switch h.rec.Status {
		case payment.StatusSucceeded, payment.StatusRefunded:
			h.rec.Status = payment.StatusRefunded
			return activities.RefundResult{Refunded: true, PaymentID: h.rec.ID, Status: payment.StatusRefunded}, nil
		}
		h.rec = activities.PaymentRecord{Found: true, View: payment.View{ID: "pay-1", BookingID: bookingID,
			AmountMinor: 12000, Currency: "EUR", Status: payment.StatusFailed, FailureReason: "voided"}}
		return activities.RefundResult{Voided: true, PaymentID: "pay-1", Status: payment.StatusFailed}, nil
	}).Maybe()
	h.env.OnActivity(a.IssueTickets, mock.Anything, mock.Anything).Return(func(_ context.Context, r ticket.IssueRequest) error {
		h.record("IssueTickets")
		h.mu.Lock()
		f := h.behaviour["IssueTickets"]
		h.mu.Unlock()
		if r.BookingID != bookingID || len(r.SeatIDs) == 0 {
			h.t.Errorf("IssueTickets(%+v)", r)
		}
		if f != nil {
			return f(0)
		}
		return nil
	}).Maybe()
	h.env.OnActivity(a.RevokeTickets, mock.Anything, mock.Anything).Return(func(_ context.Context, r ticket.RevokeRequest) error {
		h.record("RevokeTickets")
		return nil
	}).Maybe()
	h.env.OnActivity(a.PaymentOfRecord, mock.Anything, mock.Anything).Return(func(ctx context.Context, id string) (activities.PaymentRecord, error) {
		h.record("PaymentOfRecord")
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.rec, nil
	}).Maybe()
	h.env.OnActivity(a.EventStartsAt, mock.Anything, mock.Anything).Return(func(context.Context, string) (time.Time, error) {
		h.record("EventStartsAt")
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.eventDate, nil
	}).Maybe()
	h.env.OnActivity(a.Emit, mock.Anything, mock.Anything).Return(h.publish(&h.emitted)).Maybe()
	h.env.OnActivity(a.EmitAgain, mock.Anything, mock.Anything).Return(h.publish(&h.emittedAgain)).Maybe()
	// Ask for the seat decision the way the booking service does, in the first workflow task.
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(lifecycle.UpdateHold, "hold", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { h.holdErr = err },
			OnAccept:   func() {},
			OnComplete: func(v any, err error) { r, _ := v.(lifecycle.HoldResult); h.hold, h.holdErr = &r, err },
		})
	}, 0)
	return h
}

// publish is a mock of a Kafka emit: it checks each fact's eventId and key and records its
// type in *into.
func (h *harness) publish(into *[]string) func(context.Context, []bus.Message) error {
	return func(_ context.Context, msgs []bus.Message) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, m := range msgs {
			if m.Envelope.EventID != bus.FactID(bookingID, m.Topic) || m.Key != bookingID {
				h.t.Errorf("message %s has eventId %s key %s", m.Topic, m.Envelope.EventID, m.Key)
			}
			*into = append(*into, bus.EventType(m.Topic))
		}
		return nil
	}
}

// mockSeats mocks a seat activity once; onSeats and delay change what it does per test.
func (h *harness) mockSeats(name string, fn any) {
	n := 0
	h.env.OnActivity(fn, mock.Anything, mock.Anything).AfterFn(func() time.Duration { return h.delay[name] }).
		Return(func(ctx context.Context, r activities.SeatsRequest) error {
			h.mu.Lock()
			n++
			count, f := n, h.behaviour[name]
			if !activity.GetInfo(ctx).IsLocalActivity {
				h.regular[name]++
			}
			h.mu.Unlock()
			h.record(name)
			if f != nil {
				return f(count)
			}
			return nil
		}).Maybe()
}

// mockDecideHold mocks the hold: what onSeats("DecideHold") answers is the inventory's answer,
// which the activity turns into the decision as activities.DecideHold does (a refusal is a
// decision; anything else an unknown outcome, retried).
func (h *harness) mockDecideHold() {
	const name = "DecideHold"
	n := 0
	h.env.OnActivity(a.DecideHold, mock.Anything, mock.Anything).AfterFn(func() time.Duration { return h.delay[name] }).
		Return(func(ctx context.Context, r activities.SeatsRequest) (lifecycle.HoldResult, error) {
			h.mu.Lock()
			n++
			count, f := n, h.behaviour[name]
			h.mu.Unlock()
			h.record(name)
			var err error
			if f != nil {
				err = f(count)
			}
			if err != nil && !inventory.IsRefusal(err) {
				return lifecycle.HoldResult{}, err
			}
			return inventory.Decision(err, r.HoldUntil), nil
		}).Maybe()
}

// onSeats sets what a seat activity answers on its n-th call.
func (h *harness) onSeats(name string, f func(n int) error) { h.behaviour[name] = f }

func (h *harness) record(call string) {
	h.mu.Lock()
	h.calls = append(h.calls, call)
	h.mu.Unlock()
}

func (h *harness) count(call string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.calls {
		if c == call {
			n++
		}
	}
	return n
}

// pay settles the booking's payment at the payment service (the record) and delivers the result,
// as the payment service and the bridge do.
func (h *harness) pay(after time.Duration, status, reason string) {
	h.env.RegisterDelayedCallback(func() {
		rec := payment.StatusSucceeded
		if status != bus.PaymentSuccess {
			rec = payment.StatusFailed
		}
		h.mu.Lock()
		if !h.rec.Found || h.rec.Status == payment.StatusPending {
			h.rec = activities.PaymentRecord{Found: true, View: payment.View{ID: "pay-1", BookingID: bookingID,
				AmountMinor: 12000, Currency: "EUR", Status: rec, FailureReason: reason, ProviderRef: "ch-1"}}
		}
		// The bridge checks the claim against the record and sends the record, sealed.
		res := lifecycle.PaymentResult{PaymentProcessed: h.rec.Result(), RecordStatus: h.rec.Status}
		res.Seal = auth.PaymentSeal(sealKey, res.SealFields()...)
		h.mu.Unlock()
		h.claim(0, res)
	}, after)
}

// claim delivers a payment result as it arrived, without any payment behind it changing.
func (h *harness) claim(after time.Duration, p lifecycle.PaymentResult) {
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(lifecycle.SignalPaymentResult, p) }, after)
}

func (h *harness) query() lifecycle.BookingState {
	v, err := h.env.QueryWorkflow(lifecycle.QueryStatus)
	if err != nil {
		h.t.Fatalf("query: %v", err)
	}
	var s lifecycle.BookingState
	if err := v.Get(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) run() lifecycle.BookingState { return h.runWith(input()) }

func (h *harness) runWith(in lifecycle.BookingInput) lifecycle.BookingState {
	h.env.ExecuteWorkflow(lifecycle.BookingWorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow error: %v", err)
	}
	var s lifecycle.BookingState
	if err := h.env.GetWorkflowResult(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) wantEmitted(want ...string) {
	h.t.Helper()
	if got := strings.Join(h.emitted, ","); got != strings.Join(want, ",") {
		h.t.Errorf("emitted %s, want %s", got, strings.Join(want, ","))
	}
}

func TestHappyPathConfirmsAndAnnouncesEachStep(t *testing.T) {
	h := newHarness(t)
	var during lifecycle.BookingState
	h.env.RegisterDelayedCallback(func() { during = h.query() }, time.Second)
	h.pay(2*time.Second, bus.PaymentSuccess, "")
	s := h.run()
	if s.Status != lifecycle.StatusConfirmed || s.PaymentID != "pay-1" || s.Refunded {
		t.Fatalf("final state %+v", s)
	}
	if h.hold == nil || !h.hold.Held || h.hold.Code != lifecycle.HoldOK || !h.hold.HoldExpiresAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("hold answer %+v err %v", h.hold, h.holdErr)
	}
	if during.Status != lifecycle.StatusPending || during.Step != "awaiting payment" {
		t.Fatalf("state while waiting %+v", during)
	}
	if h.count("ConfirmSeats") != 1 || h.count("ReleaseSeats") != 0 || h.count("RefundPayment") != 0 ||
		h.count("PaymentOfRecord") != 0 {
		t.Fatalf("calls %v", h.calls)
	}
	h.wantEmitted("booking.initiated", "seats.locked", "payment.requested", "booking.confirmed")
	if strings.Join(h.statuses, ",") != lifecycle.StatusConfirmed {
		t.Fatalf("recorded %v", h.statuses)
	}
}

func TestSeatsUnavailableAnswersTheHoldAndFails(t *testing.T) {
	h := newHarness(t)
	h.onSeats("DecideHold", func(int) error {
		return &inventory.SeatsError{Err: inventory.ErrUnavailable, SeatIDs: []string{"MAIN-C-2"}}
	})
	s := h.run()
	if s.Status != lifecycle.StatusFailed || s.FailureReason != "seats unavailable" {
		t.Fatalf("final state %+v", s)
	}
	if h.hold == nil || h.hold.Held || h.hold.Code != inventory.CodeSeatsUnavailable || strings.Join(h.hold.UnavailableSeatIDs, ",") != "MAIN-C-2" {
		t.Fatalf("hold answer %+v", h.hold)
	}
	if h.count("ReleaseSeats") != 0 {
		t.Fatal("released seats it never held")
	}
	h.wantEmitted("booking.initiated", "booking.failed")
}

func TestDeclinedPaymentReleasesSeatsAndFails(t *testing.T) {
	h := newHarness(t)
	h.pay(time.Second, bus.PaymentFailed, "card declined")
	s := h.run()
	if s.Status != lifecycle.StatusFailed || s.FailureReason != "payment declined: card declined" {
		t.Fatalf("final state %+v", s)
	}
	if h.count("ReleaseSeats") != 1 || h.count("ConfirmSeats") != 0 || h.count("RefundPayment") != 1 || s.Refunded {
		t.Fatalf("calls %v (a declined payment is voided, nothing refunded)", h.calls)
	}
	h.wantEmitted("booking.initiated", "seats.locked", "payment.requested", "seats.released", "booking.failed")
}

func TestNoPaymentAnswerExpiresAtTheHoldsEnd(t *testing.T) {
	h := newHarness(t)
	start := time.Now()
	s := h.run()
	if s.Status != lifecycle.StatusExpired || h.count("ReleaseSeats") != 1 || h.count("RefundPayment") != 1 {
		t.Fatalf("final state %+v calls %v (the pending payment must be voided)", s, h.calls)
	}
	if got := h.env.Now(); got.Before(t0.Add(10 * time.Minute)) {
		t.Fatalf("expired at %v, before the hold's end", got)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the 10 minute hold was waited for, not skipped")
	}
	h.wantEmitted("booking.initiated", "seats.locked", "payment.requested", "seats.released", "booking.expired")
}

func TestPaymentArrivingAfterExpiryIsRefunded(t *testing.T) {
	h := newHarness(t)
	// The release after expiry takes a while; the payment lands in the meantime.
	h.delay["ReleaseSeats"] = 5 * time.Second
	h.pay(10*time.Minute+2*time.Second, bus.PaymentSuccess, "")
	s := h.run()
	if s.Status != lifecycle.StatusExpired || !s.Refunded || h.rec.Status != payment.StatusRefunded || h.count("ConfirmSeats") != 0 {
		t.Fatalf("final state %+v calls %v record %+v", s, h.calls, h.rec)
	}
}

func TestCancelWhileWaitingForPaymentReleasesAndVoids(t *testing.T) {
	h := newHarness(t)
	var res *lifecycle.CancelResult
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(lifecycle.UpdateCancel, "cancel", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("cancel rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(v any, err error) { r, _ := v.(lifecycle.CancelResult); res = &r },
		})
	}, time.Minute)
	s := h.run()
	if s.Status != lifecycle.StatusCancelled || res == nil || res.Status != lifecycle.StatusCancelled || !res.Cancelled {
		t.Fatalf("final state %+v cancel answer %+v", s, res)
	}
	if h.count("ReleaseSeats") != 1 || h.count("RefundPayment") != 1 || h.count("ConfirmSeats") != 0 {
		t.Fatalf("calls %v", h.calls)
	}
	h.wantEmitted("booking.initiated", "seats.locked", "payment.requested", "seats.released", "booking.cancelled")
}

func TestCancelAndPaymentAtOnceEndConsistent(t *testing.T) {
	// Whichever the workflow sees first decides; the other must not leave "paid and released".
	h := newHarness(t)
	h.pay(time.Minute, bus.PaymentSuccess, "")
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(lifecycle.UpdateCancel, "cancel", &testsuite.TestUpdateCallback{
			OnReject: func(error) {}, OnAccept: func() {}, OnComplete: func(any, error) {}})
	}, time.Minute)
	s := h.run()
	if s.Status != lifecycle.StatusCancelled {
		t.Fatalf("final state %+v", s)
	}
	if h.count("ReleaseSeats") != 1 || h.rec.Status != payment.StatusRefunded || !s.Refunded {
		t.Fatalf("paid and released without a refund? calls %v state %+v", h.calls, s)
	}
}

func TestLegacyCancelConfirmedWorkflowRefundsAndReleases(t *testing.T) {
	env := newEnv()
	env.RegisterActivity(&activities.Activities{})
	var calls []string
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Maybe()
	env.OnActivity(a.RefundPayment, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.RefundRequest) (activities.RefundResult, error) {
		calls = append(calls, "refund")
		return activities.RefundResult{Refunded: true}, nil
	})
	env.OnActivity(a.ReleaseSeats, mock.Anything, mock.Anything).Return(func(_ context.Context, r activities.SeatsRequest) error {
		calls = append(calls, "release")
		return nil
	})
	env.OnActivity(a.RecordStatus, mock.Anything, mock.Anything).Return(func(_ context.Context, c activities.StatusChange) error {
		calls = append(calls, "record:"+c.Status)
		return nil
	})
	env.OnActivity(a.Emit, mock.Anything, mock.Anything).Return(nil)
	env.ExecuteWorkflow(CancelConfirmedBookingWorkflow, lifecycle.CancelConfirmedInput{BookingID: bookingID, UserID: "u-1",
		EventID: input().EventID, SeatIDs: input().SeatIDs})
	var res lifecycle.CancelResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != lifecycle.StatusCancelled || !res.Refunded || strings.Join(calls, ",") != "refund,release,record:CANCELLED" {
		t.Fatalf("result %+v calls %v", res, calls)
	}
}

func TestTransientHoldFailuresAreRetried(t *testing.T) {
	h := newHarness(t)
	h.onSeats("DecideHold", func(n int) error {
		if n <= 2 {
			return errors.New("inventory: connection refused")
		}
		return nil
	})
	h.pay(time.Second, bus.PaymentSuccess, "")
	s := h.run()
	if s.Status != lifecycle.StatusConfirmed || h.count("DecideHold") != 3 {
		t.Fatalf("final state %+v calls %v", s, h.calls)
	}
}

func TestACompensationThatFailsTwiceIsRetriedUntilItSucceeds(t *testing.T) {
	h := newHarness(t)
	h.onSeats("ReleaseSeats", func(n int) error {
		if n <= 2 {
			return errors.New("inventory restarting")
		}
		return nil
	})
	h.pay(time.Second, bus.PaymentFailed, "card declined")
	s := h.run()
	if s.Status != lifecycle.StatusFailed || h.count("ReleaseSeats") != 3 {
		t.Fatalf("final state %+v calls %v", s, h.calls)
	}
}

func TestDuplicatePaymentResultsAreAppliedOnce(t *testing.T) {
	h := newHarness(t)
	h.pay(time.Second, bus.PaymentSuccess, "")
	h.pay(time.Second, bus.PaymentSuccess, "")
	h.pay(2*time.Second, bus.PaymentSuccess, "")
	s := h.run()
	if s.Status != lifecycle.StatusConfirmed || h.count("ConfirmSeats") != 1 || h.count("RecordStatus:CONFIRMED") != 1 ||
		h.count("RefundPayment") != 0 {
		t.Fatalf("final state %+v calls %v", s, h.calls)
	}
}

func TestHoldLostAfterExpiryRefundsAndFails(t *testing.T) {
	h := newHarness(t)
	h.onSeats("ConfirmSeats", func(int) error {
		return temporal.NewNonRetryableApplicationError("lost", activities.ErrHoldLost, nil)
	})
	h.pay(time.Second, bus.PaymentSuccess, "")
	s := h.run()
	if s.Status != lifecycle.StatusFailed || !s.Refunded || h.rec.Status != payment.StatusRefunded {
		t.Fatalf("final state %+v calls %v", s, h.calls)
	}
}

func TestSearchAttributeFollowsTheStatus(t *testing.T) {
	h := newHarness(t)
	h.pay(time.Second, bus.PaymentFailed, "card declined")
	h.run()
	if strings.Join(h.upserts, ",") != lifecycle.StatusFailed {
		t.Fatalf("BookingStatus upserts %v", h.upserts)
	}
}

func TestABookingAnnouncedByAnotherProducerIsNotAnnouncedAgain(t *testing.T) {
	h := newHarness(t)
	h.pay(time.Second, bus.PaymentSuccess, "")
	in := input()
	in.Announced = true
	if s := h.runWith(in); s.Status != lifecycle.StatusConfirmed {
		t.Fatalf("final state %+v", s)
	}
	h.wantEmitted("seats.locked", "payment.requested", "booking.confirmed")
}
