package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/router"
	"ticketflow/services/payment"
)

func TestProcessedMessageIsTheSameFactEveryTime(t *testing.T) {
	settled := time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC)
	p := &Payment{ID: ids.New(), BookingID: ids.New(), UserID: "u1", AmountMinor: 15000, Currency: "EUR",
		Status: payment.StatusSucceeded, ProviderRef: "mock_ch_0123456789abcdef", SettledAt: settled,
		UpdatedAt: settled, CreatedAt: settled.Add(-time.Second)}
	m1, err := processedMessage(p)
	if err != nil {
		t.Fatal(err)
	}
	// Refunding later changes the status and updatedAt, never the fact that was announced.
	refunded := *p
	refunded.Status, refunded.UpdatedAt = payment.StatusRefunded, settled.Add(time.Hour)
	m2, _ := processedMessage(&refunded)
	k1, _ := m1.Kafka()
	k2, _ := m2.Kafka()
	if string(k1.Value) != string(k2.Value) || string(k1.Key) != p.BookingID {
		t.Fatalf("re-sent fact differs:\n%s\n%s", k1.Value, k2.Value)
	}
	if m1.Topic != bus.TopicPaymentProcessed || m1.Envelope.EventID != p.BookingID+":payment.processed" ||
		!m1.Envelope.OccurredAt.Equal(settled) {
		t.Fatalf("message %+v", m1)
	}
	var pl bus.PaymentProcessed
	if err := bus.DecodePayload(m1.Envelope, &pl); err != nil {
		t.Fatal(err)
	}
	if pl.Status != bus.PaymentSuccess || pl.PaymentID != p.ID || pl.AmountMinor != 15000 || pl.ProviderRef != p.ProviderRef {
		t.Fatalf("payload %+v", pl)
	}

	failed := *p
	failed.Status, failed.FailureReason = payment.StatusFailed, "card declined"
	m3, _ := processedMessage(&failed)
	_ = bus.DecodePayload(m3.Envelope, &pl)
	if pl.Status != bus.PaymentFailed || pl.FailureReason != "card declined" {
		t.Fatalf("failed payload %+v", pl)
	}
}

func TestRefundedMessageComesFromTheStoredRefund(t *testing.T) {
	r := &Refund{BookingID: ids.New(), PaymentID: ids.New(), AmountMinor: 500, Currency: "EUR",
		ProviderRef: "mock_re_1", Reason: "cancelled", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	m, err := refundedMessage(r)
	if err != nil {
		t.Fatal(err)
	}
	var pl bus.PaymentRefunded
	if err := bus.DecodePayload(m.Envelope, &pl); err != nil {
		t.Fatal(err)
	}
	if m.Topic != bus.TopicPaymentRefunded || m.Key != r.BookingID || m.Envelope.EventID != r.BookingID+":payment.refunded" ||
		!m.Envelope.OccurredAt.Equal(r.CreatedAt) || pl.Reason != "cancelled" || pl.PaymentID != r.PaymentID {
		t.Fatalf("message %+v payload %+v", m, pl)
	}
}

// consume hands m to s as its payment.requested consumer does (Run): decoded by bus.Handle, then
// handlePaymentRequested.
func consume(ctx context.Context, s *service, m kafka.Message) error {
	return bus.Handle(bus.TopicPaymentRequested, s.handlePaymentRequested)(ctx, m)
}

func TestMalformedPaymentRequestsAreDeadLettered(t *testing.T) {
	s := &service{} // no store: a malformed message must be refused before anything is touched
	good := bus.PaymentRequested{BookingID: ids.New(), UserID: ids.New(), AmountMinor: 100, Currency: "EUR",
		PaymentMethodToken: TokenVisa, IdempotencyKey: "k"}
	encode := func(topic string, payload any) []byte {
		m, err := bus.NewMessage(topic, "k", "id-1", time.Now(), payload)
		if err != nil {
			t.Fatal(err)
		}
		km, _ := m.Kafka()
		return km.Value
	}
	bad := func(mut func(*bus.PaymentRequested)) []byte {
		p := good
		mut(&p)
		return encode(bus.TopicPaymentRequested, p)
	}
	cases := map[string][]byte{
		"not json":         []byte("{nope"),
		"wrong event type": encode(bus.TopicPaymentProcessed, good),
		"bad booking id":   bad(func(p *bus.PaymentRequested) { p.BookingID = "42" }),
		"negative amount":  bad(func(p *bus.PaymentRequested) { p.AmountMinor = -1 }),
		"bad currency":     bad(func(p *bus.PaymentRequested) { p.Currency = "euro" }),
		"no token":         bad(func(p *bus.PaymentRequested) { p.PaymentMethodToken = "" }),
		"no key":           bad(func(p *bus.PaymentRequested) { p.IdempotencyKey = "" }),
		"payload an array": []byte(`{"eventId":"x","eventType":"payment.requested","occurredAt":"2026-01-01T00:00:00Z","payload":[]}`),
	}
	for name, value := range cases {
		err := consume(context.Background(), s, kafka.Message{Key: []byte("k"), Value: value})
		if !errors.Is(err, bus.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestVisibleOnlyToOwnerOrAdmin(t *testing.T) {
	p := &Payment{UserID: "u1"}
	if !visible(p, auth.Identity{UserID: "u1", Role: auth.RoleUser}) || visible(p, auth.Identity{UserID: "u2", Role: auth.RoleUser}) ||
		!visible(p, auth.Identity{UserID: "u2", Role: auth.RoleAdmin}) {
		t.Fatal("owner check wrong")
	}
	// A placeholder has no owner yet: nobody but an admin sees it, even a caller with no user id.
	if visible(&Payment{}, auth.Identity{Role: auth.RoleUser}) {
		t.Fatal("placeholder visible to a user")
	}
}

// The API refuses what it can refuse before it touches the store (this router has none).
func TestAPIRefusesBadRequestsBeforeTheStore(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	token := auth.InternalToken(secret)
	r := router.NewRouter(1 << 20)
	(&api{svc: &service{}}).routes(r, secret, token)
	jwt, _, err := auth.Sign(secret, auth.Identity{UserID: ids.New(), Role: auth.RoleUser}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, auth, internal, body string
		status                                   int
		code                                     string
	}{
		{"no token", "GET", "/api/payments/" + ids.New(), "", "", "", 401, "UNAUTHORIZED"},
		{"bad token", "GET", "/api/payments/" + ids.New(), "Bearer nope", "", "", 401, "UNAUTHORIZED"},
		{"malformed id", "GET", "/api/payments/not-a-uuid", "Bearer " + jwt, "", "", 404, "NOT_FOUND"},
		{"upper-case id", "GET", "/api/payments/" + strings.ToUpper(ids.New()), "Bearer " + jwt, "", "", 404, "NOT_FOUND"},
		{"malformed booking id", "GET", "/api/payments/booking/x'%20OR%201=1", "Bearer " + jwt, "", "", 404, "NOT_FOUND"},
		{"internal without token", "POST", "/internal/payments/refund", "", "", `{"bookingId":"` + ids.New() + `"}`, 404, "NOT_FOUND"},
		{"internal with a user's JWT", "GET", "/internal/payments/booking/" + ids.New(), "Bearer " + jwt, "", "", 404, "NOT_FOUND"},
		{"internal malformed booking", "GET", "/internal/payments/booking/nope", "", token, "", 404, "NOT_FOUND"},
		{"refund bad json", "POST", "/internal/payments/refund", "", token, `{"bookingId":`, 400, "VALIDATION_ERROR"},
		{"refund unknown field", "POST", "/internal/payments/refund", "", token, `{"bookingId":"` + ids.New() + `","amountMinor":1}`, 400, "VALIDATION_ERROR"},
		{"refund bad booking id", "POST", "/internal/payments/refund", "", token, `{"bookingId":"b1","reason":"x"}`, 400, "VALIDATION_ERROR"},
		{"refund reason not a string", "POST", "/internal/payments/refund", "", token, `{"bookingId":"` + ids.New() + `","reason":7}`, 400, "VALIDATION_ERROR"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			if c.internal != "" {
				req.Header.Set(httpapi.HeaderInternalToken, c.internal)
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			var env struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &env)
			if rec.Code != c.status || env.Error.Code != c.code {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, c.status, c.code)
			}
		})
	}
}

func TestRefundReasonsAreTidiedNotRefused(t *testing.T) {
	cases := map[string]string{
		"":                            "requested",
		"  \t ":                       "requested",
		"cancelled by the buyer":      "cancelled by the buyer",
		"seats lost:\r\nHoldLost\x07": "seats lost: HoldLost",
	}
	for in, want := range cases {
		if got := cleanReason(in); got != want {
			t.Errorf("cleanReason(%q) = %q, want %q", in, got, want)
		}
	}
	long := cleanReason(strings.Repeat("é", 500))
	if n := len([]rune(long)); n != maxReasonLen || !strings.HasSuffix(long, "…") {
		t.Fatalf("long reason kept %d characters: %q", n, long)
	}
}

func TestPaymentViewHasTheContractFieldsOnly(t *testing.T) {
	p := &Payment{ID: "p", BookingID: "b", UserID: "u", AmountMinor: 1, Currency: "EUR", Status: payment.StatusPending,
		IdempotencyKey: "secret-key", CreatedAt: time.Unix(0, 0), UpdatedAt: time.Unix(0, 0)}
	b, _ := json.Marshal(p.view())
	var got map[string]any
	_ = json.Unmarshal(b, &got)
	want := []string{"id", "bookingId", "userId", "amountMinor", "currency", "status", "failureReason", "providerRef", "createdAt", "updatedAt"}
	if len(got) != len(want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Fatalf("missing %s in %s", k, b)
		}
	}
}
