package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
)

func TestClientAddressTrustsForwardedForOnlyFromTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		name, peer string
		xff        []string // X-Forwarded-For header lines
		want       string
	}{
		{"untrusted peer, no header", "192.0.2.1:5000", nil, "192.0.2.1"},
		{"untrusted peer: its X-Forwarded-For is ignored", "192.0.2.1:5000", []string{"198.51.100.7"}, "192.0.2.1"},
		{"trusted proxy names the client", "10.0.0.5:5000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"a client-written prefix is not reached", "10.0.0.5:5000", []string{"203.0.113.9, 198.51.100.7"}, "198.51.100.7"},
		{"a chain of trusted proxies", "10.0.0.5:5000", []string{"6.6.6.6, 198.51.100.7, 10.9.9.9", "10.1.1.1"}, "198.51.100.7"},
		{"every hop trusted: the peer", "10.0.0.5:5000", []string{"10.2.2.2, 10.3.3.3"}, "10.0.0.5"},
		{"trusted proxy without the header", "10.0.0.5:5000", nil, "10.0.0.5"},
		{"garbage to the right stops the walk", "10.0.0.5:5000", []string{"198.51.100.7, not-an-ip"}, "10.0.0.5"},
		{"IPv6 peer and hop", "[fd00::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.5]:5000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"a hop with a port is not an address: the peer", "10.0.0.5:5000", []string{"198.51.100.7:80"}, "10.0.0.5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/events", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientResolver(trusted)(r); got != c.want {
				t.Fatalf("client = %s, want %s", got, c.want)
			}
		})
	}
}

// testGateway is a gateway with rate limit 3 per minute, limits kept in this process (no Redis),
// whose services are all upstream.
func testGateway(t *testing.T, upstream string, trusted ...string) http.Handler {
	t.Helper()
	cfg := &config.Config{JWTSecret: "a-secret-of-thirty-two-bytes-or-more", RateLimit: 3, RateWindow: time.Minute,
		MaxBodyBytes: 1 << 20, CORSOrigins: []string{"*"}, Endpoints: map[string][]string{}}
	for _, s := range config.Services {
		cfg.Endpoints[s] = []string{upstream}
	}
	for _, p := range trusted {
		cfg.TrustedProxies = append(cfg.TrustedProxies, netip.MustParsePrefix(p))
	}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g.Routes()
}

func TestRateLimitCountsTheClientNotWhatItClaims(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer upstream.Close()
	h := testGateway(t, upstream.URL, "10.0.0.0/8")
	send := func(peer, xff string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/api/users/login", nil)
		r.RemoteAddr = peer + ":5000"
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	// From an untrusted address, a new X-Forwarded-For for every request changes nothing.
	for i := 0; i < 3; i++ {
		if w := send("192.0.2.1", fmt.Sprintf("198.51.100.%d", i+1)); w.Code != 204 {
			t.Fatalf("request %d: %d %s", i+1, w.Code, w.Body)
		}
	}
	w := send("192.0.2.1", "198.51.100.9")
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("4th request from one untrusted address: %d (Retry-After %q), want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	// Through a trusted proxy, each forwarded client has its own budget...
	for i := 0; i < 5; i++ {
		if w := send("10.0.0.5", fmt.Sprintf("198.51.100.%d", i+1)); w.Code != 204 {
			t.Fatalf("client %d behind the trusted proxy: %d, want its own budget", i+1, w.Code)
		}
	}
	// ...and one client behind it is limited like any other.
	for i := 0; i < 2; i++ {
		send("10.0.0.6", "198.51.100.1")
	}
	if w := send("10.0.0.6", "6.6.6.6, 198.51.100.1"); w.Code != 429 {
		t.Fatalf("a client behind trusted proxies past its limit: %d, want 429", w.Code)
	}
}

func TestPublicReadsHaveTheirOwnBudget(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	defer upstream.Close()
	h := testGateway(t, upstream.URL)
	do := func(method, path string) int {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = "192.0.2.1:5000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for i := 0; i < 3; i++ {
		do("POST", "/api/users/login")
	}
	if c := do("POST", "/api/users/login"); c != 429 {
		t.Fatalf("past the limit: %d, want 429", c)
	}
	for i := 0; i < 3*readAllowance; i++ {
		if c := do("GET", "/api/events"); c != 200 {
			t.Fatalf("public read %d of a client limited elsewhere: %d, want 200", i+1, c)
		}
	}
	if c := do("GET", "/api/events"); c != 429 {
		t.Fatalf("public read past %d: %d, want 429", 3*readAllowance, c)
	}
}

func TestServicesGetTheClientAddressVouchedFor(t *testing.T) {
	var got http.Header
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(204)
	}))
	defer upstream.Close()
	h := testGateway(t, upstream.URL, "10.0.0.0/8")
	r := httptest.NewRequest("POST", "/api/users/login", nil)
	r.RemoteAddr = "10.0.0.5:5000"
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	r.Header.Set(httpapi.HeaderClientIP, "203.0.113.1") // a client's attempt to choose its address
	r.Header.Set(httpapi.HeaderClientIPMAC, "forged")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got == nil {
		t.Fatal("the request did not reach the service")
	}
	svc := httptest.NewRequest("POST", "/api/users/login", nil)
	svc.Header = got
	svc.RemoteAddr = "127.0.0.1:6000"
	if ip := httpapi.ClientIP(svc, []byte("a-secret-of-thirty-two-bytes-or-more")); ip != "198.51.100.7" {
		t.Fatalf("the service sees client %s (X-Client-Ip %q), want 198.51.100.7", ip, got.Get(httpapi.HeaderClientIP))
	}
}

func TestClientTraceHeadersDoNotReachTheServices(t *testing.T) {
	var got http.Header
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer upstream.Close()
	otel.SetTracerProvider(sdktrace.NewTracerProvider()) // as every process has (telemetry.StartTracing)
	h := testGateway(t, upstream.URL)
	req := httptest.NewRequest(http.MethodGet, "/api/events", nil)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	req.Header.Set("Tracestate", "client=1")
	req.Header.Set("Baggage", "booking.id=forged")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got == nil {
		t.Fatal("the request did not reach the service")
	}
	if strings.Contains(got.Get("Traceparent"), "4bf92f3577b34da6a3ce929d0e0e4736") || got.Get("Tracestate") != "" ||
		strings.Contains(got.Get("Baggage"), "forged") {
		t.Errorf("client trace headers reached the service: %v", got)
	}
}

// corsGateway is a gateway for pages of two origins, in front of upstream.
func corsGateway(t *testing.T, upstream string) http.Handler {
	t.Helper()
	cfg := &config.Config{JWTSecret: "a-secret-of-thirty-two-bytes-or-more", RateLimit: 100, RateWindow: time.Minute,
		MaxBodyBytes: 1 << 20, CORSOrigins: []string{"https://tickets.example", "https://partner.example"},
		Endpoints: map[string][]string{}}
	for _, s := range config.Services {
		cfg.Endpoints[s] = []string{upstream}
	}
	g, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g.Routes()
}

// A page of another allowed origin may send every header the API and docs/seatmap.md tell it to:
// its preflight is answered for Last-Event-ID and If-None-Match (the stream and the snapshots) as
// for Authorization and Idempotency-Key; a page of an origin not configured gets no CORS answer.
func TestCORSPreflightFromAnotherAllowedOriginAcceptsTheSeatMapHeaders(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	defer upstream.Close()
	h := corsGateway(t, upstream.URL)
	preflight := func(origin, method, path, headers string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("OPTIONS", path, nil)
		r.RemoteAddr = "192.0.2.1:5000"
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			r.Header.Set("Access-Control-Request-Headers", headers)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	stream, status := "/api/inventory/events/e1/seats/stream", "/api/inventory/events/e1/seats/status"
	for _, c := range []struct{ method, path, headers string }{
		{"GET", stream, "last-event-id"},
		{"GET", status, "if-none-match"},
		{"GET", status, "authorization,if-none-match"},
		{"POST", "/api/bookings", "authorization,content-type,idempotency-key"},
		{"PUT", "/api/events/e1", "authorization,content-type"},
	} {
		w := preflight("https://partner.example", c.method, c.path, c.headers)
		allowed := strings.ToLower(w.Header().Get("Access-Control-Allow-Headers"))
		if w.Code/100 != 2 || w.Header().Get("Access-Control-Allow-Origin") != "https://partner.example" ||
			!strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), c.method) {
			t.Errorf("preflight %s %s [%s]: %d %v", c.method, c.path, c.headers, w.Code, w.Header())
			continue
		}
		for _, want := range strings.Split(c.headers, ",") {
			if !strings.Contains(allowed, want) {
				t.Errorf("preflight %s %s: Access-Control-Allow-Headers %q lacks %s", c.method, c.path, allowed, want)
			}
		}
	}
	if w := preflight("https://elsewhere.example", "GET", stream, "last-event-id"); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an origin not configured: Access-Control-Allow-Origin %q", w.Header().Get("Access-Control-Allow-Origin"))
	}
	// The request itself: the page may read the ETag it revalidates with.
	r := httptest.NewRequest("GET", status, nil)
	r.RemoteAddr = "192.0.2.1:5000"
	r.Header.Set("Origin", "https://partner.example")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Header().Get("Access-Control-Allow-Origin") != "https://partner.example" ||
		!strings.Contains(strings.ToLower(w.Header().Get("Access-Control-Expose-Headers")), "etag") {
		t.Fatalf("GET from an allowed origin: %v", w.Header())
	}
}

// The gateway forwards Accept-Encoding as the client sent it: its own transport must not ask for
// gzip for a client that did not (and hand it the decoded body under the gzip body's ETag).
func TestTheGatewayForwardsTheClientsAcceptEncodingAsItIs(t *testing.T) {
	seen := make(chan string, 4)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("Accept-Encoding")
		w.WriteHeader(200)
	}))
	defer upstream.Close()
	h := testGateway(t, upstream.URL)
	for _, ae := range []string{"", "gzip;q=0", "gzip"} {
		r := httptest.NewRequest("GET", "/api/inventory/events/e1/seats/status", nil)
		r.RemoteAddr = "192.0.2.1:5000"
		if ae != "" {
			r.Header.Set("Accept-Encoding", ae)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got := <-seen; got != ae {
			t.Errorf("client sent Accept-Encoding %q, the service got %q", ae, got)
		}
	}
}
