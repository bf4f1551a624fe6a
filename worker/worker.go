// Package worker is the process that hosts BookingWorkflow and its activities on the booking task
// queue (`ticketflow serve worker`).
package worker

import (
	"context"
	"fmt"
	"time"

	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"ticketflow/activities"
	"ticketflow/auth"
	"ticketflow/bus"
	"ticketflow/config"
	"ticketflow/httpapi"
	"ticketflow/temporalclient"
	"ticketflow/workflows"
)

// Register puts TicketFlow's workflows and activities on a worker (also used by the replayer's
// and the tests' workers, so all of them know the same names).
func Register(w sdkworker.Registry, acts *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.BookingWorkflow, workflow.RegisterOptions{Name: workflows.BookingWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.CancelConfirmedBookingWorkflow,
		workflow.RegisterOptions{Name: workflows.CancelConfirmedWorkflowName})
	if acts != nil {
		w.RegisterActivity(acts)
	}
}

// Run hosts the workflows and activities until ctx ends, with a health answer on its port.
func Run(ctx context.Context, cfg *config.Config) error {
	c, err := temporalclient.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	token := auth.InternalToken([]byte(cfg.JWTSecret))
	writer := bus.NewWriter(cfg.KafkaBrokers, config.Worker)
	defer writer.Close()
	acts := &activities.Activities{
		Inventory: httpapi.NewClient(cfg.URLs[config.Inventory], token, 10*time.Second),
		Bookings:  httpapi.NewClient(cfg.URLs[config.Booking], token, 10*time.Second),
		Payments:  httpapi.NewClient(cfg.URLs[config.Payment], token, 10*time.Second),
		Kafka:     writer,
	}
	w := sdkworker.New(c, cfg.TaskQueue, sdkworker.Options{
		MaxConcurrentLocalActivityExecutionSize: cfg.WorkerLocalSlots,
		MaxConcurrentWorkflowTaskExecutionSize:  200,
		MaxConcurrentWorkflowTaskPollers:        8,
		MaxConcurrentActivityTaskPollers:        2,
	})
	Register(w, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	r.Get("/health", httpapi.Health(config.Worker, temporalclient.HealthCheck(c)))
	return httpapi.Serve(ctx, cfg.Addr(config.Worker), r, cfg.ShutdownTimeout)
}
