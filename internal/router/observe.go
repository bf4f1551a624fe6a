package router

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"ticketflow/internal/telemetry"
)

// requestDuration is every HTTP server's latency histogram, by method, route pattern (chi's, not
// the raw path: /api/bookings/{id}) and status code. Its _count is the request count.
var requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "ticketflow_http_request_duration_seconds",
	Help:    "Time to answer an HTTP request, by method, route pattern and status code.",
	Buckets: telemetry.LatencyBuckets,
}, []string{"method", "route", "code"})

// unrouted is the route label of a request no route matched (a 404), so that scanners cannot
// grow the label set.
const unrouted = "unmatched"

// Observe records each request once it is answered: the latency histogram of its route and
// status, its span's name and route (the span is named after the route pattern, known only once
// the router matched), and the access log line (debug level; error level for a 5xx).
func Observe(next http.Handler) http.Handler {
	telemetry.Register(requestDuration)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		took := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		route := unrouted
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		requestDuration.WithLabelValues(r.Method, route, strconv.Itoa(sw.status)).Observe(took.Seconds())
		span := trace.SpanFromContext(r.Context())
		span.SetName(r.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route))
		level := slog.LevelDebug
		if sw.status >= 500 {
			level = slog.LevelError
		}
		slog.Log(r.Context(), level, "http", "method", r.Method, "path", r.URL.Path, "route", route,
			"status", sw.status, "ms", took.Milliseconds())
	})
}

// traced reports whether a request makes a span: scrapes, health polls and profiles do not (they
// would bury the traces of bookings).
func traced(r *http.Request) bool {
	p := r.URL.Path
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

// statusWriter remembers the status a handler wrote, for the metrics and the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (a stream clears its write deadline).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
