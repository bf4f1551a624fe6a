package router

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/telemetry"
)

// Observe records each request once it is answered (httpapi.Observed), by its route pattern:
// chi's, known only once the router matched (/api/bookings/{id}, not the raw path), or
// httpapi.Unrouted for a request no route matched.
func Observe(next http.Handler) http.Handler { return httpapi.Observed(next, routePattern) }

func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
		return rc.RoutePattern()
	}
	return httpapi.Unrouted
}

// traced reports whether a request makes a span: scrapes, health polls and profiles do not, nor
// do the waiting crowd's reads of their places (a poll every 2 s and a stream that lasts the wait,
// for each of tens of thousands of buyers: they would bury the traces of bookings, and in an
// on-sale cost the collector more than the bookings' own; their counts and latencies are in the
// metrics). Joining and leaving a line are traced.
func traced(r *http.Request) bool {
	p := r.URL.Path
	if r.Method == http.MethodGet && strings.HasPrefix(p, "/api/events/") &&
		(strings.HasSuffix(p, "/queue") || strings.HasSuffix(p, "/queue/stream")) {
		return false
	}
	return p != "/metrics" && p != "/health" && p != "/health/all" && !strings.HasPrefix(p, "/debug/")
}

// serverSpans starts each request's span. An internal server continues the caller's trace and
// baggage (the request and booking ids); the public edge (trustCaller false) starts a new trace
// for each request, linked to the client's span if it sent one, and takes no baggage from it.
func serverSpans(trustCaller bool) func(http.Handler) http.Handler {
	opts := []otelhttp.Option{otelhttp.WithFilter(traced), otelhttp.WithPropagators(telemetry.Propagator)}
	if !trustCaller {
		opts = []otelhttp.Option{otelhttp.WithFilter(traced), otelhttp.WithPropagators(propagation.TraceContext{}),
			otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true })}
	}
	return func(next http.Handler) http.Handler { return otelhttp.NewHandler(next, "http", opts...) }
}
