package bench

import (
	"testing"
	"time"
)

// Early and late are the line's: a buyer the bench planned to join before opening, whose join the
// line took after it (a loaded machine), has a number in arrival order and is no sign of an unfair
// line; a late joiner placed behind one whose join began after its own was answered is.
func TestFairnessJudgesEarlyAndLateByTheLine(t *testing.T) {
	t0 := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	late := func(number int64, start, end int) *roomBuyer {
		return &roomBuyer{number: number, joinStart: at(start), joined: at(end)}
	}
	drawn := func(number int64, start int) *roomBuyer {
		return &roomBuyer{early: true, drawn: true, number: number, joinStart: at(start), joined: at(start + 5)}
	}
	// Three drawn early joiners (numbers 1-3 in random order), then late ones in arrival order. The
	// buyer planned early at -10 ms, whose join the line took at +45 ms, has number 6: behind the
	// late joiner answered at +40 ms, as arrival says.
	slipped := &roomBuyer{early: true, number: 6, joinStart: at(-10), joined: at(45)}
	early := []*roomBuyer{drawn(2, -900), drawn(3, -500), drawn(1, -100), slipped}
	s := &onSaleRun{r: &OnSaleResult{}}
	s.fairness(append(early, late(5, 30, 40), late(7, 60, 70)))
	if s.r.FairAfterOpen != 0 {
		t.Fatalf("fair_after_open = %v for a line in arrival order, want 0", s.r.FairAfterOpen)
	}

	// A late joiner numbered ahead of one whose join was answered before its own began.
	s = &onSaleRun{r: &OnSaleResult{}}
	s.fairness(append(early, late(5, 30, 40), late(8, 50, 60), late(7, 70, 80)))
	if want := 1.0 / 4; s.r.FairAfterOpen != want {
		t.Fatalf("fair_after_open = %v with one of four late joiners out of order, want %v", s.r.FairAfterOpen, want)
	}
}
