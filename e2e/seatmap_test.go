//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/config"
	"ticketflow/internal/ids"
	"ticketflow/internal/lifecycle"
	"ticketflow/tools/devstack"
)

// The live seat map: a snapshot with a strong ETag, compressed; a stream of committed changes,
// resumable; and a Redis that may fail without taking bookings down.

func rawGet(t testing.TB, url string, headers ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	tr := &http.Transport{DisableCompression: true} // see the bytes as sent
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkSpec(t, req, nil, resp, body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

func TestSeatMapSnapshotsHaveAStrongETagAnd304(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	e := newEvent(t, 30, 1000)
	for _, path := range []string{"/seats", "/seats/status", "/seats/layout"} {
		u := cfg.URLs[config.Gateway] + "/api/inventory/events/" + e.ID + path
		first := rawGet(t, u)
		io.Copy(io.Discard, first.Body)
		first.Body.Close()
		etag := first.Header.Get("ETag")
		if first.StatusCode != 200 || !strings.HasPrefix(etag, `"`) {
			t.Fatalf("%s: %d ETag %q", path, first.StatusCode, etag)
		}
		again := rawGet(t, u, "If-None-Match", etag)
		again.Body.Close()
		if again.StatusCode != http.StatusNotModified {
			t.Fatalf("%s with If-None-Match %s: %d", path, etag, again.StatusCode)
		}
	}
	// A hold moves the version: the old tag no longer matches, the new one names it.
	u := cfg.URLs[config.Gateway] + "/api/inventory/events/" + e.ID + "/seats/status"
	before := rawGet(t, u)
	before.Body.Close()
	c, _ := register(t)
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse")
	after := rawGet(t, u, "If-None-Match", before.Header.Get("ETag"))
	var snap struct {
		Version  int64             `json:"version"`
		Statuses string            `json:"statuses"`
		Holds    map[string]string `json:"holds"`
	}
	json.NewDecoder(after.Body).Decode(&snap)
	after.Body.Close()
	if after.StatusCode != 200 || after.Header.Get("ETag") == before.Header.Get("ETag") {
		t.Fatalf("after a hold: %d, ETag %s (before %s)", after.StatusCode, after.Header.Get("ETag"), before.Header.Get("ETag"))
	}
	if len(snap.Statuses) != 30 || snap.Statuses[0] != 'L' || snap.Holds["0"] == "" || strings.Count(snap.Statuses, "A") != 29 {
		t.Fatalf("status snapshot %+v", snap)
	}
}

func TestSeatMapsAreCompressed(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	e := newEvent(t, 2000, 1000)
	u := cfg.URLs[config.Gateway] + "/api/inventory/events/" + e.ID + "/seats"
	plain := rawGet(t, u)
	plainBody, _ := io.ReadAll(plain.Body)
	plain.Body.Close()
	zipped := rawGet(t, u, "Accept-Encoding", "gzip, br")
	zBody, _ := io.ReadAll(zipped.Body)
	zipped.Body.Close()
	if zipped.Header.Get("Content-Encoding") != "gzip" || len(zBody)*10 > len(plainBody) {
		t.Fatalf("gzip: %q, %d bytes compressed against %d plain", zipped.Header.Get("Content-Encoding"), len(zBody), len(plainBody))
	}
	zr, err := gzip.NewReader(strings.NewReader(string(zBody)))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if string(unzipped) != string(plainBody) {
		t.Fatal("the compressed map is not the map")
	}
}

// On each of the three seat-map routes: Accept-Encoding's q=0 (in any spelling) refuses gzip; the
// gzip and identity bodies carry different strong ETags (RFC 9110 section 8.8.3.3); If-None-Match
// answers 304 for the representation the request would get, and only for it.
func TestSeatMapGzipFollowsQValuesAndEachEncodingHasItsOwnETag(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	e := newEvent(t, 300, 1000)
	for _, path := range []string{"/seats", "/seats/status", "/seats/layout"} {
		u := cfg.URLs[config.Gateway] + "/api/inventory/events/" + e.ID + path
		plain := rawGet(t, u)
		zipped := rawGet(t, u, "Accept-Encoding", "gzip")
		plainTag, zipTag := plain.Header.Get("ETag"), zipped.Header.Get("ETag")
		if plain.Header.Get("Content-Encoding") != "" || zipped.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: Content-Encoding %q without Accept-Encoding, %q with gzip", path,
				plain.Header.Get("Content-Encoding"), zipped.Header.Get("Content-Encoding"))
		}
		if plainTag == zipTag || !strings.HasPrefix(plainTag, `"`) || !strings.HasPrefix(zipTag, `"`) {
			t.Errorf("%s: identity ETag %s, gzip ETag %s: two strong, different tags wanted", path, plainTag, zipTag)
		}
		for _, ae := range []string{"gzip;q=0", "gzip;q=0.000", "gzip;Q=0", "gzip; q=0", "identity, gzip;q=0"} {
			r := rawGet(t, u, "Accept-Encoding", ae)
			if r.Header.Get("Content-Encoding") != "" || r.Header.Get("ETag") != plainTag {
				t.Errorf("%s with Accept-Encoding %q: Content-Encoding %q, ETag %s", path, ae,
					r.Header.Get("Content-Encoding"), r.Header.Get("ETag"))
			}
		}
		for _, c := range []struct {
			ae, inm string
			want    int
			etag    string
		}{
			{"gzip", zipTag, http.StatusNotModified, zipTag},
			{"", plainTag, http.StatusNotModified, plainTag},
			{"gzip", plainTag, http.StatusOK, zipTag}, // holds the identity body, would get gzip
			{"", zipTag, http.StatusOK, plainTag},     // holds the gzip body, would get identity
		} {
			var headers []string
			if c.ae != "" {
				headers = append(headers, "Accept-Encoding", c.ae)
			}
			r := rawGet(t, u, append(headers, "If-None-Match", c.inm)...)
			if r.StatusCode != c.want || r.Header.Get("ETag") != c.etag {
				t.Errorf("%s with Accept-Encoding %q, If-None-Match %s: %d ETag %s, want %d ETag %s", path, c.ae, c.inm,
					r.StatusCode, r.Header.Get("ETag"), c.want, c.etag)
			}
		}
	}
}

// A page of another site allowed by CORS_ORIGINS may send the headers docs/seatmap.md tells it to:
// Last-Event-ID (to resume the stream) and If-None-Match (to revalidate a snapshot).
func TestCORSPreflightAcceptsTheHeadersTheSeatMapDocsTellPagesToSend(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	e := newEvent(t, 2, 1000)
	for path, header := range map[string]string{"/seats/stream": "Last-Event-ID", "/seats/status": "If-None-Match",
		"/seats/layout": "If-None-Match", "/seats": "If-None-Match"} {
		req, _ := http.NewRequest(http.MethodOptions, cfg.URLs[config.Gateway]+"/api/inventory/events/"+e.ID+path, nil)
		req.Header.Set("Origin", "https://another-site.example")
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", strings.ToLower(header))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		origin := resp.Header.Get("Access-Control-Allow-Origin")
		allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
		if resp.StatusCode/100 != 2 || (origin != "*" && origin != "https://another-site.example") ||
			!strings.Contains(allowed, strings.ToLower(header)) {
			t.Errorf("preflight of GET %s with %s: %d, Allow-Origin %q, Allow-Headers %q", path, header, resp.StatusCode,
				origin, resp.Header.Get("Access-Control-Allow-Headers"))
		}
	}
}

// sse reads a seat map stream.
type sse struct {
	resp   *http.Response
	events chan sseEvent
}

type sseEvent struct {
	id, event string
	data      struct {
		Version int64 `json:"version"`
		Changes []struct {
			Version int64       `json:"version"`
			SeatIDs []string    `json:"seatIds"`
			Status  string      `json:"status"`
			Areas   []areaCount `json:"areas"`
		} `json:"changes"`
	}
}

func openStream(t testing.TB, eventID string, headers ...string) *sse {
	t.Helper()
	return openStreamAt(t, eventID, "", headers...)
}

// openStreamAt opens the stream with a query ("since=…", or "").
func openStreamAt(t testing.TB, eventID, query string, headers ...string) *sse {
	t.Helper()
	cfg := loadConfig(t)
	u := cfg.URLs[config.Gateway] + "/api/inventory/events/" + eventID + "/seats/stream"
	if query != "" {
		u += "?" + query
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	checkSpec(t, req, nil, resp, nil) // its status and headers; the events are read below
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sse{resp: resp, events: make(chan sseEvent, 100)}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				json.Unmarshal([]byte(line[6:]), &ev.data)
			case line == "" && ev.event != "":
				s.events <- ev
				ev = sseEvent{}
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return s
}

// next waits for the next event of kind (skipping others) within d.
func (s *sse) next(t testing.TB, kind string, d time.Duration) sseEvent {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("stream ended waiting for %s", kind)
			}
			if ev.event == kind {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within %s", kind, d)
		}
	}
}

// seen collects the statuses the stream reports for seats until d passes.
func (s *sse) seen(d time.Duration) map[string][]string {
	out := map[string][]string{}
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return out
			}
			for _, c := range ev.data.Changes {
				for _, id := range c.SeatIDs {
					out[id] = append(out[id], c.Status)
				}
			}
		case <-deadline:
			return out
		}
	}
}

func statusVersion(t testing.TB, eventID string) int64 {
	t.Helper()
	var snap struct {
		Version int64 `json:"version"`
	}
	if err := getJSON(loadConfig(t).URLs[config.Gateway]+"/api/inventory/events/"+eventID+"/seats/status", &snap, t); err != nil {
		t.Fatal(err)
	}
	return snap.Version
}

func TestAChangeIsSeenOnTheStreamAndResumedAfterADisconnect(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 10, 1000)
	c, _ := register(t)
	v0 := statusVersion(t, e.ID)
	st := openStream(t, e.ID, "Last-Event-ID", strconv.FormatInt(v0, 10))
	start := time.Now()
	var b booking
	book(c, e.ID, []string{"FLOOR-A-1", "FLOOR-A-2"}, "tok_noResponse").decode(t, &b)
	ev := st.next(t, "seats", 5*time.Second)
	if len(ev.data.Changes) == 0 || ev.data.Changes[0].Status != "LOCKED" || strings.Join(ev.data.Changes[0].SeatIDs, ",") != "FLOOR-A-1,FLOOR-A-2" {
		t.Fatalf("first change %+v", ev.data)
	}
	t.Logf("hold seen on the stream %s after the POST", time.Since(start))
	seenAt := ev.id
	st.resp.Body.Close() // the watcher goes away…
	c.expect(200, "POST", "/api/bookings/"+b.ID+"/cancel", nil, nil)
	book(c, e.ID, []string{"FLOOR-A-3"}, "tok_noResponse")
	// …and comes back with the last id it saw: it gets what it missed, in order.
	again := openStream(t, e.ID, "Last-Event-ID", seenAt)
	got := again.seen(3 * time.Second)
	if strings.Join(got["FLOOR-A-1"], ",") != "AVAILABLE" || strings.Join(got["FLOOR-A-3"], ",") != "LOCKED" {
		t.Fatalf("after resuming from %s: %v", seenAt, got)
	}
	// A watcher too far behind is told to re-read the snapshot.
	reset := openStream(t, e.ID, "Last-Event-ID", "0")
	reset.next(t, "reset", 5*time.Second)
}

// first returns the stream's first event, within d.
func (s *sse) first(t testing.TB, d time.Duration) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended without an event")
		}
		return ev
	case <-time.After(d):
		t.Fatalf("no event within %s", d)
	}
	return sseEvent{}
}

// A watcher that resumes from a position the server cannot continue from — ahead of its version
// (a restored database, another event's version), another event's id, or no position at all — is
// told to reset (and re-read the snapshot) at once, never left with a silent stream.
func TestAStreamResumedFromAPositionItCannotContinueGetsAReset(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 10, 1000)
	other := newEvent(t, 10, 1000)
	c, _ := register(t)
	book(c, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse")
	book(c, e.ID, []string{"FLOOR-A-2"}, "tok_noResponse")
	book(c, other.ID, []string{"FLOOR-A-1"}, "tok_noResponse")
	current := statusVersion(t, e.ID)
	// The other event's stream id, at a version this event has had.
	otherID := openStream(t, other.ID).first(t, 5*time.Second).id
	if otherID == "" {
		t.Fatal("the other event's hello carries no id")
	}
	ahead := strconv.FormatInt(current+1000, 10)
	for name, open := range map[string]func(t *testing.T) *sse{
		"Last-Event-ID ahead":      func(t *testing.T) *sse { return openStream(t, e.ID, "Last-Event-ID", ahead) },
		"since ahead":              func(t *testing.T) *sse { return openStreamAt(t, e.ID, "since="+ahead) },
		"another event's id":       func(t *testing.T) *sse { return openStream(t, e.ID, "Last-Event-ID", otherID) },
		"another event's id since": func(t *testing.T) *sse { return openStreamAt(t, e.ID, "since="+url.QueryEscape(otherID)) },
		"garbage Last-Event-ID":    func(t *testing.T) *sse { return openStream(t, e.ID, "Last-Event-ID", "abc") },
		"garbage since":            func(t *testing.T) *sse { return openStreamAt(t, e.ID, "since=x1") },
		"negative since":           func(t *testing.T) *sse { return openStreamAt(t, e.ID, "since=-1") },
	} {
		t.Run(name, func(t *testing.T) {
			if ev := open(t).first(t, 5*time.Second); ev.event != "reset" || ev.data.Version != current {
				t.Errorf("first event %q (version %d), want reset (version %d)", ev.event, ev.data.Version, current)
			}
		})
	}
	// A reconnecting EventSource sends the URL it was opened with (?since= the first snapshot's
	// version) and the last id it saw: it resumes from that id, and is not sent again what it has.
	t.Run("reconnect", func(t *testing.T) {
		since := "since=" + strconv.FormatInt(current-2, 10)
		first := openStreamAt(t, e.ID, since).first(t, 5*time.Second)
		if first.event != "seats" || first.id == "" {
			t.Fatalf("resume from %d: %+v", current-2, first)
		}
		again := openStreamAt(t, e.ID, since, "Last-Event-ID", first.id)
		book(c, e.ID, []string{"FLOOR-A-3"}, "tok_noResponse")
		ev := again.first(t, 5*time.Second)
		if ev.event != "seats" || len(ev.data.Changes) != 1 || strings.Join(ev.data.Changes[0].SeatIDs, ",") != "FLOOR-A-3" {
			t.Fatalf("after a reconnect with Last-Event-ID %s: %+v", first.id, ev)
		}
	})
}

func TestARolledBackHoldIsNeverStreamed(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 4, 1000)
	c, _ := register(t)
	rival, _ := register(t)
	book(rival, e.ID, []string{"FLOOR-A-2"}, "tok_noResponse")
	st := openStream(t, e.ID, "Last-Event-ID", strconv.FormatInt(statusVersion(t, e.ID), 10))
	// The hold of 1 and 2 takes 1, finds 2 taken, and rolls back: 1 was never held.
	inv := internal(t, config.Inventory)
	err := hold(t, inv, e.ID, ids.New(), []string{"FLOOR-A-1", "FLOOR-A-2"}, time.Now().Add(time.Minute))
	if err == nil {
		t.Fatal("a hold of a taken seat succeeded")
	}
	book(c, e.ID, []string{"FLOOR-A-4"}, "tok_noResponse") // a later change, to know the stream moved on
	got := st.seen(3 * time.Second)
	if len(got["FLOOR-A-1"]) != 0 || strings.Join(got["FLOOR-A-4"], ",") != "LOCKED" {
		t.Fatalf("streamed: %v", got)
	}
}

// With Redis paused (SIGSTOP) and then killed during bookings, every booking is answered in
// time and ends consistently, and the seat map is served from PostgreSQL, never stale.
func TestBookingsGoOnWhileRedisIsPausedOrDown(t *testing.T) {
	cfg := loadConfig(t)
	e := newEvent(t, 40, 1000)
	inv := internal(t, config.Inventory)
	for _, fault := range []string{"pause", "kill"} {
		t.Run(fault, func(t *testing.T) {
			var wg sync.WaitGroup
			done := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(done)
				if fault == "pause" { // Pause returns when the process runs again
					if _, err := devstack.Pause(cfg, "redis", 8*time.Second); err != nil {
						t.Error(err)
					}
				}
			}()
			if fault == "kill" {
				killFor(t, cfg, "redis", 8*time.Second)
			}
			time.Sleep(300 * time.Millisecond)
			base := 1
			if fault == "kill" {
				base = 21
			}
			var booked []string
			for i := 0; i < 10; i++ {
				c, _ := register(t)
				seat := "FLOOR-A-" + strconv.Itoa(base+i)
				start := time.Now()
				r := book(c, e.ID, []string{seat}, "tok_visa")
				if r.status != http.StatusAccepted || time.Since(start) > time.Second {
					t.Fatalf("booking %d during the Redis %s: %d after %s: %s", i, fault, r.status, time.Since(start), r.body)
				}
				var b booking
				r.decode(t, &b)
				booked = append(booked, b.ID)
				if sm := readSeatMap(t, e.ID); sm.status(seat) == "AVAILABLE" {
					t.Fatalf("the seat map shows %s AVAILABLE right after its hold", seat)
				}
				if err := hold(t, inv, e.ID, ids.New(), []string{seat}, time.Now().Add(time.Minute)); err == nil {
					t.Fatal("a second hold of a held seat succeeded")
				}
			}
			<-done
			wg.Wait()
			admin := admin(t)
			for _, id := range booked {
				if got := agrees(t, admin, id, time.Minute); got.Status != lifecycle.StatusConfirmed {
					t.Fatalf("booking %+v", got)
				}
			}
		})
	}
}
