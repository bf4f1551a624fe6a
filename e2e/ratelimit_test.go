//go:build integration

package e2e

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"ticketflow/internal/config"
	"ticketflow/internal/httpapi"
)

// proxyIP is the loopback address the tests' "load balancer" sends from: randomLoopback never
// hands out 127.0.0.x, so no other client shares it.
const proxyIP = "127.0.0.7"

// startGateway runs one more gateway replica, `ticketflow serve gateway` on port, beside the
// stack's, with the stack's Redis and services and the extra environment given; it is stopped
// when the test ends. It returns the replica's base URL.
func startGateway(t *testing.T, port int, env ...string) string {
	t.Helper()
	return startGatewayWith(t, port, nil, env...)
}

// startGatewayWith is startGateway that hands the started process to started (when not nil).
func startGatewayWith(t *testing.T, port int, started func(*exec.Cmd), env ...string) string {
	t.Helper()
	bin := os.Getenv("TICKETFLOW_BIN")
	if bin == "" {
		bin, _ = filepath.Abs("../bin/ticketflow")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the production binary %s is missing: make build", bin)
	}
	cmd := exec.Command(bin, "serve", "gateway")
	cmd.Env = append(os.Environ(), append([]string{"TICKETFLOW_ENV=local", "GATEWAY_PORT=" + strconv.Itoa(port),
		"GATEWAY_ADMIN_PORT=" + strconv.Itoa(port+50)}, env...)...)
	logf, err := os.Create(filepath.Join(loadConfig(t).LogDir(), fmt.Sprintf("gateway-%d.log", port)))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if started != nil {
		started(cmd)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	eventually(t, 20*time.Second, func() error {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("health: %s", resp.Status)
		}
		return nil
	})
	return base
}

// randomClientIP is an address from 198.18.0.0/15 (benchmarking), new to the shared counters.
func randomClientIP() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(2*256*254))
	v := n.Int64()
	return fmt.Sprintf("198.%d.%d.%d", 18+v/(256*254), v/254%256, 1+v%254)
}

const replicaLimit = 20 // RATE_LIMIT of the extra replicas, per minute

// Two gateway replicas on one Redis give a client one budget, not one each: its requests,
// alternated between them, are refused once the limit is spent, with Retry-After.
func TestRateLimitIsSharedAcrossGatewayReplicas(t *testing.T) {
	cfg := loadConfig(t)
	env := []string{"RATE_LIMIT=" + strconv.Itoa(replicaLimit), "RATE_WINDOW=1m", "TRUSTED_PROXIES=" + proxyIP + "/32"}
	gws := []string{startGateway(t, cfg.Ports[config.Gateway]+40, env...), startGateway(t, cfg.Ports[config.Gateway]+41, env...)}

	lb := newClientFrom(t, proxyIP)
	buyer := randomClientIP()
	began := time.Now()
	served := map[string]int{}
	var refused *response
	for i := 0; i < 3*replicaLimit && refused == nil; i++ {
		gw := gws[i%2]
		r := lb.at(gw).do("GET", "/api/users/me", nil, "X-Forwarded-For", buyer)
		switch r.status {
		case 429:
			refused = &r
		case 401: // counted and let through; no token
			served[gw]++
		default:
			t.Fatalf("request %d on %s: %d %s", i+1, gw, r.status, r.body)
		}
	}
	if refused == nil {
		t.Fatalf("%d requests of one client over two replicas were all served", 3*replicaLimit)
	}
	refusedOK(t, *refused)
	// GCRA gives the budget back one request per RATE_WINDOW/RATE_LIMIT (3 s here).
	total, most := served[gws[0]]+served[gws[1]], replicaLimit+int(time.Since(began)/(3*time.Second))+1
	if total < replicaLimit || total > most {
		t.Fatalf("the replicas served %d requests of one client (%v) before 429; want %d (at most %d after %s)",
			total, served, replicaLimit, most, time.Since(began).Round(time.Millisecond))
	}
	if served[gws[0]] < replicaLimit/2-1 || served[gws[1]] < replicaLimit/2-1 {
		t.Fatalf("the requests did not alternate between the replicas: %v", served)
	}
	// Another client behind the same proxy keeps its own budget.
	if r := lb.at(gws[1]).do("GET", "/api/users/me", nil, "X-Forwarded-For", randomClientIP()); r.status != 401 {
		t.Fatalf("another client behind the proxy: %d %s, want 401 (not limited)", r.status, r.body)
	}
}

// X-Forwarded-For names the client only when a trusted proxy sent the request; the login
// throttle counts the address the gateway vouches for, and nobody can write that address.
func TestForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	cfg := loadConfig(t)
	gw := startGateway(t, cfg.Ports[config.Gateway]+42,
		"RATE_LIMIT="+strconv.Itoa(replicaLimit), "RATE_WINDOW=1m", "TRUSTED_PROXIES="+proxyIP+"/32")

	t.Run("an untrusted client rotating X-Forwarded-For is still one client", func(t *testing.T) {
		c := newClient(t).at(gw)
		for i := 0; i < 3*replicaLimit; i++ {
			r := c.do("GET", "/api/users/me", nil, "X-Forwarded-For", randomClientIP())
			if r.status == 429 {
				refusedOK(t, r)
				if i < replicaLimit {
					t.Fatalf("limited after %d requests, want %d", i, replicaLimit)
				}
				return
			}
		}
		t.Fatalf("%d requests from one address with rotating X-Forwarded-For were all served", 3*replicaLimit)
	})
	t.Run("behind a trusted proxy each forwarded client has its own budget", func(t *testing.T) {
		lb := newClientFrom(t, proxyIP).at(gw)
		for i := 0; i < replicaLimit+5; i++ {
			if r := lb.do("GET", "/api/users/me", nil, "X-Forwarded-For", randomClientIP()); r.status != 401 {
				t.Fatalf("client %d behind the trusted proxy: %d %s", i+1, r.status, r.body)
			}
		}
	})
	t.Run("the login throttle counts the forwarded client", func(t *testing.T) {
		lb := newClientFrom(t, proxyIP).at(gw)
		guesser, other := randomClientIP(), randomClientIP()
		login := func(from string, headers ...string) response {
			return lb.do("POST", "/api/users/login", map[string]string{"email": "nobody-" + uniq() + "@example.com", "password": "guess-" + uniq()},
				append([]string{"X-Forwarded-For", from}, headers...)...)
		}
		limited := false
		for i := 0; i < cfg.LoginLimit+2 && !limited; i++ {
			// The guesser also claims other addresses to the user service: X-Client-Ip is replaced.
			r := login(guesser, httpapi.HeaderClientIP, randomClientIP(), httpapi.HeaderClientIPMAC, "forged")
			if r.status == 429 {
				refusedOK(t, r)
				limited = true
			} else if r.status != 401 {
				t.Fatalf("guess %d: %d %s", i+1, r.status, r.body)
			}
		}
		if !limited {
			t.Fatalf("%d failed logins of one forwarded client were never throttled", cfg.LoginLimit+2)
		}
		if r := login(other); r.status != 401 {
			t.Fatalf("another client behind the same proxy: %d %s, want 401 (the throttle is per client, not per proxy)", r.status, r.body)
		}
	})
	t.Run("a direct caller of the user service cannot name its address", func(t *testing.T) {
		c := newClient(t).at(cfg.URLs[config.User])
		for i := 0; i < cfg.LoginLimit+2; i++ {
			ip := randomClientIP()
			r := c.do("POST", "/api/users/login", map[string]string{"email": "nobody-" + uniq() + "@example.com", "password": "guess-" + uniq()},
				"X-Forwarded-For", ip, "X-Real-Ip", ip, httpapi.HeaderClientIP, ip, httpapi.HeaderClientIPMAC, "forged")
			if r.status == 429 {
				refusedOK(t, r)
				return
			}
		}
		t.Fatalf("%d failed logins from one address, each claiming another, were never throttled", cfg.LoginLimit+2)
	})
}

// refusedOK checks a 429 is the contract's: RATE_LIMITED in the error envelope, with Retry-After.
func refusedOK(t *testing.T, r response) {
	t.Helper()
	refused(t, r, 429)
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("429 with Retry-After %q", r.header.Get("Retry-After"))
	}
}
