package devstack

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// The kernel's files for the ports it gives client connections (ip(7), "ip_local_port_range" and
// "ip_local_reserved_ports").
const (
	ephemeralRangeFile = "/proc/sys/net/ipv4/ip_local_port_range"
	reservedPortsFile  = "/proc/sys/net/ipv4/ip_local_reserved_ports"
)

// serverPorts are the ports the stack's infrastructure listens on.
func (s *Settings) serverPorts() []int {
	return []int{s.PostgresPort, s.RedisPort, s.KafkaPort, s.KafkaCtrlPort, s.MongoPort, s.TemporalPort,
		s.TemporalUIPort, s.SMTPPort, s.MailpitPort, s.PrometheusPort, s.JaegerUIPort, s.JaegerOTLPGRPCPort,
		s.JaegerOTLPHTTPPort}
}

// reservePorts keeps the kernel from handing the stack's server ports that lie in its ephemeral
// range (32768-60999 by default: PostgreSQL's 55432, Kafka's 59092, ...) to client connections as
// their local end. Without it a connection of another stack on the machine can hold, say, 59492
// when the second test stack's Kafka starts, and the broker dies on "Address already in use" until
// that connection ends (seen: a minute of restarts). It adds the ports to
// net.ipv4.ip_local_reserved_ports, which only root may write; elsewhere it does nothing and
// returns why. Binding a reserved port explicitly still works (ip(7)).
func reservePorts(ports []int) (reserved []int, err error) {
	return reservePortsIn(ephemeralRangeFile, reservedPortsFile, ports)
}

// reservePortsIn is reservePorts with the kernel's two files named.
func reservePortsIn(rangeFile, reservedFile string, ports []int) (reserved []int, err error) {
	raw, err := os.ReadFile(rangeFile)
	if err != nil {
		return nil, err
	}
	var lo, hi int
	if _, err := fmt.Sscanf(string(raw), "%d %d", &lo, &hi); err != nil {
		return nil, fmt.Errorf("%s: %q: %w", rangeFile, raw, err)
	}
	for _, p := range ports {
		if p >= lo && p <= hi && !slices.Contains(reserved, p) {
			reserved = append(reserved, p)
		}
	}
	if len(reserved) == 0 {
		return nil, nil
	}
	cur, err := os.ReadFile(reservedFile)
	if err != nil {
		return nil, err
	}
	list := make([]string, 0, len(reserved)+1)
	if c := strings.TrimSpace(string(cur)); c != "" {
		list = append(list, c) // the kernel's own form: "55432,59090-59093"
	}
	for _, p := range reserved {
		list = append(list, strconv.Itoa(p))
	}
	if err := os.WriteFile(reservedFile, []byte(strings.Join(list, ",")), 0o644); err != nil {
		return nil, err
	}
	return reserved, nil
}
