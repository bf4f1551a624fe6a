//go:build integration

package server

// These tests run the payment service's code against the real local stack: FerretDB (a database
// of their own, dropped afterwards) and Kafka. What the service publishes goes to topics the test
// creates and deletes, not to the shared contract topics, so the running saga never sees the
// test's made-up bookings; the envelope (eventType, eventId, key) is exactly what production sends.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.mongodb.org/mongo-driver/v2/bson"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/mongodb"
	"ticketflow/internal/mongodb/mongodbtest"
	"ticketflow/internal/router"
	"ticketflow/services/payment"
)

func uniq() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// countingProvider counts the calls that reach the provider, per idempotency key.
type countingProvider struct {
	Provider
	mu       sync.Mutex
	charges  map[string]int
	approved map[string]bool
	refunds  map[string]int
}

func (c *countingProvider) Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error) {
	res, err := c.Provider.Charge(ctx, req)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.charges[req.IdempotencyKey]++
	if err == nil && res.Approved {
		c.approved[req.IdempotencyKey] = true
	}
	return res, err
}

func (c *countingProvider) Refund(ctx context.Context, req ChargeRefund) (ChargeRefundResult, error) {
	res, err := c.Provider.Refund(ctx, req)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refunds[req.ChargeRef]++
	return res, err
}

func (c *countingProvider) counts(key, chargeRef string) (charges, refunds int, approved bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.charges[key], c.refunds[chargeRef], c.approved[key]
}

// redirect publishes through the real writer to the test's own topics.
type redirect struct {
	w  *bus.Writer
	to map[string]string
}

func (r *redirect) Publish(ctx context.Context, msgs ...bus.Message) error {
	out, err := r.redirected(msgs)
	if err != nil {
		return err
	}
	return r.w.Publish(ctx, out...)
}

func (r *redirect) PublishChecked(ctx context.Context, msgs ...bus.Message) error {
	out, err := r.redirected(msgs)
	if err != nil {
		return err
	}
	return r.w.PublishChecked(ctx, out...)
}

func (r *redirect) redirected(msgs []bus.Message) ([]bus.Message, error) {
	out := make([]bus.Message, len(msgs))
	for i, m := range msgs {
		t, ok := r.to[m.Topic]
		if !ok {
			return nil, errors.New("test publishes to an unexpected topic " + m.Topic)
		}
		m.Topic = t
		out[i] = m
	}
	return out, nil
}

// unreachable is a broker that refuses every publish, as Kafka does while it is down.
type unreachable struct{}

func (unreachable) Publish(context.Context, ...bus.Message) error {
	return errors.New("kafka: broker unreachable")
}
func (unreachable) PublishChecked(context.Context, ...bus.Message) error {
	return errors.New("kafka: broker unreachable")
}

type harness struct {
	t        *testing.T
	ctx      context.Context
	cfg      *config.Config
	store    *store
	provider *countingProvider
	writer   *bus.Writer
	svc      *service
	topics   map[string]string // contract topic -> this test's topic
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	db := mongodbtest.Database(t, ctx, cfg, "ticketflow_payments_test_")
	st := newStore(db)
	if err := st.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	suffix := uniq()
	topics := map[string]string{
		bus.TopicPaymentRequested: "test.payment.requested." + suffix,
		bus.TopicPaymentProcessed: "test.payment.processed." + suffix,
		bus.TopicPaymentRefunded:  "test.payment.refunded." + suffix,
	}
	all := []string{bus.DLT(topics[bus.TopicPaymentRequested])}
	for _, tp := range topics {
		all = append(all, tp)
	}
	createTopics(t, ctx, cfg, all...)
	w := bus.NewWriter(cfg.KafkaBrokers, "payment-test")
	t.Cleanup(func() { _ = w.Close() })
	prov := &countingProvider{Provider: NewMockProvider(cfg.ProviderLatency), charges: map[string]int{},
		approved: map[string]bool{}, refunds: map[string]int{}}
	return &harness{t: t, ctx: ctx, cfg: cfg, store: st, provider: prov, writer: w,
		svc: newService(st, prov, &redirect{w: w, to: topics}), topics: topics}
}

func createTopics(t *testing.T, ctx context.Context, cfg *config.Config, names ...string) {
	t.Helper()
	admin := &kafka.Client{Addr: kafka.TCP(cfg.KafkaBrokers...)}
	var tc []kafka.TopicConfig
	for _, n := range names {
		tc = append(tc, kafka.TopicConfig{Topic: n, NumPartitions: 1, ReplicationFactor: 1})
	}
	res, err := admin.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: tc})
	if err != nil {
		t.Fatal(err)
	}
	for n, err := range res.Errors {
		if err != nil {
			t.Fatalf("create topic %s: %v", n, err)
		}
	}
	t.Cleanup(func() { _, _ = admin.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: names}) })
	// A new topic takes a moment to get its leader.
	for _, n := range names {
		deadline := time.Now().Add(15 * time.Second)
		for {
			conn, err := kafka.DialLeader(ctx, "tcp", cfg.KafkaBrokers[0], n, 0)
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("topic %s has no leader: %v", n, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// published reads everything on the test's copy of a contract topic: exactly want messages, and
// then nothing more for a while.
func (h *harness) published(topic string, want int) []kafka.Message {
	h.t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: h.cfg.KafkaBrokers, Topic: h.topics[topic], Partition: 0,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var out []kafka.Message
	for len(out) < want {
		ctx, cancel := context.WithTimeout(h.ctx, 15*time.Second)
		m, err := r.ReadMessage(ctx)
		cancel()
		if err != nil {
			h.t.Fatalf("%s: read %d of %d messages: %v", topic, len(out), want, err)
		}
		out = append(out, m)
	}
	ctx, cancel := context.WithTimeout(h.ctx, 700*time.Millisecond)
	defer cancel()
	if m, err := r.ReadMessage(ctx); err == nil {
		h.t.Fatalf("%s: more than %d messages; extra: %s", topic, want, m.Value)
	}
	return out
}

func (h *harness) request(token string) (kafka.Message, bus.PaymentRequested) {
	h.t.Helper()
	req := bus.PaymentRequested{BookingID: ids.New(), UserID: ids.New(), AmountMinor: 15000, Currency: "EUR",
		PaymentMethodToken: token, IdempotencyKey: "pay-" + uniq()}
	return h.encode(req), req
}

func (h *harness) encode(req bus.PaymentRequested) kafka.Message {
	h.t.Helper()
	msg, err := bus.NewMessage(bus.TopicPaymentRequested, req.BookingID, bus.FactID(req.BookingID, bus.TopicPaymentRequested),
		time.Now(), req)
	if err != nil {
		h.t.Fatal(err)
	}
	km, err := msg.Kafka()
	if err != nil {
		h.t.Fatal(err)
	}
	return km
}

func (h *harness) payment(bookingID string) *Payment {
	h.t.Helper()
	p, err := h.store.paymentOfBooking(h.ctx, bookingID)
	if err != nil {
		h.t.Fatalf("payment of %s: %v", bookingID, err)
	}
	return p
}

func (h *harness) count(coll string, filter bson.M) int64 {
	h.t.Helper()
	c := h.store.payments
	if coll == "refunds" {
		c = h.store.refunds
	}
	n, err := c.CountDocuments(h.ctx, filter)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func decodeProcessed(t *testing.T, m kafka.Message) (bus.Envelope, bus.PaymentProcessed) {
	t.Helper()
	env, err := bus.DecodeEnvelope(bus.TopicPaymentProcessed, m.Value)
	if err != nil {
		t.Fatal(err)
	}
	var p bus.PaymentProcessed
	if err := bus.DecodePayload(env, &p); err != nil {
		t.Fatal(err)
	}
	return env, p
}

// A restart creates the indexes again over the existing ones.
func TestIndexesSurviveARestart(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 2; i++ {
		if err := h.store.EnsureIndexes(h.ctx); err != nil {
			t.Fatalf("EnsureIndexes again (%d): %v", i+1, err)
		}
	}
}

// A request delivered again (its offset commit was lost with the broker) charges once, and its
// outcome is on the topic once.
func TestRequestHandledTwiceChargesOnceAndPublishesTheFactOnce(t *testing.T) {
	h := newHarness(t)
	m, req := h.request(TokenVisa)
	for i := 0; i < 3; i++ {
		if err := consume(h.ctx, h.svc, m); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	p := h.payment(req.BookingID)
	if p.Status != payment.StatusSucceeded || p.UserID != req.UserID || p.AmountMinor != 15000 || p.Currency != "EUR" ||
		!strings.HasPrefix(p.ProviderRef, "mock_ch_") || p.IdempotencyKey != req.IdempotencyKey {
		t.Fatalf("payment %+v", p)
	}
	if n := h.count("payments", bson.M{"bookingId": req.BookingID}); n != 1 {
		t.Fatalf("%d payments for the booking, want 1", n)
	}
	if charges, _, _ := h.provider.counts(req.IdempotencyKey, ""); charges != 1 {
		t.Fatalf("provider charged %d times, want 1", charges)
	}
	msgs := h.published(bus.TopicPaymentProcessed, 1)
	if string(msgs[0].Key) != req.BookingID {
		t.Fatalf("key %q, want the booking id", msgs[0].Key)
	}
	env, pl := decodeProcessed(t, msgs[0])
	if env.EventID != req.BookingID+":payment.processed" || env.EventType != "payment.processed" ||
		!env.OccurredAt.Equal(p.UpdatedAt) {
		t.Fatalf("envelope %+v (payment updatedAt %s)", env, p.UpdatedAt)
	}
	if pl.Status != bus.PaymentSuccess || pl.PaymentID != p.ID || pl.ProviderRef != p.ProviderRef || pl.AmountMinor != 15000 {
		t.Fatalf("payload %+v", pl)
	}
}

// A payment settled by a process whose publish failed (Kafka down, or the process died) is
// announced by the redelivery, once, with the same fact.
func TestOutcomeNotPublishedIsSentByTheRedeliveryOnce(t *testing.T) {
	h := newHarness(t)
	m, req := h.request(TokenVisa)
	down := newService(h.store, h.provider, unreachable{})
	if err := consume(h.ctx, down, m); err == nil {
		t.Fatal("a delivery whose publish failed reported success: it would not be redelivered")
	}
	if p := h.payment(req.BookingID); p.Status != payment.StatusSucceeded {
		t.Fatalf("payment %s after the charge, want SUCCEEDED stored before the publish", p.Status)
	}
	for i := 0; i < 2; i++ {
		if err := consume(h.ctx, h.svc, m); err != nil {
			t.Fatalf("redelivery %d: %v", i+1, err)
		}
	}
	if charges, _, _ := h.provider.counts(req.IdempotencyKey, ""); charges != 1 {
		t.Fatalf("provider charged %d times, want 1", charges)
	}
	_, pl := decodeProcessed(t, h.published(bus.TopicPaymentProcessed, 1)[0])
	if pl.Status != bus.PaymentSuccess || pl.BookingID != req.BookingID {
		t.Fatalf("payload %+v", pl)
	}
}

func TestDeclinedCardFailsThePaymentAndSaysSo(t *testing.T) {
	h := newHarness(t)
	m, req := h.request(TokenDeclined)
	if err := consume(h.ctx, h.svc, m); err != nil {
		t.Fatal(err)
	}
	// A redelivery with another card under the same key still gets the first answer.
	again := req
	again.PaymentMethodToken = TokenVisa
	if err := consume(h.ctx, h.svc, h.encode(again)); err != nil {
		t.Fatal(err)
	}
	p := h.payment(req.BookingID)
	if p.Status != payment.StatusFailed || p.FailureReason != "card declined" {
		t.Fatalf("payment %+v", p)
	}
	msgs := h.published(bus.TopicPaymentProcessed, 1) // the redelivery finds its fact sent
	_, pl := decodeProcessed(t, msgs[0])
	if pl.Status != bus.PaymentFailed || pl.FailureReason != "card declined" {
		t.Fatalf("payload %+v", pl)
	}
	m2, req2 := h.request("tok_bogus")
	if err := consume(h.ctx, h.svc, m2); err != nil {
		t.Fatal(err)
	}
	if p := h.payment(req2.BookingID); p.Status != payment.StatusFailed || p.FailureReason != "invalid payment token" {
		t.Fatalf("unknown token: %+v", p)
	}
}

func TestNoResponsePublishesNothingAndAVoidSettlesIt(t *testing.T) {
	h := newHarness(t)
	m, req := h.request(TokenNoResponse)
	if err := consume(h.ctx, h.svc, m); err != nil {
		t.Fatalf("no response must be committed, not retried: %v", err)
	}
	if p := h.payment(req.BookingID); p.Status != payment.StatusPending {
		t.Fatalf("payment %+v, want PENDING", p)
	}
	h.published(bus.TopicPaymentProcessed, 0)

	// The hold expired: the saga voids the payment. No money moved, so nothing is refunded.
	out, err := h.svc.refundBooking(h.ctx, req.BookingID, "hold expired")
	if err != nil {
		t.Fatal(err)
	}
	p := h.payment(req.BookingID)
	if out.Refunded || !out.Voided || out.PaymentID != p.ID || p.Status != payment.StatusFailed || p.FailureReason != "voided: hold expired" {
		t.Fatalf("outcome %+v, payment %+v", out, p)
	}
	// A late redelivery is not charged: it re-announces the FAILED payment.
	if err := consume(h.ctx, h.svc, m); err != nil {
		t.Fatal(err)
	}
	if charges, _, _ := h.provider.counts(req.IdempotencyKey, ""); charges != 1 {
		t.Fatalf("provider asked %d times, want 1 (the unanswered one)", charges)
	}
	_, pl := decodeProcessed(t, h.published(bus.TopicPaymentProcessed, 1)[0])
	if pl.Status != bus.PaymentFailed || pl.FailureReason != "voided: hold expired" {
		t.Fatalf("payload %+v", pl)
	}
	if again, err := h.svc.refundBooking(h.ctx, req.BookingID, "hold expired"); err != nil || again != out {
		t.Fatalf("second void: %+v, %v; want %+v", again, err, out)
	}
	h.published(bus.TopicPaymentRefunded, 0)
}

func TestRefundTwiceRefundsOnce(t *testing.T) {
	h := newHarness(t)
	m, req := h.request(TokenVisa)
	if err := consume(h.ctx, h.svc, m); err != nil {
		t.Fatal(err)
	}
	p := h.payment(req.BookingID)
	var outs []payment.RefundOutcome
	for _, reason := range []string{"cancelled by user", "cancelled again"} {
		out, err := h.svc.refundBooking(h.ctx, req.BookingID, reason)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	want := payment.RefundOutcome{Refunded: true, PaymentID: p.ID, Status: payment.StatusRefunded}
	if outs[0] != want || outs[1] != want {
		t.Fatalf("outcomes %+v, want %+v twice", outs, want)
	}
	if _, refunds, _ := h.provider.counts(req.IdempotencyKey, p.ProviderRef); refunds != 1 {
		t.Fatalf("provider refunded %d times, want 1", refunds)
	}
	if n := h.count("refunds", bson.M{"_id": req.BookingID}); n != 1 {
		t.Fatalf("%d refunds, want 1", n)
	}
	r, err := h.store.refund(h.ctx, req.BookingID)
	if err != nil {
		t.Fatal(err)
	}
	if r.PaymentID != p.ID || r.AmountMinor != 15000 || r.Reason != "cancelled by user" || !strings.HasPrefix(r.ProviderRef, "mock_re_") {
		t.Fatalf("refund %+v", r)
	}
	if got := h.payment(req.BookingID); got.Status != payment.StatusRefunded {
		t.Fatalf("payment %+v", got)
	}
	msgs := h.published(bus.TopicPaymentRefunded, 1) // the second refund finds its fact sent
	env, err := bus.DecodeEnvelope(bus.TopicPaymentRefunded, msgs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	var pl bus.PaymentRefunded
	if err := bus.DecodePayload(env, &pl); err != nil {
		t.Fatal(err)
	}
	if env.EventID != req.BookingID+":payment.refunded" || pl.ProviderRef != r.ProviderRef || pl.Reason != "cancelled by user" {
		t.Fatalf("envelope %+v payload %+v", env, pl)
	}
	// A redelivered request for the refunded booking charges nothing and finds its old fact sent.
	if err := consume(h.ctx, h.svc, m); err != nil {
		t.Fatal(err)
	}
	if charges, _, _ := h.provider.counts(req.IdempotencyKey, ""); charges != 1 {
		t.Fatalf("charged %d times", charges)
	}
	h.published(bus.TopicPaymentProcessed, 1)
}

func TestRefundOfAFailedOrUnknownPaymentMovesNoMoney(t *testing.T) {
	h := newHarness(t)
	m, req := h.request(TokenDeclined)
	if err := consume(h.ctx, h.svc, m); err != nil {
		t.Fatal(err)
	}
	out, err := h.svc.refundBooking(h.ctx, req.BookingID, "payment failed")
	if err != nil || out.Refunded || out.Voided || out.Status != payment.StatusFailed {
		t.Fatalf("failed payment: %+v, %v", out, err)
	}
	if h.payment(req.BookingID).FailureReason != "card declined" {
		t.Fatal("refund changed a failed payment")
	}
	h.published(bus.TopicPaymentRefunded, 0)
}

func TestVoidBeforeTheRequestRefusesTheLateCharge(t *testing.T) {
	h := newHarness(t)
	m, req := h.request(TokenVisa)
	out, err := h.svc.refundBooking(h.ctx, req.BookingID, "cancelled by user")
	if err != nil || out.Refunded || !out.Voided {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	again, err := h.svc.refundBooking(h.ctx, req.BookingID, "cancelled by user")
	if err != nil || again != out {
		t.Fatalf("second call %+v, %v; want %+v", again, err, out)
	}
	for i := 0; i < 2; i++ {
		if err := consume(h.ctx, h.svc, m); err != nil {
			t.Fatal(err)
		}
	}
	if charges, _, _ := h.provider.counts(req.IdempotencyKey, ""); charges != 0 {
		t.Fatalf("a booking given up was charged %d times", charges)
	}
	p := h.payment(req.BookingID)
	if p.Status != payment.StatusFailed || p.UserID != req.UserID || p.AmountMinor != 15000 || p.Currency != "EUR" || p.Placeholder {
		t.Fatalf("payment %+v", p)
	}
	msgs := h.published(bus.TopicPaymentProcessed, 1)
	_, pl := decodeProcessed(t, msgs[0])
	if pl.Status != bus.PaymentFailed || pl.FailureReason != "voided: cancelled by user" {
		t.Fatalf("payload %+v", pl)
	}
}

func TestAnIdempotencyKeyCannotChargeAnotherBooking(t *testing.T) {
	h := newHarness(t)
	m, req := h.request(TokenVisa)
	if err := consume(h.ctx, h.svc, m); err != nil {
		t.Fatal(err)
	}
	other := req
	other.BookingID = ids.New()
	err := consume(h.ctx, h.svc, h.encode(other))
	if !errors.Is(err, bus.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed (dead-letter it)", err)
	}
	if _, err := h.store.paymentOfBooking(h.ctx, other.BookingID); !mongodb.NotFound(err) {
		t.Fatalf("a payment was made for the other booking: %v", err)
	}
	// The same booking re-requested under a new key is still its one payment.
	sameBooking := req
	sameBooking.IdempotencyKey = "pay-" + uniq()
	if err := consume(h.ctx, h.svc, h.encode(sameBooking)); err != nil {
		t.Fatal(err)
	}
	if n := h.count("payments", bson.M{"bookingId": req.BookingID}); n != 1 {
		t.Fatalf("%d payments for one booking", n)
	}
	if charges, _, _ := h.provider.counts(sameBooking.IdempotencyKey, ""); charges != 0 {
		t.Fatal("a new key for a paid booking charged it again")
	}
}

// Refunds come over HTTP while the consumer may be charging the same booking. Whoever goes first,
// no booking ends with money taken and not given back.
func TestRefundRacingTheChargeNeverKeepsMoney(t *testing.T) {
	h := newHarness(t)
	raceChargeAndRefund(t, h, h.svc, h.svc)
}

// Two replicas of the payment service — two services on one store, as two processes are — race a
// booking's charge (one replica) against its refund (the other): exclusivity rests on the store's
// unique keys, not on a process lock, so each booking's money is settled once and given back once.
func TestTwoReplicasRacingChargeAndRefundSettleOnce(t *testing.T) {
	h := newHarness(t)
	other := newService(h.store, h.provider, &redirect{w: h.writer, to: h.topics})
	raceChargeAndRefund(t, h, h.svc, other)
}

// The interleaving the race above can produce, made on purpose: a replica applies its
// settlement after another has refunded the payment. The payment still reads REFUNDED (the refund
// document is the truth), and the stored status is brought back to it.
func TestALateApplyCannotMakeARefundedPaymentReadSucceeded(t *testing.T) {
	h := newHarness(t)
	m, req := h.request(TokenVisa)
	if err := consume(h.ctx, h.svc, m); err != nil {
		t.Fatal(err)
	}
	if out, err := h.svc.refundBooking(h.ctx, req.BookingID, "cancelled"); err != nil || !out.Refunded {
		t.Fatalf("refund: %+v %v", out, err)
	}
	p := h.payment(req.BookingID)
	// The late write of the settlement, as a stalled replica makes it.
	if _, err := h.store.payments.UpdateOne(h.ctx, bson.M{"_id": p.ID}, bson.M{"$set": bson.M{"status": payment.StatusSucceeded}}); err != nil {
		t.Fatal(err)
	}
	if got := h.payment(req.BookingID); got.Status != payment.StatusRefunded {
		t.Fatalf("after a late apply the payment reads %s", got.Status)
	}
	var stored Payment
	if err := h.store.payments.FindOne(h.ctx, bson.M{"_id": p.ID}).Decode(&stored); err != nil || stored.Status != payment.StatusRefunded {
		t.Fatalf("stored status %s (%v), want it repaired to REFUNDED", stored.Status, err)
	}
	// A SUCCEEDED payment with no refund stays SUCCEEDED.
	m2, req2 := h.request(TokenVisa)
	if err := consume(h.ctx, h.svc, m2); err != nil {
		t.Fatal(err)
	}
	if got := h.payment(req2.BookingID); got.Status != payment.StatusSucceeded {
		t.Fatalf("a kept payment reads %s", got.Status)
	}
}

func raceChargeAndRefund(t *testing.T, h *harness, charger, refunder *service) {
	type run struct {
		req bus.PaymentRequested
		out payment.RefundOutcome
	}
	runs := make([]*run, 12)
	var wg sync.WaitGroup
	for i := range runs {
		m, req := h.request(TokenVisa)
		r := &run{req: req}
		runs[i] = r
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := consume(h.ctx, charger, m); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				time.Sleep(h.cfg.ProviderLatency / 2) // land in the middle of the charge
			}
			out, err := refunder.refundBooking(h.ctx, req.BookingID, "cancelled")
			if err != nil {
				t.Error(err)
			}
			r.out = out
		}()
	}
	wg.Wait()
	refunded, voided, voidedMidCharge := 0, 0, 0
	for _, r := range runs {
		p := h.payment(r.req.BookingID)
		charges, refunds, approved := h.provider.counts(r.req.IdempotencyKey, p.ProviderRef)
		var refundRecords int64
		if p.voided() && approved {
			refundRecords, _ = h.store.refunds.CountDocuments(h.ctx, bson.M{"_id": r.req.BookingID})
		}
		switch {
		case p.Status == payment.StatusRefunded && approved && refunds == 1 && r.out.Refunded:
			refunded++
		case p.Status == payment.StatusFailed && p.voided() && !approved && charges == 0 && r.out.Voided:
			voided++
		case p.Status == payment.StatusRefunded && p.voided() && approved && r.out.Voided && refundRecords == 1 &&
			p.ProviderRef != "" && p.RefundRef != "":
			// Voided while the provider was charging: the capture was given back by its reference,
			// and the record says so (REFUNDED, with the capture's and the refund's references).
			voidedMidCharge++
		default:
			t.Errorf("booking %s: payment %+v, outcome %+v, charges %d approved %v refunds %d",
				r.req.BookingID, p, r.out, charges, approved, refunds)
		}
	}
	t.Logf("%d charged then refunded, %d voided before the charge, %d voided during it", refunded, voided, voidedMidCharge)
}

// The whole path over Kafka: the real consumer reads payment.requested (twice, and one message no
// one can read), charges once, publishes its fact once, and dead-letters the unreadable one.
func TestConsumerOverKafkaChargesOnceAndDeadLettersGarbage(t *testing.T) {
	h := newHarness(t)
	in := h.topics[bus.TopicPaymentRequested]
	m, req := h.request(TokenVisa)
	m.Topic = in
	garbage := kafka.Message{Topic: in, Key: []byte(req.BookingID), Value: []byte(`{"eventId":"x","eventType":"nope"}`)}
	if err := h.writer.PublishRaw(h.ctx, m, garbage, m); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.ctx)
	c := bus.NewConsumer(bus.ConsumerConfig{Brokers: h.cfg.KafkaBrokers, GroupID: "payment-test-" + uniq(), Topic: in,
		Handler: bus.Handle(bus.TopicPaymentRequested, h.svc.handlePaymentRequested), Lanes: consumerLanes, Attempts: 2, DLT: h.writer})
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	h.published(bus.TopicPaymentProcessed, 1)
	if charges, _, _ := h.provider.counts(req.IdempotencyKey, ""); charges != 1 {
		t.Fatalf("charged %d times", charges)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: h.cfg.KafkaBrokers, Topic: bus.DLT(in), Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	rctx, rcancel := context.WithTimeout(h.ctx, 20*time.Second)
	defer rcancel()
	dl, err := r.ReadMessage(rctx)
	if err != nil {
		t.Fatalf("nothing dead-lettered: %v", err)
	}
	if string(dl.Value) != string(garbage.Value) || !strings.Contains(bus.Header(dl, "dlt.reason"), "malformed") {
		t.Fatalf("dead letter %s, reason %q", dl.Value, bus.Header(dl, "dlt.reason"))
	}
}

func TestAPIOverTheRealStore(t *testing.T) {
	h := newHarness(t)
	m, req := h.request(TokenVisa)
	if err := consume(h.ctx, h.svc, m); err != nil {
		t.Fatal(err)
	}
	p := h.payment(req.BookingID)
	secret := []byte(h.cfg.JWTSecret)
	internal := auth.InternalToken(secret)
	router := router.NewRouter(h.cfg.MaxBodyBytes)
	(&api{svc: h.svc}).routes(router, secret, internal)
	token := func(userID, role string) string {
		s, _, err := auth.Sign(secret, auth.Identity{UserID: userID, Email: "x@example.com", Role: role}, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	call := func(method, path, authz, internalToken, body string) (int, map[string]any) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if internalToken != "" {
			r.Header.Set(httpapi.HeaderInternalToken, internalToken)
		}
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, r)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	owner, stranger, admin := token(req.UserID, auth.RoleUser), token(ids.New(), auth.RoleUser), token(ids.New(), auth.RoleAdmin)

	for _, path := range []string{"/api/payments/" + p.ID, "/api/payments/booking/" + req.BookingID} {
		for _, who := range []string{owner, admin} {
			code, body := call("GET", path, who, "", "")
			if code != http.StatusOK || body["id"] != p.ID || body["bookingId"] != req.BookingID || body["userId"] != req.UserID ||
				body["amountMinor"] != float64(15000) || body["currency"] != "EUR" || body["status"] != payment.StatusSucceeded ||
				body["providerRef"] != p.ProviderRef || body["failureReason"] != "" || body["createdAt"] == nil || body["updatedAt"] == nil {
				t.Fatalf("GET %s: %d %v", path, code, body)
			}
			if _, leaked := body["idempotencyKey"]; leaked || len(body) != 10 {
				t.Fatalf("GET %s shows more than the contract: %v", path, body)
			}
		}
		if code, body := call("GET", path, stranger, "", ""); code != http.StatusNotFound {
			t.Fatalf("stranger GET %s: %d %v", path, code, body)
		}
	}
	if code, _ := call("GET", "/api/payments/"+ids.New(), admin, "", ""); code != http.StatusNotFound {
		t.Fatalf("unknown payment: %d", code)
	}
	if code, body := call("GET", "/internal/payments/booking/"+req.BookingID, "", internal, ""); code != 200 || body["id"] != p.ID {
		t.Fatalf("internal GET: %d %v", code, body)
	}
	if code, _ := call("GET", "/internal/payments/booking/"+ids.New(), "", internal, ""); code != http.StatusNotFound {
		t.Fatalf("internal GET unknown: %d", code)
	}
	refund := `{"bookingId":"` + req.BookingID + `","reason":"cancelled by user"}`
	if code, _ := call("POST", "/internal/payments/refund", owner, "", refund); code != http.StatusNotFound {
		t.Fatalf("a user reached the internal refund: %d", code)
	}
	for i := 0; i < 2; i++ {
		code, body := call("POST", "/internal/payments/refund", "", internal, refund)
		if code != 200 || body["refunded"] != true || body["paymentId"] != p.ID {
			t.Fatalf("refund %d: %d %v", i+1, code, body)
		}
	}
	if code, body := call("GET", "/api/payments/"+p.ID, owner, "", ""); code != 200 || body["status"] != payment.StatusRefunded {
		t.Fatalf("after refund: %d %v", code, body)
	}
	code, body := call("POST", "/internal/payments/refund", "", internal, `{"bookingId":"`+ids.New()+`"}`)
	if code != 200 || body["refunded"] != false {
		t.Fatalf("refund of a booking without payment: %d %v", code, body)
	}
}

// A charge answered after its payment was voided was refunded, but the process died before the
// refund was announced: the redelivery announces it, once, and charges and refunds nothing more.
func TestAVoidRefundMadeButNotAnnouncedIsAnnouncedOnce(t *testing.T) {
	h := newHarness(t)
	m, req := h.request(TokenVisa)
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := &Payment{ID: paymentID(req.BookingID), BookingID: req.BookingID, UserID: req.UserID, AmountMinor: req.AmountMinor,
		Currency: req.Currency, Status: payment.StatusFailed, FailureReason: voidPrefix + "hold expired",
		IdempotencyKey: req.IdempotencyKey, ProviderRef: "mock_ch_late", SettledAt: now, CreatedAt: now, UpdatedAt: now}
	if err := h.store.insertPayment(h.ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := h.store.insertRefund(h.ctx, &Refund{BookingID: req.BookingID, PaymentID: p.ID, ChargeRef: "mock_ch_late",
		AmountMinor: req.AmountMinor, Currency: req.Currency, ProviderRef: "mock_re_late",
		Reason: "charge answered after its payment was voided", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := consume(h.ctx, h.svc, m); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	if charges, refunds, _ := h.provider.counts(req.IdempotencyKey, "mock_ch_late"); charges != 0 || refunds != 0 {
		t.Fatalf("provider charged %d and refunded %d times, want neither", charges, refunds)
	}
	env, err := bus.DecodeEnvelope(bus.TopicPaymentRefunded, h.published(bus.TopicPaymentRefunded, 1)[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	var pl bus.PaymentRefunded
	if err := bus.DecodePayload(env, &pl); err != nil {
		t.Fatal(err)
	}
	if pl.BookingID != req.BookingID || pl.ProviderRef != "mock_re_late" {
		t.Fatalf("refunded payload %+v", pl)
	}
	h.published(bus.TopicPaymentProcessed, 1)
}

// gatedProvider holds every charge until release is closed, so a test can void a payment while
// the provider is charging it.
type gatedProvider struct {
	Provider
	charging chan struct{} // closed when a charge has reached the provider
	release  chan struct{}
	once     sync.Once
}

func (g *gatedProvider) Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error) {
	g.once.Do(func() { close(g.charging) })
	<-g.release
	return g.Provider.Charge(ctx, req)
}

// A cancel that wins the race against the charge: the payment is voided while the provider is
// charging, the provider then answers with a capture, which is refunded. The payment of record
// tells that whole story — REFUNDED, with the capture's reference and the refund's — and agrees
// with payment.refunded, which announces the refund of that capture; payment.processed still says
// what settled the payment (the void). Before, the record stayed FAILED with no reference.
func TestAChargeAnsweredAfterItsVoidLeavesARecordOfTheCaptureAndItsRefund(t *testing.T) {
	h := newHarness(t)
	gate := &gatedProvider{Provider: h.provider, charging: make(chan struct{}), release: make(chan struct{})}
	svc := newService(h.store, gate, &redirect{w: h.writer, to: h.topics})
	m, req := h.request(TokenVisa)
	done := make(chan error, 1)
	go func() { done <- consume(h.ctx, svc, m) }()
	<-gate.charging
	out, err := svc.refundBooking(h.ctx, req.BookingID, "cancelled by the buyer")
	if err != nil || !out.Voided {
		t.Fatalf("void while charging: %+v %v", out, err)
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	p := h.payment(req.BookingID)
	charges, refunds, approved := h.provider.counts(req.IdempotencyKey, p.ProviderRef)
	if charges != 1 || !approved || refunds != 1 {
		t.Fatalf("provider: %d charges (approved %v), %d refunds of the capture", charges, approved, refunds)
	}
	if p.Status != payment.StatusRefunded || p.ProviderRef == "" || p.RefundRef == "" || !p.voided() {
		t.Fatalf("payment of record %+v: want REFUNDED, voided, with the capture's and the refund's references", p)
	}
	env, err := bus.DecodeEnvelope(bus.TopicPaymentRefunded, h.published(bus.TopicPaymentRefunded, 1)[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	var refunded bus.PaymentRefunded
	if err := bus.DecodePayload(env, &refunded); err != nil {
		t.Fatal(err)
	}
	if refunded.PaymentID != p.ID || refunded.ProviderRef != p.RefundRef || refunded.AmountMinor != p.AmountMinor {
		t.Fatalf("payment.refunded %+v does not match the record %+v", refunded, p)
	}
	_, processed := decodeProcessed(t, h.published(bus.TopicPaymentProcessed, 1)[0])
	if processed.Status != bus.PaymentFailed || processed.ProviderRef != "" {
		t.Fatalf("payment.processed %+v: the void settled the payment", processed)
	}
	// Asked again (a retried cancel), the refund is not made twice and the answer says refunded.
	if out, err := svc.refundBooking(h.ctx, req.BookingID, "cancelled by the buyer"); err != nil || !out.Refunded {
		t.Fatalf("refund again: %+v %v", out, err)
	}
	if _, refunds, _ := h.provider.counts(req.IdempotencyKey, p.ProviderRef); refunds != 1 {
		t.Fatalf("the capture was refunded %d times", refunds)
	}
}
