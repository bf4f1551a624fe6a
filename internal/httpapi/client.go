package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// sharedTransport keeps connections to the other services warm (the saga calls them on its hot
// path), and carries the trace and its baggage to them.
var sharedTransport = TracedTransport(&http.Transport{
	Proxy:               nil,
	MaxIdleConns:        512,
	MaxIdleConnsPerHost: 256,
	IdleConnTimeout:     90 * time.Second,
})

// Client calls another TicketFlow process's internal API. Error answers come back as *Error with
// the upstream status and code, so callers branch on them as on their own.
//
// A service may run as several replicas: the client spreads its requests over their base URLs in
// turn, and when one cannot be reached (the connection is refused: nothing was sent) it tries the
// next, and leaves the unreachable one aside for a moment.
type Client struct {
	bases   *endpoints
	token   string
	headers map[string]string
	http    *http.Client
}

// NewClient returns a client of the service at base, presenting the internal token.
func NewClient(base, internalToken string, timeout time.Duration) *Client {
	return NewBalancedClient([]string{base}, internalToken, timeout)
}

// NewBalancedClient returns a client of the service whose replicas are at bases.
func NewBalancedClient(bases []string, internalToken string, timeout time.Duration) *Client {
	return &Client{bases: newEndpoints(bases), token: internalToken,
		http: &http.Client{Transport: sharedTransport, Timeout: timeout}}
}

// endpoints are a service's replicas, taken in turn; one that refused a connection is skipped
// for downFor (unless all are).
type endpoints struct {
	urls []string
	next atomic.Uint64
	mu   sync.Mutex
	down map[string]time.Time
}

const downFor = 2 * time.Second

func newEndpoints(urls []string) *endpoints {
	return &endpoints{urls: urls, down: map[string]time.Time{}}
}

// order is the replicas to try for one request: the next in turn first, the ones left aside last.
func (e *endpoints) order() []string {
	n := len(e.urls)
	start := int(e.next.Add(1) % uint64(n))
	now := time.Now()
	up := make([]string, 0, n)
	var aside []string
	e.mu.Lock()
	for i := 0; i < n; i++ {
		u := e.urls[(start+i)%n]
		if now.Before(e.down[u]) {
			aside = append(aside, u)
		} else {
			up = append(up, u)
		}
	}
	e.mu.Unlock()
	return append(up, aside...)
}

func (e *endpoints) failed(u string) {
	e.mu.Lock()
	e.down[u] = time.Now().Add(downFor)
	e.mu.Unlock()
}

// Unreachable reports whether err means the request never reached a server (the connection was
// refused or could not be made): trying another replica is safe.
func Unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// WithHeader returns a copy of c that sends one more header on every request.
func (c *Client) WithHeader(key, value string) *Client {
	cp := *c
	cp.headers = map[string]string{key: value}
	for k, v := range c.headers {
		if k != key {
			cp.headers[k] = v
		}
	}
	return &cp
}

// WithBearer returns a copy of c that calls the public API as the holder of token (tools such as
// the seed and the benchmark).
func (c *Client) WithBearer(token string) *Client {
	return c.WithHeader("Authorization", "Bearer "+token)
}

// Do sends in (when not nil) as JSON and decodes a 2xx answer into out (when not nil).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var payload []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		payload = b
	}
	var err error
	for _, base := range c.bases.order() {
		err = c.do(ctx, method, base, path, payload, in != nil, out)
		if !Unreachable(err) {
			return err
		}
		c.bases.failed(base)
	}
	return err
}

func (c *Client) do(ctx context.Context, method, base, path string, payload []byte, hasBody bool, out any) error {
	var body io.Reader
	if hasBody {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set(HeaderInternalToken, c.token)
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	if id := RequestID(ctx); id != "" {
		req.Header.Set(HeaderRequestID, id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var env struct {
			Error *Error `json:"error"`
		}
		if json.Unmarshal(raw, &env) == nil && env.Error != nil && env.Error.Code != "" {
			env.Error.Status = resp.StatusCode
			return env.Error
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// Get is Do with GET and no body.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.Do(ctx, http.MethodGet, path, nil, out)
}

// Post is Do with POST.
func (c *Client) Post(ctx context.Context, path string, in, out any) error {
	return c.Do(ctx, http.MethodPost, path, in, out)
}

// IsStatus reports whether err is an *Error answer with the given status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// IsClientError reports whether err is a service's 4xx answer other than 408 and 429: a request
// the service refused, which sending again cannot change.
func IsClientError(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status >= 400 && e.Status < 500 &&
		e.Status != http.StatusRequestTimeout && e.Status != http.StatusTooManyRequests
}
