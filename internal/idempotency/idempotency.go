// Package idempotency is the Idempotency-Key rule of TicketFlow's REST API, the one rule for every
// endpoint that takes the header, as draft-ietf-httpapi-idempotency-key-header describes it:
//
//   - the same user, key and request within Window get the first answer again, status and body
//     (4xx answers included);
//   - the same key with another request is 422 IDEMPOTENCY_KEY_REUSED;
//   - the same key while the first request is still deciding waits for its answer (up to Wait),
//     then gets 409 IDEMPOTENCY_KEY_IN_USE with Retry-After;
//   - a 5xx does not bind the key. When the request made nothing the key is free again; when its
//     resource exists (its fate may still be open) the key keeps that resource for a retry of the
//     same request, which continues it rather than make a second one.
//
// A request that holds a key holds it under a lease; when its process dies, a retry takes it
// over after Lease, with the same resource id.
//
// The package owns the rule: reading the header, the request's fingerprint, the decision, the
// wait. Each service keeps its own keys in its own store, through Store.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"ticketflow/internal/httpapi"

	"ticketflow/internal/clock"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

const (
	// MaxKeyLen is the longest key accepted, in bytes.
	MaxKeyLen = 200
	// Window is how long an answer stays bound to its key.
	Window = 24 * time.Hour
	// Lease is how long a request may hold a key undecided before a retry takes it over.
	Lease = 30 * time.Second
	// Wait is how long a duplicate waits for the first request's answer before a 409.
	Wait = 10 * time.Second
	// pollEvery is how often a waiting duplicate looks at the key again.
	pollEvery = 25 * time.Millisecond
)

// Error codes of the rule.
const (
	CodeKeyReused = "IDEMPOTENCY_KEY_REUSED" // 422
	CodeKeyInUse  = "IDEMPOTENCY_KEY_IN_USE" // 409
)

// ErrKeyReused is the 422 for a key used before with another request.
var ErrKeyReused = httpapi.NewError(http.StatusUnprocessableEntity, CodeKeyReused,
	"this Idempotency-Key was used with another request")

// errKeyInUse is the 409 for a key another request is still deciding.
func errKeyInUse() error {
	return httpapi.Conflict(CodeKeyInUse, "a request with this Idempotency-Key is still being decided; retry shortly").
		WithRetryAfter(1)
}

// Key returns the request's Idempotency-Key: "" when it has none, a 400 when it is no key (longer
// than MaxKeyLen, or with control characters).
func Key(r *http.Request) (string, error) {
	key := r.Header.Get(Header)
	if key == "" {
		return "", nil
	}
	if err := httpapi.Text(Header, key, MaxKeyLen, false); err != nil {
		return "", err
	}
	return key, nil
}

// Fingerprint identifies a request's meaning: the SHA-256 (hex) of v's JSON. v is the request as
// the endpoint understood it — decoded, and with whatever does not change its meaning left out or
// normalised (an order that does not matter sorted, times in UTC, fields the server ignores
// dropped) — so that two requests with one meaning share a fingerprint and two with different
// meanings do not.
func Fingerprint(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		// A request type that cannot be encoded is a programming error; failing every request
		// with a key would hide it less well than a panic the Recover middleware reports.
		panic(fmt.Sprintf("idempotency: fingerprint of %T: %v", v, err))
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// State is where a key's request stands.
type State string

// The states of a key.
const (
	Deciding State = "DECIDING" // a request holds it, under a lease
	Done     State = "DONE"     // answered: its answer is replayed
	Retry    State = "RETRY"    // its request ended in a 5xx after making its resource: a retry continues it
)

// Record is one key as a store keeps it (per scope, the user, and key).
type Record struct {
	// Fingerprint of the request that used the key; "" (a key stored before fingerprints were)
	// matches any request.
	Fingerprint string
	// ResourceID is the id of what the request makes (a booking, an event), chosen when the key
	// was first claimed and kept by a retry that takes the key over.
	ResourceID string
	State      State // "" is read as Done (a key stored before states were)
	LeaseUntil time.Time
	CreatedAt  time.Time // when the key was bound: its Window starts here
	// Status and Body are the answer of a Done key. A nil Body (a key stored before answers were)
	// means: answer with the resource as it stands.
	Status int
	Body   []byte
}

func (r Record) state() State {
	if r.State == "" {
		return Done
	}
	return r.State
}

// Store keeps one service's keys. Scope is whose keys they are (the user id); a key is theirs
// alone. Times are stored as given (the package gives them in whole milliseconds).
type Store interface {
	// Insert stores rec under a new key; false, and nothing written, when the key exists.
	Insert(ctx context.Context, scope, key string, rec Record) (bool, error)
	// Get returns the key's record; ErrNoKey when it has none.
	Get(ctx context.Context, scope, key string) (Record, error)
	// Replace writes rec over the key's record if that is still old — the same state, resource
	// and lease — and reports whether it did. Where the store can, the compare and the write are
	// one atomic step (PostgreSQL); where it cannot (FerretDB updates by read-modify-write), two
	// requests may both take a key over, with the same resource id: an endpoint makes its
	// resource once per id whatever happens (an insert under that id).
	Replace(ctx context.Context, scope, key string, old, rec Record) (bool, error)
	// Delete removes the key's record if it is still old.
	Delete(ctx context.Context, scope, key string, old Record) error
}

// ErrNoKey is Store.Get's error for a key it does not have (freed since the Insert that found it).
var ErrNoKey = errors.New("no such idempotency key")

// Keys applies the rule to one service's keys.
type Keys struct {
	store Store
	now   func() time.Time
	wait  time.Duration
}

// New returns the rule over store.
func New(store Store) *Keys { return &Keys{store: store, now: clock.Now, wait: Wait} }

// Claim is a request's hold on its key: either an answer to replay, or the resource the request
// makes.
type Claim struct {
	// ResourceID is the id of what the request makes, or made (a replay).
	ResourceID string
	// Answer is the first request's answer when this request is its duplicate (nil: this request
	// decides). Its nil Body means: answer with the resource as it stands.
	Answer *Answer

	scope, key string
	held       Record // the record this request wrote; what Finish compares with
}

// Answer is a stored answer.
type Answer struct {
	Status int
	Body   []byte
}

// Replay reports whether the request is a duplicate that gets c.Answer.
func (c *Claim) Replay() bool { return c.Answer != nil }

// Claim takes the key for a request with fingerprint fp; newID names its resource when the key is
// new (or its window has passed). A duplicate of a request still deciding waits up to Wait for
// its answer. Errors: ErrKeyReused (422), a 409 IDEMPOTENCY_KEY_IN_USE with Retry-After, the
// store's, or ctx's.
func (k *Keys) Claim(ctx context.Context, scope, key, fp string, newID func() string) (*Claim, error) {
	deadline := k.now().Add(k.wait)
	for {
		c, busy, err := k.claimOnce(ctx, scope, key, fp, newID)
		if err != nil || !busy {
			return c, err
		}
		if k.now().After(deadline) {
			return nil, errKeyInUse()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// claimOnce looks at the key once: a claim, or busy when another request holds it.
func (k *Keys) claimOnce(ctx context.Context, scope, key, fp string, newID func() string) (c *Claim, busy bool, err error) {
	for {
		now := k.now().UTC().Truncate(time.Millisecond)
		fresh := Record{Fingerprint: fp, ResourceID: newID(), State: Deciding, LeaseUntil: now.Add(Lease), CreatedAt: now}
		ok, err := k.store.Insert(ctx, scope, key, fresh)
		if err != nil {
			return nil, false, fmt.Errorf("claim idempotency key: %w", err)
		}
		if ok {
			return &Claim{ResourceID: fresh.ResourceID, scope: scope, key: key, held: fresh}, false, nil
		}
		stored, err := k.store.Get(ctx, scope, key)
		if errors.Is(err, ErrNoKey) {
			continue // freed (a 5xx) since the insert found it: claim it anew
		}
		if err != nil {
			return nil, false, fmt.Errorf("read idempotency key: %w", err)
		}
		d, err := decide(stored, fp, now)
		if err != nil {
			return nil, false, err
		}
		var next Record
		switch d {
		case replay:
			return &Claim{ResourceID: stored.ResourceID, Answer: &Answer{Status: stored.Status, Body: stored.Body},
				scope: scope, key: key}, false, nil
		case inUse:
			return nil, true, nil
		case renew: // past its window: the key is free, for a new resource
			next = fresh
		case takeOver: // its request ended in a 5xx, or died: this one continues, same resource
			next = Record{Fingerprint: fp, ResourceID: stored.ResourceID, State: Deciding, LeaseUntil: now.Add(Lease),
				CreatedAt: stored.CreatedAt}
		}
		ok, err = k.store.Replace(ctx, scope, key, stored, next)
		if err != nil {
			return nil, false, fmt.Errorf("take idempotency key over: %w", err)
		}
		if ok {
			return &Claim{ResourceID: next.ResourceID, scope: scope, key: key, held: next}, false, nil
		}
		// Another request changed the key between the read and the write: look again.
	}
}

// decision is what a request with a key gets, given the key's record.
type decision int

const (
	replay   decision = iota // answered before: the same answer
	inUse                    // another request holds it
	renew                    // bound too long ago: free for a new resource
	takeOver                 // free for a retry of the same request, same resource
)

// decide applies the rule to a stored key and a request with fingerprint fp, at now.
func decide(stored Record, fp string, now time.Time) (decision, error) {
	state := stored.state()
	if state == Done && !now.Before(stored.CreatedAt.Add(Window)) {
		return renew, nil
	}
	if stored.Fingerprint != "" && stored.Fingerprint != fp {
		return 0, ErrKeyReused
	}
	switch {
	case state == Done:
		return replay, nil
	case state == Deciding && now.Before(stored.LeaseUntil):
		return inUse, nil
	default: // Retry, or a holder whose lease ran out (its process died)
		return takeOver, nil
	}
}

// Finish records the answer of the request that holds c (not a replay). A 5xx does not bind the
// key: it is freed, or — when made reports that the request's resource exists and its fate may
// still be open — kept for a retry of the same request (Retry). Any other answer is stored and
// replayed to duplicates for Window. An error means the answer could not be stored: the resource
// stands, and a retry takes the key over once the lease has run out.
func (k *Keys) Finish(ctx context.Context, c *Claim, status int, body []byte, made bool) error {
	if c.Replay() {
		return errors.New("idempotency: Finish of a replayed claim")
	}
	var err error
	switch {
	case status >= 500 && made:
		next := c.held
		next.State, next.LeaseUntil = Retry, k.now().UTC().Truncate(time.Millisecond)
		_, err = k.store.Replace(ctx, c.scope, c.key, c.held, next)
	case status >= 500:
		err = k.store.Delete(ctx, c.scope, c.key, c.held)
	default:
		next := c.held
		next.State, next.Status, next.Body = Done, status, body
		_, err = k.store.Replace(ctx, c.scope, c.key, c.held, next)
	}
	if err != nil {
		return fmt.Errorf("finish idempotency key: %w", err)
	}
	return nil
}
