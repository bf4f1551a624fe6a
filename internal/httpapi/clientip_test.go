package httpapi

import (
	"net/http/httptest"
	"testing"
)

func TestClientIPBelievesOnlyTheGatewaysAddress(t *testing.T) {
	secret := []byte("a-secret-of-thirty-two-bytes-or-more")
	signed := httptest.NewRequest("GET", "/", nil)
	SetClientIP(signed.Header, secret, "198.51.100.7")

	cases := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"no header: the socket peer", nil, "192.0.2.1"},
		{"set by the gateway", map[string]string{
			HeaderClientIP: "198.51.100.7", HeaderClientIPMAC: signed.Header.Get(HeaderClientIPMAC)}, "198.51.100.7"},
		{"client-sent address without a MAC", map[string]string{HeaderClientIP: "198.51.100.7"}, "192.0.2.1"},
		{"another address under the gateway's MAC", map[string]string{
			HeaderClientIP: "198.51.100.8", HeaderClientIPMAC: signed.Header.Get(HeaderClientIPMAC)}, "192.0.2.1"},
		{"a MAC made with another secret", map[string]string{
			HeaderClientIP: "198.51.100.7", HeaderClientIPMAC: "00"}, "192.0.2.1"},
		{"X-Forwarded-For and friends", map[string]string{
			"X-Forwarded-For": "198.51.100.7", "X-Real-Ip": "198.51.100.7", "Forwarded": "for=198.51.100.7"}, "192.0.2.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/users/login", nil)
			r.RemoteAddr = "192.0.2.1:4711"
			for k, v := range c.headers {
				r.Header.Set(k, v)
			}
			if got := ClientIP(r, secret); got != c.want {
				t.Fatalf("ClientIP = %s, want %s", got, c.want)
			}
		})
	}
}
