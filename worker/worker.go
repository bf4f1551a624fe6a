// Package worker is the process that hosts BookingWorkflow and its activities on the booking task
// queue (`ticketflow serve worker`).
package worker

import (
	"context"
	"fmt"

	sdkworker "go.temporal.io/sdk/worker"

	"ticketflow/config"
	"ticketflow/httpapi"
	"ticketflow/temporalclient"
)

// Run hosts the workflows and activities until ctx ends, with a health answer on its port.
func Run(ctx context.Context, cfg *config.Config) error {
	c, err := temporalclient.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	w := sdkworker.New(c, cfg.TaskQueue, sdkworker.Options{})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	r.Get("/health", httpapi.Health(config.Worker, temporalclient.HealthCheck(c)))
	return httpapi.Serve(ctx, cfg.Addr(config.Worker), r, cfg.ShutdownTimeout)
}
