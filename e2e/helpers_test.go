//go:build integration

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/tools/devstack"
)

func loadConfig(t testing.TB) *devstack.Settings {
	t.Helper()
	cfg, err := devstack.LoadSettings()
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

// inDays is the time n days from now (negative: ago) in RFC 3339 at whole seconds, as event
// times are kept.
func inDays(n int) string {
	return time.Now().Add(time.Duration(n) * 24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
}

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

// killFor kills a process of the stack and keeps it down for hold; when the test ends it waits
// until the process is back and answering, so that the tests after it find the whole stack up
// (a restarted Redis that is not listening yet failed the next test that dialled it).
func killFor(t testing.TB, cfg *devstack.Settings, process string, hold time.Duration) {
	t.Helper()
	old, err := devstack.Kill(cfg, process, hold)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { waitBack(t, cfg, process, old) })
}

// waitBack waits (up to 2 min) until process runs again with a pid other than old and accepts
// connections: /health for a TicketFlow service, its port for Redis or Kafka.
func waitBack(t testing.TB, cfg *devstack.Settings, process string, old int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	health := ""
	if u, ok := cfg.URLs[process]; ok {
		health = u + "/health"
	}
	if err := devstack.WaitRestarted(ctx, cfg, process, old, health); err != nil {
		t.Fatal(err)
	}
	addr := map[string]string{"redis": cfg.RedisAddr}
	if len(cfg.KafkaBrokers) > 0 {
		addr["kafka"] = cfg.KafkaBrokers[0]
	}
	if a := addr[process]; a != "" {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("%s restarted but %s does not accept connections: %v", process, a, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
