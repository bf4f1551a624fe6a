package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/telemetry"
)

// NewRouter is a chi router with the middleware every internal TicketFlow HTTP server runs: a span
// continuing the caller's trace, request ids, metrics and access log (Observe), panic recovery, a
// body cap, HEAD answered by every GET route (headers only), and 404/405 in the contract's error
// shape, a 405 with the Allow header naming the path's methods. It serves the process's
// Prometheus metrics at /metrics.
func NewRouter(maxBody int64) chi.Router {
	r := newRouter(maxBody, true)
	r.Method(http.MethodGet, "/metrics", telemetry.MetricsHandler())
	return r
}

// NewEdgeRouter is NewRouter for a server that faces clients (the gateway): each request begins
// a trace of its own, takes no baggage from the client, and the metrics are not served here.
func NewEdgeRouter(maxBody int64) chi.Router { return newRouter(maxBody, false) }

// NewAdminRouter is the router of an admin port, which serves the metrics of a process whose main
// port faces clients, and its health.
func NewAdminRouter(service string) chi.Router {
	r := newRouter(1<<10, true)
	r.Method(http.MethodGet, "/metrics", telemetry.MetricsHandler())
	r.Get("/health", Health(service))
	return r
}

func newRouter(maxBody int64, internal bool) chi.Router {
	r := chi.NewRouter()
	r.Use(serverSpans(internal), RequestIDs, Observe, Recover, LimitBody(maxBody), HeadAsGet)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { WriteError(w, r, NotFound("route")) })
	r.MethodNotAllowed(MethodNotAllowed)
	return r
}

// HeadAsGet routes every HEAD request as a GET (no route registers HEAD): the GET handler runs
// with the method still HEAD, and the server sends its status and headers without the body. A
// path without a GET answers HEAD with 405. (chi's middleware.GetHead would let a catch-all route,
// such as the gateway's web page, take HEAD requests of GET routes.)
func HeadAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			if rctx := chi.RouteContext(r.Context()); rctx != nil {
				rctx.RouteMethod = http.MethodGet
			}
		}
		next.ServeHTTP(w, r)
	})
}

// routeMethods are the methods a 405's Allow header may name (HEAD goes with GET).
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// MethodNotAllowed answers 405 METHOD_NOT_ALLOWED with Allow listing the methods the request's
// path has routes for (RFC 9110 section 15.5.6), found in the chi router that routed it, unless
// the caller has set Allow itself.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	var allow []string
	if set := w.Header().Get("Allow"); set != "" {
		allow = []string{set}
	} else if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.Routes != nil {
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		for _, m := range routeMethods {
			if rctx.Routes.Match(chi.NewRouteContext(), m, path) {
				allow = append(allow, m)
				if m == http.MethodGet {
					allow = append(allow, http.MethodHead)
				}
			}
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	WriteError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED",
		Message: r.Method + " is not allowed on " + r.URL.Path})
}

// Check is one dependency a health answer depends on.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// Health answers GET /health: 200 {"status":"up","service":name} when every check passes, else
// 503 {"status":"down","service":name,"checks":{...}}. Checks run concurrently, 2 s at most.
func Health(service string, checks ...Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var mu sync.Mutex
		var wg sync.WaitGroup
		failed := map[string]string{}
		for _, c := range checks {
			wg.Add(1)
			go func(c Check) {
				defer wg.Done()
				if err := c.Ping(ctx); err != nil {
					mu.Lock()
					failed[c.Name] = "down"
					mu.Unlock()
					slog.WarnContext(ctx, "health check failed", "check", c.Name, "err", err)
				}
			}(c)
		}
		wg.Wait()
		if len(failed) > 0 {
			WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "down", "service": service, "checks": failed})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]any{"status": "up", "service": service})
	}
}

// Serve runs h on addr until ctx ends, then shuts down gracefully within grace.
func Serve(ctx context.Context, addr string, h http.Handler, grace time.Duration) error {
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	slog.Info("listening", "addr", addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
