package idempotency

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/httpapi"
)

// memStore keeps keys in memory, with the atomic compare-and-write PostgreSQL gives.
type memStore struct {
	mu   sync.Mutex
	recs map[string]Record
}

func newMemStore() *memStore { return &memStore{recs: map[string]Record{}} }

func (m *memStore) Insert(_ context.Context, scope, key string, rec Record) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.recs[scope+"\x00"+key]; ok {
		return false, nil
	}
	m.recs[scope+"\x00"+key] = rec
	return true, nil
}

func (m *memStore) Get(_ context.Context, scope, key string) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.recs[scope+"\x00"+key]
	if !ok {
		return Record{}, ErrNoKey
	}
	return rec, nil
}

func same(a, b Record) bool {
	return a.State == b.State && a.ResourceID == b.ResourceID && a.LeaseUntil.Equal(b.LeaseUntil)
}

func (m *memStore) Replace(_ context.Context, scope, key string, old, rec Record) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.recs[scope+"\x00"+key]; !ok || !same(cur, old) {
		return false, nil
	}
	m.recs[scope+"\x00"+key] = rec
	return true, nil
}

func (m *memStore) Delete(_ context.Context, scope, key string, old Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.recs[scope+"\x00"+key]; ok && same(cur, old) {
		delete(m.recs, scope+"\x00"+key)
	}
	return nil
}

// testClock is a settable time.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newKeys() (*Keys, *testClock) {
	c := &testClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	k := New(newMemStore())
	k.now = c.now
	return k, c
}

func counter() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("res-%d", n) }
}

func code(err error) string {
	var e *httpapi.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%d %s", e.Status, e.Code)
	}
	return fmt.Sprint(err)
}

func TestSameKeyAndRequestGetTheFirstAnswerAgainAndAnotherRequestIs422(t *testing.T) {
	ctx := t.Context()
	k, clk := newKeys()
	ids := counter()
	first, err := k.Claim(ctx, "u1", "key", "fp-a", ids)
	if err != nil || first.Replay() || first.ResourceID != "res-1" {
		t.Fatalf("first claim: %+v %v", first, err)
	}
	if err := k.Finish(ctx, first, http.StatusCreated, []byte(`{"id":"res-1"}`), true); err != nil {
		t.Fatal(err)
	}
	clk.add(Window - time.Second)
	again, err := k.Claim(ctx, "u1", "key", "fp-a", ids)
	if err != nil || !again.Replay() || again.Answer.Status != 201 || string(again.Answer.Body) != `{"id":"res-1"}` ||
		again.ResourceID != "res-1" {
		t.Fatalf("duplicate: %+v %v", again, err)
	}
	if _, err := k.Claim(ctx, "u1", "key", "fp-b", ids); code(err) != "422 IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("same key, another request: %v", err)
	}
	// Another user's identical key is theirs alone.
	if other, err := k.Claim(ctx, "u2", "key", "fp-b", ids); err != nil || other.Replay() {
		t.Fatalf("another user's key: %+v %v", other, err)
	}
	// Past its window the key is free again, for a new resource, whatever the request.
	clk.add(2 * time.Second)
	renewed, err := k.Claim(ctx, "u1", "key", "fp-b", ids)
	if err != nil || renewed.Replay() || renewed.ResourceID == "res-1" {
		t.Fatalf("after the window: %+v %v", renewed, err)
	}
}

func TestClientErrorsAreReplayedLikeSuccesses(t *testing.T) {
	ctx := t.Context()
	k, _ := newKeys()
	c, _ := k.Claim(ctx, "u", "key", "fp", counter())
	if err := k.Finish(ctx, c, http.StatusConflict, []byte(`{"error":{"code":"SEATS_UNAVAILABLE"}}`), true); err != nil {
		t.Fatal(err)
	}
	again, err := k.Claim(ctx, "u", "key", "fp", counter())
	if err != nil || !again.Replay() || again.Answer.Status != 409 {
		t.Fatalf("%+v %v", again, err)
	}
}

func TestAServerErrorBeforeAnythingWasMadeFreesTheKey(t *testing.T) {
	ctx := t.Context()
	k, _ := newKeys()
	ids := counter()
	c, _ := k.Claim(ctx, "u", "key", "fp-a", ids)
	if err := k.Finish(ctx, c, http.StatusServiceUnavailable, nil, false); err != nil {
		t.Fatal(err)
	}
	// Free: even another request may use it now.
	next, err := k.Claim(ctx, "u", "key", "fp-b", ids)
	if err != nil || next.Replay() {
		t.Fatalf("%+v %v", next, err)
	}
}

func TestAServerErrorAfterTheResourceWasMadeKeepsItForARetry(t *testing.T) {
	ctx := t.Context()
	k, _ := newKeys()
	ids := counter()
	c, _ := k.Claim(ctx, "u", "key", "fp-a", ids)
	if err := k.Finish(ctx, c, http.StatusInternalServerError, nil, true); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Claim(ctx, "u", "key", "fp-b", ids); code(err) != "422 IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("another request while the first's resource stands: %v", err)
	}
	retry, err := k.Claim(ctx, "u", "key", "fp-a", ids)
	if err != nil || retry.Replay() || retry.ResourceID != c.ResourceID {
		t.Fatalf("retry: %+v %v (first made %s)", retry, err, c.ResourceID)
	}
}

func TestADuplicateWaitsForTheFirstAnswer(t *testing.T) {
	ctx := t.Context()
	k := New(newMemStore())
	first, _ := k.Claim(ctx, "u", "key", "fp", counter())
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = k.Finish(context.Background(), first, http.StatusAccepted, []byte("first"), true)
	}()
	start := time.Now()
	dup, err := k.Claim(ctx, "u", "key", "fp", counter())
	if err != nil || !dup.Replay() || string(dup.Answer.Body) != "first" {
		t.Fatalf("%+v %v", dup, err)
	}
	if waited := time.Since(start); waited < 80*time.Millisecond {
		t.Fatalf("answered after %v, before the first request", waited)
	}
}

func TestADuplicateThatWaitedTooLongGets409WithRetryAfter(t *testing.T) {
	ctx := t.Context()
	k := New(newMemStore())
	k.wait = 100 * time.Millisecond
	if _, err := k.Claim(ctx, "u", "key", "fp", counter()); err != nil {
		t.Fatal(err)
	}
	_, err := k.Claim(ctx, "u", "key", "fp", counter())
	if code(err) != "409 IDEMPOTENCY_KEY_IN_USE" || httpapi.RetryAfterOf(err) < 1 {
		t.Fatalf("%v (Retry-After %d)", err, httpapi.RetryAfterOf(err))
	}
	// Even with another request: the key is busy, which is what the caller can act on.
	if _, err := k.Claim(ctx, "u", "key", "fp-other", counter()); code(err) != "422 IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("another request: %v", err)
	}
}

func TestARetryTakesOverTheKeyOfARequestThatDied(t *testing.T) {
	ctx := t.Context()
	k, clk := newKeys()
	ids := counter()
	dead, _ := k.Claim(ctx, "u", "key", "fp", ids) // its process dies: no Finish
	clk.add(Lease + time.Millisecond)
	retry, err := k.Claim(ctx, "u", "key", "fp", ids)
	if err != nil || retry.Replay() || retry.ResourceID != dead.ResourceID {
		t.Fatalf("%+v %v", retry, err)
	}
	// The dead request's late answer does not overwrite the retry's claim.
	_ = k.Finish(ctx, dead, 201, []byte("late"), true)
	_ = k.Finish(ctx, retry, 201, []byte("retry"), true)
	again, _ := k.Claim(ctx, "u", "key", "fp", ids)
	if string(again.Answer.Body) != "retry" {
		t.Fatalf("stored answer %q", again.Answer.Body)
	}
}

func TestKeysOfTheFirstDesignReplayTheirResource(t *testing.T) {
	ctx := t.Context()
	k, clk := newKeys()
	_, _ = k.store.Insert(ctx, "u", "old", Record{ResourceID: "res-old", CreatedAt: clk.now().Add(-time.Hour)})
	c, err := k.Claim(ctx, "u", "old", "any", counter())
	if err != nil || !c.Replay() || c.ResourceID != "res-old" || c.Answer.Body != nil {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestConcurrentFirstRequestsMakeOneResource(t *testing.T) {
	ctx := t.Context()
	k := New(newMemStore())
	var mu sync.Mutex
	made := map[string]int{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c, err := k.Claim(ctx, "u", "key", "fp", func() string { return fmt.Sprintf("res-%d", i) })
			if err != nil {
				t.Error(err)
				return
			}
			if !c.Replay() {
				time.Sleep(20 * time.Millisecond)
				_ = k.Finish(ctx, c, 201, []byte(c.ResourceID), true)
			}
			mu.Lock()
			made[c.ResourceID]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(made) != 1 {
		t.Fatalf("resources: %v", made)
	}
}

func TestKeyReadsTheHeader(t *testing.T) {
	for _, c := range []struct {
		value, want, err string
	}{
		{"", "", ""},
		{"b3c1f2de-5a4b", "b3c1f2de-5a4b", ""},
		{strings.Repeat("k", MaxKeyLen), strings.Repeat("k", MaxKeyLen), ""},
		{strings.Repeat("k", MaxKeyLen+1), "", "400 VALIDATION_ERROR"},
		{"a\tb", "", "400 VALIDATION_ERROR"},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		if c.value != "" {
			r.Header.Set(Header, c.value)
		}
		got, err := Key(r)
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && code(err) != c.err) {
			t.Errorf("%q: %q %v", c.value, got, err)
		}
	}
}

func TestFingerprintTellsMeaningsApart(t *testing.T) {
	a := Fingerprint([]any{"event-1", []string{"A-1", "A-2"}})
	if a != Fingerprint([]any{"event-1", []string{"A-1", "A-2"}}) {
		t.Fatal("one meaning, two fingerprints")
	}
	if a == Fingerprint([]any{"event-1", []string{"A-1"}}) {
		t.Fatal("two meanings, one fingerprint")
	}
}
