package server

import (
	"net/http/httptest"
	"testing"
)

// A watcher resumes from Last-Event-ID (what EventSource saw last, newer than the ?since= of the
// URL it reconnects to), else ?since=; a position that is not one of this event's stream is
// refused, so that the stream answers it with a reset instead of silence.
func TestAResumePositionIsThisEventsOrRefused(t *testing.T) {
	const event = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
	for _, c := range []struct {
		since, lastID string
		want          int64 // -1: from now
		invalid       bool
	}{
		{"", "", -1, false},
		{"42", "", 42, false},
		{"", "42", 42, false},
		{"", "42@1b4e28ba", 42, false},
		{"7", "42@1b4e28ba", 42, false}, // a reconnect: the header is newer than the URL
		{"42@1b4e28ba", "", 42, false},
		{"0", "", 0, false},
		{"", "42@9f00aa11", 0, true}, // another event's id
		{"42@9f00aa11", "", 0, true},
		{"", "abc", 0, true},
		{"-5", "", 0, true},
		{"4.2", "", 0, true},
		{"", "42@", 0, true},
		{"99999999999999999999", "", 0, true},
	} {
		r := httptest.NewRequest("GET", "/api/inventory/events/"+event+"/seats/stream", nil)
		if c.since != "" {
			q := r.URL.Query()
			q.Set("since", c.since)
			r.URL.RawQuery = q.Encode()
		}
		if c.lastID != "" {
			r.Header.Set("Last-Event-ID", c.lastID)
		}
		got := resumeFrom(r, event)
		if (got.invalid != "") != c.invalid || (!c.invalid && got.version != c.want) {
			t.Errorf("since %q Last-Event-ID %q: %+v, want version %d invalid %v", c.since, c.lastID, got, c.want, c.invalid)
		}
	}
	if id := streamID(event, 43); id != "43@1b4e28ba" {
		t.Fatalf("stream id %q", id)
	}
}
