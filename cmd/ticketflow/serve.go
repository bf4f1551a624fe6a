package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"ticketflow/bridge"
	"ticketflow/gateway"
	"ticketflow/internal/config"
	"ticketflow/internal/telemetry"
	booking "ticketflow/services/booking/server"
	event "ticketflow/services/event/server"
	inventory "ticketflow/services/inventory/server"
	notification "ticketflow/services/notification/server"
	payment "ticketflow/services/payment/server"
	ticket "ticketflow/services/ticket/server"
	user "ticketflow/services/user/server"
	"ticketflow/worker"
)

var processes = map[string]func(context.Context, *config.Config) error{
	config.Gateway:      gateway.Run,
	config.User:         user.Run,
	config.Event:        event.Run,
	config.Booking:      booking.Run,
	config.Inventory:    inventory.Run,
	config.Payment:      payment.Run,
	config.Notification: notification.Run,
	config.Ticket:       ticket.Run,
	config.Worker:       worker.Run,
	config.Bridge:       bridge.Run,
	config.Room:         gateway.RunRoom,
}

func serve(ctx context.Context, cfg *config.Config, name string) error {
	run, ok := processes[name]
	if !ok {
		return fmt.Errorf("unknown process %q; one of: %s", name, strings.Join(config.Processes, ", "))
	}
	stopTracing, err := telemetry.StartTracing(ctx, telemetry.TraceOptions{Service: "ticketflow-" + name,
		Endpoint: cfg.OTLPEndpoint, SampleRatio: cfg.TraceSampleRatio})
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() {
		// Send what is queued, briefly: a trace backend that is down must not hold up a stop.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = stopTracing(sctx)
	}()
	return run(ctx, cfg)
}
