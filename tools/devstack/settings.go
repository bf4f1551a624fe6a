package devstack

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"ticketflow/internal/config"
)

// The Temporal servers the local stack can run (TEMPORAL_SERVER).
const (
	TemporalDev  = "dev"
	TemporalFull = "full"
)

// FerretDB's backends (TICKETFLOW_FERRETDB_BACKEND), and the database it uses on PostgreSQL.
const (
	FerretDBSQLite     = "sqlite"
	FerretDBPostgreSQL = "postgresql"
	ferretDBDatabase   = "ferretdb"
)

// Settings are the local stack's own settings — where it keeps its data and its tools, how many
// replicas of each process it runs, the ports of the servers it starts — together with the
// runtime configuration its processes get (the embedded config.Config). Only tooling reads them:
// the stack, the benchmark, the chaos run, the demo seed and the integration tests. A process of
// the stack learns where everything is from the environment the stack gives it (ProcessEnv), exactly as
// under docker-compose.
type Settings struct {
	*config.Config

	DataDir  string // TICKETFLOW_DATA_DIR: data and logs (default .data)
	ToolsDir string // TICKETFLOW_TOOLS_DIR: what `make tools` builds (default .tools)
	// Replicas is how many of each application process the stack runs (TICKETFLOW_REPLICAS):
	// replica k (from 0) listens on its process's port + 10·k.
	Replicas int
	// BackgroundNice is the nice value (0 to 19) the stack gives the confirmation pipeline
	// (Temporal, Kafka, FerretDB, Mailpit, Prometheus, Jaeger, the worker, bridge, payment and
	// notification), so that on a shared machine the seat decision (gateway, booking, inventory,
	// PostgreSQL, Redis) gets the cores first, as it would on machines of its own
	// (TICKETFLOW_BACKGROUND_NICE; 0 runs everything alike).
	BackgroundNice int
	// TemporalServer is the Temporal server the stack runs (TEMPORAL_SERVER): TemporalDev, the
	// CLI's dev server (SQLite, one history shard), or TemporalFull, the full server on the
	// stack's PostgreSQL (tools/temporalserver).
	TemporalServer string
	// Faults makes a fault-injecting stack (TICKETFLOW_FAULTS=1; faults.go): the processes reach
	// PostgreSQL, Kafka, Temporal and the inventory through Toxiproxy, and PostgreSQL's and
	// Kafka's data live on filesystems of their own.
	Faults bool
	// FaultPort is Toxiproxy's API port (FAULT_PORT); its proxies and the Kafka broker's listeners
	// for them take the ports after it.
	FaultPort int
	// FerretDBBackend is where FerretDB keeps the MongoDB-backed services' data
	// (TICKETFLOW_FERRETDB_BACKEND): FerretDBSQLite, files under the data dir, or
	// FerretDBPostgreSQL, a database of the stack's PostgreSQL.
	FerretDBBackend string

	// Ports of the servers the stack starts (<NAME>_PORT), each moved by the Makefile's offsets.
	PostgresPort, RedisPort, KafkaPort, KafkaCtrlPort, MongoPort, TemporalPort, TemporalUIPort,
	SMTPPort, MailpitPort, PrometheusPort, JaegerUIPort, JaegerOTLPGRPCPort, JaegerOTLPHTTPPort int
	// MailpitURL, PrometheusURL and JaegerURL are their HTTP APIs.
	MailpitURL, PrometheusURL, JaegerURL string
	// URLs is each application process's first replica (its Endpoints' first).
	URLs map[string]string

	// env is the runtime environment the stack gives its processes (ProcessEnv).
	env []string
}

// LoadSettings reads the local stack's settings from the environment (the ports every Makefile
// target moves by its offset) and the runtime configuration of its processes, laid over them.
func LoadSettings() (*Settings, error) {
	get := func(key string) string { return os.Getenv(key) }
	var errs []string
	port := func(key string, def int) int {
		v := get(key)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			errs = append(errs, fmt.Sprintf("%s=%q: not a TCP port", key, v))
			return def
		}
		return n
	}
	num := func(key string, def, lo, hi int) int {
		v := get(key)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Sprintf("%s=%q: must be %d to %d", key, v, lo, hi))
			return def
		}
		return n
	}
	str := func(key, def string) string {
		if v := get(key); v != "" {
			return v
		}
		return def
	}
	s := &Settings{
		DataDir:            str("TICKETFLOW_DATA_DIR", ".data"),
		ToolsDir:           str("TICKETFLOW_TOOLS_DIR", ".tools"),
		Replicas:           num("TICKETFLOW_REPLICAS", 1, 1, 9),
		BackgroundNice:     num("TICKETFLOW_BACKGROUND_NICE", 10, 0, 19),
		TemporalServer:     str("TEMPORAL_SERVER", TemporalDev),
		FerretDBBackend:    str("TICKETFLOW_FERRETDB_BACKEND", FerretDBSQLite),
		PostgresPort:       port("POSTGRES_PORT", 55432),
		RedisPort:          port("REDIS_PORT", 56379),
		KafkaPort:          port("KAFKA_PORT", 59092),
		KafkaCtrlPort:      port("KAFKA_CONTROLLER_PORT", 59093),
		MongoPort:          port("MONGO_PORT", 57017),
		TemporalPort:       port("TEMPORAL_PORT", 7233),
		TemporalUIPort:     port("TEMPORAL_UI_PORT", 8233),
		SMTPPort:           port("SMTP_PORT", 1025),
		MailpitPort:        port("MAILPIT_PORT", 8025),
		PrometheusPort:     port("PROMETHEUS_PORT", 59090),
		JaegerUIPort:       port("JAEGER_UI_PORT", 16686),
		JaegerOTLPGRPCPort: port("JAEGER_OTLP_GRPC_PORT", 4317),
		JaegerOTLPHTTPPort: port("JAEGER_OTLP_HTTP_PORT", 4318),
		Faults:             num("TICKETFLOW_FAULTS", 0, 0, 1) == 1,
		FaultPort:          port("FAULT_PORT", 61000),
		URLs:               map[string]string{},
	}
	if s.Faults && s.Replicas > maxFaultReplicas {
		errs = append(errs, fmt.Sprintf("TICKETFLOW_REPLICAS=%d: a fault-injecting stack (TICKETFLOW_FAULTS=1) runs at most %d", s.Replicas, maxFaultReplicas))
	}
	if s.FerretDBBackend != FerretDBSQLite && s.FerretDBBackend != FerretDBPostgreSQL {
		errs = append(errs, fmt.Sprintf("TICKETFLOW_FERRETDB_BACKEND=%s: must be %s or %s", s.FerretDBBackend, FerretDBSQLite, FerretDBPostgreSQL))
	}
	if s.TemporalServer != TemporalDev && s.TemporalServer != TemporalFull {
		errs = append(errs, fmt.Sprintf("TEMPORAL_SERVER=%s: must be %s or %s", s.TemporalServer, TemporalDev, TemporalFull))
	}
	s.MailpitURL = fmt.Sprintf("http://127.0.0.1:%d", s.MailpitPort)
	s.PrometheusURL = fmt.Sprintf("http://127.0.0.1:%d", s.PrometheusPort)
	s.JaegerURL = fmt.Sprintf("http://127.0.0.1:%d", s.JaegerUIPort)

	// Where the replicas of each process are, for its processes (and this one); the servers'
	// addresses follow from their ports (config.Load).
	for _, name := range config.Processes {
		env := strings.ToUpper(name)
		base := port(env+"_PORT", config.DefaultPorts[name])
		var urls []string
		for k := 0; k < s.Replicas; k++ {
			urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d", base+10*k))
		}
		s.env = append(s.env, env+"_URLS="+strings.Join(urls, ","))
		if name == config.Room {
			// The queue answers send the waiting crowd to the room (its first replica; a buyer
			// whose room is gone follows at the gateway again).
			s.env = append(s.env, "WAITING_ROOM_FOLLOW_URL="+urls[0])
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("local stack settings: %s", strings.Join(errs, "; "))
	}
	overlay := map[string]string{}
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		overlay[k] = v
	}
	cfg, err := config.LoadFrom(func(key string) (string, bool) {
		if v, ok := os.LookupEnv(key); ok && v != "" {
			return v, true // set by hand: it wins
		}
		v, ok := overlay[key]
		return v, ok
	})
	if err != nil {
		return nil, err
	}
	s.Config = cfg
	for _, name := range config.Processes {
		s.URLs[name] = cfg.Endpoints[name][0]
	}
	if abs, err := filepath.Abs(s.DataDir); err == nil {
		s.DataDir = abs
	}
	if abs, err := filepath.Abs(s.ToolsDir); err == nil {
		s.ToolsDir = abs
	}
	return s, nil
}

// ProcessEnv is the environment of every process the stack starts: its own, the stack's addresses
// (where a variable is set already, the stack's value does not replace it), and the stack's
// marks (TICKETFLOW_ENV=local, where its data and tools are).
func (s *Settings) ProcessEnv() []string {
	env := os.Environ()
	for _, kv := range s.env {
		if k, _, _ := strings.Cut(kv, "="); os.Getenv(k) == "" {
			env = append(env, kv)
		}
	}
	return append(env, "TICKETFLOW_ENV=local", "TICKETFLOW_DATA_DIR="+s.DataDir, "TICKETFLOW_TOOLS_DIR="+s.ToolsDir)
}

// LogDir is where the stack writes one log file per process.
func (s *Settings) LogDir() string { return filepath.Join(s.DataDir, "logs") }

// ReplicaPort is the port of replica k (from 0) of an application process: <NAME>_PORT + 10·k,
// so every replica of every process has its own.
func (s *Settings) ReplicaPort(name string, k int) int { return s.Ports[name] + 10*k }

// AdminPortOf is the admin port (metrics) of replica k of a process whose main port faces
// clients, the gateway's or the room's, and 0 for any other process (its metrics are on its port).
func (s *Settings) AdminPortOf(process string, k int) int {
	switch process {
	case config.Gateway:
		return s.GatewayAdminPort + 10*k
	case config.Room:
		return s.RoomAdminPort + 10*k
	}
	return 0
}
