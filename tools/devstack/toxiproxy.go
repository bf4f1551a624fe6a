package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// LostReplyToxic is the toxic "lost_reply" (registered with Toxiproxy by this package): a
// request gets through to the server, its reply does not come back. Put on a proxy's downstream
// (server to client), each chunk of reply is lost with Probability; a lost one ends the
// connection — at once (the client sees it closed mid-call), or after Stall milliseconds of
// silence (the client's own timeout goes off first). SkipBytes lets each connection's first bytes
// through, so that its handshake is not what fails: the fault is a reply to a real request.
// LoseFirst loses the toxic's first reply past SkipBytes whatever Probability says, so that a
// short fault on a quiet link loses at least one reply when any comes back.
type LostReplyToxic struct {
	Probability float64 `json:"probability"`
	SkipBytes   int64   `json:"skip_bytes"`
	Stall       int64   `json:"stall"`
	LoseFirst   bool    `json:"lose_first"`
	// lost counts the replies lost so far; Toxiproxy's API shows it as the attribute "lost".
	lost atomic.Int64
	// firstTaken is set once a reply past SkipBytes was seen (and, with LoseFirst, lost).
	firstTaken atomic.Bool
}

// MarshalJSON shows the toxic's attributes and the replies it has lost.
func (t *LostReplyToxic) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"probability": t.Probability, "skip_bytes": t.SkipBytes, "stall": t.Stall,
		"lose_first": t.LoseFirst, "lost": t.lost.Load()})
}

type lostReplyState struct{ passed int64 }

// NewState gives each connection its own count of bytes let through.
func (t *LostReplyToxic) NewState() interface{} { return new(lostReplyState) }

// Pipe passes the reply through, or loses it and ends the connection.
func (t *LostReplyToxic) Pipe(stub *toxics.ToxicStub) {
	st := stub.State.(*lostReplyState)
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			first := st.passed >= t.SkipBytes && t.LoseFirst && t.firstTaken.CompareAndSwap(false, true)
			if !first && (st.passed < t.SkipBytes || rand.Float64() >= t.Probability) {
				st.passed += int64(len(c.Data))
				stub.Output <- c
				continue
			}
			// Lost: nothing more goes back on this connection.
			t.lost.Add(1)
			if t.Stall > 0 {
				stall := time.After(time.Duration(t.Stall) * time.Millisecond)
			silent:
				for {
					select {
					case <-stall:
						break silent
					case <-stub.Interrupt:
						return
					case c := <-stub.Input:
						if c == nil {
							break silent
						}
					}
				}
			}
			stub.Close()
			return
		}
	}
}

func init() { toxics.Register("lost_reply", new(LostReplyToxic)) }

// RunToxiproxy runs the fault-injecting stack's Toxiproxy in this process until ctx ends: its API
// on FAULT_PORT and every proxy of FaultProxies, enabled and without toxics (a link passes
// everything until a fault class adds one). The stack runs it as its own process,
// `ticketflow-dev infra toxiproxy`.
func RunToxiproxy(ctx context.Context, cfg *Settings, log *slog.Logger) error {
	proxies := cfg.FaultProxies()
	if len(proxies) == 0 {
		return fmt.Errorf("not a fault-injecting stack: set TICKETFLOW_FAULTS=1")
	}
	// Toxiproxy logs every connection at info, and every reset it makes at warn: errors only.
	zl := zerolog.New(os.Stdout).With().Timestamp().Logger().Level(zerolog.ErrorLevel)
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zl)
	for _, p := range proxies {
		if err := server.Collection.Add(toxiproxy.NewProxy(server, p.Name, p.Listen, p.Upstream), true); err != nil {
			return fmt.Errorf("proxy %s (%s to %s): %w", p.Name, p.Listen, p.Upstream, err)
		}
	}
	log.Info("Toxiproxy listening", "api", cfg.ToxiproxyURL(), "proxies", len(proxies))
	go server.Listen("127.0.0.1", strconv.Itoa(cfg.FaultPort)) // exits the process if it cannot listen
	<-ctx.Done()
	return nil
}

// checkFreeAddr checks the port of a host:port of the fault ports' block free.
func checkFreeAddr(addr, what string) error {
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return checkFree(n, what, "FAULT_PORT")
}

// toxiproxy is the fault-injecting stack's Toxiproxy, a process of this executable.
func (s *Stack) toxiproxy() *component {
	return &component{
		name: "toxiproxy", port: s.cfg.FaultPort, portEnv: "FAULT_PORT",
		prepare: func(context.Context) error {
			for _, p := range s.cfg.FaultProxies() {
				if err := checkFreeAddr(p.Listen, "proxy "+p.Name); err != nil {
					return err
				}
			}
			return nil
		},
		command: func() (*exec.Cmd, error) {
			cmd := exec.Command(s.bin, "infra", "toxiproxy")
			cmd.Env = s.childEnv()
			return cmd, nil
		},
		ready: func(ctx context.Context) error { return httpOK(ctx, s.cfg.ToxiproxyURL()+"/version") },
	}
}
