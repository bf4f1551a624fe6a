// Package notification is the notification service: one email per fact over SMTP, every
// attempt stored on MongoDB (ticketflow_notifications). It consumes ticketflow.user.registered
// (welcome) and ticketflow.booking.confirmed (confirmation), and shows a user their own
// notifications.
package notification

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"sync"
	"time"

	"ticketflow/internal/auth"
	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/mongodb"
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
	db, err := mongodb.Connect(ctx, cfg.MongoURI, config.NotificationsDB, 30*time.Second)
	if err != nil {
		return err
	}
	defer db.Client().Disconnect(context.WithoutCancel(ctx))
	st := newStore(db)
	if err := st.ensureIndexes(ctx); err != nil {
		return err
	}
	svc := &service{store: st, mail: &smtpMailer{addr: cfg.SMTPAddr, timeout: smtpTimeout},
		from: from.Address, header: from.String()}
	dlt := bus.NewWriter(cfg.KafkaBrokers, config.Notification)
	defer dlt.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	consumers := []*bus.Consumer{
		bus.NewConsumer(bus.ConsumerConfig{Brokers: cfg.KafkaBrokers, GroupID: consumerGroup,
			Topic: bus.TopicUserRegistered, Handler: svc.handleUserRegistered, DLT: dlt}),
		bus.NewConsumer(bus.ConsumerConfig{Brokers: cfg.KafkaBrokers, GroupID: consumerGroup,
			Topic: bus.TopicBookingConfirmed, Handler: svc.handleBookingConfirmed, DLT: dlt}),
	}
	var wg sync.WaitGroup
	for _, c := range consumers {
		wg.Go(func() {
			if err := c.Run(ctx); err != nil {
				slog.Error("consumer stopped", "topic", c.Stats().Topic, "err", err)
			}
		})
	}

	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	httpapi.Profiling(r, auth.InternalToken([]byte(cfg.JWTSecret)))
	r.Get("/health", httpapi.Health(config.Notification, httpapi.Check{Name: "mongodb", Ping: mongodb.Ping(db)},
		bus.HealthCheck(cfg.KafkaBrokers)))
	r.Get("/stats", bus.StatsHandler(consumers...))
	(&api{store: st}).routes(r, []byte(cfg.JWTSecret))
	err = httpapi.Serve(ctx, cfg.Addr(config.Notification), r, cfg.ShutdownTimeout)
	// Stop consuming, and wait for the consumers to let go (a message in hand stays uncommitted
	// and is redelivered) before the writer and the database close under them.
	cancel()
	wg.Wait()
	return err
}
