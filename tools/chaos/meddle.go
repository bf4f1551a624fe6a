package chaos

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/temporalclient"
	"ticketflow/services/payment"
	"ticketflow/tools/devstack"
)

// meddler does to held bookings what operators and other teams' producers do, while the run goes
// on: cancels and terminates their workflows in Temporal, publishes payment results that do not
// match the payment of record (another amount, another payment id), re-publishes real results
// under new eventIds, and makes captures nobody expected for bookings the buyer cancelled.
type meddler struct {
	cfg      *devstack.Settings
	opt      Options
	out      io.Writer
	temporal client.Client
	kafka    *bus.Writer
	payments *payment.Client

	mu sync.Mutex
	// forged are the eventIds of results sent to be dead-lettered (the audit expects them).
	forged map[string]bool
	// captures are the stray captures made, by provider reference, with their booking.
	captures map[string]string
	counts   map[string]int
}

func newMeddler(ctx context.Context, cfg *devstack.Settings, opt Options, out io.Writer) (*meddler, error) {
	tc, err := temporalclient.Dial(ctx, cfg.Config)
	if err != nil {
		return nil, err
	}
	token := auth.InternalToken([]byte(cfg.JWTSecret))
	return &meddler{cfg: cfg, opt: opt, out: out, temporal: tc, kafka: bus.NewWriter(cfg.KafkaBrokers, "chaos"),
		payments: payment.NewClient(cfg.Endpoints[config.Payment], token, 10*time.Second),
		forged:   map[string]bool{}, captures: map[string]string{}, counts: map[string]int{}}, nil
}

func (m *meddler) close() {
	m.temporal.Close()
	_ = m.kafka.Close()
}

func (m *meddler) count(what string) {
	m.mu.Lock()
	m.counts[what]++
	m.mu.Unlock()
}

// held is called for each booking whose seats were held; it may meddle with it, later.
func (m *meddler) held(ctx context.Context, bookingID string, amount int64, currency string) {
	switch r := rand.Float64(); {
	case r < m.opt.TemporalCancels:
		m.later(ctx, func() error {
			m.count("cancelled in Temporal")
			return m.temporal.CancelWorkflow(ctx, lifecycle.WorkflowID(bookingID), "")
		})
	case r < m.opt.TemporalCancels+m.opt.Terminates:
		m.later(ctx, func() error {
			m.count("terminated in Temporal")
			return m.temporal.TerminateWorkflow(ctx, lifecycle.WorkflowID(bookingID), "", "chaos: terminated by an operator")
		})
	case r < m.opt.TemporalCancels+m.opt.Terminates+m.opt.Forge:
		m.later(ctx, func() error { return m.forge(ctx, bookingID, amount, currency) })
	}
}

// cancelled is called for each booking the buyer cancelled: some get a capture nobody expected.
func (m *meddler) cancelled(ctx context.Context, bookingID string, amount int64, currency string) {
	if rand.Float64() < m.opt.LateCaptures {
		m.later(ctx, func() error { return m.lateCapture(ctx, bookingID, amount, currency) })
	}
}

// later runs f after a random pause (0.2 to 3 s), reporting a failure.
func (m *meddler) later(ctx context.Context, f func() error) {
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(200+rand.IntN(2800)) * time.Millisecond):
		}
		if err := f(); err != nil && ctx.Err() == nil {
			fmt.Fprintf(m.out, "  meddle: %v\n", err)
		}
	}()
}

// forge publishes payment results that are not the payment of record (to be dead-lettered), and a
// real one again under a new eventId (to be recognised as the same payment).
func (m *meddler) forge(ctx context.Context, bookingID string, amount int64, currency string) error {
	claims := []bus.PaymentProcessed{
		{BookingID: bookingID, PaymentID: ids.New(), Status: bus.PaymentSuccess, AmountMinor: 1, Currency: currency,
			ProviderRef: "forged_" + ids.New()[:8]},
		{BookingID: bookingID, PaymentID: ids.New(), Status: bus.PaymentSuccess, AmountMinor: amount, Currency: currency,
			ProviderRef: "forged_" + ids.New()[:8]},
	}
	for _, c := range claims {
		if err := m.publish(ctx, c, true); err != nil {
			return err
		}
	}
	m.count("forged payment results")
	// Only a payment that was requested has a result to re-send: a booking given up before its
	// payment was requested holds a placeholder (FAILED, no amount, no currency) that the payment
	// service never announced, and a "real" result made from it would be malformed.
	if rec, err := m.payments.Record(ctx, bookingID); err == nil && rec.Settled() && rec.Currency != "" {
		m.count("real results re-sent")
		return m.publish(ctx, rec.Result(), false)
	}
	return nil
}

// lateCapture makes the provider capture money for a cancelled booking outside its payment, and
// publishes that success: it must be refunded, and change nothing else.
func (m *meddler) lateCapture(ctx context.Context, bookingID string, amount int64, currency string) error {
	res, err := m.payments.MockCapture(ctx, payment.MockCapture{Key: bookingID, AmountMinor: amount, Currency: currency})
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.captures[res.ProviderRef] = bookingID
	m.mu.Unlock()
	m.count("late captures")
	return m.publish(ctx, bus.PaymentProcessed{BookingID: bookingID, PaymentID: ids.New(), Status: bus.PaymentSuccess,
		AmountMinor: amount, Currency: currency, ProviderRef: res.ProviderRef}, false)
}

func (m *meddler) publish(ctx context.Context, p bus.PaymentProcessed, forged bool) error {
	eventID := "chaos:" + ids.New()
	msg, err := bus.NewMessage(bus.TopicPaymentProcessed, p.BookingID, eventID, time.Now(), p)
	if err != nil {
		return err
	}
	if forged {
		m.mu.Lock()
		m.forged[eventID] = true
		m.mu.Unlock()
	}
	for attempt := 0; ; attempt++ {
		err = m.kafka.Publish(ctx, msg)
		if err == nil || attempt == 20 || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Second) // the broker may be down: it is killed in turn too
	}
}

// capturesRefunded counts the stray captures that were refunded by their reference.
func (m *meddler) capturesRefunded(ctx context.Context, st interface {
	StrayRefunds(ctx context.Context, refs []string) (int, error)
}) (refunded, made int, err error) {
	m.mu.Lock()
	refs := make([]string, 0, len(m.captures))
	for ref := range m.captures {
		refs = append(refs, ref)
	}
	m.mu.Unlock()
	if len(refs) == 0 {
		return 0, 0, nil
	}
	deadline := time.Now().Add(time.Minute)
	for {
		refunded, err = st.StrayRefunds(ctx, refs)
		if err != nil || refunded == len(refs) || time.Now().After(deadline) {
			return refunded, len(refs), err
		}
		time.Sleep(time.Second)
	}
}
