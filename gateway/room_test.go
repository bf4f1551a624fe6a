package gateway

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/config"
)

// A room server answers a buyer's place and its stream, with the gateway's checks, and nothing
// else: joining and leaving stay the gateway's (405), it proxies nothing and serves no page (404),
// its metrics are on its admin port only; a page of an allowed origin may read it (CORS), which
// the gateway's own page needs, the room being another origin.
func TestARoomServerAnswersOnlyTheLinesReads(t *testing.T) {
	secret := "a-secret-of-thirty-two-bytes-or-more"
	cfg := &config.Config{JWTSecret: secret, RateLimit: 100, RateWindow: time.Minute, MaxBodyBytes: 1 << 20,
		CORSOrigins: []string{"https://tickets.example"}, Endpoints: map[string][]string{}}
	for _, s := range config.Services {
		cfg.Endpoints[s] = []string{"http://127.0.0.1:1"}
	}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := g.RoomRoutes()
	token, _, err := auth.Sign([]byte(secret), auth.Identity{UserID: "u1", Email: "u1@example.com", Role: auth.RoleUser},
		time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	send := func(method, path string, headers ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = "192.0.2.1:5000"
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	code := func(w *httptest.ResponseRecorder) string {
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return body.Error.Code
	}
	queue := "/api/events/8ba3b1dc-4206-4ff7-949b-ceb073051fd0/queue"
	bearer := []string{"Authorization", "Bearer " + token}

	for _, method := range []string{"POST", "DELETE"} {
		if w := send(method, queue, bearer...); w.Code != 405 || code(w) != "METHOD_NOT_ALLOWED" || w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s the queue at a room: %d %s Allow %q, want 405 METHOD_NOT_ALLOWED (joining is the gateway's)",
				method, w.Code, w.Body, w.Header().Get("Allow"))
		}
	}
	for _, path := range []string{"/api/bookings", "/api/events", "/metrics", "/", "/debug/pprof/"} {
		if w := send("GET", path, bearer...); w.Code != 404 || code(w) != "NOT_FOUND" {
			t.Errorf("GET %s at a room: %d %s, want 404 NOT_FOUND", path, w.Code, w.Body)
		}
	}
	for _, path := range []string{queue, queue + "/stream"} {
		if w := send("GET", path); w.Code != 401 || code(w) != "UNAUTHORIZED" {
			t.Errorf("GET %s without a token: %d %s, want 401", path, w.Code, w.Body)
		}
		if w := send("GET", path, "Authorization", "Bearer forged"); w.Code != 401 || code(w) != "UNAUTHORIZED" {
			t.Errorf("GET %s with a forged token: %d %s, want 401", path, w.Code, w.Body)
		}
		w := send("OPTIONS", path, "Origin", "https://tickets.example", "Access-Control-Request-Method", "GET",
			"Access-Control-Request-Headers", "authorization")
		if w.Code/100 != 2 || w.Header().Get("Access-Control-Allow-Origin") != "https://tickets.example" ||
			!strings.Contains(strings.ToLower(w.Header().Get("Access-Control-Allow-Headers")), "authorization") {
			t.Errorf("preflight of GET %s from the page's origin: %d %v", path, w.Code, w.Header())
		}
	}
	if w := send("GET", "/health"); w.Code != 200 || !strings.Contains(w.Body.String(), `"room"`) {
		t.Errorf("GET /health: %d %s, want the room's health", w.Code, w.Body)
	}
}

// The gateway's page follows a place at the room servers, another origin: its
// Content-Security-Policy lets it connect there (the browser refuses otherwise).
func TestThePageMayConnectToTheRoomServers(t *testing.T) {
	cfg := &config.Config{JWTSecret: "a-secret-of-thirty-two-bytes-or-more", MaxBodyBytes: 1 << 20,
		CORSOrigins: []string{"*"}, Endpoints: map[string][]string{}}
	cfg.WaitingRoom.FollowURL = "https://queue.example.com:8443"
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:5000"
	w := httptest.NewRecorder()
	g.Routes().ServeHTTP(w, r)
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://queue.example.com:8443;") {
		t.Fatalf("the page's Content-Security-Policy %q does not let it connect to the room servers", csp)
	}
}
