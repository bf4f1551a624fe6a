package waitingroom

import (
	"testing"
	"time"

	"ticketflow/internal/config"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
)

var testMeter = newMeter(config.WaitingRoom{Target: 2 * time.Second, MinInFlight: 20, SeatsPerBuyer: 2,
	DecisionTarget: 100 * time.Millisecond})

var auto = event.WaitingRoom{Enabled: true}

// unpacedMeter is testMeter without a decision target: the bound alone.
var unpacedMeter = newMeter(config.WaitingRoom{Target: 2 * time.Second, MinInFlight: 20, SeatsPerBuyer: 2})

func TestAutomaticMeterKeepsHeldSeatsUnderTheBound(t *testing.T) {
	// Unpaced: the pace has tests of its own (below).
	seats := inventory.Summary{Total: 1000, Available: 1000}
	// First step: no rate yet, the floor of 20 seats: 10 buyers of 2 seats.
	d := unpacedMeter.decide(meterState{}, t0, auto, seats, 0)
	if d.Admit != 10 || !d.State.MeasuredAt.Equal(t0) {
		t.Fatalf("first step: %+v", d)
	}
	// 10 admitted, not booked yet: nothing more.
	if d2 := unpacedMeter.decide(d.State, t0.Add(250*time.Millisecond), auto, seats, 10); d2.Admit != 0 {
		t.Fatalf("with the floor taken by fresh admissions: %d", d2.Admit)
	}
	// Measured: 50 seats sold per second for a long while: a bound of 100 seats in flight.
	st := meterState{Rate: 50, Reserved: 500, MeasuredAt: t0, StepAt: t0}
	seats = inventory.Summary{Total: 1000, Available: 400, Locked: 60, Reserved: 540}
	d = unpacedMeter.decide(st, t0.Add(time.Second/2), auto, seats, 5)
	// 100 - 60 held - 5*2 fresh = 30 seats: 15 buyers.
	if d.Admit != 15 {
		t.Fatalf("admit %d, want 15", d.Admit)
	}
	// Over the bound: none.
	seats.Locked = 120
	if d = unpacedMeter.decide(st, t0.Add(time.Second/2), auto, seats, 0); d.Admit != 0 {
		t.Fatalf("over the bound: %d", d.Admit)
	}
	// The rate follows what is sold: nothing sold for 10 s brings it toward 0, and the floor.
	st2 := unpacedMeter.decide(st, t0.Add(10*time.Second), auto, inventory.Summary{Total: 1000, Available: 500, Reserved: 500}, 0)
	if st2.State.Rate > 5 || st2.Admit != 10 {
		t.Fatalf("after 10 s without a sale: rate %.1f, admit %d", st2.State.Rate, st2.Admit)
	}
}

func TestNothingIsAdmittedWhileSoldOut(t *testing.T) {
	seats := inventory.Summary{Total: 10, Reserved: 10}
	for _, room := range []event.WaitingRoom{auto, {Enabled: true, AdmitPerMinute: 600}} {
		d := testMeter.decide(meterState{Credit: 2}, t0, room, seats, 0)
		if d.Admit != 0 || !d.State.SoldOut || d.CreditsUsed != 2 {
			t.Fatalf("%+v sold out: %+v", room, d)
		}
	}
	// A held seat may come back: not sold out.
	if d := testMeter.decide(meterState{}, t0, auto, inventory.Summary{Total: 10, Reserved: 9, Locked: 1}, 0); d.State.SoldOut {
		t.Fatal("sold out with a seat still held")
	}
}

func TestFixedRateAdmitsEvenlyFromOpening(t *testing.T) {
	room := event.WaitingRoom{Enabled: true, AdmitPerMinute: 60}
	seats := inventory.Summary{Total: 100, Available: 100}
	d := testMeter.decide(meterState{}, t0, room, seats, 0)
	if d.Admit != 1 {
		t.Fatalf("at opening: %d, want 1", d.Admit)
	}
	total := d.Admit
	st := d.State
	for i := 1; i <= 40; i++ { // 10 s of 250 ms steps
		d = testMeter.decide(st, t0.Add(time.Duration(i)*250*time.Millisecond), room, seats, 0)
		total += d.Admit
		st = d.State
	}
	if total != 11 {
		t.Fatalf("60 a minute over 10 s from opening: %d admitted, want 11", total)
	}
	// A long lull saves up at most a second's worth.
	d = testMeter.decide(st, t0.Add(time.Hour), room, seats, 0)
	if d.Admit != 1 {
		t.Fatalf("after an hour without steps: %d", d.Admit)
	}
	// A buyer who gave the admission back lets one more in at once.
	st.Credit = 1
	if d = testMeter.decide(st, t0.Add(10*time.Second+time.Millisecond), room, seats, 0); d.Admit != 1 || d.CreditsUsed != 1 {
		t.Fatalf("with a credit: %+v", d)
	}
}

func TestARoomSwitchedOffLetsEveryoneThrough(t *testing.T) {
	d := testMeter.decide(meterState{}, t0, event.WaitingRoom{}, inventory.Summary{Total: 10, Available: 10}, 0)
	if d.Admit != maxPerStep {
		t.Fatalf("room off: %d", d.Admit)
	}
}

// While admitted buyers' decisions run slow, the automatic meter bounds the buyers it lets in a
// second: a slow decision cuts the bound (once a second at most), quiet seconds raise it again.
func TestSlowDecisionsPaceTheAutomaticMeter(t *testing.T) {
	seats := inventory.Summary{Total: 1000, Available: 1000}
	// Room for 50 buyers in flight, a bound of 60 a second that does not bind (the slow start
	// grew it; 8 a second are let in): a slow decision cuts from the admission rate, to 3/4 of
	// it (6 a second), and its bucket (0.9) lets in what it held and a quarter second earns
	// (1.5): two buyers.
	st := meterState{Rate: 50, Reserved: 0, MeasuredAt: t0, StepAt: t0, AdmitRate: 8, Pace: 60}
	st.SlowDecisions, st.Decisions, st.Tokens = 1, 3, 0.9
	d := testMeter.decide(st, t0.Add(time.Second/4), auto, seats, 0)
	if d.State.Pace != 6 || !d.State.CutAt.Equal(t0.Add(time.Second/4)) || d.Admit != 2 {
		t.Fatalf("first cut: pace %.2f cut at %v admit %d (tokens 0.9 + 1.5)", d.State.Pace, d.State.CutAt, d.Admit)
	}
	// Another slow one within the second: no second cut.
	next := d.State
	next.SlowDecisions = 1
	d = testMeter.decide(next, t0.Add(time.Second/2), auto, seats, 0)
	if d.State.Pace != 6 {
		t.Fatalf("cut twice within a second: %.2f", d.State.Pace)
	}
	// A second later, another: 4.5 a second.
	next = d.State
	next.SlowDecisions = 2
	if d = testMeter.decide(next, t0.Add(1500*time.Millisecond), auto, seats, 0); d.State.Pace != 4.5 {
		t.Fatalf("second cut: %.2f, want 4.5", d.State.Pace)
	}
	// Ten seconds without a decision: the bound stays (nothing says the decisions are fast).
	next = d.State
	next.SlowDecisions, next.Decisions = 0, 0
	if d = testMeter.decide(next, t0.Add(11500*time.Millisecond), auto, seats, 0); d.State.Pace != 4.5 {
		t.Fatalf("10 s without a decision: pace %.2f, want 4.5", d.State.Pace)
	}
	// Ten seconds of fast decisions: 2 more a second; the bucket holds a second's worth at most.
	next.Decisions = 20
	d = testMeter.decide(next, t0.Add(11500*time.Millisecond), auto, seats, 0)
	if d.State.Pace != 6.5 || d.Admit != 6 {
		t.Fatalf("after 10 fast seconds: pace %.2f admit %d, want 6.5 and 6", d.State.Pace, d.Admit)
	}
	// A bound far above what is let in cuts from the admission rate, not from itself.
	st = meterState{Rate: 50, MeasuredAt: t0, StepAt: t0, AdmitRate: 8, Pace: 60, SlowDecisions: 1, Decisions: 4}
	if d = testMeter.decide(st, t0.Add(time.Second/4), auto, seats, 0); d.State.Pace != 6 {
		t.Fatalf("cut from a bound that did not bind: %.2f, want 6 (3/4 of 8)", d.State.Pace)
	}
	// Right after opening no admission rate is measured: a cut starts from the floor's rate
	// (20 seats of 2 over 2 s: 5 a second), not from nothing.
	st = meterState{StepAt: t0, SlowDecisions: 1, Decisions: 1, Pace: 8}
	if d = testMeter.decide(st, t0.Add(time.Second/4), auto, seats, 0); d.State.Pace != 3.75 {
		t.Fatalf("a cut before any admission rate: %.2f, want 3.75", d.State.Pace)
	}
	// Without a decision target the meter never paces.
	st = meterState{Rate: 50, MeasuredAt: t0, StepAt: t0, AdmitRate: 8, Pace: 3, SlowDecisions: 4, Decisions: 4}
	if d = unpacedMeter.decide(st, t0.Add(time.Second/4), auto, seats, 0); d.State.Pace != 0 || d.Admit != 50 {
		t.Fatalf("no decision target: pace %.2f admit %d, want none and 50", d.State.Pace, d.Admit)
	}
	// The pace never stops the line.
	st = meterState{Rate: 50, MeasuredAt: t0, StepAt: t0, AdmitRate: 8, Pace: 0.6, SlowDecisions: 1}
	if d = testMeter.decide(st, t0.Add(2*time.Second), auto, seats, 0); d.State.Pace != paceMin || d.Admit != 1 {
		t.Fatalf("at the floor: pace %.2f admit %d", d.State.Pace, d.Admit)
	}
	// A fixed rate is the admin's: the pace does not touch it (and a pace left from automatic
	// admission is dropped).
	fixed := event.WaitingRoom{Enabled: true, AdmitPerMinute: 600}
	st = meterState{StepAt: t0, SlowDecisions: 5, Pace: 2}
	if d = testMeter.decide(st, t0.Add(time.Second), fixed, seats, 0); d.State.Pace != 0 || d.Admit != 10 {
		t.Fatalf("fixed rate: pace %.2f admit %d", d.State.Pace, d.Admit)
	}
}

// At opening the pace starts slow (RFC 5681's slow start): the first buyer at once, then paceStart
// a second, doubled each second of fast decisions until the first slow one; from then on it grows
// by paceStep a second.
func TestThePaceStartsSlowAtOpening(t *testing.T) {
	seats := inventory.Summary{Total: 1000, Available: 1000}
	d := testMeter.decide(meterState{}, t0, auto, seats, 0)
	if d.Admit != 1 || d.State.Pace != paceStart {
		t.Fatalf("at opening (the floor allows 10): admit %d pace %.2f, want 1 and %d", d.Admit, d.State.Pace, paceStart)
	}
	admitted := d.Admit
	st := d.State
	step := func(at time.Duration, decisions, slow int64) decision {
		t.Helper()
		st.Decisions, st.SlowDecisions = decisions, slow
		d := testMeter.decide(st, t0.Add(at), auto, seats, 0)
		admitted += d.Admit
		st = d.State
		return d
	}
	// The first second without a decision: the pace stays, its bucket lets in 2 a second.
	for i := 1; i <= 4; i++ {
		step(time.Duration(i)*250*time.Millisecond, 0, 0)
	}
	if st.Pace != paceStart || admitted != 3 {
		t.Fatalf("after the first second: pace %.2f admitted %d, want %d and 3", st.Pace, admitted, paceStart)
	}
	// Two seconds of fast decisions: it doubles each second (4 steps of a quarter second).
	for i := 5; i <= 12; i++ {
		step(time.Duration(i)*250*time.Millisecond, 1, 0)
	}
	if st.Pace < 7.99 || st.Pace > 8.01 {
		t.Fatalf("after two fast seconds: pace %.2f, want 8", st.Pace)
	}
	// A slow decision cuts it, and from then on it grows by paceStep a second.
	st.AdmitRate = 10 // as the line measured it (admittedNow)
	step(3250*time.Millisecond, 2, 1)
	if st.Pace < 5.99 || st.Pace > 6.01 || st.CutAt.IsZero() { // 3/4 of 8 (the admission rate is higher)
		t.Fatalf("cut: pace %.2f, want 6", st.Pace)
	}
	cut := st.Pace
	for i := 14; i <= 17; i++ {
		step(time.Duration(i)*250*time.Millisecond, 1, 0)
	}
	if got := st.Pace - cut; got < paceStep-0.01 || got > paceStep+0.01 {
		t.Fatalf("a fast second after the cut: +%.2f, want +%.1f", got, paceStep)
	}
	// Sold out for a while, then a held seat is released: admission goes on with a slow start
	// again, not with the floor's ten buyers at once.
	soldOut := inventory.Summary{Total: 1000, Reserved: 1000}
	d = testMeter.decide(st, t0.Add(5*time.Second), auto, soldOut, 0)
	if d.Admit != 0 || d.State.Pace != 0 {
		t.Fatalf("sold out: admit %d pace %.2f", d.Admit, d.State.Pace)
	}
	st = d.State
	d = testMeter.decide(st, t0.Add(5250*time.Millisecond), auto, inventory.Summary{Total: 1000, Reserved: 999, Available: 1}, 0)
	if d.Admit != 1 || d.State.Pace != paceStart || !d.State.CutAt.IsZero() {
		t.Fatalf("after a sold-out lull: admit %d pace %.2f cut at %v, want 1, %d and none", d.Admit, d.State.Pace, d.State.CutAt, paceStart)
	}
}
