package waitingroom

import (
	"testing"
	"time"
)

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// A stream wakes only for what concerns it: every change wakes those waiting for one, the draw and
// sold out wake every stream, and a place's reach channel closes when the line reaches its number.
func TestAFeedWakesOnlyTheStreamsAChangeConcerns(t *testing.T) {
	h := newHub(nil, time.Second, nil)
	f := h.feed("e1")
	f.mu.Lock()
	h.publish(f, &summary{Opens: t0, Seq: 10})
	f.mu.Unlock()

	publish := func(s summary) {
		f.mu.Lock()
		defer f.mu.Unlock()
		h.publish(f, &s)
	}
	_, changed, urgent, _ := f.wait()
	publish(summary{Opens: t0, Seq: 11}) // a join before the draw
	if !closed(changed) || closed(urgent) {
		t.Fatal("a join: changed should close, urgent should not")
	}
	_, changed, urgent, _ = f.wait()
	publish(summary{Opens: t0, Seq: 11, Drawn: true})
	if !closed(changed) || !closed(urgent) {
		t.Fatal("the draw closes both")
	}

	r3, stop3 := f.watch(3)
	r5, _ := f.watch(5)
	r9, stop9 := f.watch(9)
	stop9()
	_, changed, urgent, _ = f.wait()
	publish(summary{Opens: t0, Seq: 11, Drawn: true, Head: 4})
	if !closed(changed) || closed(urgent) || !closed(r3) || closed(r5) || closed(r9) {
		t.Fatalf("head 4: changed %v urgent %v reach 3 %v, 5 %v, 9 %v", closed(changed), closed(urgent),
			closed(r3), closed(r5), closed(r9))
	}
	stop3() // after it was reached: a no-op
	if len(f.reach) != 1 || f.reach[0].number != 5 || len(f.byNumber) != 1 {
		t.Fatalf("left watching: %+v (9 stopped, 3 reached)", f.reach)
	}
	if r, _ := f.watch(2); !closed(r) {
		t.Fatal("a number the line has passed is reached at once")
	}
	_, changed, urgent, _ = f.wait()
	publish(summary{Opens: t0, Seq: 11, Drawn: true, Head: 4}) // the same line: no wakeup
	if closed(changed) || closed(urgent) {
		t.Fatal("an unchanged line wakes nobody")
	}
	// Number 7 leaves the line (elsewhere): its streams learn it at once, others do not.
	r7a, _ := f.watch(7)
	r7b, _ := f.watch(7)
	r8, stop8 := f.watch(8)
	publish(summary{Opens: t0, Seq: 11, Drawn: true, Head: 4, gv: 1, Gone: []int64{7}})
	if !closed(r7a) || !closed(r7b) || closed(r8) || closed(r5) || len(f.byNumber[7]) != 0 {
		t.Fatalf("7 left: reach 7 %v %v, 8 %v, 5 %v", closed(r7a), closed(r7b), closed(r8), closed(r5))
	}
	stop8()
	// A new opening time is urgent too: every place shows it.
	_, changed, urgent, _ = f.wait()
	publish(summary{Opens: t0.Add(time.Hour), Seq: 11, Drawn: true, Head: 4, gv: 1, Gone: []int64{7}})
	if !closed(changed) || !closed(urgent) {
		t.Fatal("a new opening time: changed and urgent should close")
	}
	// An admission given back (anywhere) wakes the admitted places' streams, which read theirs.
	_, changed, urgent, gaveBack := f.wait()
	publish(summary{Opens: t0.Add(time.Hour), Seq: 11, Drawn: true, Head: 4, gv: 1, Gone: []int64{7}, av: 1})
	if !closed(changed) || closed(urgent) || !closed(gaveBack) {
		t.Fatal("an admission given back: changed and gaveBack should close, urgent should not")
	}
	_, changed, urgent, gaveBack = f.wait()
	publish(summary{Opens: t0.Add(time.Hour), Seq: 11, Drawn: true, Head: 9, gv: 1, Gone: []int64{7}, av: 1, SoldOut: true})
	if closed(gaveBack) {
		t.Fatal("gaveBack closed without an admission given back")
	}
	if !closed(changed) || !closed(urgent) || !closed(r5) || len(f.reach) != 0 || len(f.byNumber) != 0 {
		t.Fatalf("head 9, sold out: everything closes, nothing stays watched (%d, %v)", len(f.reach), f.byNumber)
	}
}
