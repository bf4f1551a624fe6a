// Package worker is the process that hosts BookingWorkflow and its activities on the booking task
// queue (`ticketflow serve worker`).
package worker

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"ticketflow/activities"
	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/lifecycle"
	"ticketflow/internal/process"
	"ticketflow/internal/telemetry"
	"ticketflow/internal/temporalclient"
	"ticketflow/services/booking"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
	"ticketflow/services/payment"
	"ticketflow/services/ticket"
	"ticketflow/workflows"
)

// workflowRegistry is what a worker and a replayer have in common.
type workflowRegistry interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}

// RegisterWorkflows puts TicketFlow's workflows on a worker or a replayer under the names the
// contract gives them, so both know the same names.
func RegisterWorkflows(r workflowRegistry) {
	r.RegisterWorkflowWithOptions(workflows.BookingWorkflow, workflow.RegisterOptions{Name: lifecycle.BookingWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.CancelConfirmedBookingWorkflow,
		workflow.RegisterOptions{Name: lifecycle.CancelConfirmedWorkflowName})
}

// NewReplayer returns a replayer that knows this build's workflows, with the interceptors the
// worker runs them with (tracing, then the booking id), so a replay checks what runs.
func NewReplayer() (sdkworker.WorkflowReplayer, error) {
	tracing, err := temporalclient.Tracing()
	if err != nil {
		return nil, err
	}
	r, err := sdkworker.NewWorkflowReplayerWithOptions(sdkworker.WorkflowReplayerOptions{
		Interceptors: []interceptor.WorkerInterceptor{tracing, &bookingIDs{}}})
	if err != nil {
		return nil, err
	}
	RegisterWorkflows(r)
	return r, nil
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
	workflows.SetPaymentSealKey([]byte(cfg.JWTSecret)) // the bridge seals payment results with it
	acts := &activities.Activities{
		Inventory: inventory.NewClient(cfg.Endpoints[config.Inventory], token, 10*time.Second),
		Bookings:  booking.NewClient(cfg.Endpoints[config.Booking], token, 10*time.Second),
		Payments:  payment.NewClient(cfg.Endpoints[config.Payment], token, 10*time.Second),
		Events:    event.NewClient(cfg.Endpoints[config.Event], token, 10*time.Second),
		Tickets:   ticket.NewClient(cfg.Endpoints[config.Ticket], token, 10*time.Second),
		Kafka:     writer,
	}
	w := sdkworker.New(c, cfg.TaskQueue, sdkworker.Options{
		MaxConcurrentLocalActivityExecutionSize: cfg.WorkerLocalSlots,
		MaxConcurrentWorkflowTaskExecutionSize:  200,
		MaxConcurrentWorkflowTaskPollers:        8,
		MaxConcurrentActivityTaskPollers:        2,
		// Tracing comes with the client (temporalclient); this adds the booking id.
		Interceptors: []interceptor.WorkerInterceptor{&bookingIDs{}},
	})
	RegisterWorkflows(w)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()
	return process.Run(ctx, cfg, process.Spec{Name: config.Worker, Checks: []httpapi.Check{temporalclient.HealthCheck(c)}})
}

// bookingIDs puts the booking id of every activity's workflow (booking-<id>) in the activity's
// context, for its logs, spans and calls — also for a run started without one in its headers (by
// the reconciler, or before tracing).
type bookingIDs struct {
	interceptor.WorkerInterceptorBase
}

func (*bookingIDs) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &bookingActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type bookingActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *bookingActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if id, ok := lifecycle.BookingIDOf(activity.GetInfo(ctx).WorkflowExecution.ID); ok {
		ctx = telemetry.WithBookingID(ctx, id)
	}
	return a.Next.ExecuteActivity(ctx, in)
}
