package waitingroom

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// testLine is a line on an in-process Redis (miniredis runs the same Lua scripts) whose clock the
// test sets.
func testLine(t *testing.T) (*line, *miniredis.Miniredis) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return &line{rdb: rdb}, mr
}

var t0 = time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)

func mustJoin(t *testing.T, l *line, ev, user string, opens time.Time) place {
	t.Helper()
	p, _, err := l.join(context.Background(), ev, user, opens)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJoiningAgainKeepsThePlace(t *testing.T) {
	l, mr := testLine(t)
	mr.SetTime(t0)
	opens := t0.Add(-time.Minute) // on sale already: numbers in arrival order
	a := mustJoin(t, l, "e1", "ann", opens)
	b := mustJoin(t, l, "e1", "bob", opens)
	if a.Number != 1 || b.Number != 2 || a.State != stWaiting {
		t.Fatalf("ann %+v, bob %+v: want numbers 1 and 2, waiting", a, b)
	}
	mr.SetTime(t0.Add(time.Second))
	if again := mustJoin(t, l, "e1", "ann", opens); again != a {
		t.Fatalf("joining again: %+v, want the same place %+v", again, a)
	}
	if p, err := l.place(context.Background(), "e1", "bob"); err != nil || p != b {
		t.Fatalf("place of bob: %+v %v", p, err)
	}
	if _, err := l.place(context.Background(), "e1", "cat"); err != errNoPlace {
		t.Fatalf("place of someone who never joined: %v", err)
	}
	if _, err := l.place(context.Background(), "e2", "ann"); err != errNoPlace {
		t.Fatalf("ann's place in another event's line: %v", err)
	}
}

// Early joiners get no number until the sale opens; then the first script to run draws them all
// into the order of their random keys, and later joiners queue behind them in arrival order.
func TestEarlyJoinersAreDrawnAtOpeningThenArrivalOrder(t *testing.T) {
	l, mr := testLine(t)
	ctx := context.Background()
	opens := t0.Add(time.Minute)
	mr.SetTime(t0)
	const early = 200
	keys := map[string]int64{}
	for i := 0; i < early; i++ {
		u := fmt.Sprintf("early-%03d", i)
		p := mustJoin(t, l, "e1", u, opens)
		if p.Number != 0 || p.State != stWaiting {
			t.Fatalf("an early joiner got %+v before the draw", p)
		}
		keys[u] = p.Key
	}
	if res, err := l.admit(ctx, "e1", 10, time.Minute, 0); err != nil || res.N != 0 || res.Drawn {
		t.Fatalf("admission before opening: %+v %v", res, err)
	}
	mr.SetTime(opens.Add(time.Second))
	late := mustJoin(t, l, "e1", "late-1", opens) // this join draws
	if late.Number != early+1 {
		t.Fatalf("the first joiner after opening got number %d, want %d", late.Number, early+1)
	}
	late2 := mustJoin(t, l, "e1", "late-2", opens)
	if late2.Number != early+2 {
		t.Fatalf("the second got %d", late2.Number)
	}
	byNumber := make([]string, early)
	for u := range keys {
		p, err := l.place(ctx, "e1", u)
		if err != nil || p.Number < 1 || p.Number > early || byNumber[p.Number-1] != "" {
			t.Fatalf("%s after the draw: %+v %v", u, p, err)
		}
		byNumber[p.Number-1] = u
	}
	// Numbers follow the keys drawn at joining; arrival order (the names) is not kept.
	if !slices.IsSortedFunc(byNumber, func(a, b string) int { return int(keys[a] - keys[b]) }) {
		t.Fatal("numbers do not follow the random keys")
	}
	if slices.IsSorted(byNumber) {
		t.Fatal("early joiners were numbered in arrival order")
	}
	// Admission takes the lowest numbers.
	res, err := l.admit(ctx, "e1", 3, time.Minute, 0)
	if err != nil || res.N != 3 || res.Head != 3 {
		t.Fatalf("admit 3: %+v %v", res, err)
	}
	for i, u := range byNumber[:4] {
		p, _ := l.place(ctx, "e1", u)
		if admittedNow := p.State == stAdmitted; admittedNow != (i < 3) {
			t.Fatalf("number %d: %+v", i+1, p)
		}
	}
}

func TestAdmissionEndsAndLeavingLetsTheNextIn(t *testing.T) {
	l, mr := testLine(t)
	ctx := context.Background()
	mr.SetTime(t0)
	for _, u := range []string{"a", "b", "c", "d", "e"} {
		mustJoin(t, l, "e1", u, t0)
	}
	if res, _ := l.admit(ctx, "e1", 1, time.Minute, 0); res.N != 1 {
		t.Fatalf("admitted %d", res.N)
	}
	a, _ := l.place(ctx, "e1", "a")
	if a.State != stAdmitted || a.Until != t0.Add(time.Minute).UnixMilli() {
		t.Fatalf("a: %+v", a)
	}
	// c leaves while waiting: d is now second in line, not third.
	if _, _, err := l.leave(ctx, "e1", "c"); err != nil {
		t.Fatal(err)
	}
	s, err := l.read(ctx, "e1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.ahead(4); got != 1 || s.Waiting != 3 || !slices.Equal(s.Gone, []int64{3}) {
		t.Fatalf("after c left: %d ahead of d, %d waiting, gone %v", got, s.Waiting, s.Gone)
	}
	// a gives the admission back: a credit the meter spends on the next buyer.
	p, _, err := l.leave(ctx, "e1", "a")
	if err != nil || p.State != stLeft {
		t.Fatalf("a leaves: %+v %v", p, err)
	}
	st, _ := l.meter(ctx, "e1")
	if st.Credit != 1 {
		t.Fatalf("credit %d after an admitted buyer left", st.Credit)
	}
	// The summary shows an admission was given back (admitted places' streams read theirs again).
	if s2, _ := l.read(ctx, "e1", s); s2.av != s.av+1 {
		t.Fatalf("admissions given back: %d, want %d", s2.av, s.av+1)
	}
	if res, _ := l.admit(ctx, "e1", 2, time.Minute, 1); res.N != 2 || res.Head != 4 {
		t.Fatalf("admit 2: %+v (b and d, past c who left)", res)
	}
	if st, _ := l.meter(ctx, "e1"); st.Credit != 0 {
		t.Fatalf("credit %d once spent", st.Credit)
	}
	s, _ = l.read(ctx, "e1", s)
	if len(s.Gone) != 0 || s.ahead(5) != 0 || s.Admitted != 3 {
		t.Fatalf("after the head passed c: %+v", s)
	}
	// An admission that ran out is EXPIRED; joining again is a new place at the back.
	mr.SetTime(t0.Add(2 * time.Minute))
	b := mustJoin(t, l, "e1", "b", t0)
	if b.State != stWaiting || b.Number != 6 {
		t.Fatalf("b joins again after its admission ran out: %+v", b)
	}
	if _, _, err := l.leave(ctx, "e1", "nobody"); err != errNoPlace {
		t.Fatalf("leave without a place: %v", err)
	}
}

// Leaving before the draw and joining again keeps the random key: no one can draw again.
func TestLeavingBeforeTheDrawDrawsNothingNew(t *testing.T) {
	l, mr := testLine(t)
	mr.SetTime(t0)
	opens := t0.Add(time.Hour)
	first := mustJoin(t, l, "e1", "ann", opens)
	for i := 0; i < 5; i++ {
		if _, _, err := l.leave(context.Background(), "e1", "ann"); err != nil {
			t.Fatal(err)
		}
		if again := mustJoin(t, l, "e1", "ann", opens); again.Key != first.Key {
			t.Fatalf("joining again drew key %d, first %d", again.Key, first.Key)
		}
	}
}

func TestFreshAdmissionsAndForget(t *testing.T) {
	l, mr := testLine(t)
	ctx := context.Background()
	mr.SetTime(t0)
	for _, u := range []string{"a", "b", "c"} {
		mustJoin(t, l, "e1", u, t0)
	}
	if _, err := l.admit(ctx, "e1", 3, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.decided(ctx, "e1", "b", true, true); err != nil {
		t.Fatal(err)
	}
	if err := l.decided(ctx, "e1", "c", false, true); err != nil { // a failed decision: c has not booked
		t.Fatal(err)
	}
	if n, _ := l.fresh(ctx, "e1", t0.Add(time.Second), 20*time.Second); n != 2 {
		t.Fatalf("fresh %d, want 2 (b booked)", n)
	}
	// The decisions counted (any replica counts those it relays) reach the meter once: reading
	// its state takes them.
	st, err := l.meter(ctx, "e1")
	if err != nil || st.Decisions != 2 || st.SlowDecisions != 2 {
		t.Fatalf("meter read %+v, %v: want 2 decisions, 2 slow", st, err)
	}
	if err := l.decided(ctx, "e1", "c", true, false); err != nil {
		t.Fatal(err)
	}
	st.Pace, st.CutAt = 3.5, t0
	if err := l.saveMeter(ctx, "e1", st); err != nil {
		t.Fatal(err)
	}
	if st, _ = l.meter(ctx, "e1"); st.Decisions != 1 || st.SlowDecisions != 0 || st.Pace != 3.5 || !st.CutAt.Equal(t0) {
		t.Fatalf("next read: %+v, want the one decision counted since, the pace kept", st)
	}
	if n, _ := l.fresh(ctx, "e1", t0.Add(21*time.Second), 20*time.Second); n != 0 {
		t.Fatalf("fresh %d after fresh-for", n)
	}
	if live, _ := l.live(ctx); !slices.Equal(live, []string{"e1"}) {
		t.Fatalf("live %v", live)
	}
	if err := l.forget(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	if live, _ := l.live(ctx); len(live) != 0 || len(mr.Keys()) != 0 {
		t.Fatalf("after forget: live %v, keys %v", live, mr.Keys())
	}
	// A late answer does not bring a removed line back.
	if err := l.decided(ctx, "e1", "a", true, true); err != nil || len(mr.Keys()) != 0 {
		t.Fatalf("a decision after forget: %v, keys %v", err, mr.Keys())
	}
}

func TestLeaseGoesToOneReplicaAtATime(t *testing.T) {
	l, mr := testLine(t)
	ctx := context.Background()
	if ok, _ := l.lease(ctx, "e1", "r1", time.Second); !ok {
		t.Fatal("r1 did not get the lease")
	}
	if ok, _ := l.lease(ctx, "e1", "r2", time.Second); ok {
		t.Fatal("r2 got the lease r1 holds")
	}
	mr.FastForward(time.Second)
	if ok, _ := l.lease(ctx, "e1", "r2", time.Second); !ok {
		t.Fatal("r2 did not get the lease once it ran out")
	}
}
