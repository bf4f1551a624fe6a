package server

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"
)

func TestMockProviderHonoursTheContractTokens(t *testing.T) {
	p := NewMockProvider(0)
	ctx := context.Background()
	cases := []struct {
		token    string
		approved bool
		reason   string
	}{
		{TokenVisa, true, ""},
		{TokenDeclined, false, "card declined"},
		{"tok_somethingElse", false, "invalid payment token"},
		{"", false, "invalid payment token"},
	}
	refPattern := regexp.MustCompile(`^mock_ch_[0-9a-f]{16}$`)
	for _, c := range cases {
		res, err := p.Charge(ctx, ChargeRequest{IdempotencyKey: "key-" + c.token, Token: c.token, AmountMinor: 100, Currency: "EUR"})
		if err != nil {
			t.Fatalf("%q: %v", c.token, err)
		}
		if res.Approved != c.approved || res.DeclineReason != c.reason || !refPattern.MatchString(res.ProviderRef) {
			t.Fatalf("%q: got %+v, want approved=%v reason=%q and a mock_ch_ ref", c.token, res, c.approved, c.reason)
		}
	}
	_, err := p.Charge(ctx, ChargeRequest{IdempotencyKey: "key-none", Token: TokenNoResponse, AmountMinor: 100, Currency: "EUR"})
	if !errors.Is(err, ErrNoResponse) {
		t.Fatalf("tok_noResponse: err = %v, want ErrNoResponse", err)
	}
}

func TestMockProviderIsIdempotentPerKey(t *testing.T) {
	ctx := context.Background()
	p := NewMockProvider(0)
	first, err := p.Charge(ctx, ChargeRequest{IdempotencyKey: "k1", Token: TokenVisa, AmountMinor: 100, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	// Same key, another card: the provider answers what it answered the first time.
	again, err := p.Charge(ctx, ChargeRequest{IdempotencyKey: "k1", Token: TokenDeclined, AmountMinor: 100, Currency: "EUR"})
	if err != nil || again != first {
		t.Fatalf("replay = %+v, %v; want %+v", again, err, first)
	}
	// A declined key stays declined.
	d1, _ := p.Charge(ctx, ChargeRequest{IdempotencyKey: "k2", Token: TokenDeclined})
	d2, _ := p.Charge(ctx, ChargeRequest{IdempotencyKey: "k2", Token: TokenVisa})
	if d1 != d2 || d2.Approved {
		t.Fatalf("declined replay = %+v, first %+v", d2, d1)
	}
	// No answer is remembered as nothing: asking again with a working card under the key charges.
	if _, err := p.Charge(ctx, ChargeRequest{IdempotencyKey: "k3", Token: TokenNoResponse}); !errors.Is(err, ErrNoResponse) {
		t.Fatal(err)
	}
	if res, err := p.Charge(ctx, ChargeRequest{IdempotencyKey: "k3", Token: TokenVisa}); err != nil || !res.Approved {
		t.Fatalf("after no response: %+v, %v", res, err)
	}
	// References are a pure function of the key: a restarted provider gives the same one.
	fresh, _ := NewMockProvider(0).Charge(ctx, ChargeRequest{IdempotencyKey: "k1", Token: TokenVisa})
	if fresh.ProviderRef != first.ProviderRef {
		t.Fatalf("ref after restart %q, want %q", fresh.ProviderRef, first.ProviderRef)
	}
	if other, _ := p.Charge(ctx, ChargeRequest{IdempotencyKey: "k4", Token: TokenVisa}); other.ProviderRef == first.ProviderRef {
		t.Fatal("two keys share a reference")
	}
}

func TestMockProviderRefundsOnceAndOnlyItsCharges(t *testing.T) {
	ctx := context.Background()
	p := NewMockProvider(0)
	ch, _ := p.Charge(ctx, ChargeRequest{IdempotencyKey: "k", Token: TokenVisa, AmountMinor: 500, Currency: "EUR"})
	r1, err := p.Refund(ctx, ChargeRefund{IdempotencyKey: "refund:k", ChargeRef: ch.ProviderRef, AmountMinor: 500, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := p.Refund(ctx, ChargeRefund{IdempotencyKey: "refund:k", ChargeRef: ch.ProviderRef, AmountMinor: 500, Currency: "EUR"})
	if err != nil || r1 != r2 || !regexp.MustCompile(`^mock_re_[0-9a-f]{16}$`).MatchString(r1.ProviderRef) {
		t.Fatalf("refunds %+v and %+v, %v", r1, r2, err)
	}
	if _, err := p.Refund(ctx, ChargeRefund{IdempotencyKey: "refund:x", ChargeRef: "ch_elsewhere"}); err == nil {
		t.Fatal("refunded a charge the provider never made")
	}
}

func TestMockProviderTakesItsLatencyAndGivesUpWithTheContext(t *testing.T) {
	p := NewMockProvider(50 * time.Millisecond)
	start := time.Now()
	if _, err := p.Charge(context.Background(), ChargeRequest{IdempotencyKey: "k", Token: TokenVisa}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("charge took %s, want at least the 50ms latency", d)
	}
	slow := NewMockProvider(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := slow.Charge(ctx, ChargeRequest{IdempotencyKey: "k", Token: TokenVisa})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %s; want the context's error at once", err, time.Since(start))
	}
	if _, err := slow.Refund(ctx, ChargeRefund{IdempotencyKey: "r", ChargeRef: "mock_ch_0"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("refund err = %v", err)
	}
}
