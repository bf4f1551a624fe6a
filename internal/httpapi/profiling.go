package httpapi

import (
	"net/http"
	"net/http/pprof"
)

// Profiling is Go's profiler under /debug/pprof/, for internal callers only (the benchmark fetches
// CPU profiles of the hot processes with the internal token); anyone else gets 404. Mount it at
// /debug/pprof (it routes on the full path).
func Profiling(internalToken string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // the index, and each named profile by its name
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return InternalOnly(internalToken)(mux)
}
