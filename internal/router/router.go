// Package router builds the chi routers of TicketFlow's HTTP APIs, each with the middleware every
// server runs (a span, request ids, metrics and access log, panic recovery, a body cap, HEAD as
// GET, 404 and 405 in the contract's error shape). Only processes that serve an API import it:
// the services and the gateway. Everything an HTTP client or a process without an API needs
// (errors, the internal client, health, serving) is in httpapi, which links no router.
package router

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"ticketflow/internal/httpapi"
	"ticketflow/internal/telemetry"
)

// NewRouter is a chi router for a service's API, with the middleware every internal TicketFlow
// HTTP server runs: a span continuing the caller's trace, request ids, metrics and access log
// (Observe), panic recovery, a body cap, HEAD answered by every GET route (headers only), and
// 404/405 in the contract's error shape, a 405 with the Allow header naming the path's methods.
// The routes every process serves (/health, /metrics, /stats, the profiler) are process.Run's.
func NewRouter(maxBody int64) chi.Router { return newRouter(maxBody, true) }

// API is a service's API for process.Spec: NewRouter with the routes that routes registers.
func API(maxBody int64, routes func(r chi.Router)) http.Handler {
	r := NewRouter(maxBody)
	routes(r)
	return r
}

// NewEdgeRouter is NewRouter for a server that faces clients (the gateway): each request begins
// a trace of its own, takes no baggage from the client, and the metrics are not served here.
func NewEdgeRouter(maxBody int64) chi.Router { return newRouter(maxBody, false) }

// NewAdminRouter is the router of an admin port, which serves the metrics of a process whose main
// port faces clients, its health and, for internal callers, Go's profiler.
func NewAdminRouter(service, internalToken string) chi.Router {
	r := newRouter(1<<10, true)
	r.Method(http.MethodGet, "/metrics", telemetry.MetricsHandler())
	r.Get("/health", httpapi.Health(service))
	r.Mount("/debug/pprof", httpapi.Profiling(internalToken))
	return r
}

func newRouter(maxBody int64, internal bool) chi.Router {
	r := chi.NewRouter()
	r.Use(serverSpans(internal), httpapi.RequestIDs, Observe, httpapi.Recover, httpapi.LimitBody(maxBody), HeadAsGet)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { httpapi.WriteError(w, r, httpapi.NotFound("route")) })
	r.MethodNotAllowed(MethodNotAllowed)
	return r
}

// HeadAsGet routes every HEAD request as a GET (no route registers HEAD): the GET handler runs
// with the method still HEAD, and the server sends its status and headers without the body. A
// path without a GET answers HEAD with 405. (chi's middleware.GetHead would let a catch-all route,
// such as the gateway's web page, take HEAD requests of GET routes.)
func HeadAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			if rctx := chi.RouteContext(r.Context()); rctx != nil {
				rctx.RouteMethod = http.MethodGet
			}
		}
		next.ServeHTTP(w, r)
	})
}

// routeMethods are the methods a 405's Allow header may name (HEAD goes with GET).
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// MethodNotAllowed answers 405 METHOD_NOT_ALLOWED with Allow listing the methods the request's
// path has routes for (RFC 9110 section 15.5.6), found in the chi router that routed it, unless
// the caller has set Allow itself.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	var allow []string
	if set := w.Header().Get("Allow"); set != "" {
		allow = []string{set}
	} else if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.Routes != nil {
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		for _, m := range routeMethods {
			if rctx.Routes.Match(chi.NewRouteContext(), m, path) {
				allow = append(allow, m)
				if m == http.MethodGet {
					allow = append(allow, http.MethodHead)
				}
			}
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	httpapi.WriteError(w, r, httpapi.MethodNotAllowed(r))
}
