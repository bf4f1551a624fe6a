package devstack

import (
	"strings"
	"testing"

	"ticketflow/internal/config"
)

// A fault-injecting stack gives each process the proxies' addresses — the worker's and the
// bridge's replicas each their own Temporal and Kafka proxy — on ports of one block, each used
// once, and a broker listener per Kafka proxy that advertises the proxy.
func TestFaultProxiesAndTheirEnvironment(t *testing.T) {
	t.Setenv("TICKETFLOW_FAULTS", "1")
	t.Setenv("TICKETFLOW_REPLICAS", "2")
	t.Setenv("FAULT_PORT", "61300")
	cfg, err := LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]string{}
	kafka := 0
	for _, p := range cfg.FaultProxies() {
		for _, addr := range []string{p.Listen, p.Upstream} {
			if !strings.HasPrefix(addr, "127.0.0.1:613") && (addr == p.Listen || p.KafkaListener != "") {
				t.Errorf("proxy %s: %s is outside the fault ports' block", p.Name, addr)
			}
			if other, ok := ports[addr]; ok && (addr == p.Listen || p.KafkaListener != "") && other != p.Name {
				t.Errorf("proxies %s and %s share %s", other, p.Name, addr)
			}
			ports[addr] = p.Name
		}
		if p.KafkaListener != "" {
			kafka++
		}
	}
	if kafka != 5 { // shared, worker ×2, bridge ×2
		t.Errorf("%d Kafka proxies, want 5", kafka)
	}
	listeners, advertised, _ := cfg.kafkaFaultListeners()
	if strings.Count(listeners, "FAULT") != kafka || strings.Count(advertised, "FAULT") != kafka {
		t.Errorf("broker listeners %q, advertised %q: want one per Kafka proxy", listeners, advertised)
	}
	env := strings.Join(cfg.faultEnv(config.Worker, 1), " ")
	for _, proxy := range []string{"temporal-worker-2", "kafka-worker-2", "postgres"} {
		p, _ := cfg.FaultProxy(proxy)
		if !strings.Contains(env, p.Listen) {
			t.Errorf("worker-2's environment %q does not name proxy %s (%s)", env, proxy, p.Listen)
		}
	}
	booking := strings.Join(cfg.faultEnv(config.Booking, 0), " ")
	inv2, _ := cfg.FaultProxy("inventory-2")
	if !strings.Contains(booking, "INVENTORY_URLS=") || !strings.Contains(booking, inv2.Listen) {
		t.Errorf("booking's environment %q does not reach both inventory replicas through proxies", booking)
	}
	t.Setenv("TICKETFLOW_FAULTS", "0")
	plain, err := LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.FaultProxies()) != 0 || plain.faultEnv(config.Worker, 0) != nil {
		t.Error("a stack that injects no faults has proxies")
	}
}
