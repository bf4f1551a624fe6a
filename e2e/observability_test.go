//go:build integration

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/tools/devstack"
)

// What an on-call engineer relies on during a sale: every process's metrics (and the stack's
// Prometheus scraping them), one trace per booking in Jaeger, and log lines that name the
// request, trace and booking they belong to.

// metricsURL is where a process serves its Prometheus metrics: its own port, or its admin port for
// the gateway and the room.
func metricsURL(cfg *devstack.Settings, process string) string {
	if admin := cfg.AdminPortOf(process, 0); admin != 0 { // the gateway's and the room's
		return fmt.Sprintf("http://127.0.0.1:%d/metrics", admin)
	}
	return cfg.URLs[process] + "/metrics"
}

func scrape(t testing.TB, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	return string(body)
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)`)

// sample sums the samples of metric name whose labels include every one of labels (k="v").
func sample(body, name string, labels ...string) float64 {
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		m := sampleLine.FindStringSubmatch(line)
		if m == nil || m[1] != name {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(m[2], l)
		}
		if v, err := strconv.ParseFloat(m[3], 64); err == nil && match {
			sum += v
		}
	}
	return sum
}

func TestEveryProcessServesItsMetricsTheGatewayOnlyOnItsAdminPort(t *testing.T) {
	cfg := loadConfig(t)
	// A booking first, so every part has something to show.
	e := newEvent(t, 1, 1000)
	c, _ := register(t)
	var b booking
	c.expect(202, "POST", "/api/bookings", map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1"}}, &b)
	waitStatus(t, c, b.ID, "CONFIRMED", 30*time.Second)
	c.expect(200, "GET", "/api/bookings/my", nil, nil)
	for _, p := range config.Processes {
		body := scrape(t, metricsURL(cfg, p))
		for _, want := range []string{"go_goroutines", "go_gc_duration_seconds", "process_resident_memory_bytes",
			"ticketflow_http_request_duration_seconds_bucket"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: /metrics lacks %s", p, want)
			}
		}
	}
	if r := newClient(t).do("GET", "/metrics", nil); r.status == http.StatusOK && strings.Contains(string(r.body), "go_goroutines") {
		t.Error("the gateway's public port serves the metrics")
	}
	if r := newClient(t).at(cfg.URLs[config.Room]).do("GET", "/metrics", nil); r.status == http.StatusOK {
		t.Error("the room's public port serves the metrics")
	}
	// The profiler: on the admin port for internal callers (the bench's --profile), never public.
	if r := newClient(t).do("GET", "/debug/pprof/goroutine", nil); r.status == http.StatusOK {
		t.Error("the gateway's public port serves the profiler")
	}
	adminPprof := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/goroutine", cfg.GatewayAdminPort)
	if resp, err := http.Get(adminPprof); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("the admin port's profiler without the internal token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	req, _ := http.NewRequest(http.MethodGet, adminPprof, nil)
	req.Header.Set(httpapi.HeaderInternalToken, auth.InternalToken([]byte(cfg.JWTSecret)))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the admin port's profiler for an internal caller: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	gw := scrape(t, metricsURL(cfg, config.Gateway))
	if sample(gw, "ticketflow_http_request_duration_seconds_count", `route="/api/bookings/*"`, `code="200"`) < 1 {
		t.Error("the gateway does not count requests by route pattern (/api/bookings/*)")
	}
	if regexp.MustCompile(`route="/api/bookings/[0-9a-f]{8}-`).MatchString(gw) {
		t.Error("a raw path is a label")
	}
	perProcess := map[string][]string{
		config.Worker:       {"temporal_request_total", "temporal_workflow_task_execution_latency_seconds_bucket", "temporal_local_activity_execution_latency_seconds_bucket"},
		config.Booking:      {"temporal_request_total", "ticketflow_bookings_total", "ticketflow_seat_hold_seconds_bucket"},
		config.Payment:      {`ticketflow_kafka_consumer_lag{group="payment-service",topic="` + bus.TopicPaymentRequested + `"}`},
		config.Bridge:       {`ticketflow_kafka_messages_handled_total{group="booking-bridge",topic="` + bus.TopicPaymentProcessed + `"}`},
		config.Notification: {`ticketflow_kafka_messages_dead_lettered_total{group="notification-service",topic="` + bus.TopicBookingConfirmed + `"}`},
		config.User:         {"ticketflow_outbox_backlog", "ticketflow_outbox_published_total"},
	}
	for p, wants := range perProcess {
		body := scrape(t, metricsURL(cfg, p))
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("%s: /metrics lacks %s", p, want)
			}
		}
	}
}

func TestABookingMovesTheMetricsAndPrometheusScrapesThem(t *testing.T) {
	cfg := loadConfig(t)
	bookingMetrics := metricsURL(cfg, config.Booking)
	before := scrape(t, bookingMetrics)

	e := newEvent(t, 2, 1200)
	c, _ := register(t)
	var b booking
	c.expect(202, "POST", "/api/bookings", map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1"},
		"paymentMethod": map[string]string{"type": "card", "token": "tok_visa"}}, &b)
	waitStatus(t, c, b.ID, "CONFIRMED", 30*time.Second)

	after := scrape(t, bookingMetrics)
	for _, m := range []struct {
		name   string
		labels []string
	}{
		{"ticketflow_bookings_total", []string{`status="PENDING"`}},
		{"ticketflow_bookings_total", []string{`status="CONFIRMED"`}},
		{"ticketflow_booking_decision_seconds_count", []string{`code="202"`}},
		{"ticketflow_seat_hold_seconds_count", []string{`outcome="held"`}},
		{"ticketflow_booking_confirm_seconds_count", nil},
	} {
		if d := sample(after, m.name, m.labels...) - sample(before, m.name, m.labels...); d < 1 {
			t.Errorf("%s%v moved by %v after a confirmed booking", m.name, m.labels, d)
		}
	}

	// The stack's Prometheus scrapes every process, and has the booking counts.
	prom := cfg.PrometheusURL
	eventually(t, 30*time.Second, func() error {
		var up struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Value  []any             `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := getJSON(prom+"/api/v1/query?query="+url.QueryEscape("up"), &up); err != nil {
			return err
		}
		healthy := map[string]bool{}
		for _, r := range up.Data.Result {
			healthy[r.Metric["job"]] = len(r.Value) == 2 && r.Value[1] == "1"
		}
		for _, p := range config.Processes {
			if !healthy[p] {
				return fmt.Errorf("Prometheus does not scrape %s (up: %v)", p, healthy)
			}
		}
		var confirmed struct {
			Data struct {
				Result []any `json:"result"`
			} `json:"data"`
		}
		q := `ticketflow_bookings_total{job="booking",status="CONFIRMED"}`
		if err := getJSON(prom+"/api/v1/query?query="+url.QueryEscape(q), &confirmed); err != nil {
			return err
		}
		if len(confirmed.Data.Result) == 0 {
			return fmt.Errorf("Prometheus has no %s yet", q)
		}
		return nil
	})
	page := scrape(t, prom+"/consoles/ticketflow.html")
	for _, want := range []string{"Bookings by outcome", "ticketflow_booking_decision_seconds_bucket",
		"ticketflow_booking_confirm_seconds_bucket", "ticketflow_kafka_consumer_lag"} {
		if !strings.Contains(page, want) {
			t.Errorf("the sale dashboard lacks %q", want)
		}
	}
}

// jaegerTrace is a trace as Jaeger's query API returns it.
type jaegerTrace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		OperationName string `json:"operationName"`
		ProcessID     string `json:"processID"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// services names the services with spans in the trace, and an operation of each.
func (tr jaegerTrace) services() map[string][]string {
	out := map[string][]string{}
	for _, s := range tr.Spans {
		name := tr.Processes[s.ProcessID].ServiceName
		out[name] = append(out[name], s.OperationName)
	}
	return out
}

// waitJaeger waits for the stack's Jaeger: on a fresh machine make test compiles it in the
// background while the suite runs, and the stack starts it once it is built.
func waitJaeger(t testing.TB) {
	t.Helper()
	cfg := loadConfig(t)
	poll(t, 10*time.Minute, 2*time.Second, func() error {
		var res struct {
			Data []string `json:"data"`
		}
		if err := getJSON(cfg.JaegerURL+"/api/services", &res); err != nil {
			return fmt.Errorf("Jaeger is not up yet (on a fresh machine it is still compiling: .data/logs/jaeger-build.log): %w", err)
		}
		return nil
	})
}

func TestOneBookingIsOneTraceAcrossEveryProcess(t *testing.T) {
	t.Parallel()
	waitJaeger(t)
	cfg := loadConfig(t)
	e := newEvent(t, 2, 1500)
	c, _ := register(t)
	r := c.expect(202, "POST", "/api/bookings", map[string]any{"eventId": e.ID, "seatIds": []string{"FLOOR-A-1"},
		"paymentMethod": map[string]string{"type": "card", "token": "tok_visa"}}, nil)
	var b booking
	r.decode(t, &b)
	waitStatus(t, c, b.ID, "CONFIRMED", 30*time.Second)

	want := []string{"ticketflow-gateway", "ticketflow-booking", "ticketflow-inventory", "ticketflow-worker",
		"ticketflow-payment", "ticketflow-bridge", "ticketflow-notification"}
	wantOps := map[string]string{
		"ticketflow-gateway":      "POST /api/bookings",
		"ticketflow-booking":      "POST /api/bookings",
		"ticketflow-worker":       "RunActivity:",
		"ticketflow-payment":      bus.TopicPaymentRequested + " process",
		"ticketflow-bridge":       "SignalWorkflow:",
		"ticketflow-notification": bus.TopicBookingConfirmed + " process",
	}
	tags := url.QueryEscape(fmt.Sprintf(`{"booking.id":%q}`, b.ID))
	var found jaegerTrace
	eventually(t, 45*time.Second, func() error {
		var res struct {
			Data []jaegerTrace `json:"data"`
		}
		if err := getJSON(cfg.JaegerURL+"/api/traces?service=ticketflow-booking&lookback=1h&limit=50&tags="+tags, &res); err != nil {
			return err
		}
		// The booking's traces: the request that made it, and each read of it (GET /api/bookings/{id}).
		var made []jaegerTrace
		for _, tr := range res.Data {
			if hasPrefix(tr.services()["ticketflow-booking"], "POST /api/bookings") {
				made = append(made, tr)
			}
		}
		if len(made) != 1 {
			return fmt.Errorf("%d traces of booking %s hold its POST /api/bookings, want 1", len(made), b.ID)
		}
		found = made[0]
		have := found.services()
		var missing []string
		for _, s := range want {
			if len(have[s]) == 0 {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("trace %s has no span of %v yet (has %v)", found.TraceID, missing, keys(have))
		}
		// Each process exports its spans in batches, on its own clock: a process's first span can
		// be in Jaeger before the one this test looks for, so the wait is for the named spans.
		for service, op := range wantOps {
			if !hasPrefix(have[service], op) {
				return fmt.Errorf("%s: no %q span among %v yet", service, op, have[service])
			}
		}
		return nil
	})
	ops := found.services()
	// The workflow's own work (its activities, the signal it handled) is in the trace.
	if !hasPrefix(ops["ticketflow-worker"], "HandleSignal:") && !hasPrefix(ops["ticketflow-worker"], "StartActivity:") {
		t.Errorf("no workflow span in the trace: %v", ops["ticketflow-worker"])
	}

	// The log lines of the booking in other processes carry the same ids.
	requestID := r.header.Get("X-Request-Id")
	for process, msg := range map[string]string{config.Payment: "payment settled", config.Notification: "email sent"} {
		line := findLogLine(t, cfg, process, msg, b.ID)
		if line["requestId"] != requestID || line["traceId"] != found.TraceID {
			t.Errorf("%s's %q line: requestId %v traceId %v; want %s and %s", process, msg, line["requestId"],
				line["traceId"], requestID, found.TraceID)
		}
	}
}

func keys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func hasPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// findLogLine waits for the JSON log line of process with message msg about booking.
func findLogLine(t *testing.T, cfg *devstack.Settings, process, msg, booking string) map[string]any {
	t.Helper()
	var found map[string]any
	eventually(t, 20*time.Second, func() error {
		f, err := os.Open(filepath.Join(cfg.LogDir(), process+".log"))
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) == 0 || line[0] != '{' || !strings.Contains(string(line), booking) {
				continue
			}
			var m map[string]any
			if json.Unmarshal(line, &m) == nil && m["msg"] == msg && m["booking"] == booking {
				found = m
				return nil
			}
		}
		return fmt.Errorf("no JSON line %q about booking %s in %s.log (the test stack runs LOG_FORMAT=json)", msg, booking, process)
	})
	return found
}

// TestBookingsDoNotWaitForTheTraceBackend freezes Jaeger (SIGSTOP: connections open, nothing
// answers — the worst case for an exporter), then kills it, and books through both: the buyer's
// answer and the confirmation take no longer than usual, whatever the trace backend does.
func TestBookingsDoNotWaitForTheTraceBackend(t *testing.T) {
	waitJaeger(t)
	cfg := loadConfig(t)
	e := newEvent(t, 4, 1000)
	c, _ := register(t)
	bookOne := func(seat string) {
		t.Helper()
		start := time.Now()
		var b booking
		c.expect(202, "POST", "/api/bookings", map[string]any{"eventId": e.ID, "seatIds": []string{seat}}, &b)
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("the seat decision took %s with the trace backend unavailable", took)
		}
		waitStatus(t, c, b.ID, "CONFIRMED", 20*time.Second)
	}

	frozen := make(chan error, 1)
	go func() { _, err := devstack.Pause(cfg, "jaeger", 12*time.Second); frozen <- err }()
	time.Sleep(500 * time.Millisecond)
	bookOne("FLOOR-A-1")
	bookOne("FLOOR-A-2")
	if err := <-frozen; err != nil {
		t.Fatal(err)
	}

	old, err := devstack.Kill(cfg, "jaeger", 8*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	bookOne("FLOOR-A-3")
	devstack.Release(cfg, "jaeger")
	if err := devstack.WaitRestarted(testContext(t, 60*time.Second), cfg, "jaeger", old, cfg.JaegerURL+"/api/services"); err != nil {
		t.Fatal(err)
	}
}
