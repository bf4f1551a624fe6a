package router

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/telemetry"
)

var spans = tracetest.NewSpanRecorder()

func TestMain(m *testing.M) {
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	otel.SetTextMapPropagator(telemetry.Propagator)
	os.Exit(m.Run())
}

func get(t *testing.T, h http.Handler, path string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRequestsAreMeasuredByRoutePatternNotPath(t *testing.T) {
	r := NewRouter(1 << 20)
	r.Get("/things/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	before := requestCount("GET", "/things/{id}", "204")
	for _, p := range []string{"/things/a", "/things/b", "/nothing/here"} {
		get(t, r, p, nil)
	}
	if got := requestCount("GET", "/things/{id}", "204") - before; got != 2 {
		t.Errorf("GET /things/{id} 204 counted %v times, want 2", got)
	}
	if got := requestCount("GET", httpapi.Unrouted, "404"); got < 1 {
		t.Errorf("the unmatched request was not counted under %q", httpapi.Unrouted)
	}
	body := get(t, telemetry.MetricsHandler(), "/metrics", nil).Body.String()
	for _, want := range []string{`ticketflow_http_request_duration_seconds_bucket{code="204",method="GET",route="/things/{id}"`,
		"go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "/things/a") {
		t.Error("/metrics has a raw path as a label")
	}
	var named bool
	for _, s := range spans.Ended() {
		named = named || s.Name() == "GET /things/{id}"
	}
	if !named {
		t.Error("no span is named after the route pattern")
	}
}

// requestCount is the count of the latency histogram of one method, route and code, as /metrics
// shows it.
func requestCount(method, route, code string) float64 {
	rec := httptest.NewRecorder()
	telemetry.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	want := fmt.Sprintf(`ticketflow_http_request_duration_seconds_count{code=%q,method=%q,route=%q} `, code, method, route)
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, want); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return n
		}
	}
	return 0
}

// The waiting crowd's reads of their places make no span (there are tens of thousands a second in
// an on-sale); joining, leaving and everything else do.
func TestWaitingRoomReadsAreNotTraced(t *testing.T) {
	for _, c := range []struct {
		method, path string
		want         bool
	}{
		{http.MethodGet, "/api/events/e1/queue", false},
		{http.MethodGet, "/api/events/e1/queue/stream", false},
		{http.MethodPost, "/api/events/e1/queue", true},
		{http.MethodDelete, "/api/events/e1/queue", true},
		{http.MethodGet, "/api/events/e1", true},
		{http.MethodPost, "/api/bookings", true},
		{http.MethodGet, "/metrics", false},
		{http.MethodGet, "/health", false},
	} {
		if got := traced(httptest.NewRequest(c.method, c.path, nil)); got != c.want {
			t.Errorf("%s %s traced %v, want %v", c.method, c.path, got, c.want)
		}
	}
}
