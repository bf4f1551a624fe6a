package activities

import (
	"testing"
	"time"

	"ticketflow/internal/bus"
)

func TestEmitLooksFirstWhenTheSendMayNotBeTheFirst(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	msg := func(age time.Duration) bus.Message {
		return bus.Message{Topic: bus.TopicBookingConfirmed, Key: "b", Envelope: bus.Envelope{EventID: "b:booking.confirmed",
			OccurredAt: now.Add(-age)}}
	}
	cases := []struct {
		name    string
		attempt int32
		local   bool
		msgs    []bus.Message
		want    bool
	}{
		{"first local attempt, just decided", 1, true, []bus.Message{msg(30 * time.Millisecond)}, false},
		{"local retry", 2, true, []bus.Message{msg(time.Second)}, true},
		{"regular fallback, first attempt", 1, false, []bus.Message{msg(time.Second)}, true},
		{"local attempt 1 replayed after a worker died", 1, true, []bus.Message{msg(time.Second), msg(45 * time.Second)}, true},
	}
	for _, c := range cases {
		if got := mayHaveBeenSent(c.attempt, c.local, c.msgs, now); got != c.want {
			t.Errorf("%s: checked %v, want %v", c.name, got, c.want)
		}
	}
}
