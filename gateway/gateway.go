// Package gateway is TicketFlow's front door (:3000): it verifies tokens, strips client-sent
// identity headers, rate-limits, caps bodies, and proxies /api/* to the six services.
package gateway

import (
	"context"
	"net/http"
	"time"

	"ticketflow/config"
	"ticketflow/httpapi"
)

// Gateway is the gateway's state: its configuration and the clients it proxies with.
type Gateway struct {
	cfg          *config.Config
	healthClient *http.Client
}

// New returns a gateway for cfg.
func New(cfg *config.Config) *Gateway {
	return &Gateway{cfg: cfg, healthClient: &http.Client{Timeout: 3 * time.Second}}
}

// Routes is the gateway's whole routing table.
func (g *Gateway) Routes() http.Handler {
	r := httpapi.NewRouter(g.cfg.MaxBodyBytes)
	r.Get("/health", httpapi.Health(config.Gateway))
	r.Get("/health/all", g.healthAll)
	return r
}

// Run serves the gateway until ctx ends.
func Run(ctx context.Context, cfg *config.Config) error {
	return httpapi.Serve(ctx, cfg.Addr(config.Gateway), New(cfg).Routes(), cfg.ShutdownTimeout)
}
