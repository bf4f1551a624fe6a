package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func jsonLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func spanContext(t *testing.T) (context.Context, string) {
	t.Helper()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	return trace.ContextWithSpanContext(context.Background(), sc), tid.String()
}

func TestLogLinesCarryTheContextsIDs(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "json", slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	ctx, traceID := spanContext(t)
	ctx = WithBookingID(WithRequestID(ctx, "req-1"), "0b5f9a4c-1111-4222-8333-444455556666")

	log.InfoContext(ctx, "within a request")
	log.InfoContext(ctx, "names its booking itself", LogBookingID, "0b5f9a4c-1111-4222-8333-444455556666")
	log.With(LogRequestID, "req-1").InfoContext(ctx, "a logger that has the request id")
	log.Info("no context")

	lines := jsonLines(t, &buf)
	if len(lines) != 4 {
		t.Fatalf("got %d lines", len(lines))
	}
	for i, want := range []map[string]any{
		{LogRequestID: "req-1", LogTraceID: traceID, LogBookingID: "0b5f9a4c-1111-4222-8333-444455556666"},
		{LogRequestID: "req-1", LogTraceID: traceID, LogBookingID: "0b5f9a4c-1111-4222-8333-444455556666"},
		{LogRequestID: "req-1", LogTraceID: traceID, LogBookingID: "0b5f9a4c-1111-4222-8333-444455556666"},
		{},
	} {
		for _, k := range []string{LogRequestID, LogTraceID, LogBookingID} {
			if got, ok := lines[i][k]; want[k] != nil && got != want[k] || want[k] == nil && ok {
				t.Errorf("line %d (%s): %s = %v, want %v", i, lines[i]["msg"], k, got, want[k])
			}
		}
	}
	// The JSON encoder writes a key twice when it is added twice: each id appears once per line.
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		for _, k := range []string{LogRequestID, LogBookingID} {
			if n := strings.Count(line, `"`+k+`":`); n > 1 {
				t.Errorf("%s appears %d times in %s", k, n, line)
			}
		}
	}
}

func TestTextIsTheDefaultLogFormat(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "", slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	log.InfoContext(WithRequestID(context.Background(), "req-2"), "hello")
	if got := buf.String(); !strings.Contains(got, "msg=hello") || !strings.Contains(got, "requestId=req-2") {
		t.Errorf("text line = %q", got)
	}
	if _, err := NewLogger(&buf, "xml", slog.LevelInfo); err == nil {
		t.Error("an unknown format was accepted")
	}
}

func TestBookingIDSurvivesBaggageRules(t *testing.T) {
	ctx := WithBookingID(context.Background(), "b-1")
	if got := BookingID(WithBookingID(ctx, "")); got != "b-1" {
		t.Errorf("an empty id replaced the booking id: %q", got)
	}
	if got := RequestID(WithRequestID(ctx, "has space")); got != "has space" {
		t.Errorf("request id = %q", got)
	}
}
