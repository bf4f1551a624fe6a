// Package config is TicketFlow's one runtime configuration loader: every process reads its ports,
// store addresses, secrets and tuning from the environment here. An address not given defaults
// to the local stack's server on 127.0.0.1 (at the port the stack runs it on). The local stack's
// own settings — where it keeps its data, the ports of the servers it starts, how many replicas
// it runs — are tools/devstack's (devstack.Settings), not a runtime process's.
package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"ticketflow/internal/clock"
)

// DevJWTSecret is the signing secret of the local stack. `ticketflow serve` refuses to run with
// it unless TICKETFLOW_ENV=local, so a forgotten JWT_SECRET cannot reach a real deployment.
const DevJWTSecret = "ticketflow-local-development-secret-do-not-use"

// Service names, as used by `ticketflow serve <name>`, health answers and log files.
const (
	Gateway      = "gateway"
	User         = "user"
	Event        = "event"
	Booking      = "booking"
	Inventory    = "inventory"
	Payment      = "payment"
	Notification = "notification"
	Ticket       = "ticket"
	Worker       = "worker"
	Bridge       = "bridge"
	// Room serves the waiting rooms' followers: the streams and polls of the buyers in a line,
	// apart from the gateway that every booking passes through (gateway/room.go).
	Room = "room"
)

// Databases of the services, on PostgreSQL (users, bookings, inventory, tickets) and MongoDB (the
// rest).
const (
	UsersDB         = "ticketflow_users"
	BookingsDB      = "ticketflow_bookings"
	InventoryDB     = "ticketflow_inventory"
	EventsDB        = "ticketflow_events"
	PaymentsDB      = "ticketflow_payments"
	NotificationsDB = "ticketflow_notifications"
	TicketsDB       = "ticketflow_tickets"
)

// PostgresDatabases are the databases the local stack creates on its PostgreSQL cluster.
var PostgresDatabases = []string{UsersDB, BookingsDB, InventoryDB, TicketsDB}

// Services are the services behind the gateway: the contract's six, in its order, then the ticket
// service (issue 27).
var Services = []string{User, Event, Booking, Inventory, Payment, Notification, Ticket}

// Processes are every application process of the stack, in start order (the gateway last, so
// that once it answers, everything behind it is already up).
var Processes = []string{User, Event, Booking, Inventory, Payment, Notification, Ticket, Worker, Bridge, Room, Gateway}

// Config is everything a TicketFlow process may need. Each process uses the part it needs.
type Config struct {
	Env string // "local" inside the local stack; anything else is treated as a deployment

	// Listening ports of the application processes, by name (see Processes).
	Ports map[string]int
	// Endpoints are the base URLs of every replica of each application process, by name. Callers
	// spread their requests over them and go on to the next when one is down (httpapi.Client).
	// <NAME>_URLS (comma-separated) sets them, or <NAME>_URL names one; by default the process's
	// port on 127.0.0.1.
	Endpoints map[string][]string

	// Stores and brokers.
	PostgresURL string // server URL without a database, e.g. postgres://postgres@127.0.0.1:55432
	// PostgresConns is each process's PostgreSQL pool size (PG_MAX_CONNS; default 4 per CPU the
	// process may use, at most 24 so that the three PostgreSQL services stay within a default
	// server's max_connections of 100). Sized to the machine: at 100 buyers at once on 2 cores, the hold
	// transaction alone ran about 20% faster with a p99 half as long on 8 connections as on 40
	// (BENCHMARKS.md, the physical-limit line): more connections only queue inside PostgreSQL.
	PostgresConns int32
	RedisAddr     string
	KafkaBrokers  []string
	MongoURI      string
	TemporalAddr  string
	TemporalNS    string
	SMTPAddr      string
	MailFrom      string

	// Observability. The gateway serves /metrics on its admin port, never on the public one; every
	// other process serves it on its own port.
	GatewayAdminPort int
	RoomAdminPort    int     // the room's admin port (/metrics), as the gateway's
	OTLPEndpoint     string  // where spans go (OTLP over HTTP); "" when OTEL_TRACES_EXPORTER=none
	TraceSampleRatio float64 // share of new traces recorded, 0..1
	LogFormat        string  // text (default) or json
	LogLevel         string  // debug, info (default), warn, error

	// Security and behaviour.
	JWTSecret        string
	JWTTTL           time.Duration
	HoldTTL          time.Duration
	RateLimit        int            // requests per RateWindow per client IP, across gateways (Redis); 0 turns it off
	RateWindow       time.Duration  //
	TrustedProxies   []netip.Prefix // peers whose X-Forwarded-For names the client (TRUSTED_PROXIES)
	LoginLimit       int            // failed logins per LoginWindow per email and per IP
	LoginWindow      time.Duration
	MaxBodyBytes     int64
	TaskQueue        string
	CORSOrigins      []string
	ShutdownTimeout  time.Duration
	ProviderLatency  time.Duration // the mock payment provider's simulated latency
	KafkaPartitions  int           // partitions of each topic `setup` and the local stack create
	KafkaReplicas    int           // copies of each topic's partitions (KAFKA_REPLICATION_FACTOR)
	WorkerLocalSlots int
	// WaitingRoom tunes the gateway's waiting rooms (WAITING_ROOM_*; docs/operations.md).
	WaitingRoom WaitingRoom

	// Tickets (the ticket service).
	TicketKeyRotation time.Duration // a signing key older than this is replaced by a new one (TICKET_KEY_ROTATION)
	TicketEventLasts  time.Duration // how long after its start an event counts as over (TICKET_EVENT_LASTS)
}

// WaitingRoom tunes the waiting rooms the gateways run for events that have one.
type WaitingRoom struct {
	Admission time.Duration // how long an admission lasts (WAITING_ROOM_ADMISSION, 10m)
	Tick      time.Duration // how often the line moves and each gateway reads it (WAITING_ROOM_TICK, 250ms)
	PushEvery time.Duration // at most one update a buyer's stream this often (WAITING_ROOM_PUSH_EVERY, 1s)
	// FollowURL is the public origin of the room servers (WAITING_ROOM_FOLLOW_URL, e.g.
	// https://queue.example.com, no path): a place's streamUrl and pollUrl point there, so that the
	// buyers waiting in a line are served apart from the gateway. Empty: at the gateway itself.
	FollowURL string
	// The automatic meter (events without admitPerMinute): the seats held for admitted buyers
	// and not yet confirmed are kept under Target seconds of the confirmations measured (at least
	// MinInFlight seats); an admitted buyer who has not answered a booking yet counts as
	// SeatsPerBuyer seats for FreshFor at most.
	Target        time.Duration // WAITING_ROOM_TARGET, 1.5s
	MinInFlight   int           // WAITING_ROOM_MIN_IN_FLIGHT, 20
	SeatsPerBuyer int           // WAITING_ROOM_SEATS_PER_BUYER, 2
	FreshFor      time.Duration // WAITING_ROOM_FRESH_FOR, 20s
	// DecisionTarget is how long an admitted buyer's seat decision may take (POST /api/bookings,
	// as the gateway relays it): while decisions run slower, the automatic meter admits fewer a
	// second (WAITING_ROOM_DECISION_TARGET, 60ms; 0: never).
	DecisionTarget time.Duration
}

// DefaultPorts are the application processes' ports when <NAME>_PORT does not set them.
var DefaultPorts = map[string]int{
	Gateway: 3000, User: 3001, Event: 3002, Booking: 3003, Inventory: 3004,
	Payment: 3005, Notification: 3006, Worker: 3007, Bridge: 3008,
	// 3009 is the gateway's admin port, 3010..3089 the local stack's replicas of these (port +
	// 10·k), and the e2e suite starts extra gateways on 3040..3048 with admin ports (+50)
	// 3090..3098: 3099 is the one port of the block nothing else takes.
	Ticket: 3099,
	// The room is not in the block: 3800, and its admin port 3809 (ROOM_ADMIN_PORT); its replicas
	// +10·k as every process's. Above 3799: the block moved by every stack's port offset (up to
	// +700, a second checkout's second test stack) stays below it.
	Room: 3800,
}

// Load reads the configuration from the environment.
func Load() (*Config, error) { return LoadFrom(os.LookupEnv) }

// LoadFrom reads the configuration from lookup (os.LookupEnv, or the local stack's environment
// for its processes laid over it).
func LoadFrom(lookup func(string) (string, bool)) (*Config, error) {
	l := loader{lookup: lookup}
	c := &Config{
		Env:       l.str("TICKETFLOW_ENV", "production"),
		Ports:     map[string]int{},
		Endpoints: map[string][]string{},
	}
	for _, name := range Processes {
		env := strings.ToUpper(name)
		c.Ports[name] = l.port(env+"_PORT", DefaultPorts[name])
		one := l.str(env+"_URL", fmt.Sprintf("http://127.0.0.1:%d", c.Ports[name]))
		for _, u := range l.list(env+"_URLS", one) {
			c.Endpoints[name] = append(c.Endpoints[name], strings.TrimRight(u, "/"))
		}
	}

	// A store's address is its variable; without it, the local stack's server on 127.0.0.1 at the
	// port the stack gives it (<SERVER>_PORT, moved by the Makefile's offsets), so that a test or
	// tool run beside a stack finds that stack's servers.
	local := func(portKey string, def int) string { return fmt.Sprintf("127.0.0.1:%d", l.port(portKey, def)) }
	c.PostgresConns = int32(l.int("PG_MAX_CONNS", min(4*runtime.GOMAXPROCS(0), maxDefaultPGConns)))
	c.PostgresURL = strings.TrimRight(l.str("POSTGRES_URL", "postgres://postgres@"+local("POSTGRES_PORT", 55432)), "/")
	c.RedisAddr = l.str("REDIS_ADDR", local("REDIS_PORT", 56379))
	c.KafkaBrokers = l.list("KAFKA_BROKERS", local("KAFKA_PORT", 59092))
	c.KafkaPartitions = l.int("KAFKA_PARTITIONS", 3)
	c.KafkaReplicas = l.int("KAFKA_REPLICATION_FACTOR", 1)
	c.MongoURI = l.str("MONGO_URI", "mongodb://"+local("MONGO_PORT", 57017)+"/")
	c.TemporalAddr = l.str("TEMPORAL_ADDRESS", local("TEMPORAL_PORT", 7233))
	c.TemporalNS = l.str("TEMPORAL_NAMESPACE", "default")
	c.TaskQueue = l.str("TEMPORAL_TASK_QUEUE", "ticketflow-booking")
	c.SMTPAddr = l.str("SMTP_ADDR", local("SMTP_PORT", 1025))
	c.MailFrom = l.str("MAIL_FROM", "TicketFlow <tickets@ticketflow.local>")

	c.GatewayAdminPort = l.port("GATEWAY_ADMIN_PORT", 3009)
	c.RoomAdminPort = l.port("ROOM_ADMIN_PORT", 3809)
	c.OTLPEndpoint = strings.TrimRight(l.str("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+local("JAEGER_OTLP_HTTP_PORT", 4318)), "/")
	switch exporter := l.str("OTEL_TRACES_EXPORTER", "otlp"); exporter {
	case "none":
		c.OTLPEndpoint = ""
	case "otlp":
	default:
		l.errs = append(l.errs, fmt.Sprintf("OTEL_TRACES_EXPORTER=%q: must be otlp or none", exporter))
	}
	c.TraceSampleRatio = l.float("OTEL_TRACES_SAMPLER_ARG", 1)
	c.LogFormat = l.str("LOG_FORMAT", "text")
	c.LogLevel = l.str("LOG_LEVEL", "info")

	c.JWTSecret = l.str("JWT_SECRET", DevJWTSecret)
	c.JWTTTL = l.duration("JWT_TTL", 24*time.Hour)
	c.HoldTTL = l.duration("HOLD_TTL", 10*time.Minute)
	c.RateLimit = l.int("RATE_LIMIT", 100)
	c.RateWindow = l.duration("RATE_WINDOW", 60*time.Second)
	c.TrustedProxies = l.prefixes("TRUSTED_PROXIES")
	c.LoginLimit = l.int("LOGIN_LIMIT", 10)
	c.LoginWindow = l.duration("LOGIN_WINDOW", 15*time.Minute)
	c.MaxBodyBytes = int64(l.int("MAX_BODY_BYTES", 1<<20))
	c.CORSOrigins = l.list("CORS_ORIGINS", "*")
	c.ShutdownTimeout = l.duration("SHUTDOWN_TIMEOUT", 10*time.Second)
	c.ProviderLatency = l.duration("PAYMENT_PROVIDER_LATENCY", 20*time.Millisecond)
	c.WorkerLocalSlots = l.int("WORKER_LOCAL_ACTIVITY_SLOTS", 200)
	c.WaitingRoom = WaitingRoom{
		Admission:      l.duration("WAITING_ROOM_ADMISSION", 10*time.Minute),
		Tick:           l.duration("WAITING_ROOM_TICK", 250*time.Millisecond),
		PushEvery:      l.duration("WAITING_ROOM_PUSH_EVERY", time.Second),
		FollowURL:      strings.TrimRight(l.str("WAITING_ROOM_FOLLOW_URL", ""), "/"),
		Target:         l.duration("WAITING_ROOM_TARGET", 1500*time.Millisecond),
		MinInFlight:    l.int("WAITING_ROOM_MIN_IN_FLIGHT", 20),
		SeatsPerBuyer:  l.int("WAITING_ROOM_SEATS_PER_BUYER", 2),
		FreshFor:       l.duration("WAITING_ROOM_FRESH_FOR", 20*time.Second),
		DecisionTarget: l.duration("WAITING_ROOM_DECISION_TARGET", 60*time.Millisecond),
	}
	if w := c.WaitingRoom; w.Admission < time.Second || w.Tick < 10*time.Millisecond || w.PushEvery < 0 ||
		w.Target <= 0 || w.MinInFlight < 1 || w.SeatsPerBuyer < 1 || w.FreshFor <= 0 || w.DecisionTarget < 0 {
		l.errs = append(l.errs, fmt.Sprintf("WAITING_ROOM_*: %+v: admission at least 1s, tick at least 10ms, target and fresh-for positive, decision target 0 or more, min-in-flight and seats-per-buyer at least 1", w))
	}
	if f := c.WaitingRoom.FollowURL; f != "" {
		// The room servers answer at the root of their origin: no path, query or credentials.
		if u, err := url.Parse(f); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
			l.errs = append(l.errs, fmt.Sprintf("WAITING_ROOM_FOLLOW_URL=%q: must be an http(s) origin, such as https://queue.example.com", f))
		}
	}
	c.TicketKeyRotation = l.duration("TICKET_KEY_ROTATION", 30*24*time.Hour)
	c.TicketEventLasts = l.duration("TICKET_EVENT_LASTS", 12*time.Hour)

	if c.KafkaPartitions < 1 || c.KafkaReplicas < 1 {
		l.errs = append(l.errs, fmt.Sprintf("KAFKA_PARTITIONS=%d, KAFKA_REPLICATION_FACTOR=%d: both must be at least 1", c.KafkaPartitions, c.KafkaReplicas))
	}
	if c.PostgresConns < 1 {
		l.errs = append(l.errs, fmt.Sprintf("PG_MAX_CONNS=%d: must be at least 1", c.PostgresConns))
	}
	if c.TraceSampleRatio < 0 || c.TraceSampleRatio > 1 {
		l.errs = append(l.errs, fmt.Sprintf("OTEL_TRACES_SAMPLER_ARG=%g: must be between 0 and 1", c.TraceSampleRatio))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		l.errs = append(l.errs, fmt.Sprintf("LOG_FORMAT=%q: must be text or json", c.LogFormat))
	}
	// A process run with its clock moved (internal/clock) is a fault injected on purpose: the
	// local stack's chaos run does it; a deployment never should.
	if off, err := clock.Parse(l.str(clock.Env, "")); err != nil {
		l.errs = append(l.errs, err.Error())
	} else if off != 0 && c.Env != "local" {
		l.errs = append(l.errs, fmt.Sprintf("%s=%s: a clock offset is a fault for the local stack (TICKETFLOW_ENV=local) only", clock.Env, off))
	}
	if c.HoldTTL < time.Second {
		l.errs = append(l.errs, fmt.Sprintf("HOLD_TTL=%s: must be at least 1s", c.HoldTTL))
	}
	if c.TicketKeyRotation < time.Minute || c.TicketEventLasts < 0 {
		l.errs = append(l.errs, fmt.Sprintf("TICKET_KEY_ROTATION=%s, TICKET_EVENT_LASTS=%s: rotation at least 1m, an event's length not negative", c.TicketKeyRotation, c.TicketEventLasts))
	}
	if len(l.errs) > 0 {
		return nil, fmt.Errorf("configuration: %s", strings.Join(l.errs, "; "))
	}
	return c, nil
}

// Local reports whether this process runs inside the local development stack.
func (c *Config) Local() bool { return c.Env == "local" }

// CheckSecrets refuses the development JWT secret outside the local stack.
func (c *Config) CheckSecrets() error {
	if c.JWTSecret == DevJWTSecret && !c.Local() {
		return fmt.Errorf("JWT_SECRET is the development default; set a real secret (or TICKETFLOW_ENV=local for the local stack)")
	}
	if len(c.JWTSecret) < 32 {
		return fmt.Errorf("JWT_SECRET must be at least 32 bytes")
	}
	return nil
}

// maxDefaultPGConns caps the default PostgreSQL pool of a process (PG_MAX_CONNS).
const maxDefaultPGConns = 24

// PostgresDSN is the URL of one database on the configured PostgreSQL server.
func (c *Config) PostgresDSN(database string) string {
	u, err := url.Parse(c.PostgresURL)
	if err != nil {
		return c.PostgresURL + "/" + database
	}
	u.Path = "/" + database
	return u.String()
}

// Addr is the listen address of an application process: LISTEN_HOST (default 127.0.0.1) and its
// port — TICKETFLOW_LISTEN_PORT when set (a replica of the local stack), else <NAME>_PORT.
func (c *Config) Addr(name string) string {
	port := c.Ports[name]
	if p, err := strconv.Atoi(os.Getenv("TICKETFLOW_LISTEN_PORT")); err == nil && p > 0 {
		port = p
	}
	return listenAddr(port)
}

// GatewayAdminAddr is the listen address of the gateway's admin port (/metrics, /health):
// TICKETFLOW_ADMIN_PORT when set (a gateway replica of the local stack), else GATEWAY_ADMIN_PORT.
func (c *Config) GatewayAdminAddr() string { return adminAddr(c.GatewayAdminPort) }

// RoomAdminAddr is the listen address of the room's admin port, as GatewayAdminAddr's.
func (c *Config) RoomAdminAddr() string { return adminAddr(c.RoomAdminPort) }

func adminAddr(port int) string {
	if p, err := strconv.Atoi(os.Getenv("TICKETFLOW_ADMIN_PORT")); err == nil && p > 0 {
		port = p
	}
	return listenAddr(port)
}

// listenAddr is LISTEN_HOST (default 127.0.0.1) with port.
func listenAddr(port int) string {
	host := os.Getenv("LISTEN_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	return fmt.Sprintf("%s:%d", host, port)
}

type loader struct {
	lookup func(string) (string, bool)
	errs   []string
}

func (l *loader) str(key, def string) string {
	if v, ok := l.lookup(key); ok && v != "" {
		return v
	}
	return def
}

func (l *loader) int(key string, def int) int {
	v := l.str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		l.errs = append(l.errs, fmt.Sprintf("%s=%q: not an integer", key, v))
		return def
	}
	return n
}

func (l *loader) float(key string, def float64) float64 {
	v := l.str(key, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		l.errs = append(l.errs, fmt.Sprintf("%s=%q: not a number", key, v))
		return def
	}
	return f
}

func (l *loader) port(key string, def int) int {
	n := l.int(key, def)
	if n < 1 || n > 65535 {
		l.errs = append(l.errs, fmt.Sprintf("%s=%d: not a TCP port", key, n))
	}
	return n
}

func (l *loader) duration(key string, def time.Duration) time.Duration {
	v := l.str(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		l.errs = append(l.errs, fmt.Sprintf("%s=%q: not a duration (like 30s or 10m)", key, v))
		return def
	}
	return d
}

// prefixes reads a comma-separated list of CIDRs (10.0.0.0/8) or single addresses (10.1.2.3).
func (l *loader) prefixes(key string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range l.list(key, "") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				l.errs = append(l.errs, fmt.Sprintf("%s: %q is neither a CIDR nor an IP address", key, s))
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

func (l *loader) list(key, def string) []string {
	var out []string
	for _, s := range strings.Split(l.str(key, def), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// PortEnv names the environment variable that moves a process's or server's port, for messages
// such as "port 3000 is in use; set GATEWAY_PORT to move it".
func PortEnv(name string) string { return strings.ToUpper(name) + "_PORT" }
