package waitingroom

import (
	"math"
	"time"

	"ticketflow/internal/config"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
)

// The meter decides, at each step of an event's line (one replica, every tick), how many buyers
// to let in.
//
// With a fixed rate (admitPerMinute) it lets that many in a minute, evenly: a bucket that fills
// at the rate, holds at most a second's worth (at least one), and holds one at opening, so the
// first buyer is in at once.
//
// Without one, it meters to what the booking pipeline confirms. What a buyer waits on once
// admitted is the seat decision (fast, the request path) and then confirmation, which is
// queue-bound: the pipeline confirms some tens of bookings a second, and whatever is held beyond
// that waits in its queue. So the meter keeps the seats held and not yet confirmed (inventory's
// LOCKED count for the event) under a bound of Target seconds of the confirmations it measures (a
// moving average of the seats sold per second), and at least MinInFlight seats, so that it
// starts, and starts again after a lull. By Little's law that bounds the time from hold to
// confirmation near Target while the pipeline runs at its pace; a slower pipeline confirms less,
// and the meter admits less. Admitted buyers who have not answered a booking yet will hold
// seats soon: each counts as SeatsPerBuyer seats until they do (or FreshFor passes).
//
// The automatic meter also paces admission to the seat decision, which an admitted buyer waits
// on at once: where the pipeline shares machines with the decision path, confirming faster takes
// the cores the decisions need, and a meter that only watched confirmations would let buyers in
// until every decision ran slow. While admitted buyers' decisions run slower than DecisionTarget
// (the gateways time each one they relay), the buyers let in a second are bounded, additive
// increase and multiplicative decrease as TCP's congestion window (RFC 5681, section 3.1): a slow
// decision (or a failed one) cuts the bound by paceCut (at most once per paceCutEvery: a cut takes
// a moment to show), and each second in which decisions were made and none was slow raises it by
// paceStep. A cut starts from the admission rate measured when that is lower than the bound. The
// bound starts at opening as TCP's window does, with slow start (RFC 5681, section 3.1): at
// paceStart buyers a second, doubled for each second of steps with decisions and none slow until
// the first cut (and again so when admission goes on after steps that did not pace), so that
// the buyers first in do not all decide at once in the opening's rush (the joins of everyone who
// arrives at opening, the draw pushed to every early joiner). The sale then takes longer and its
// decisions stay fast: a waiting room trades the one for the other by design.
//
// Both stop while the event is sold out (no seat available, none held): a held seat that is
// released lets admission go on. Buyers who leave an admission early are owed a place: with a
// fixed rate each lets one more in at once; the automatic meter sees their seats free already.
type meter struct {
	target        time.Duration
	minInFlight   int
	seatsPerBuyer int
	maxPerStep    int
	paced         bool // a decision target is set
}

func newMeter(c config.WaitingRoom) meter {
	return meter{target: c.Target, minInFlight: c.MinInFlight, seatsPerBuyer: c.SeatsPerBuyer, maxPerStep: maxPerStep,
		paced: c.DecisionTarget > 0}
}

// maxPerStep bounds one step's admissions (and so one script's work in Redis).
const maxPerStep = 500

// Moving averages: the confirmation rate over about rateWindow, the admission rate (for the
// estimates buyers see) over about admitWindow.
const (
	rateWindow  = 3 * time.Second
	admitWindow = 5 * time.Second
)

// Pacing (see above): the bound starts at paceStart buyers a second at opening and doubles for
// each second of steps with decisions and none slow until it is first cut; a cut keeps paceCut of the bound;
// after the first cut paceStep buyers a second are added to it for each second with decisions and
// none slow; it never falls below paceMin (the line always moves) nor rises past paceMax.
const (
	paceStart    = 2
	paceCut      = 0.75
	paceCutEvery = time.Second
	paceStep     = 0.2
	paceMin      = 0.5
	paceMax      = 1000
)

// decision is one step's outcome before it is applied.
type decision struct {
	Admit       int   // buyers to let in now
	CreditsUsed int64 // credits of buyers who left, taken
	State       meterState
}

// decide computes a step at now: room is the event's room (a room switched off lets everyone in),
// seats the event's seat counts now, fresh the admitted buyers who have not booked yet.
func (m meter) decide(st meterState, now time.Time, room event.WaitingRoom, seats inventory.Summary, fresh int64) decision {
	d := decision{State: st}
	next := &d.State
	next.StepAt = now
	// The confirmation rate: seats sold per second, measured over at least a second.
	switch {
	case st.MeasuredAt.IsZero():
		next.Reserved, next.MeasuredAt = int64(seats.Reserved), now
	case now.Sub(st.MeasuredAt) >= time.Second:
		dt := now.Sub(st.MeasuredAt).Seconds()
		inst := max(float64(int64(seats.Reserved)-st.Reserved)/dt, 0)
		next.Rate = ewma(st.Rate, inst, dt, rateWindow)
		next.Reserved, next.MeasuredAt = int64(seats.Reserved), now
	}
	next.SoldOut = seats.Total > 0 && seats.Available == 0 && seats.Locked == 0
	d.CreditsUsed = st.Credit

	next.Pace, next.CutAt = 0, time.Time{} // unless the automatic meter paces (below)
	var n float64
	switch {
	case !room.Enabled:
		n = maxPerStep // the room was switched off: everyone through, its tokens no longer asked for
	case next.SoldOut:
		n = 0
	case room.AdmitPerMinute > 0:
		perS := float64(room.AdmitPerMinute) / 60
		if st.StepAt.IsZero() {
			next.Tokens = 1 // the first at opening
		} else {
			next.Tokens = min(st.Tokens+perS*now.Sub(st.StepAt).Seconds(), max(1, perS))
		}
		n = math.Floor(next.Tokens) + float64(st.Credit)
		next.Tokens -= math.Floor(next.Tokens)
	default:
		bound := max(float64(m.minInFlight), next.Rate*m.target.Seconds())
		inFlight := float64(seats.Locked) + float64(fresh*int64(m.seatsPerBuyer))
		n = math.Floor((bound - inFlight) / float64(m.seatsPerBuyer))
		n = min(n, float64(seats.Available)) // more buyers than seats would only be turned away
		if m.paced {
			// Before an admission rate is measured (the first steps after opening), a cut starts
			// from the rate the floor of seats in flight allows over the target.
			floor := float64(m.minInFlight) / float64(m.seatsPerBuyer) / m.target.Seconds()
			n = pace(st, next, now, n, max(st.AdmitRate, floor))
		}
	}
	d.Admit = int(max(0, min(n, float64(m.maxPerStep))))
	return d
}

// pace applies the decision pace to a step at now that would let n buyers in, and returns how
// many it lets in. next is the state being decided; rate is the buyers a second being let in now
// (measured), where a cut starts from when the bound is above it.
func pace(st meterState, next *meterState, now time.Time, n, rate float64) float64 {
	dt := 0.0
	if !st.StepAt.IsZero() && now.After(st.StepAt) {
		dt = now.Sub(st.StepAt).Seconds()
	}
	next.Pace, next.CutAt = st.Pace, st.CutAt
	switch {
	case st.Pace == 0:
		// Opening, or admission going on again after steps that did not pace (sold out, the room
		// off, a fixed rate): slow start, with the first buyer in at once (RFC 5681's restart
		// after idle, section 4.1). (A pace of 0 has no cut: decide drops both together.)
		next.Pace, next.Tokens = paceStart, 1
	case st.SlowDecisions > 0 && now.Sub(st.CutAt) >= paceCutEvery:
		from := min(st.Pace, rate) // a bound that did not bind cuts from what is let in
		next.Pace, next.CutAt = max(from*paceCut, paceMin), now
	case st.SlowDecisions == 0 && st.Decisions > 0 && st.CutAt.IsZero():
		// Slow start: decisions were made and none was slow, none has cut the bound yet: it
		// doubles for each second of such steps.
		next.Pace = min(st.Pace*math.Exp2(dt), paceMax)
	case st.SlowDecisions == 0 && st.Decisions > 0:
		// Decisions were made and none was slow: the bound may grow.
		next.Pace = min(st.Pace+paceStep*dt, paceMax)
	}
	// A bucket of the buyers the pace allows, holding at most a second's worth (at least one).
	next.Tokens = min(next.Tokens+next.Pace*dt, max(1, next.Pace)) // (next.Tokens: st's, or the opening's one)
	k := max(min(n, math.Floor(next.Tokens)), 0)
	next.Tokens -= k
	return k
}

// admittedNow folds the k admissions of the step at now into the admission rate; stepAt is when
// the step before it ran.
func admittedNow(st *meterState, k int, stepAt, now time.Time) {
	if stepAt.IsZero() || !now.After(stepAt) {
		return
	}
	dt := now.Sub(stepAt).Seconds()
	st.AdmitRate = ewma(st.AdmitRate, float64(k)/dt, dt, admitWindow)
}

// ewma moves avg toward x as an exponential moving average over window, for a sample dt seconds
// long.
func ewma(avg, x, dt float64, window time.Duration) float64 {
	a := 1 - math.Exp(-dt/window.Seconds())
	return avg + a*(x-avg)
}
