package devstack

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"ticketflow/internal/config"
)

// A fault-injecting stack (TICKETFLOW_FAULTS=1, what `make chaos` and `make test` run) puts the
// links the fault classes of `ticketflow-dev chaos` cut, slow or lose replies on through
// Toxiproxy (embedded: `ticketflow-dev infra toxiproxy`), and the data of PostgreSQL and Kafka on
// filesystems of their own that can be made to fill up (tmpfs, when the stack runs as root). A
// process of such a stack is told the proxies' addresses instead of the servers' (faultEnv); the
// tooling (chaos meddling, the audit, the tests) keeps talking to the servers directly.
//
// The ports: FAULT_PORT is Toxiproxy's API, the proxies listen on the ports after it (in the
// order of FaultProxies), and the Kafka broker's listeners for its proxies on the ports after
// those. The block lies above the kernel's ephemeral ports (32768-60999 by default), so that no
// client connection of another stack on the machine holds one of them as its own end. Kafka
// clients reconnect to the address a broker advertises in its metadata, so each
// Kafka proxy has a listener of its own on the broker that advertises the proxy's address: a
// client that bootstraps through the proxy stays on it.

// Proxy names, as Toxiproxy knows them. A per-replica proxy is the replica's name after the link
// (temporal-worker-2 is worker replica 2's link to Temporal).
const (
	ProxyPostgres  = "postgres"  // every service to PostgreSQL
	ProxyTemporal  = "temporal"  // the processes besides the worker and bridge to Temporal
	ProxyKafka     = "kafka"     // the producers and consumers besides the worker and bridge to Kafka
	ProxyInventory = "inventory" // booking to each inventory replica (inventory, inventory-2, ...)
)

// maxFaultReplicas bounds TICKETFLOW_REPLICAS in a fault-injecting stack: the proxies of more
// would not fit in the block of ports one stack's offset leaves (Makefile: stacks 50 ports apart).
const maxFaultReplicas = 4

// FaultProxy is one Toxiproxy proxy of a fault-injecting stack.
type FaultProxy struct {
	Name     string
	Listen   string // where the proxy listens (the address its clients are given)
	Upstream string // the server it forwards to
	// KafkaListener is, for a Kafka proxy, the broker listener it forwards to (its name on the
	// broker); empty for other proxies.
	KafkaListener string
}

// ProxyName is the name of a per-replica proxy: link "temporal", replica "worker-2" →
// "temporal-worker-2".
func ProxyName(link, replica string) string { return link + "-" + replica }

// FaultProxies lists the proxies of a fault-injecting stack (none otherwise), in port order.
func (s *Settings) FaultProxies() []FaultProxy {
	if !s.Faults {
		return nil
	}
	port := s.FaultPort + 1
	next := func() string { port++; return fmt.Sprintf("127.0.0.1:%d", port-1) }
	out := []FaultProxy{
		{Name: ProxyPostgres, Upstream: fmt.Sprintf("127.0.0.1:%d", s.PostgresPort)},
		{Name: ProxyTemporal, Upstream: s.TemporalAddr},
	}
	for k := 0; k < s.Replicas; k++ {
		out = append(out, FaultProxy{Name: ReplicaName(ProxyInventory, k),
			Upstream: fmt.Sprintf("127.0.0.1:%d", s.ReplicaPort(config.Inventory, k))})
	}
	for _, p := range []string{config.Worker, config.Bridge} {
		for k := 0; k < s.Replicas; k++ {
			out = append(out, FaultProxy{Name: ProxyName(ProxyTemporal, ReplicaName(p, k)), Upstream: s.TemporalAddr})
		}
	}
	kafka := []string{ProxyKafka}
	for _, p := range []string{config.Worker, config.Bridge} {
		for k := 0; k < s.Replicas; k++ {
			kafka = append(kafka, ProxyName(ProxyKafka, ReplicaName(p, k)))
		}
	}
	for _, name := range kafka {
		out = append(out, FaultProxy{Name: name})
	}
	for i := range out {
		out[i].Listen = next()
	}
	for i := range kafka {
		p := &out[len(out)-len(kafka)+i]
		p.Upstream = next()
		p.KafkaListener = "FAULT" + strconv.Itoa(i+1)
	}
	return out
}

// FaultProxy returns the proxy of that name.
func (s *Settings) FaultProxy(name string) (FaultProxy, bool) {
	for _, p := range s.FaultProxies() {
		if p.Name == name {
			return p, true
		}
	}
	return FaultProxy{}, false
}

// ToxiproxyURL is the API of a fault-injecting stack's Toxiproxy.
func (s *Settings) ToxiproxyURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.FaultPort) }

// faultEnv is what replica k of an application process is told in a fault-injecting stack: the
// proxies' addresses in place of the servers' (appended to its environment: the last wins).
func (s *Settings) faultEnv(process string, k int) []string {
	if !s.Faults {
		return nil
	}
	addr := func(name string) string {
		p, _ := s.FaultProxy(name)
		return p.Listen
	}
	replica := ReplicaName(process, k)
	temporal, kafka := addr(ProxyTemporal), addr(ProxyKafka)
	if process == config.Worker || process == config.Bridge {
		temporal = addr(ProxyName(ProxyTemporal, replica))
		kafka = addr(ProxyName(ProxyKafka, replica))
	}
	env := []string{
		"POSTGRES_URL=postgres://postgres@" + addr(ProxyPostgres),
		"TEMPORAL_ADDRESS=" + temporal,
		"KAFKA_BROKERS=" + kafka,
	}
	if process == config.Booking {
		var urls []string
		for j := 0; j < s.Replicas; j++ {
			urls = append(urls, "http://"+addr(ReplicaName(ProxyInventory, j)))
		}
		env = append(env, "INVENTORY_URLS="+strings.Join(urls, ","))
	}
	return env
}

// kafkaFaultListeners are the broker's listeners for the Kafka proxies: the listeners, the
// advertised listeners (the proxies' addresses) and their security protocols, each to be
// appended to the broker's own (a leading comma each; empty without faults).
func (s *Settings) kafkaFaultListeners() (listeners, advertised, protocols string) {
	for _, p := range s.FaultProxies() {
		if p.KafkaListener == "" {
			continue
		}
		listeners += fmt.Sprintf(",%s://%s", p.KafkaListener, p.Upstream)
		advertised += fmt.Sprintf(",%s://%s", p.KafkaListener, p.Listen)
		protocols += fmt.Sprintf(",%s:PLAINTEXT", p.KafkaListener)
	}
	return listeners, advertised, protocols
}

// FaultDiskSize is the size of each fault-injecting stack's data filesystem (PostgreSQL's,
// Kafka's) until a fault makes it smaller: tmpfs takes memory only for what is written.
const FaultDiskSize = 2 << 30

// FaultDisk is the mount point of a fault-injecting stack's own filesystem for one server's data
// ("postgres", "kafka"), or "" when it has none (not a fault-injecting stack, or not root: only
// root mounts).
func (s *Settings) FaultDisk(server string) string {
	if !s.Faults || os.Geteuid() != 0 {
		return ""
	}
	return filepath.Join(s.DataDir, "disks", server)
}

// mountFaultDisk mounts a tmpfs of FaultDiskSize at dir unless one is there already, and says
// whether it is new (empty: whatever was written before, in an earlier boot, is gone).
func mountFaultDisk(dir string) (fresh bool, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	if mounted, err := isMountPoint(dir); err != nil || mounted {
		return false, err
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", FaultDiskSize)); err != nil {
		return false, fmt.Errorf("mount a tmpfs for fault injection at %s: %w", dir, err)
	}
	return true, nil
}

// isMountPoint reports whether dir is the root of a filesystem (its device differs from its
// parent's).
func isMountPoint(dir string) (bool, error) {
	var st, parent syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return false, err
	}
	if err := syscall.Stat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}

// EnvFile is the file of extra environment (KEY=VALUE lines) a replica of an application process
// is started with, if it exists: a fault class writes it and restarts the replica to run it
// otherwise (a clock offset), then removes it and restarts it again.
func EnvFile(cfg *Settings, replica string) string {
	return filepath.Join(RunDir(cfg), replica+".env")
}

// replicaEnv reads a replica's EnvFile (nothing when there is none).
func replicaEnv(cfg *Settings, replica string) []string {
	b, err := os.ReadFile(EnvFile(cfg, replica))
	if err != nil {
		return nil
	}
	var env []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") && strings.Contains(line, "=") {
			env = append(env, line)
		}
	}
	return env
}

// SeedMarker is the file that says the stack's demo data was made (`ticketflow-dev dev` seeds a
// data dir without it).
func SeedMarker(cfg *Settings) string { return filepath.Join(cfg.DataDir, "seeded") }

func removeSeedMarker(cfg *Settings) error {
	if err := os.Remove(SeedMarker(cfg)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// storesBesideTheFaultDisks are what a data dir keeps outside the fault disks: the event,
// payment and notification records (FerretDB), the workflows (the dev Temporal server), the
// waiting rooms' lines (Redis), the emails, and the mark that says the demo data was made.
var storesBesideTheFaultDisks = []string{"ferretdb", "temporal", "redis", "mailpit", "seeded"}

// resetAfterLostFaultDisks starts a fault-injecting stack's data dir afresh when its PostgreSQL
// disk is gone: PostgreSQL's and Kafka's data live on tmpfs disks of their own, empty after a
// reboot (or an unmount), while the rest of a data dir used before still holds the earlier
// stack's events, workflows and lines. Left so, the stores disagree (the demo's events known to
// the event service and unknown to the inventory, so the demo data is not made again). disk is
// the PostgreSQL fault disk (Settings.FaultDisk; "" when the stack has none). It returns what it
// removed.
func resetAfterLostFaultDisks(dataDir, disk string) ([]string, error) {
	if disk == "" {
		return nil, nil
	}
	if _, err := os.Stat(filepath.Join(dataDir, "LAYOUT_VERSION")); err != nil {
		return nil, nil // a new data dir
	}
	if _, err := os.Stat(disk); err == nil {
		if mounted, err := isMountPoint(disk); err != nil || mounted {
			return nil, err
		}
	}
	var removed []string
	for _, name := range storesBesideTheFaultDisks {
		p := filepath.Join(dataDir, name)
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return removed, err
		}
		removed = append(removed, name)
	}
	return removed, nil
}
