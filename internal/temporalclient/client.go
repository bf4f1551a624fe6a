// Package temporalclient dials the Temporal server the way every TicketFlow process does: the
// configured address and namespace, the SDK's logs through slog, its metrics in the process's
// Prometheus registry, its OpenTelemetry tracing (so a workflow and its activities join the trace
// of the request that started or signalled them), and a health check.
package temporalclient

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"

	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/telemetry"
)

// Dial connects to Temporal, retrying for up to 30 s so a process started just before the server
// is ready does not die at once.
func Dial(ctx context.Context, cfg *config.Config) (client.Client, error) {
	tracing, err := Tracing()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := client.DialContext(ctx, client.Options{
			HostPort:       cfg.TemporalAddr,
			Namespace:      cfg.TemporalNS,
			Logger:         log.NewStructuredLogger(slog.Default().With("component", "temporal-sdk")),
			MetricsHandler: sdkMetrics(),
			// On the client, and on every worker made from it (workflows and activities).
			Interceptors: []interceptor.ClientInterceptor{tracing},
		})
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("temporal at %s: %w", cfg.TemporalAddr, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Tracing is the SDK's OpenTelemetry interceptor as every client and worker of TicketFlow runs it
// (and the replayer, so that replays check the workflows as they run): spans for starts, signals,
// updates, workflows and activities, the trace and its baggage (request and booking ids) carried
// in Temporal's headers.
func Tracing() (interceptor.Interceptor, error) {
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		TextMapPropagator: telemetry.Propagator,
		// A history started before tracing (or by a tool) has no span in its headers: fine.
		AllowInvalidParentSpans: true,
	})
	if err != nil {
		return nil, fmt.Errorf("temporal tracing: %w", err)
	}
	return i, nil
}

// HealthCheck is a health-answer check of the Temporal frontend.
func HealthCheck(c client.Client) httpapi.Check {
	return httpapi.Check{Name: "temporal", Ping: func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}
}

// RegisterSearchAttributes adds the custom search attributes a namespace lacks (for servers the
// local stack did not start, such as docker-compose's).
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string, defs map[string]enums.IndexedValueType) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for name, typ := range defs {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}
