//go:build integration

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/config"
)

func loadConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func uniq() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func urlQuery(s string) string { return url.QueryEscape(s) }

// eventually retries f every 100 ms until it returns nil, failing the test with f's last error
// after d.
func eventually(t testing.TB, d time.Duration, f func() error) {
	t.Helper()
	poll(t, d, 100*time.Millisecond, f)
}

// poll is eventually with a chosen interval (requests through the gateway count against the
// per-client rate limit).
func poll(t testing.TB, d, every time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", d, err)
		}
		time.Sleep(every)
	}
}

// getJSON reads u (the API's answers are checked against openapi.json when t is given).
func getJSON(u string, out any, t ...testing.TB) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if len(t) > 0 {
		checkSpec(t[0], resp.Request, nil, resp, body)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.Unmarshal(body, out)
}

// writeRetry writes m, retrying while a just-created topic's leader is being elected.
func writeRetry(ctx context.Context, w *kafka.Writer, m kafka.Message) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = w.WriteMessages(ctx, m); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}
