package waitingroom

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"ticketflow/internal/admission"
)

// The states of a place, as buyers see them.
const (
	StateWaiting  = "WAITING"
	StateAdmitted = "ADMITTED"
	StateExpired  = "EXPIRED" // the admission ran out, or the buyer left
)

// Place is the answer of every queue endpoint: the caller's place in the event's line. Only the
// caller's own place is ever shown; nothing in it names another buyer.
//
// Before the sale opens a WAITING place has no number, position or ahead yet: every early joiner
// is drawn into a random order at opensAt (estimatedWaitSeconds counts down to it). After that,
// number is the place's fixed number in line (admission follows it), position is 1 for the next
// buyer in, ahead how many wait before it, and estimatedWaitSeconds a rough estimate from the
// recent pace of admission (absent when there is none yet). An ADMITTED place carries the
// admissionToken to send with POST /api/bookings (header Admission-Token) until admittedUntil.
// streamUrl and pollUrl say where to follow the place: the room servers' when the deployment runs
// them (WAITING_ROOM_FOLLOW_URL), so that the waiting crowd is served apart from the gateway every
// booking passes through; else the gateway's own paths.
type Place struct {
	EventID              string     `json:"eventId"`
	State                string     `json:"state"`
	Number               *int64     `json:"number,omitempty"`
	Position             *int64     `json:"position,omitempty"`
	Ahead                *int64     `json:"ahead,omitempty"`
	EstimatedWaitSeconds *int64     `json:"estimatedWaitSeconds,omitempty"`
	OpensAt              time.Time  `json:"opensAt"`
	JoinedAt             time.Time  `json:"joinedAt"`
	AdmissionToken       string     `json:"admissionToken,omitempty"`
	AdmittedUntil        *time.Time `json:"admittedUntil,omitempty"`
	// SoldOut: nothing is left to buy right now (no seat available or held); the line waits in
	// case seats come back.
	SoldOut bool `json:"soldOut"`
	// UpdatedAt is when the line last moved (someone let in, or someone ahead left): the place
	// shown is as of then.
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
	StreamURL string     `json:"streamUrl"`
	PollURL   string     `json:"pollUrl"`
}

// viewOf is the place p of user in eventID's line as a buyer sees it at now, with s the line's
// summary; fallbackRate (buyers a second, 0 for none) estimates the wait while no admission
// was measured yet.
func viewOf(key []byte, eventID, user string, p place, s *summary, now time.Time, fallbackRate float64) Place {
	v := Place{EventID: eventID, State: StateExpired, OpensAt: s.Opens.UTC(), JoinedAt: time.UnixMilli(p.Joined).UTC(),
		SoldOut: s.SoldOut}
	if !s.Moved.IsZero() {
		moved := s.Moved.UTC()
		v.UpdatedAt = &moved
	}
	switch {
	case p.State == stWaiting:
		v.State = StateWaiting
		// A place with a number shows it even when this replica's summary still predates the draw
		// (a join in the first tick after opening): it was drawn, or joined after the draw.
		if p.Number == 0 {
			if wait := s.Opens.Sub(now); wait > 0 {
				v.EstimatedWaitSeconds = ptr(int64(math.Ceil(wait.Seconds())))
			}
			break
		}
		ahead := s.ahead(p.Number)
		v.Number, v.Ahead, v.Position = ptr(p.Number), ptr(ahead), ptr(ahead+1)
		rate := s.AdmitRate
		if rate < 0.01 {
			rate = fallbackRate
		}
		if rate > 0 {
			v.EstimatedWaitSeconds = ptr(roughly(float64(ahead+1) / rate))
		}
	case p.State == stAdmitted && p.Until > now.UnixMilli():
		v.State = StateAdmitted
		until := time.UnixMilli(p.Until).UTC()
		v.AdmittedUntil = &until
		v.Number = ptr(p.Number)
		// Deterministic: every replica gives the same admission the same token.
		v.AdmissionToken, _ = admission.Sign(key, admission.Pass{UserID: user, EventID: eventID,
			AdmittedAt: time.UnixMilli(p.AdmittedAt), Until: until})
	}
	return v
}

// roughly rounds an estimate of seconds so that it does not change at every step of the line:
// to 5 s under a minute, 15 s under ten, whole minutes beyond.
func roughly(sec float64) int64 {
	step := 60.0
	switch {
	case sec < 60:
		step = 5
	case sec < 600:
		step = 15
	}
	return int64(math.Ceil(sec/step) * step)
}

func ptr[T any](v T) *T { return &v }

// same reports whether two views show the buyer the same thing (a stream sends only changes).
// Before the draw the estimate only counts down to opensAt, which the buyer knows: it is no change.
func same(a, b Place) bool {
	eq := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.State == b.State && a.SoldOut == b.SoldOut && a.OpensAt.Equal(b.OpensAt) && eq(a.Number, b.Number) && eq(a.Position, b.Position) &&
		(a.Number == nil || eq(a.EstimatedWaitSeconds, b.EstimatedWaitSeconds)) && a.AdmissionToken == b.AdmissionToken
}

// MarshalJSON encodes the place as encoding/json would encode its fields (the same names, order,
// omissions and escaping), without reflection: a stream encodes one for each of ten thousand
// waiting buyers about once a second, and reflection was a fifth of that cost (BENCHMARKS.md).
func (v Place) MarshalJSON() ([]byte, error) { return v.appendJSON(make([]byte, 0, 512)), nil }

// appendJSON appends the place's JSON (MarshalJSON's) to b.
func (v Place) appendJSON(b []byte) []byte {
	b = append(b, `{"eventId":`...)
	b = appendString(b, v.EventID)
	b = append(b, `,"state":`...)
	b = appendString(b, v.State)
	b = appendInt(b, `,"number":`, v.Number)
	b = appendInt(b, `,"position":`, v.Position)
	b = appendInt(b, `,"ahead":`, v.Ahead)
	b = appendInt(b, `,"estimatedWaitSeconds":`, v.EstimatedWaitSeconds)
	b = appendTime(append(b, `,"opensAt":`...), v.OpensAt)
	b = appendTime(append(b, `,"joinedAt":`...), v.JoinedAt)
	if v.AdmissionToken != "" {
		b = appendString(append(b, `,"admissionToken":`...), v.AdmissionToken)
	}
	if v.AdmittedUntil != nil {
		b = appendTime(append(b, `,"admittedUntil":`...), *v.AdmittedUntil)
	}
	b = strconv.AppendBool(append(b, `,"soldOut":`...), v.SoldOut)
	if v.UpdatedAt != nil {
		b = appendTime(append(b, `,"updatedAt":`...), *v.UpdatedAt)
	}
	b = appendString(append(b, `,"streamUrl":`...), v.StreamURL)
	b = appendString(append(b, `,"pollUrl":`...), v.PollURL)
	return append(b, '}')
}

// appendInt appends name and *n, or nothing when n is nil (omitempty).
func appendInt(b []byte, name string, n *int64) []byte {
	if n == nil {
		return b
	}
	return strconv.AppendInt(append(b, name...), *n, 10)
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with the nanoseconds it has).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString appends s as a JSON string. What the place's strings hold (ids, states, tokens,
// URLs) needs no escaping; anything else goes through encoding/json, escaping as it does.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
