package devstack

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
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
// net.ipv4.ip_local_reserved_ports, which only root may write (elsewhere it does nothing and
// returns why), and returns the ports it added, which releasePorts gives back when the stack
// stops; ports reserved before are left as they were. Binding a reserved port explicitly still
// works (ip(7)).
func reservePorts(ports []int) (added []int, err error) {
	return reservePortsIn(ephemeralRangeFile, reservedPortsFile, ports)
}

// releasePorts takes back the ports reservePorts added.
func releasePorts(added []int) error { return releasePortsIn(reservedPortsFile, added) }

// reservePortsIn is reservePorts with the kernel's two files named.
func reservePortsIn(rangeFile, reservedFile string, ports []int) (added []int, err error) {
	raw, err := os.ReadFile(rangeFile)
	if err != nil {
		return nil, err
	}
	var lo, hi int
	if _, err := fmt.Sscanf(string(raw), "%d %d", &lo, &hi); err != nil {
		return nil, fmt.Errorf("%s: %q: %w", rangeFile, raw, err)
	}
	var want []int
	for _, p := range ports {
		if p >= lo && p <= hi && !slices.Contains(want, p) {
			want = append(want, p)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	err = updateReserved(reservedFile, func(set map[int]bool) {
		for _, p := range want {
			if !set[p] {
				set[p] = true
				added = append(added, p)
			}
		}
	})
	return added, err
}

// releasePortsIn is releasePorts with the kernel's file named.
func releasePortsIn(reservedFile string, added []int) error {
	if len(added) == 0 {
		return nil
	}
	return updateReserved(reservedFile, func(set map[int]bool) {
		for _, p := range added {
			delete(set, p)
		}
	})
}

// updateReserved reads the reserved ports ("8000-8010,55432"), lets change alter them, and writes
// them back in the same form, holding a lock file in the system's temporary directory, so that two
// stacks starting or stopping together do not write over each other.
func updateReserved(file string, change func(set map[int]bool)) error {
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "ticketflow-reserved-ports.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	cur, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	set := map[int]bool{}
	for _, f := range strings.Split(strings.TrimSpace(string(cur)), ",") {
		if f == "" {
			continue
		}
		a, b, isRange := strings.Cut(f, "-")
		lo, err := strconv.Atoi(a)
		if err != nil {
			return fmt.Errorf("%s: %q: %w", file, cur, err)
		}
		hi := lo
		if isRange {
			if hi, err = strconv.Atoi(b); err != nil {
				return fmt.Errorf("%s: %q: %w", file, cur, err)
			}
		}
		for p := lo; p <= hi; p++ {
			set[p] = true
		}
	}
	change(set)
	ports := make([]int, 0, len(set))
	for p := range set {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	var parts []string
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && ports[j+1] == ports[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", ports[i], ports[j]))
		} else {
			parts = append(parts, strconv.Itoa(ports[i]))
		}
		i = j + 1
	}
	out := strings.Join(parts, ",")
	if out == "" {
		out = "\n" // the kernel takes an empty line for "none"
	}
	return os.WriteFile(file, []byte(out), 0o644)
}
