package httpapi

import (
	"net/http/pprof"

	"github.com/go-chi/chi/v5"
)

// Profiling mounts Go's profiler at /debug/pprof for internal callers only (the benchmark fetches
// CPU profiles of the hot processes with the internal token).
func Profiling(r chi.Router, internalToken string) {
	r.Route("/debug/pprof", func(r chi.Router) {
		r.Use(InternalOnly(internalToken))
		r.Get("/", pprof.Index)
		r.Get("/profile", pprof.Profile)
		r.Get("/trace", pprof.Trace)
		r.Get("/{name}", pprof.Index)
	})
}
