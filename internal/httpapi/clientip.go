package httpapi

import (
	"net"
	"net/http"

	"ticketflow/internal/auth"
)

// The client address the gateway forwards to the services. A service believes it only with a
// valid MAC (auth.ClientIPMAC), which only the gateway can make: no service trusts an address
// header a client sent (X-Forwarded-For, X-Real-IP, Forwarded, or these two themselves).
const (
	HeaderClientIP    = "X-Client-Ip"
	HeaderClientIPMAC = "X-Client-Ip-Mac"
)

// PeerIP is the address of the socket peer of r.
func PeerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// SetClientIP puts the client address and its MAC on a request the gateway forwards, replacing
// whatever the client sent under those names.
func SetClientIP(h http.Header, secret []byte, ip string) {
	h.Set(HeaderClientIP, ip)
	h.Set(HeaderClientIPMAC, auth.ClientIPMAC(secret, ip))
}

// ClientIP is the address of the client behind r: the gateway's X-Client-Ip when its MAC holds,
// else the socket peer (a caller that reached the service directly).
func ClientIP(r *http.Request, secret []byte) string {
	if ip := r.Header.Get(HeaderClientIP); ip != "" && auth.EqualToken(r.Header.Get(HeaderClientIPMAC), auth.ClientIPMAC(secret, ip)) {
		return ip
	}
	return PeerIP(r)
}
