package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"ticketflow/internal/httpapi"
)

type clientKey struct{}

// clientAddr finds the client's address once per request and keeps it in the context, for the
// rate limits and for the services (X-Client-Ip, see httpapi.SetClientIP).
func (g *Gateway) clientAddr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := clientAddress(r, g.cfg.TrustedProxies)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, addr)))
	})
}

func clientFrom(ctx context.Context) string {
	addr, _ := ctx.Value(clientKey{}).(string)
	return addr
}

// clientAddress is the client's address: the socket peer, unless the peer is a trusted proxy
// (TRUSTED_PROXIES, for example the load balancer in front of the gateways). Then
// X-Forwarded-For is read from its right end, where each trusted proxy appended the address it
// saw, and the first address that is not itself a trusted proxy is the client. Whatever a client
// writes at the left of X-Forwarded-For is never reached: a client cannot choose its address.
func clientAddress(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseAddr(httpapi.PeerIP(r))
	if !ok {
		return httpapi.PeerIP(r)
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseAddr(hops[i])
		if !ok {
			break // garbage from the client's side: the last trusted hop is as far as we know
		}
		client = hop
		if !isTrusted(hop, trusted) {
			break
		}
	}
	return client.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads an address as proxies write it: 192.0.2.1, 2001:db8::1, [2001:db8::1], or any
// of them with a port. IPv4-mapped IPv6 addresses are read as IPv4.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
