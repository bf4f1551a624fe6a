package router

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

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
	if got := requestCount("GET", unrouted, "404"); got < 1 {
		t.Errorf("the unmatched request was not counted under %q", unrouted)
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

// requestCount is the count of the latency histogram of one method, route and code.
func requestCount(method, route, code string) float64 {
	var m dto.Metric
	if err := requestDuration.WithLabelValues(method, route, code).(prometheus.Metric).Write(&m); err != nil {
		panic(err)
	}
	return float64(m.GetHistogram().GetSampleCount())
}

func TestInternalServersContinueTheCallersTraceTheEdgeDoesNot(t *testing.T) {
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	header := http.Header{
		"Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"},
		"Baggage":     {"booking.id=0b5f9a4c-1111-4222-8333-444455556666"},
	}
	seen := func(r interface {
		Get(string, http.HandlerFunc)
		ServeHTTP(http.ResponseWriter, *http.Request)
	}) (string, string) {
		var gotTrace, gotBooking string
		r.Get("/x", func(w http.ResponseWriter, r *http.Request) {
			gotTrace, gotBooking = telemetry.TraceID(r.Context()), telemetry.BookingID(r.Context())
		})
		get(t, r, "/x", header)
		return gotTrace, gotBooking
	}
	if tr, b := seen(NewRouter(1 << 10)); tr != traceID || b != "0b5f9a4c-1111-4222-8333-444455556666" {
		t.Errorf("internal server: trace %q booking %q; want the caller's", tr, b)
	}
	if tr, b := seen(NewEdgeRouter(1 << 10)); tr == traceID || tr == "" || b != "" {
		t.Errorf("edge server: trace %q booking %q; want a trace of its own and no client baggage", tr, b)
	}
	if rec := get(t, NewEdgeRouter(1<<10), "/metrics", nil); rec.Code != http.StatusNotFound {
		t.Errorf("the edge serves /metrics: %d", rec.Code)
	}
}

func TestCallsCarryTheTraceAndTheIDs(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer srv.Close()
	ctx, span := otel.Tracer("test").Start(context.Background(), "caller")
	defer span.End()
	ctx = telemetry.WithBookingID(httpapi.WithRequestID(ctx, "req-9"), "0b5f9a4c-1111-4222-8333-444455556666")
	if err := httpapi.NewClient(srv.URL, "", 0).Get(ctx, "/bookings/0b5f9a4c-1111-4222-8333-444455556666", nil); err != nil {
		t.Fatal(err)
	}
	if tp := got.Get("Traceparent"); !strings.Contains(tp, trace.SpanContextFromContext(ctx).TraceID().String()) {
		t.Errorf("traceparent %q does not continue the caller's trace", tp)
	}
	if b := got.Get("Baggage"); !strings.Contains(b, "booking.id=0b5f9a4c") || !strings.Contains(b, "request.id=req-9") {
		t.Errorf("baggage %q lacks the ids", b)
	}
	if got.Get(httpapi.HeaderRequestID) != "req-9" {
		t.Errorf("X-Request-Id = %q", got.Get(httpapi.HeaderRequestID))
	}
	var name string
	for _, s := range spans.Ended() {
		if s.SpanKind() == trace.SpanKindClient {
			name = s.Name()
		}
	}
	if !strings.HasSuffix(name, "/bookings/{id}") {
		t.Errorf("client span %q: ids are not replaced in span names", name)
	}
}
