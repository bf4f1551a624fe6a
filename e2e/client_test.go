//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/tools/devstack"
	"ticketflow/tools/seed"
)

func TestMain(m *testing.M) {
	cfg, err := devstack.LoadSettings()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	// The demo admin is how tests create events; seeding is idempotent.
	if err := seed.Run(ctx, cfg, io.Discard); err != nil {
		fmt.Fprintln(os.Stderr, "seed the stack:", err)
		os.Exit(1)
	}
	cancel()
	code := m.Run()
	specSummary()
	os.Exit(code)
}

// client calls the gateway like a frontend does. Each client has its own loopback source address,
// so the gateway's per-client rate limit of one test does not spill into another.
type client struct {
	t     testing.TB
	base  string
	http  *http.Client
	token string
	ip    string
	// impatient: a transport error (a timeout) answers status 0 instead of failing the test.
	impatient bool
}

var ipMu sync.Mutex
var usedIPs = map[string]bool{}

func randomLoopback() string {
	ipMu.Lock()
	defer ipMu.Unlock()
	for {
		n, _ := rand.Int(rand.Reader, big.NewInt(1<<22))
		v := n.Int64()
		ip := fmt.Sprintf("127.%d.%d.%d", 1+(v>>16)%250, (v>>8)%256, 1+v%250)
		if !usedIPs[ip] {
			usedIPs[ip] = true
			return ip
		}
	}
}

func newClient(t testing.TB) *client {
	return newClientFrom(t, randomLoopback())
}

// newClientFrom is a client whose connections come from ip, a loopback address.
func newClientFrom(t testing.TB, ip string) *client {
	cfg := loadConfig(t)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &client{t: t, base: cfg.URLs[config.Gateway], ip: ip, http: &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 64}}}
}

// withTimeout returns a copy of c that gives up on an answer after d, as an impatient client
// does: a request that times out answers status 0 instead of failing the test.
func (c *client) withTimeout(d time.Duration) *client {
	cp := *c
	h := *c.http
	h.Timeout = d
	cp.http = &h
	cp.impatient = true
	return &cp
}

// at returns a copy of c that calls the gateway at base (another replica).
func (c *client) at(base string) *client {
	cp := *c
	cp.base = base
	return &cp
}

// as returns a copy of c that sends token.
func (c *client) as(token string) *client {
	cp := *c
	cp.token = token
	return &cp
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, out any) {
	t.Helper()
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiError is the contract's error envelope.
type apiError struct {
	Error struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		RequestID string         `json:"requestId"`
		Details   map[string]any `json:"details"`
	} `json:"error"`
}

func (r response) err(t testing.TB) apiError {
	t.Helper()
	var e apiError
	r.decode(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" || e.Error.RequestID == "" {
		t.Fatalf("error body is not the contract's envelope: %s", r.body)
	}
	return e
}

// do sends a request; body may be nil, a []byte/string (sent as is) or a value (sent as JSON).
// headers are name, value pairs.
func (c *client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.t.Fatal(err)
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(raw)
	}
	r := c.send(method, path, rd, int64(len(raw)), headers...)
	if r.status >= 500 && r.status != http.StatusServiceUnavailable {
		c.t.Errorf("%s %s answered %d: %s", method, path, r.status, r.body)
	}
	return r
}

// send is do with control of the body's length: length < 0 sends it chunked, with no
// Content-Length. Every exchange is checked against openapi.json (checkSpec).
func (c *client) send(method, path string, body io.Reader, length int64, headers ...string) response {
	c.t.Helper()
	var sent []byte
	if body != nil {
		var err error
		if sent, err = io.ReadAll(body); err != nil {
			c.t.Fatal(err)
		}
		body = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.ContentLength = length
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil && c.impatient {
		return response{}
	}
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil && c.impatient {
		return response{}
	}
	checkSpec(c.t, req, sent, resp, raw)
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// expect sends a request and fails the test unless the status is want; it decodes into out.
func (c *client) expect(want int, method, path string, body, out any, headers ...string) response {
	c.t.Helper()
	r := c.do(method, path, body, headers...)
	if r.status != want {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.status, want, r.body)
	}
	if out != nil {
		r.decode(c.t, out)
	}
	return r
}

type user struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
}

type authAnswer struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	User      user      `json:"user"`
}

// register makes a new user and returns a client acting as them.
func register(t testing.TB) (*client, user) {
	t.Helper()
	c := newClient(t)
	var a authAnswer
	c.expect(201, "POST", "/api/users/register", map[string]string{
		"name": "Test Buyer", "email": "buyer-" + uniq() + "@example.com", "password": "correct-horse-1"}, &a)
	return c.as(a.Token), a.User
}

// admin returns a client logged in as the seeded admin.
func admin(t testing.TB) *client {
	t.Helper()
	c := newClient(t)
	var a authAnswer
	c.expect(200, "POST", "/api/users/login", map[string]string{"email": seed.AdminEmail, "password": seed.AdminPassword}, &a)
	return c.as(a.Token)
}

type venue struct {
	ID string `json:"id"`
}

type event struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Currency     string `json:"currency"`
	SeatCount    int    `json:"seatCount"`
	Availability struct {
		Total, Available, Locked, Reserved int
	} `json:"availability"`
}

// newEvent creates a venue and an event with one section of `seats` seats in row A (ids
// FLOOR-A-1..n) at priceMinor each.
func newEvent(t testing.TB, seats int, priceMinor int64) event {
	t.Helper()
	adm := admin(t)
	var v venue
	adm.expect(201, "POST", "/api/venues", map[string]string{"name": "Venue " + uniq(), "address": "1 Test St",
		"city": "Testville", "country": "TS", "timezone": "Europe/Oslo"}, &v)
	var e event
	adm.expect(201, "POST", "/api/events", map[string]any{"name": "Event " + uniq(), "description": "test",
		"venueId": v.ID, "date": inDays(60), "currency": "EUR", "tags": []string{"test"},
		"sections": []map[string]any{{"name": "Floor", "priceMinor": priceMinor,
			"rows": []map[string]any{{"label": "A", "seats": seats}}}}}, &e)
	return e
}

// seatMap reads an event's public seat map.
type seatMap struct {
	Seats []struct {
		ID, Status string
		PriceMinor int64
	} `json:"seats"`
	Total   int            `json:"total"`
	Summary map[string]int `json:"summary"`
}

func (sm seatMap) status(id string) string {
	for _, s := range sm.Seats {
		if s.ID == id {
			return s.Status
		}
	}
	return "MISSING"
}

func readSeatMap(t testing.TB, eventID string) seatMap {
	t.Helper()
	var sm seatMap
	newClient(t).expect(200, "GET", "/api/inventory/events/"+eventID+"/seats", nil, &sm)
	return sm
}

// internal calls a service's internal API directly, as the worker and the bridge do.
func internal(t testing.TB, service string) *httpapi.Client {
	cfg := loadConfig(t)
	return httpapi.NewClient(cfg.URLs[service], auth.InternalToken([]byte(cfg.JWTSecret)), 30*time.Second)
}

// token signs a token with the stack's secret (forged ones are made with other keys).
func token(t testing.TB, id auth.Identity, ttl time.Duration) string {
	tok, _, err := auth.Sign([]byte(loadConfig(t).JWTSecret), id, ttl, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
