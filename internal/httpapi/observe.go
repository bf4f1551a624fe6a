package httpapi

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"ticketflow/internal/ids"
	"ticketflow/internal/telemetry"
)

// TracedTransport wraps an HTTP transport so that every call is a client span and carries the
// trace and its baggage to the callee.
func TracedTransport(rt http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(rt, otelhttp.WithPropagators(telemetry.Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method + " " + r.URL.Host + pathPattern(r.URL.Path)
		}))
}

// pathPattern is a path with its ids replaced by {id}, for span names that stay few.
func pathPattern(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if ids.IsUUID(s) {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}
