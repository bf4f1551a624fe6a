package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// Provider is a card payment provider. Both calls are idempotent per IdempotencyKey, as real
// providers' are: asking again with the same key returns the first answer and moves no more money.
// That is what lets the service retry a charge whose outcome it failed to record.
type Provider interface {
	// Charge takes the money. A decline is an answer (Approved false), not an error; an error
	// means the outcome is unknown (ErrNoResponse, or the call failed).
	Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error)
	// Refund gives back a charge in full.
	Refund(ctx context.Context, req ChargeRefund) (ChargeRefundResult, error)
	// Lookup retrieves a charge by its reference, as a provider's "retrieve a charge" call does:
	// ErrUnknownCharge when the provider made no such charge.
	Lookup(ctx context.Context, ref string) (Charge, error)
}

// Charge is what a provider knows of one charge.
type Charge struct {
	Ref         string
	Approved    bool // money was captured
	AmountMinor int64
	Currency    string
}

// ErrUnknownCharge is Lookup's answer for a reference the provider never issued.
var ErrUnknownCharge = errors.New("payment provider: no such charge")

// ChargeRequest asks the provider for money.
type ChargeRequest struct {
	IdempotencyKey string
	Token          string // the card's payment-method token
	AmountMinor    int64
	Currency       string
}

// ChargeResult is the provider's answer to a charge.
type ChargeResult struct {
	Approved      bool
	ProviderRef   string // the provider's id of the charge (declined charges have one too)
	DeclineReason string
}

// ChargeRefund asks the provider to give back a charge.
type ChargeRefund struct {
	IdempotencyKey string
	ChargeRef      string
	AmountMinor    int64
	Currency       string
}

// ChargeRefundResult is the provider's answer to a refund.
type ChargeRefundResult struct {
	ProviderRef string
}

// ErrNoResponse means the provider never answered: whether money moved is unknown, so the payment
// stays PENDING and nothing is reported (the booking's hold expires, and a void settles it).
var ErrNoResponse = errors.New("payment provider did not respond")

// Test tokens of the contract.
const (
	TokenVisa         = "tok_visa"
	TokenDeclined     = "tok_chargeDeclined"
	TokenNoResponse   = "tok_noResponse"
	reasonDeclined    = "card declined"
	reasonInvalidCard = "invalid payment token"
	chargeRefPrefix   = "mock_ch_"
	refundRefPrefix   = "mock_re_"
)

// MockProvider stands in for a card provider. It honours the contract's test tokens, takes
// `latency` per call like a remote API, remembers each idempotency key's answer, as a provider
// does in its own database (in memory, and in its ledger collection when it has one, so that every
// replica of the payment service and every restart sees the same provider), and makes references
// that are a pure function of the key.
type MockProvider struct {
	latency time.Duration
	ledger  *mongo.Collection // nil: memory only

	mu      sync.Mutex
	charges map[string]ChargeResult
	byRef   map[string]Charge
	refunds map[string]ChargeRefundResult
}

// NewMockProvider returns a mock provider that takes latency per call and keeps its charges in
// memory.
func NewMockProvider(latency time.Duration) *MockProvider {
	return &MockProvider{latency: latency, charges: map[string]ChargeResult{}, byRef: map[string]Charge{},
		refunds: map[string]ChargeRefundResult{}}
}

// WithLedger makes the mock keep its charges in coll as well, shared by every process using it.
func (m *MockProvider) WithLedger(coll *mongo.Collection) *MockProvider {
	m.ledger = coll
	return m
}

// ledgerEntry is one charge or refund of the mock's ledger, under its reference.
type ledgerEntry struct {
	Ref           string `bson:"_id"`
	Key           string `bson:"key"`
	Approved      bool   `bson:"approved"`
	DeclineReason string `bson:"declineReason,omitempty"`
	AmountMinor   int64  `bson:"amountMinor"`
	Currency      string `bson:"currency"`
}

// recorded returns the ledger's entry under ref, if the mock has a ledger and the entry exists.
func (m *MockProvider) recorded(ctx context.Context, ref string) (ledgerEntry, bool, error) {
	var e ledgerEntry
	if m.ledger == nil {
		return e, false, nil
	}
	err := m.ledger.FindOne(ctx, bson.M{"_id": ref}).Decode(&e)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return e, false, nil
	}
	return e, err == nil, err
}

// record writes an entry once; the first written wins and is returned.
func (m *MockProvider) record(ctx context.Context, e ledgerEntry) (ledgerEntry, error) {
	if m.ledger == nil {
		return e, nil
	}
	if _, err := m.ledger.InsertOne(ctx, e); err != nil {
		if !mongo.IsDuplicateKeyError(err) {
			return e, err
		}
		var first ledgerEntry
		return first, m.ledger.FindOne(ctx, bson.M{"_id": e.Ref}).Decode(&first)
	}
	return e, nil
}

// Charge implements Provider.
func (m *MockProvider) Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error) {
	if err := m.wait(ctx); err != nil {
		return ChargeResult{}, err
	}
	if req.IdempotencyKey == "" {
		return ChargeResult{}, errors.New("mock provider: idempotency key required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if res, ok := m.charges[req.IdempotencyKey]; ok {
		return res, nil
	}
	res := ChargeResult{ProviderRef: ref(chargeRefPrefix, req.IdempotencyKey)}
	if e, ok, err := m.recorded(ctx, res.ProviderRef); err != nil {
		return ChargeResult{}, err
	} else if ok {
		return m.remember(req.IdempotencyKey, e), nil
	}
	switch req.Token {
	case TokenVisa:
		res.Approved = true
	case TokenDeclined:
		res.DeclineReason = reasonDeclined
	case TokenNoResponse:
		// Nothing is recorded: as far as anyone can tell, the request never arrived.
		return ChargeResult{}, ErrNoResponse
	default:
		res.DeclineReason = reasonInvalidCard
	}
	e, err := m.record(ctx, ledgerEntry{Ref: res.ProviderRef, Key: req.IdempotencyKey, Approved: res.Approved,
		DeclineReason: res.DeclineReason, AmountMinor: req.AmountMinor, Currency: req.Currency})
	if err != nil {
		return ChargeResult{}, err
	}
	return m.remember(req.IdempotencyKey, e), nil
}

// remember keeps a charge in memory (m.mu held).
func (m *MockProvider) remember(key string, e ledgerEntry) ChargeResult {
	res := ChargeResult{ProviderRef: e.Ref, Approved: e.Approved, DeclineReason: e.DeclineReason}
	m.charges[key] = res
	m.byRef[e.Ref] = Charge{Ref: e.Ref, Approved: e.Approved, AmountMinor: e.AmountMinor, Currency: e.Currency}
	return res
}

// Lookup implements Provider. The mock remembers charges in memory: after a restart it knows only
// those made since.
func (m *MockProvider) Lookup(ctx context.Context, ref string) (Charge, error) {
	if err := m.wait(ctx); err != nil {
		return Charge{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.byRef[ref]; ok {
		return c, nil
	}
	e, ok, err := m.recorded(ctx, ref)
	if err != nil {
		return Charge{}, err
	}
	if !ok || !strings.HasPrefix(ref, chargeRefPrefix) {
		return Charge{}, ErrUnknownCharge
	}
	m.remember(e.Key, e)
	return m.byRef[ref], nil
}

// Refund implements Provider.
func (m *MockProvider) Refund(ctx context.Context, req ChargeRefund) (ChargeRefundResult, error) {
	if err := m.wait(ctx); err != nil {
		return ChargeRefundResult{}, err
	}
	if req.IdempotencyKey == "" {
		return ChargeRefundResult{}, errors.New("mock provider: idempotency key required")
	}
	if !strings.HasPrefix(req.ChargeRef, chargeRefPrefix) {
		return ChargeRefundResult{}, fmt.Errorf("mock provider: no charge %q to refund", req.ChargeRef)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if res, ok := m.refunds[req.IdempotencyKey]; ok {
		return res, nil
	}
	res := ChargeRefundResult{ProviderRef: ref(refundRefPrefix, req.IdempotencyKey)}
	if _, err := m.record(ctx, ledgerEntry{Ref: res.ProviderRef, Key: req.IdempotencyKey, AmountMinor: req.AmountMinor,
		Currency: req.Currency}); err != nil {
		return ChargeRefundResult{}, err
	}
	m.refunds[req.IdempotencyKey] = res
	return res, nil
}

// wait simulates the provider's latency, giving up when ctx ends.
func (m *MockProvider) wait(ctx context.Context) error {
	if m.latency <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(m.latency)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ref is a provider reference derived from an idempotency key: prefix + 16 hex digits of its
// SHA-256.
func ref(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(sum[:8])
}
