package gateway

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/go-chi/chi/v5/middleware"

	"ticketflow/internal/httpapi"
)

type clientKey struct{}

// clientAddr finds the client's address once per request and keeps it in the context, for the
// rate limits and for the services (X-Client-Ip, see httpapi.SetClientIP).
func (g *Gateway) clientAddr(next http.Handler) http.Handler {
	resolve := clientResolver(g.cfg.TrustedProxies)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, resolve(r))))
	})
}

func clientFrom(ctx context.Context) string {
	addr, _ := ctx.Value(clientKey{}).(string)
	return addr
}

// clientResolver returns how the gateway finds a request's client: the socket peer, unless the
// peer is a trusted proxy (TRUSTED_PROXIES, for example the load balancer in front of the
// gateways). Then chi's ClientIPFromXFF reads X-Forwarded-For from its right end, where each
// trusted proxy appended the address it saw, and the first address that is not itself a trusted
// proxy is the client: whatever a client writes at the left is never reached, so a client cannot
// choose its address. When that finds no client (every hop trusted, or garbage in the chain), the
// peer it is.
func clientResolver(trusted []netip.Prefix) func(*http.Request) string {
	if len(trusted) == 0 {
		return peerAddress
	}
	prefixes := make([]string, len(trusted))
	for i, p := range trusted {
		prefixes[i] = p.String()
	}
	xff := middleware.ClientIPFromXFF(prefixes...)
	return func(r *http.Request) string {
		var client string
		xff(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			client = middleware.GetClientIP(r.Context())
		})).ServeHTTP(nil, r)
		if client == "" {
			return peerAddress(r)
		}
		return client
	}
}

// peerAddress is the socket peer's address, an IPv4-mapped IPv6 address read as IPv4.
func peerAddress(r *http.Request) string {
	peer := httpapi.PeerIP(r)
	if a, err := netip.ParseAddr(peer); err == nil {
		return a.Unmap().String()
	}
	return peer
}
