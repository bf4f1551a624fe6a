package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Propagator is what crosses process boundaries with a request: the W3C trace context and the
// baggage carrying the request and booking ids. HTTP clients, the Temporal interceptor and the
// Kafka writer and consumer all use it (it is also the global one once StartTracing ran).
var Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// TraceOptions say where this process sends its spans.
type TraceOptions struct {
	Service     string  // the service.name of its spans, e.g. ticketflow-booking
	Endpoint    string  // OTLP/HTTP base URL, e.g. http://127.0.0.1:4318; "" sends nothing
	SampleRatio float64 // share of new traces recorded (a caller's decision is kept)
}

// StartTracing installs the process's tracer provider and propagator. Spans are batched and sent
// in the background from a bounded queue that drops when full, with a short timeout per export:
// a slow or absent trace backend costs a request nothing. The returned function flushes what is
// queued (within its context) and stops.
//
// Without an endpoint nothing is recorded, but spans still get ids and the trace context and
// baggage still travel, so the logs keep their trace, request and booking ids.
func StartTracing(ctx context.Context, o TraceOptions) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(Propagator)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(exportErrors.report))
	if o.Endpoint == "" {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
		otel.SetTracerProvider(tp)
		return tp.Shutdown, nil
	}
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(o.Endpoint+"/v1/traces"),
		otlptracehttp.WithTimeout(3*time.Second),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: 500 * time.Millisecond,
			MaxInterval: 2 * time.Second, MaxElapsedTime: 5 * time.Second}))
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", o.Service),
			attribute.String("service.namespace", "ticketflow"))),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(o.SampleRatio))),
		sdktrace.WithSpanProcessor(idAttributes{}),
		sdktrace.WithBatcher(exp,
			sdktrace.WithBatchTimeout(2*time.Second),
			sdktrace.WithMaxQueueSize(4096),
			sdktrace.WithMaxExportBatchSize(512),
			sdktrace.WithExportTimeout(5*time.Second)),
	)
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// idAttributes tags every span started within a request or booking with its ids (from the
// baggage), so the trace backend finds a booking's spans by booking.id.
type idAttributes struct{}

func (idAttributes) OnStart(parent context.Context, s sdktrace.ReadWriteSpan) {
	if id := RequestID(parent); id != "" {
		s.SetAttributes(attribute.String(KeyRequestID, id))
	}
	if id := BookingID(parent); id != "" {
		s.SetAttributes(attribute.String(KeyBookingID, id))
	}
}
func (idAttributes) OnEnd(sdktrace.ReadOnlySpan)      {}
func (idAttributes) Shutdown(context.Context) error   { return nil }
func (idAttributes) ForceFlush(context.Context) error { return nil }

// exportErrors logs the trace exporter's failures at most once a minute: a trace backend that is
// down is worth one line, not one per batch.
var exportErrors = &throttledLog{every: time.Minute}

type throttledLog struct {
	mu      sync.Mutex
	every   time.Duration
	last    time.Time
	dropped int
}

func (t *throttledLog) report(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if time.Since(t.last) < t.every {
		t.dropped++
		return
	}
	slog.Warn("tracing: spans could not be exported (the trace backend is slow or down; requests are not affected)",
		"err", err, "suppressed", t.dropped)
	t.last, t.dropped = time.Now(), 0
}
