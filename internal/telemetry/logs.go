package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// Attribute keys of the ids every log line within a request, activity or message carries.
const (
	LogRequestID = "requestId"
	LogTraceID   = "traceId"
	LogBookingID = "booking"
)

// NewLogger returns a process's logger: text lines (format "text", the default) or JSON lines
// (format "json") to w from level up, each line written with a context carrying the request id,
// trace id and booking id of that context.
func NewLogger(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case "", "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("LOG_FORMAT=%q: must be text or json", format)
	}
	return slog.New(NewLogHandler(h)), nil
}

// NewLogHandler wraps next so that every record handled with a context gets the context's ids:
// requestId, traceId and booking (unless the line already names them).
func NewLogHandler(next slog.Handler) slog.Handler { return &logHandler{next: next} }

type logHandler struct {
	next slog.Handler
	has  map[string]bool // keys added by With: not added again
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx == nil {
		return h.next.Handle(ctx, r)
	}
	ids := [...]slog.Attr{
		slog.String(LogRequestID, RequestID(ctx)),
		slog.String(LogTraceID, TraceID(ctx)),
		slog.String(LogBookingID, BookingID(ctx)),
	}
	var named map[string]bool
	r.Attrs(func(a slog.Attr) bool {
		for _, id := range ids {
			if a.Key == id.Key {
				if named == nil {
					named = map[string]bool{}
				}
				named[a.Key] = true
			}
		}
		return true
	})
	for _, id := range ids {
		if id.Value.String() != "" && !named[id.Key] && !h.has[id.Key] {
			r.AddAttrs(id)
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	has := make(map[string]bool, len(h.has)+len(attrs))
	for k := range h.has {
		has[k] = true
	}
	for _, a := range attrs {
		has[a.Key] = true
	}
	return &logHandler{next: h.next.WithAttrs(attrs), has: has}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name), has: h.has}
}
