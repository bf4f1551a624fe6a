package waitingroom

import (
	"encoding/json"
	"testing"
	"time"

	"ticketflow/internal/admission"
	"ticketflow/internal/config"
)

func TestViewShowsOnlyTheCallersPlace(t *testing.T) {
	key := admission.Key([]byte("a-secret-of-thirty-two-bytes-or-more"))
	s := &summary{Opens: t0, Drawn: true, Head: 10, Gone: []int64{12, 15}, Moved: t0.Add(time.Minute), AdmitRate: 2}
	now := t0.Add(2 * time.Minute)

	w := viewOf(key, "e1", "u1", place{State: stWaiting, Number: 14, Joined: t0.UnixMilli()}, s, now, 0)
	// 11 and 13 wait before 14 (12 left): position 3, about 1.5 s at 2 a second, shown as 5 s.
	if w.State != StateWaiting || *w.Number != 14 || *w.Ahead != 2 || *w.Position != 3 || *w.EstimatedWaitSeconds != 5 ||
		w.AdmissionToken != "" || !w.UpdatedAt.Equal(s.Moved) {
		t.Fatalf("waiting: %+v", w)
	}
	early := viewOf(key, "e1", "u1", place{State: stWaiting}, &summary{Opens: t0}, t0.Add(-90*time.Second), 0)
	if early.Number != nil || early.Position != nil || *early.EstimatedWaitSeconds != 90 {
		t.Fatalf("before the draw: %+v", early)
	}
	until := now.Add(time.Minute)
	a := viewOf(key, "e1", "u1", place{State: stAdmitted, Number: 9, AdmittedAt: now.UnixMilli(), Until: until.UnixMilli()}, s, now, 0)
	if a.State != StateAdmitted || a.Position != nil || !a.AdmittedUntil.Equal(until) {
		t.Fatalf("admitted: %+v", a)
	}
	if _, err := admission.Verify(key, a.AdmissionToken, "u1", "e1", now); err != nil {
		t.Fatalf("the admitted place's token: %v", err)
	}
	x := viewOf(key, "e1", "u1", place{State: stAdmitted, Number: 9, AdmittedAt: now.UnixMilli(), Until: until.UnixMilli()}, s, until, 0)
	if x.State != StateExpired || x.AdmissionToken != "" {
		t.Fatalf("an admission that ran out: %+v", x)
	}
	if l := viewOf(key, "e1", "u1", place{State: stLeft, Number: 9}, s, now, 0); l.State != StateExpired {
		t.Fatalf("left: %+v", l)
	}
}

func TestEstimatesAreRough(t *testing.T) {
	for sec, want := range map[float64]int64{0.4: 5, 12: 15, 61: 75, 599: 600, 601: 660, 3599: 3600} {
		if got := roughly(sec); got != want {
			t.Errorf("roughly(%v) = %d, want %d", sec, got, want)
		}
	}
}

// A place names where to follow it: the room servers' URL when WAITING_ROOM_FOLLOW_URL is set,
// else the gateway's own paths.
func TestAPlaceNamesWhereToFollowIt(t *testing.T) {
	for _, c := range []struct{ follow, wantPoll string }{
		{"", "/api/events/e1/queue"},
		{"https://queue.example.com", "https://queue.example.com/api/events/e1/queue"},
	} {
		rm := &Room{cfg: config.WaitingRoom{FollowURL: c.follow}}
		poll, stream := rm.followURLs("e1")
		if poll != c.wantPoll || stream != c.wantPoll+"/stream" {
			t.Errorf("FollowURL %q: poll %q stream %q, want %q and its /stream", c.follow, poll, stream, c.wantPoll)
		}
	}
}

// A buyer who joins in the first tick after opening gets a number at once (the join draws the
// line); the answer shows it although the replica's summary of the line is still the one from
// before the draw, and not as an early joiner's place waiting for the draw.
func TestAPlaceJoinedJustAfterOpeningShowsItsNumber(t *testing.T) {
	key := admission.Key([]byte("a-secret-of-thirty-two-bytes-or-more"))
	stale := &summary{Opens: t0, Drawn: false}
	v := viewOf(key, "e1", "u1", place{State: stWaiting, Number: 5001, Joined: t0.Add(40 * time.Millisecond).UnixMilli()},
		stale, t0.Add(50*time.Millisecond), 0)
	if v.Number == nil || *v.Number != 5001 || v.Position == nil || *v.Position != 5001 {
		t.Fatalf("view %+v, want number 5001 at position 5001", v)
	}
}

// The hand-written encoding must be exactly encoding/json's for every place: buyers' clients and
// the OpenAPI schema were written against that.
func TestAPlaceEncodesAsEncodingJSONWould(t *testing.T) {
	type plain Place // the same fields, without MarshalJSON
	n := func(v int64) *int64 { return &v }
	at := func(t time.Time) *time.Time { return &t }
	base := Place{EventID: "0b7f3a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", State: StateWaiting, OpensAt: t0,
		JoinedAt: t0.Add(-1500 * time.Millisecond), StreamURL: "https://queue.example.com/api/events/x/queue/stream",
		PollURL: "/api/events/x/queue"}
	cases := []Place{base}
	full := base
	full.State, full.Number, full.Position, full.Ahead, full.EstimatedWaitSeconds = StateAdmitted, n(42), n(0), n(-1), n(3600)
	full.AdmissionToken, full.AdmittedUntil, full.SoldOut = "eyJhbGciOi.J9-_x", at(t0.Add(10*time.Minute+123456789)), true
	full.UpdatedAt = at(t0.In(time.FixedZone("CET", 3600)).Add(7 * time.Millisecond))
	cases = append(cases, full)
	odd := base
	odd.EventID, odd.State, odd.PollURL = "a\"b\\c<d>&e\u2028é\x01", "", "http://h/?a=1&b=<2>"
	cases = append(cases, odd)
	for i, v := range cases {
		want, err := json.Marshal(plain(v))
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) || string(v.appendJSON(nil)) != string(want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
