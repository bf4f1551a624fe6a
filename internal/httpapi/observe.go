package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"ticketflow/internal/ids"
	"ticketflow/internal/telemetry"
)

// requestDuration is every HTTP server's latency histogram, by method, route pattern (not the raw
// path: /api/bookings/{id}) and status code. Its _count is the request count.
var requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "ticketflow_http_request_duration_seconds",
	Help:    "Time to answer an HTTP request, by method, route pattern and status code.",
	Buckets: telemetry.LatencyBuckets,
}, []string{"method", "route", "code"})

// Unrouted is the route label of a request no route matched (a 404), so that scanners cannot
// grow the label set.
const Unrouted = "unmatched"

// Observed records each request once it is answered: the latency histogram of its route and
// status, its span's name and route, and the access log line (debug level; error level for a
// 5xx). route names the request's route pattern after next has served it (a router knows it only
// once it matched).
func Observed(next http.Handler, route func(*http.Request) string) http.Handler {
	telemetry.Register(requestDuration)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		took := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		rt := route(r)
		requestDuration.WithLabelValues(r.Method, rt, strconv.Itoa(sw.status)).Observe(took.Seconds())
		span := trace.SpanFromContext(r.Context())
		span.SetName(r.Method + " " + rt)
		span.SetAttributes(attribute.String("http.route", rt))
		level := slog.LevelDebug
		if sw.status >= 500 {
			level = slog.LevelError
		}
		slog.Log(r.Context(), level, "http", "method", r.Method, "path", r.URL.Path, "route", rt,
			"status", sw.status, "ms", took.Milliseconds())
	})
}

// Route is the route function of a handler that serves one route pattern.
func Route(pattern string) func(*http.Request) string {
	return func(*http.Request) string { return pattern }
}

// TracedTransport wraps an HTTP transport so that every call is a client span and carries the
// trace and its baggage to the callee.
func TracedTransport(rt http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(rt, otelhttp.WithPropagators(telemetry.Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method + " " + r.URL.Host + pathPattern(r.URL.Path)
		}))
}

// pathPattern is a path with its ids replaced by {id}, for span names that stay few.
func pathPattern(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if ids.IsUUID(s) {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
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
