// Package server is the notification service (`ticketflow serve notification`): one email per fact over SMTP, every
// attempt stored on MongoDB (ticketflow_notifications). It consumes ticketflow.user.registered
// (welcome), ticketflow.booking.confirmed (confirmation, with the booking's tickets from the
// ticket service) and ticketflow.ticket.transferred (one email to each holder), and shows a user
// their own notifications.
package server

import (
	"context"
	"fmt"
	"net/mail"
	"time"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/mongodb"
	"ticketflow/internal/process"
	"ticketflow/internal/router"
	"ticketflow/services/ticket"
)

const (
	consumerGroup = "notification-service"
	smtpTimeout   = 30 * time.Second
)

// Run serves the notification service until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	from, err := mail.ParseAddress(cfg.MailFrom)
	if err != nil {
		return fmt.Errorf("MAIL_FROM %q: %w", cfg.MailFrom, err)
	}
	st, db, closeDB, err := mongodb.Open(ctx, cfg.MongoURI, config.NotificationsDB, newStore)
	if err != nil {
		return err
	}
	defer closeDB()
	svc := &service{store: st, mail: &smtpMailer{addr: cfg.SMTPAddr, timeout: smtpTimeout},
		from: from.Address, header: from.String(),
		tickets: ticket.NewClient(cfg.Endpoints[config.Ticket], auth.InternalToken([]byte(cfg.JWTSecret)), 10*time.Second)}
	dlt := bus.NewWriter(cfg.KafkaBrokers, config.Notification)
	defer dlt.Close()

	consumers := []*bus.Consumer{
		bus.NewConsumer(bus.ConsumerConfig{Brokers: cfg.KafkaBrokers, GroupID: consumerGroup, Topic: bus.TopicUserRegistered,
			Handler: bus.Handle(bus.TopicUserRegistered, svc.handleUserRegistered), DLT: dlt}),
		bus.NewConsumer(bus.ConsumerConfig{Brokers: cfg.KafkaBrokers, GroupID: consumerGroup, Topic: bus.TopicBookingConfirmed,
			Handler: bus.Handle(bus.TopicBookingConfirmed, svc.handleBookingConfirmed), DLT: dlt}),
		bus.NewConsumer(bus.ConsumerConfig{Brokers: cfg.KafkaBrokers, GroupID: consumerGroup, Topic: bus.TopicTicketTransferred,
			Handler: bus.Handle(bus.TopicTicketTransferred, svc.handleTicketTransferred), DLT: dlt}),
	}
	// process.Run returns only once the consumers have let go (a message in hand stays uncommitted
	// and is redelivered), so the deferred closes of the writer and the database run after them.
	return process.Run(ctx, cfg, process.Spec{Name: config.Notification,
		Checks:    []httpapi.Check{{Name: "mongodb", Ping: mongodb.Ping(db)}, bus.HealthCheck(cfg.KafkaBrokers)},
		API:       router.API(cfg.MaxBodyBytes, func(r chi.Router) { (&api{store: st}).routes(r, []byte(cfg.JWTSecret)) }),
		Consumers: consumers})
}
