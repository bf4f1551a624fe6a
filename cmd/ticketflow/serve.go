package main

import (
	"context"
	"fmt"
	"strings"

	"ticketflow/bridge"
	"ticketflow/config"
	"ticketflow/gateway"
	"ticketflow/services/booking"
	"ticketflow/services/event"
	"ticketflow/services/inventory"
	"ticketflow/services/notification"
	"ticketflow/services/payment"
	"ticketflow/services/user"
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
	config.Worker:       worker.Run,
	config.Bridge:       bridge.Run,
}

func serve(ctx context.Context, cfg *config.Config, name string) error {
	run, ok := processes[name]
	if !ok {
		return fmt.Errorf("unknown process %q; one of: %s", name, strings.Join(config.Processes, ", "))
	}
	return run(ctx, cfg)
}
