// Package bridge is the Kafka side of the booking saga: it turns the contract topics it consumes
// into Temporal signals and workflow starts, so teams that speak Kafka keep working while Temporal
// orchestrates (`ticketflow serve bridge`).
package bridge

import (
	"context"
	"time"

	"github.com/segmentio/kafka-go"

	"ticketflow/config"
	"ticketflow/httpapi"
	"ticketflow/temporalclient"
)

// Run consumes until ctx ends, with a health answer on its port.
func Run(ctx context.Context, cfg *config.Config) error {
	c, err := temporalclient.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	r := httpapi.NewRouter(cfg.MaxBodyBytes)
	r.Get("/health", httpapi.Health(config.Bridge, temporalclient.HealthCheck(c),
		httpapi.Check{Name: "kafka", Ping: func(ctx context.Context) error {
			conn, err := (&kafka.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", cfg.KafkaBrokers[0])
			if err != nil {
				return err
			}
			return conn.Close()
		}}))
	return httpapi.Serve(ctx, cfg.Addr(config.Bridge), r, cfg.ShutdownTimeout)
}
