// Package loadgen drives TicketFlow through its gateway the way many buyers would: each buyer has
// its own token and its own loopback source address (so the gateway's per-client rate limit sees
// many clients, as it would in production). The flash-sale benchmark and the chaos run use it.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/ids"
	"ticketflow/internal/seatplan"
	"ticketflow/tools/devstack"
	"ticketflow/tools/seed"
)

// Buyer is one synthetic user.
type Buyer struct {
	UserID, Email, Token string
	bases                []string // the gateway replicas, this buyer's first; the next when it is down
	http                 *http.Client
}

// NewBuyers makes n buyers with tokens signed by the stack's secret. They need no user rows: the
// services trust a verified token, and minting them keeps registration (bcrypt) out of the timed
// part of a run.
func NewBuyers(cfg *devstack.Settings, n int, tag string) ([]*Buyer, error) {
	out := make([]*Buyer, n)
	for i := range out {
		id := ids.New()
		email := fmt.Sprintf("%s-%d-%s@loadgen.ticketflow.local", tag, i, id[:8])
		tok, _, err := auth.Sign([]byte(cfg.JWTSecret), auth.Identity{UserID: id, Email: email, Role: auth.RoleUser}, 2*time.Hour, time.Now())
		if err != nil {
			return nil, err
		}
		out[i] = BuyerOf(cfg, i, id, email, tok)
	}
	return out, nil
}

// BuyerOf is buyer i of a run, with its identity and token: another process of the same run
// (the on-sale bench's waiting crowd) makes the same buyer, from the same loopback address, from
// them.
func BuyerOf(cfg *devstack.Settings, i int, userID, email, token string) *Buyer {
	ip := net.IPv4(127, byte(10+i/65000), byte(i/250%256), byte(1+i%250))
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	// Buyers are spread over the gateway's replicas, as a load balancer would spread them.
	gws := cfg.Endpoints[config.Gateway]
	return &Buyer{UserID: userID, Email: email, Token: token, bases: append(gws[i%len(gws):len(gws):len(gws)], gws[:i%len(gws)]...),
		http: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext,
			MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}}}
}

// targets are the URLs a request for path goes to in turn: path itself when it is a URL (one an
// answer named, such as a place's pollUrl), else path at each gateway replica, this buyer's first.
func (b *Buyer) targets(path string) []string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return []string{path}
	}
	out := make([]string, len(b.bases))
	for i, base := range b.bases {
		out[i] = base + path
	}
	return out
}

// Do sends a request as the buyer and returns the status and body. body is sent as JSON. A
// gateway replica that refuses the connection is passed over for the next. path is a path of the
// API, or a URL.
func (b *Buyer) Do(ctx context.Context, method, path string, body any, headers ...string) (int, []byte, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
	}
	var err error
	for _, url := range b.targets(path) {
		var status int
		var out []byte
		status, out, err = b.send(ctx, method, url, raw, body != nil, headers)
		if !httpapi.Unreachable(err) {
			return status, out, err
		}
	}
	return 0, nil, err
}

// Open sends a request as the buyer and returns the response with its body unread, for a
// stream (no timeout but ctx's). A gateway replica that refuses the connection is passed over.
// path as Do's.
func (b *Buyer) Open(ctx context.Context, method, path string, headers ...string) (*http.Response, error) {
	streams := &http.Client{Transport: b.http.Transport}
	var err error
	for _, url := range b.targets(path) {
		var req *http.Request
		if req, err = http.NewRequestWithContext(ctx, method, url, nil); err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+b.Token)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		var resp *http.Response
		if resp, err = streams.Do(req); !httpapi.Unreachable(err) {
			return resp, err
		}
	}
	return nil, err
}

func (b *Buyer) send(ctx context.Context, method, url string, raw []byte, hasBody bool, headers []string) (int, []byte, error) {
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.Token != "" {
		req.Header.Set("Authorization", "Bearer "+b.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// ErrorCode is the code of a contract error body ("" when it is not one).
func ErrorCode(body []byte) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code
}

// Event is an event made for a run.
type Event struct {
	ID    string
	Seats []string // every seat id, best rows first
	// Area is the key of its general-admission area (AreaKey) and Capacity its places; none
	// unless made by CreateGAEvent.
	Area     string
	Capacity int
}

// AreaKey is the key of the general-admission area CreateGAEvent makes (its section "Pit").
const AreaKey = "PIT"

// CreateEvent makes a venue and an event with `seats` seats in rows of up to 20 (row A is the
// best; every 1,000 rows a new section), logging in as the seeded admin through the gateway.
func CreateEvent(ctx context.Context, cfg *devstack.Settings, name string, seats int, priceMinor int64) (Event, error) {
	return CreateEventWith(ctx, cfg, name, seats, priceMinor, nil)
}

// CreateEventWith is CreateEvent with the fields of extra in the event's body (a sales window, a
// waiting room).
func CreateEventWith(ctx context.Context, cfg *devstack.Settings, name string, seats int, priceMinor int64, extra map[string]any) (Event, error) {
	return createEvent(ctx, cfg, name, seats, 0, priceMinor, extra)
}

// CreateGAEvent makes a venue and an event with `seats` seats in rows of up to 20 (none when 0)
// and, when capacity > 0, a general-admission area "Pit" (key AreaKey) of capacity places at the
// same price.
func CreateGAEvent(ctx context.Context, cfg *devstack.Settings, name string, seats, capacity int, priceMinor int64) (Event, error) {
	return createEvent(ctx, cfg, name, seats, capacity, priceMinor, nil)
}

func createEvent(ctx context.Context, cfg *devstack.Settings, name string, seats, capacity int, priceMinor int64, extra map[string]any) (Event, error) {
	gw := httpapi.NewClient(cfg.URLs[config.Gateway], "", 2*time.Minute)
	var login struct{ Token string }
	if err := gw.Post(ctx, "/api/users/login", map[string]string{"email": seed.AdminEmail, "password": seed.AdminPassword}, &login); err != nil {
		return Event{}, fmt.Errorf("admin login (is the stack seeded?): %w", err)
	}
	adm := gw.WithBearer(login.Token)
	var v struct{ ID string }
	if err := adm.Post(ctx, "/api/venues", map[string]string{"name": name + " hall", "address": "1 Load St",
		"city": "Benchville", "country": "NO", "timezone": "Europe/Oslo"}, &v); err != nil {
		return Event{}, err
	}
	// Sections of at most 1,000 rows (a plan's limit per section): Floor, Floor 2, ...
	var sections []seatplan.Section
	for left, i := seats, 0; left > 0; i++ {
		n := min(20, left)
		if i%1000 == 0 {
			name := "Floor"
			if i > 0 {
				name = fmt.Sprintf("Floor %d", i/1000+1)
			}
			sections = append(sections, seatplan.Section{Name: name, PriceMinor: priceMinor})
		}
		sec := &sections[len(sections)-1]
		sec.Rows = append(sec.Rows, seatplan.Row{Label: rowLabel(i % 1000), Seats: n})
		left -= n
	}
	if capacity > 0 {
		sections = append(sections, seatplan.Section{Name: "Pit", PriceMinor: priceMinor, Capacity: capacity})
	}
	var e struct{ ID string }
	// On sale since an hour ago (unless extra says otherwise): a sale opened "now" by the event
	// service's clock would open later on a booking process whose clock is behind (the chaos
	// run's clock class skews them).
	body := map[string]any{"name": name, "description": "load run", "venueId": v.ID,
		"date": time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second), "currency": "EUR", "tags": []string{"load"},
		"salesStartAt": time.Now().Add(-time.Hour).UTC().Truncate(time.Second), "sections": sections}
	for k, v := range extra {
		body[k] = v
	}
	if err := adm.Post(ctx, "/api/events", body, &e); err != nil {
		return Event{}, err
	}
	all, err := seatplan.Expand(sections)
	if err != nil {
		return Event{}, err
	}
	ev := Event{ID: e.ID}
	if capacity > 0 {
		ev.Area, ev.Capacity = AreaKey, capacity
	}
	for _, s := range all {
		if !s.Area {
			ev.Seats = append(ev.Seats, s.ID)
		}
	}
	return ev, nil
}

// rowLabel is A..Z, then AA, AB, ...
func rowLabel(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return rowLabel(i/26-1) + string(rune('A'+i%26))
}
