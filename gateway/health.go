package gateway

import (
	"context"
	"net/http"
	"sync"
	"time"

	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
)

type serviceHealth struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// healthAll asks every service's /health at once: 200 when all six are up, else 503, body
// {"gateway":"up","services":[{"name":"user","status":"up"}, ...]}.
func (g *Gateway) healthAll(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	out := make([]serviceHealth, len(config.Services))
	var wg sync.WaitGroup
	for i, name := range config.Services {
		wg.Add(1)
		go func(i int, name string) {
			defer wg.Done()
			out[i] = serviceHealth{Name: name, Status: "down"}
			// A service is up when one of its replicas answers (the gateway spreads over them).
			for _, base := range g.cfg.Endpoints[name] {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
				if err != nil {
					return
				}
				resp, err := g.healthClient.Do(req)
				if err != nil {
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					out[i].Status = "up"
					return
				}
			}
		}(i, name)
	}
	wg.Wait()
	status := http.StatusOK
	for _, s := range out {
		if s.Status != "up" {
			status = http.StatusServiceUnavailable
		}
	}
	httpapi.WriteJSON(w, status, map[string]any{"gateway": "up", "services": out})
}
