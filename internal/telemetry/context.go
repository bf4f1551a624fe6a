// Package telemetry is how a TicketFlow process shows what it does: Prometheus metrics on its
// internal port, OpenTelemetry traces sent to an OTLP endpoint, and log lines that carry the
// request, trace and booking ids of the context they are written in.
//
// The request and booking ids travel as W3C baggage beside the trace context, so they cross
// every boundary the trace crosses: HTTP calls, Temporal workflows and activities, Kafka messages.
package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"
)

// Baggage keys, which are also the span attributes a trace backend is searched by
// (booking.id=<id> finds a booking's trace, request.id=<X-Request-Id> a request's).
const (
	KeyRequestID = "request.id"
	KeyBookingID = "booking.id"
)

// WithRequestID returns ctx carrying a request id, and tags the current span with it.
func WithRequestID(ctx context.Context, id string) context.Context {
	trace.SpanFromContext(ctx).SetAttributes(attribute.String(KeyRequestID, id))
	return withBaggage(ctx, KeyRequestID, id)
}

// RequestID is the request id carried by ctx ("" when none).
func RequestID(ctx context.Context) string {
	return baggage.FromContext(ctx).Member(KeyRequestID).Value()
}

// WithBookingID returns ctx carrying the id of the booking it works on, and tags the current span
// with it. Everything that ctx reaches (logs, calls, workflows, messages) carries it from then on.
func WithBookingID(ctx context.Context, id string) context.Context {
	if id == "" || BookingID(ctx) == id {
		return ctx
	}
	trace.SpanFromContext(ctx).SetAttributes(attribute.String(KeyBookingID, id))
	return withBaggage(ctx, KeyBookingID, id)
}

// BookingID is the booking id carried by ctx ("" when none).
func BookingID(ctx context.Context) string {
	return baggage.FromContext(ctx).Member(KeyBookingID).Value()
}

// TraceID is the id of the trace ctx belongs to ("" when none).
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

func withBaggage(ctx context.Context, key, value string) context.Context {
	m, err := baggage.NewMemberRaw(key, value)
	if err != nil {
		return ctx
	}
	b, err := baggage.FromContext(ctx).SetMember(m)
	if err != nil {
		return ctx
	}
	return baggage.ContextWithBaggage(ctx, b)
}
