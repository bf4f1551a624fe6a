package gateway

import (
	"bytes"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/config"
	"ticketflow/openapi"
)

// The gateway's own answers follow the HTTP conventions: Allow on 405, HEAD for every GET,
// Retry-After on its 503s (upstream down, health/all) and 429s.
func TestGatewayAnswersCarryTheConventionalHeaders(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // every service is unreachable
	h := testGateway(t, down.URL)
	send := func(method, path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = "192.0.2.9:5000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, c := range []struct {
		method, path string
		status       int
		header, want string
	}{
		{"POST", "/health", 405, "Allow", "GET, HEAD"},
		{"DELETE", "/health/all", 405, "Allow", "GET, HEAD"},
		{"HEAD", "/health", 200, "Content-Type", "application/json"},
		{"GET", "/health/all", 503, "Retry-After", "1"},
		{"HEAD", "/health/all", 503, "Retry-After", "1"},
		{"GET", "/api/events", 503, "Retry-After", "1"},
		{"HEAD", "/api/events", 503, "Retry-After", "1"},
		{"GET", "/api/openapi.json", 200, "Content-Type", "application/json"},
		{"HEAD", "/api/openapi.json", 200, "Content-Type", "application/json"},
		{"POST", "/api/openapi.json", 405, "Allow", "GET, HEAD"},
	} {
		w := send(c.method, c.path)
		if w.Code != c.status || w.Header().Get(c.header) != c.want {
			t.Errorf("%s %s: %d %s %q, want %d %q", c.method, c.path, w.Code, c.header, w.Header().Get(c.header), c.status, c.want)
		}
	}
	// The rate limit (3 per minute here) answers 429 with the seconds to wait.
	var last *httptest.ResponseRecorder
	for range 5 {
		last = send("POST", "/api/users/login")
	}
	if last.Code != 429 || last.Header().Get("Retry-After") == "" {
		t.Fatalf("429: %d Retry-After %q", last.Code, last.Header().Get("Retry-After"))
	}
}

// The gateway's own routes are the ones openapi.json gives it, and the prefixes it proxies, each
// to its service, are the ones of the services' documented paths.
func TestRoutesAreTheDocumentedOnes(t *testing.T) {
	router, ok := testGateway(t, "http://127.0.0.1:1").(chi.Routes)
	if !ok {
		t.Fatal("the gateway's handler is not a chi router")
	}
	proxied := map[string]string{}
	for _, rt := range routes {
		proxied[rt.prefix] = rt.service
	}
	for _, rt := range claimed {
		proxied[rt.pattern] = rt.service
	}
	// A service's bare prefix is routed (every method) only to name the service in the gateway's
	// metrics and spans: it forwards, so it is not one of the gateway's own routes.
	openapi.CheckRoutes(t, config.Gateway, router, slices.Collect(maps.Keys(proxied))...)
	documented, err := openapi.ServicePrefixes()
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(proxied, documented) {
		t.Errorf("the gateway proxies %v; openapi.json documents the services under %v", proxied, documented)
	}
}

func TestTheDocumentIsServed(t *testing.T) {
	h := testGateway(t, "http://127.0.0.1:1")
	r := httptest.NewRequest("GET", "/api/openapi.json", nil)
	r.RemoteAddr = "192.0.2.10:5000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), openapi.Document) || w.Header().Get("ETag") == "" {
		t.Fatalf("%d %v %.80s", w.Code, w.Header(), w.Body)
	}
	r.Header.Set("If-None-Match", w.Header().Get("ETag"))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", w.Code)
	}
}
