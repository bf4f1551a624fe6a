package devstack

import (
	"os"
	"path/filepath"
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

// A data dir used before whose PostgreSQL fault disk is not mounted (a reboot) loses the stores
// beside it too; a new data dir, a mounted disk and a stack without fault disks keep everything.
func TestAStackWhoseFaultDisksAreGoneStartsItsOtherStoresAfresh(t *testing.T) {
	used := func(t *testing.T) string {
		dir := t.TempDir()
		for _, d := range []string{"ferretdb", "temporal", "redis", "mailpit", "logs", "run", "disks/postgres"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{"LAYOUT_VERSION", "seeded", "ferretdb/events.sqlite", "run/started-by-make-test"} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	dir := used(t)
	removed, err := resetAfterLostFaultDisks(dir, filepath.Join(dir, "disks", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, ",") != "ferretdb,temporal,redis,mailpit,seeded" {
		t.Fatalf("removed %v", removed)
	}
	for _, kept := range []string{"LAYOUT_VERSION", "logs", "run/started-by-make-test"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Fatalf("%s was removed: %v", kept, err)
		}
	}
	for name, disk := range map[string]string{"no fault disks": "", "the disk mounted": "/proc"} {
		dir := used(t)
		if removed, err := resetAfterLostFaultDisks(dir, disk); err != nil || removed != nil {
			t.Fatalf("%s: removed %v, %v", name, removed, err)
		}
	}
	fresh := t.TempDir()
	if removed, err := resetAfterLostFaultDisks(fresh, filepath.Join(fresh, "disks", "postgres")); err != nil || removed != nil {
		t.Fatalf("a new data dir: removed %v, %v", removed, err)
	}
}
