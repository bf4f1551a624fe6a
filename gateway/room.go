package gateway

import (
	"context"
	"net/http"

	"ticketflow/gateway/waitingroom"
	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
	"ticketflow/internal/router"
)

// A room server (`ticketflow serve room`, :3800) answers the waiting crowd of an on-sale: a
// buyer's place (GET /api/events/{id}/queue) and its stream (…/queue/stream), which the queue
// answers point at when WAITING_ROOM_FOLLOW_URL names the room servers. Ten thousand waiting
// buyers' streams cost a process about a quarter of a 2-core machine (BENCHMARKS.md, the waiting
// room); served by the gateway, that work ran on the process every booking passes through, at the
// decision path's priority. A room server is the gateway's code for those two routes only, with
// the same checks (token, rate limit, CORS); it moves no line (the gateways do: admission stays
// on the decision path's side), proxies nothing, and runs at the pipeline's lower priority where
// a machine is shared (the local stack). Joining and leaving stay the gateway's, and the gateway
// still answers both reads for a client that follows there.

// RoomRoutes is a room server's routing table.
func (g *Gateway) RoomRoutes() http.Handler {
	r := router.NewEdgeRouter(g.cfg.MaxBodyBytes)
	r.Use(g.cors)
	r.Get("/health", httpapi.Health(config.Room))
	g.room.FollowRoutes(r, func(h http.Handler) http.Handler { return g.clientAddr(g.rateLimit(g.identity(h))) })
	return r
}

// RunRoom serves a room server until ctx ends: the public port, and the admin port with the
// metrics and the profiler (for internal callers). It follows the lines and moves none.
func RunRoom(ctx context.Context, cfg *config.Config) error {
	return serve(ctx, cfg, config.Room, cfg.RoomAdminAddr(), (*Gateway).RoomRoutes, (*waitingroom.Room).Follow)
}
