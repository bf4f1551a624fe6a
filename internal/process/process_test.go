package process

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
)

const secret = "0123456789abcdef0123456789abcdef"

func testConfig(port int) *config.Config {
	return &config.Config{Ports: map[string]int{"p": port}, JWTSecret: secret, MaxBodyBytes: 1 << 20,
		ShutdownTimeout: time.Second}
}

// The router serves what every process serves, then the process's own routes.
func TestTheRouterServesTheSharedRoutes(t *testing.T) {
	down := false
	s := Spec{Name: "p",
		Checks: []httpapi.Check{{Name: "db", Ping: func(context.Context) error {
			if down {
				return errors.New("down")
			}
			return nil
		}}},
		API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/own" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(http.StatusTeapot)
		})}
	r := handler(testConfig(0), s)
	get := func(path, token string) int {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			req.Header.Set(httpapi.HeaderInternalToken, token)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/health", "", http.StatusOK},
		{"/metrics", "", http.StatusOK},
		{"/api/own", "", http.StatusTeapot},
		{"/debug/pprof/", "", http.StatusNotFound},
		{"/debug/pprof/", auth.InternalToken([]byte(secret)), http.StatusOK},
		{"/stats", "", http.StatusNotFound}, // no consumers
	} {
		if got := get(c.path, c.token); got != c.want {
			t.Errorf("GET %s: %d, want %d", c.path, got, c.want)
		}
	}
	down = true
	if got := get("/health", ""); got != http.StatusServiceUnavailable {
		t.Errorf("GET /health with a check down: %d, want 503", got)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Run starts the jobs, serves, and when its context ends returns only after every job has.
func TestRunWaitsForItsJobs(t *testing.T) {
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var finished atomic.Bool
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, testConfig(port), Spec{Name: "p", Jobs: []func(context.Context){func(ctx context.Context) {
			close(started)
			<-ctx.Done()
			time.Sleep(50 * time.Millisecond) // letting go takes a moment
			finished.Store(true)
		}}})
	}()
	<-started
	addr := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + "/health"
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(addr)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /health: %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Run returned before its job did")
	}
}

// A server that cannot start stops the jobs too: Run returns its error, not hangs.
func TestRunStopsTheJobsWhenTheServerFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // the port is taken
	stopped := make(chan struct{})
	err = Run(context.Background(), testConfig(ln.Addr().(*net.TCPAddr).Port), Spec{Name: "p",
		Jobs: []func(context.Context){func(ctx context.Context) { <-ctx.Done(); close(stopped) }}})
	if err == nil {
		t.Fatal("Run on a taken port: no error")
	}
	select {
	case <-stopped:
	default:
		t.Fatal("Run returned before its job stopped")
	}
}

// A path the shared routes do not own reaches the API as it came: no cleaning, no redirect (the
// standard mux would redirect /api/users/../../internal/users to /internal/users).
func TestAPathWithDotsReachesTheAPIAsItCame(t *testing.T) {
	var seen string
	s := Spec{Name: "p", API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.URL.Path
		w.WriteHeader(http.StatusTeapot)
	})}
	w := httptest.NewRecorder()
	handler(testConfig(0), s).ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/users/../../internal/users", nil))
	if w.Code != http.StatusTeapot || seen != "/api/users/../../internal/users" {
		t.Fatalf("%d, the API saw %q", w.Code, seen)
	}
}
