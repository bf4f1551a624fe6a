package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

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

// GetOnly serves h for GET and HEAD; any other method is a 405 naming them in Allow.
func GetOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			WriteError(w, r, MethodNotAllowed(r))
			return
		}
		h.ServeHTTP(w, r)
	})
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
