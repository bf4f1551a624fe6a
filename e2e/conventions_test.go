//go:build integration

package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"ticketflow/internal/config"
	"ticketflow/openapi"
)

// A 201 carries Location naming the new resource, and so does a booking's 202 (and its replay);
// the location answers.
func TestCreatedAndAcceptedCarryLocation(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := c.expect(201, "POST", "/api/users/register", map[string]string{"name": "Loc", "email": "loc-" + uniq() + "@example.com",
		"password": "correct-horse-1"}, nil)
	if r.header.Get("Location") != "/api/users/me" {
		t.Fatalf("register: Location %q", r.header.Get("Location"))
	}
	adm := admin(t)
	var v venue
	r = adm.expect(201, "POST", "/api/venues", map[string]string{"name": "Venue " + uniq(), "address": "1 St", "city": "C", "country": "NO", "timezone": "Europe/Oslo"}, &v)
	if r.header.Get("Location") != "/api/venues/"+v.ID {
		t.Fatalf("venue: Location %q", r.header.Get("Location"))
	}
	adm.expect(200, "GET", r.header.Get("Location"), nil, nil)
	e := newEvent(t, 2, 1000)
	buyer, _ := register(t)
	key := "loc-" + uniq()
	r = book(buyer, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse", "Idempotency-Key", key)
	var b booking
	r.decode(t, &b)
	if r.status != 202 || r.header.Get("Location") != "/api/bookings/"+b.ID {
		t.Fatalf("booking: %d Location %q", r.status, r.header.Get("Location"))
	}
	buyer.expect(200, "GET", r.header.Get("Location"), nil, nil)
	again := book(buyer, e.ID, []string{"FLOOR-A-1"}, "tok_noResponse", "Idempotency-Key", key)
	if again.status != 202 || again.header.Get("Location") != r.header.Get("Location") {
		t.Fatalf("replay: %d Location %q", again.status, again.header.Get("Location"))
	}
	buyer.expect(200, "POST", "/api/bookings/"+b.ID+"/cancel", nil, nil)
}

// A 405 names the path's methods in Allow, from the gateway and from every service behind it; HEAD
// is answered for every GET with the GET's status and headers and no body.
func TestMethodNotAllowedCarriesAllowAndHeadAnswersEveryGet(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 1, 100)
	buyer, _ := register(t)
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/health", "GET, HEAD"},
		{"DELETE", "/api/openapi.json", "GET, HEAD"},
		{"DELETE", "/api/users/me", "GET, HEAD"},
		{"GET", "/api/users/login", "POST"},
		{"DELETE", "/api/events/" + e.ID, "GET, HEAD, PUT"},
		{"PATCH", "/api/bookings/my", "GET, HEAD"},
		{"GET", "/api/bookings", "POST"},
		{"PUT", "/api/inventory/events/" + e.ID + "/seats", "GET, HEAD"},
		{"POST", "/api/notifications/my", "GET, HEAD"},
	} {
		r := buyer.do(c.method, c.path, nil)
		if r.status != 405 || r.header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %q (%s)", c.method, c.path, r.status, r.header.Get("Allow"), c.allow, r.body)
		}
	}
	for _, path := range []string{"/health", "/health/all", "/api/openapi.json", "/api/events", "/api/events/" + e.ID, "/api/venues",
		"/api/inventory/events/" + e.ID + "/seats", "/api/inventory/events/" + e.ID + "/seats/status",
		"/api/inventory/events/" + e.ID + "/seats/layout", "/api/inventory/events/" + e.ID + "/seats/stream",
		"/api/users/me", "/api/bookings/my", "/api/notifications/my"} {
		get := response{status: 200, header: http.Header{"Content-Type": {"text/event-stream"}}} // a stream does not end
		if !strings.HasSuffix(path, "/stream") {
			get = buyer.do("GET", path, nil, "Accept-Encoding", "identity")
		}
		head := buyer.do("HEAD", path, nil, "Accept-Encoding", "identity")
		if head.status != get.status || len(head.body) != 0 || head.header.Get("Content-Type") != get.header.Get("Content-Type") {
			t.Errorf("HEAD %s: %d %q %d bytes, GET: %d %q", path, head.status, head.header.Get("Content-Type"), len(head.body),
				get.status, get.header.Get("Content-Type"))
		}
		if etag := get.header.Get("ETag"); etag != "" && head.header.Get("ETag") != etag {
			t.Errorf("HEAD %s: ETag %q, GET's %q", path, head.header.Get("ETag"), etag)
		}
	}
}

// Every 503 carries Retry-After: a gateway whose event service is unreachable answers its routes
// and /health/all that way (and every 429, see refusedOK).
func TestServiceUnavailableCarriesRetryAfter(t *testing.T) {
	cfg := loadConfig(t)
	gw := startGateway(t, cfg.Ports[config.Gateway]+43, "EVENT_URL=http://127.0.0.1:1")
	c := newClient(t).at(gw)
	for _, path := range []string{"/api/events", "/api/venues", "/health/all"} {
		r := c.do("GET", path, nil)
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); r.status != 503 || err != nil || s < 1 {
			t.Errorf("GET %s: %d Retry-After %q", path, r.status, r.header.Get("Retry-After"))
		}
	}
}

// Request bodies are strict as json/v2 is: a name in another case is an unknown field, a key given
// twice is refused, both with a 400 naming the field, on every route that reads a body.
func TestBodiesAreCaseSensitiveAndRefuseDuplicateKeys(t *testing.T) {
	t.Parallel()
	e := newEvent(t, 2, 100)
	buyer, _ := register(t)
	for _, c := range []struct{ body, field string }{
		{`{"EventId":"` + e.ID + `","seatIds":["FLOOR-A-1"]}`, "EventId"},
		{`{"eventId":"` + e.ID + `","SeatIds":["FLOOR-A-1"]}`, "SeatIds"},
		{`{"eventId":"` + e.ID + `","seatIds":["FLOOR-A-1"],"paymentMethod":{"Type":"card","token":"tok_visa"}}`, "paymentMethod.Type"},
		{`{"eventId":"` + e.ID + `","seatIds":["FLOOR-A-1"],"seatIds":["FLOOR-A-2"]}`, "seatIds"},
	} {
		r := buyer.do("POST", "/api/bookings", c.body)
		if e := refused(t, r, 400); e.Error.Details["field"] != c.field || !strings.Contains(e.Error.Message, c.field) {
			t.Errorf("%s: %s", c.body, r.body)
		}
	}
	anon := newClient(t)
	refused(t, anon.do("POST", "/api/users/login", `{"Email":"a@b.co","password":"x"}`), 400)
	refused(t, anon.do("POST", "/api/users/register", `{"name":"a","email":"a-`+uniq()+`@example.com","password":"correct-horse-1","password":"x"}`), 400)
	var mine []booking
	buyer.expect(200, "GET", "/api/bookings/my", nil, &mine)
	if len(mine) != 0 {
		t.Fatalf("a refused body made a booking: %+v", mine)
	}
}

// The document is served by the gateway, is the one in the repository, and its checker (which
// every exchange of this suite goes through) catches drift of each kind it looks for.
func TestTheDocumentIsServedAndItsCheckerCatchesDrift(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	r := c.expect(200, "GET", "/api/openapi.json", nil, nil)
	if !bytes.Equal(r.body, openapi.Document) {
		t.Fatal("GET /api/openapi.json is not openapi/openapi.json")
	}
	sc, err := checker()
	if err != nil {
		t.Fatal(err)
	}
	gw := loadConfig(t).URLs[config.Gateway]
	exchange := func(method, path, reqBody string, status int, header http.Header, body string) []string {
		req, _ := http.NewRequest(method, gw+path, strings.NewReader(reqBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer x")
		if header == nil {
			header = http.Header{}
		}
		header.Set("Content-Type", "application/json")
		resp := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(strings.NewReader(body))}
		return sc.check(req, []byte(reqBody), resp, []byte(body))
	}
	venueBody := `{"name":"V","address":"A","city":"C","country":"NO"}`
	venue := `{"id":"8ba3b1dc-4206-4ff7-949b-ceb073051fd0","name":"V","address":"A","city":"C","country":"NO","createdAt":"2026-11-25T21:25:28Z"}`
	ok := http.Header{"Location": {"/api/venues/8ba3b1dc-4206-4ff7-949b-ceb073051fd0"}}
	if p := exchange("POST", "/api/venues", venueBody, 201, ok.Clone(), venue); len(p) != 0 {
		t.Fatalf("a documented exchange was refused: %q", p)
	}
	errBody := `{"error":{"code":"VALIDATION_ERROR","message":"x","requestId":"r"}}`
	for name, p := range map[string][]string{
		"201 without Location":         exchange("POST", "/api/venues", venueBody, 201, nil, venue),
		"an undocumented field":        exchange("POST", "/api/venues", venueBody, 201, ok.Clone(), strings.Replace(venue, `"name"`, `"capacity":1,"name"`, 1)),
		"an undocumented status":       exchange("POST", "/api/venues", venueBody, 418, nil, errBody),
		"an invalid request accepted":  exchange("POST", "/api/venues", `{"name":"V"}`, 201, ok.Clone(), venue),
		"a 503 without Retry-After":    exchange("GET", "/api/venues", "", 503, nil, `{"error":{"code":"SERVICE_UNAVAILABLE","message":"x","requestId":"r"}}`),
		"Allow naming other methods":   exchange("DELETE", "/api/venues", "", 405, http.Header{"Allow": {"GET, HEAD"}}, errBody),
		"an undocumented path served":  exchange("GET", "/api/tickets", "", 200, nil, `{}`),
		"an error not in the envelope": exchange("GET", "/api/nowhere", "", 404, nil, `{"message":"not found"}`),
	} {
		if len(p) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}
