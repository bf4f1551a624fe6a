package temporalclient

import (
	"log/slog"
	"sync"

	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"ticketflow/internal/telemetry"
)

// sdkMetrics is the Temporal SDK's MetricsHandler of this process (one for every client it
// dials): the SDK's OpenTelemetry handler on a meter whose readings the Prometheus exporter puts
// in the process's registry, next to TicketFlow's own metrics — temporal_request_total,
// temporal_workflow_task_execution_latency_seconds, temporal_activity_execution_latency_seconds
// and the rest of the SDK's metrics, for the client and the worker.
var sdkMetrics = sync.OnceValue(func() client.MetricsHandler {
	exporter, err := otelprom.New(otelprom.WithRegisterer(telemetry.Registry),
		otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		slog.Warn("temporal SDK metrics are off", "err", err)
		return client.MetricsNopHandler
	}
	// The SDK's timers are in seconds: give them buckets that fit seconds (the OpenTelemetry
	// default ones are made for milliseconds).
	seconds := sdkmetric.NewView(sdkmetric.Instrument{Unit: "s"}, sdkmetric.Stream{
		Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: telemetry.LatencyBuckets}})
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithView(seconds))
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError:              func(err error) { slog.Warn("temporal SDK metric", "err", err) },
	})
})
