package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
type Client struct {
	base    string
	token   string
	headers map[string]string
	http    *http.Client
}

// NewClient returns a client of the service at base, presenting the internal token.
func NewClient(base, internalToken string, timeout time.Duration) *Client {
	return &Client{base: base, token: internalToken, http: &http.Client{Transport: sharedTransport, Timeout: timeout}}
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
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
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
