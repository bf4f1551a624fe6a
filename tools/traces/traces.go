// Package traces prints a booking's traces from the local stack's Jaeger as a tree of spans: the
// terminal's view of a booking (Jaeger's own web UI is not in its Go module, so the local stack's
// Jaeger serves its query API and a placeholder page).
package traces

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Trace is a trace as Jaeger's query API (/api/traces) returns it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// Span is one span of a Trace; times are microseconds.
type Span struct {
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64  `json:"startTime"`
	Duration  int64  `json:"duration"`
	ProcessID string `json:"processID"`
	Tags      []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"tags"`
}

// Process is the service a span came from.
type Process struct {
	ServiceName string `json:"serviceName"`
}

// OfBooking returns the traces that hold a span tagged with the booking's id (booking.id), from
// the Jaeger query API at base: the request that made the booking and each request or message
// about it since, oldest first.
func OfBooking(ctx context.Context, base, bookingID string) ([]Trace, error) {
	q := url.Values{"service": {"ticketflow-booking"}, "lookback": {"48h"}, "limit": {"100"},
		"tags": {fmt.Sprintf(`{"booking.id":%q}`, bookingID)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/traces?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("Jaeger at %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("Jaeger at %s: %s", base, resp.Status)
	}
	var res struct {
		Data []Trace `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return nil, fmt.Errorf("Jaeger's answer: %w", err)
	}
	sort.Slice(res.Data, func(i, j int) bool { return res.Data[i].start() < res.Data[j].start() })
	return res.Data, nil
}

func (t Trace) start() int64 {
	var first int64
	for _, s := range t.Spans {
		if first == 0 || s.StartTime < first {
			first = s.StartTime
		}
	}
	return first
}

// Print writes the trace as an indented tree: each span's offset from the trace's start, its
// duration, its service and its operation; an error span is marked.
func Print(w io.Writer, t Trace) {
	byID := map[string]bool{}
	for _, s := range t.Spans {
		byID[s.SpanID] = true
	}
	children := map[string][]Span{}
	var roots []Span
	for _, s := range t.Spans {
		parent := ""
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" && byID[r.SpanID] {
				parent = r.SpanID
			}
		}
		if parent == "" {
			roots = append(roots, s) // a root, or a span whose parent is not (yet) exported
		} else {
			children[parent] = append(children[parent], s)
		}
	}
	services := map[string]bool{}
	for _, p := range t.Processes {
		services[p.ServiceName] = true
	}
	start := t.start()
	fmt.Fprintf(w, "trace %s: %d spans, %d services, %s\n", t.TraceID, len(t.Spans), len(services),
		time.UnixMicro(start).UTC().Format(time.RFC3339Nano))
	var walk func(spans []Span, depth int)
	walk = func(spans []Span, depth int) {
		sort.Slice(spans, func(i, j int) bool { return spans[i].StartTime < spans[j].StartTime })
		for _, s := range spans {
			mark := ""
			for _, tag := range s.Tags {
				if tag.Key == "error" && tag.Value == true || tag.Key == "otel.status_code" && tag.Value == "ERROR" {
					mark = "  ERROR"
				}
			}
			fmt.Fprintf(w, "%9s %9s  %s%-24s %s%s\n", ms(s.StartTime-start), ms(s.Duration), strings.Repeat("  ", depth),
				t.Processes[s.ProcessID].ServiceName, s.OperationName, mark)
			walk(children[s.SpanID], depth+1)
		}
	}
	walk(roots, 0)
}

func ms(micros int64) string { return fmt.Sprintf("%.1fms", float64(micros)/1000) }
