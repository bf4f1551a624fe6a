package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// These tests hold docker-compose.yml to the configuration this package reads: every process is a
// container that runs `ticketflow serve <name>`, waits for the servers it uses, finds them through
// the variables Load reads, listens where its health check and its peers look for it, and passes
// CheckSecrets. Docker is not needed: the file is loaded with the Compose specification's loader.

const composeFile = "../../docker-compose.yml"

// A composeStore is a server that a process finds through one environment variable.
type composeStore struct {
	env     string                 // the variable Load reads
	service string                 // the compose service it must point at
	addrs   func(*Config) []string // where Load says the server is (URLs or host:port)
}

var (
	storePostgres = composeStore{"POSTGRES_URL", "postgres", func(c *Config) []string { return []string{c.PostgresURL} }}
	storeMongo    = composeStore{"MONGO_URI", "mongo", func(c *Config) []string { return []string{c.MongoURI} }}
	storeRedis    = composeStore{"REDIS_ADDR", "redis", func(c *Config) []string { return []string{c.RedisAddr} }}
	storeKafka    = composeStore{"KAFKA_BROKERS", "kafka", func(c *Config) []string { return c.KafkaBrokers }}
	storeTemporal = composeStore{"TEMPORAL_ADDRESS", "temporal", func(c *Config) []string { return []string{c.TemporalAddr} }}
	storeSMTP     = composeStore{"SMTP_ADDR", "mailpit", func(c *Config) []string { return []string{c.SMTPAddr} }}
)

// contractPorts are the ports each process listens on, inside its container and (for the gateway
// and the six services) on the host.
var contractPorts = map[string]int{
	Gateway: 3000, User: 3001, Event: 3002, Booking: 3003, Inventory: 3004,
	Payment: 3005, Notification: 3006, Worker: 3007, Bridge: 3008, Ticket: 3099, Room: 3800,
}

// composeApps is what each process needs from its container.
var composeApps = []struct {
	name    string
	publish bool           // the contract port is published on the host (the gateway and the room)
	stores  []composeStore // servers it uses: a healthy dependency, found through its variable
	peers   []string       // processes it calls, through their <NAME>_URL
	after   []string       // processes that must be healthy before it starts
}{
	{name: User, stores: []composeStore{storePostgres, storeKafka}},
	{name: Event, stores: []composeStore{storeMongo}, peers: []string{Inventory}},
	{name: Booking, stores: []composeStore{storePostgres, storeTemporal}, peers: []string{Event, Inventory}},
	{name: Inventory, stores: []composeStore{storePostgres, storeRedis}},
	{name: Payment, stores: []composeStore{storeMongo, storeKafka}},
	{name: Notification, stores: []composeStore{storeMongo, storeKafka, storeSMTP}, peers: []string{Ticket}},
	{name: Ticket, stores: []composeStore{storePostgres, storeKafka}, peers: []string{User, Event}},
	{name: Worker, stores: []composeStore{storeTemporal, storeKafka}, peers: []string{Booking, Inventory, Payment}},
	{name: Bridge, stores: []composeStore{storeTemporal, storeKafka}, peers: []string{Booking, Payment}},
	{name: Room, publish: true, stores: []composeStore{storeRedis}, peers: []string{Event}, after: []string{Event}},
	{name: Gateway, publish: true, stores: []composeStore{storeRedis}, peers: Services,
		after: []string{User, Event, Booking, Inventory, Payment, Notification, Ticket, Worker, Bridge}},
}

// composeInfra are the servers of the stack, from their official images.
var composeInfra = []struct {
	name      string
	image     string            // image name, without the tag
	published map[int]int       // host port -> container port, on 127.0.0.1 only (web UIs)
	env       map[string]string // settings the stack relies on
}{
	{name: "postgres", image: "postgres"},
	{name: "mongo", image: "mongo"},
	{name: "redis", image: "redis"},
	{name: "kafka", image: "apache/kafka", env: map[string]string{
		"KAFKA_PROCESS_ROLES": "broker,controller",
		// Topics come from `ticketflow setup`; a producer must not create one by a typo.
		"KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
	}},
	{name: "temporal", image: "temporalio/auto-setup"},
	{name: "temporal-ui", image: "temporalio/ui", published: map[int]int{8233: 8080}},
	{name: "mailpit", image: "axllent/mailpit", published: map[int]int{8025: 8025}},
}

// composeEnv is the least a deployment must set: the required JWT_SECRET.
var composeEnv = []string{"JWT_SECRET=" + deploymentSecret}

// loadCompose loads docker-compose.yml with exactly env (composeEnv when none is given) as the
// environment, so every other ${VAR:-default} takes the file's default whatever the shell
// running the test has set.
func loadCompose(t *testing.T, env ...string) *types.Project {
	t.Helper()
	project, err := tryLoadCompose(t, env...)
	if err != nil {
		t.Fatalf("%s does not load: %v", composeFile, err)
	}
	return project
}

func tryLoadCompose(t *testing.T, env ...string) (*types.Project, error) {
	t.Helper()
	if env == nil {
		env = composeEnv
	}
	opts, err := cli.NewProjectOptions([]string{composeFile}, cli.WithWorkingDirectory(".."), cli.WithEnv(env))
	if err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return opts.LoadProject(t.Context())
}

func TestComposeCoversEveryProcess(t *testing.T) {
	var names []string
	for _, app := range composeApps {
		names = append(names, app.name)
	}
	for _, name := range Processes {
		if !slices.Contains(names, name) {
			t.Errorf("process %q is missing from this test's table of compose services; add it", name)
		}
		if _, ok := contractPorts[name]; !ok {
			t.Errorf("process %q has no contract port in this test", name)
		}
	}
	project := loadCompose(t)
	for _, name := range Processes {
		if _, ok := project.Services[name]; !ok {
			t.Errorf("service %q: missing; every process of config.Processes needs a container", name)
		}
	}
}

func TestComposeAppServices(t *testing.T) {
	project := loadCompose(t)
	for _, app := range composeApps {
		t.Run(app.name, func(t *testing.T) {
			svc, ok := project.Services[app.name]
			if !ok {
				t.Fatalf("service %q: missing", app.name)
			}
			port := contractPorts[app.name]
			checkAppImage(t, svc)
			if want := []string{"serve", app.name}; !slices.Equal(svc.Command, want) {
				t.Errorf("service %q: command is %q, want %q", app.name, []string(svc.Command), want)
			}
			checkHealthcheck(t, svc, fmt.Sprintf(":%d/health", port))

			checkDependsOn(t, project, svc, "setup", types.ServiceConditionCompletedSuccessfully)
			for _, s := range app.stores {
				checkDependsOn(t, project, svc, s.service, types.ServiceConditionHealthy)
			}
			for _, peer := range app.after {
				checkDependsOn(t, project, svc, peer, types.ServiceConditionHealthy)
			}

			if app.publish && !publishes(svc, port, port) {
				t.Errorf("service %q: does not publish its contract port %d (want \"%d:%d\")", app.name, port, port, port)
			}
			if !app.publish && len(svc.Ports) > 0 {
				t.Errorf("service %q: publishes %v; an internal process is reached only inside the compose network", app.name, svc.Ports)
			}

			env := serviceEnv(svc)
			want := []string{"LISTEN_HOST", "JWT_SECRET"}
			for _, s := range app.stores {
				want = append(want, s.env)
			}
			for _, peer := range app.peers {
				want = append(want, strings.ToUpper(peer)+"_URL")
			}
			missing := false
			for _, key := range want {
				if _, ok := env[key]; !ok {
					t.Errorf("service %q: environment lacks %s", app.name, key)
					missing = true
				}
			}
			if v, ok := env["LISTEN_HOST"]; ok && v != "0.0.0.0" {
				t.Errorf("service %q: LISTEN_HOST=%q; inside a container it must be 0.0.0.0", app.name, v)
			}
			checkSecretEnv(t, app.name, env)
			if missing {
				return
			}

			cfg := loadWithEnv(t, app.name, env)
			if got, want := cfg.Addr(app.name), fmt.Sprintf("0.0.0.0:%d", port); got != want {
				t.Errorf("service %q: listens on %s, want %s (its health check and peers use port %d)", app.name, got, want, port)
			}
			for _, s := range app.stores {
				checkPointsAt(t, project, app.name, s.env, s.addrs(cfg), s.service, 0)
			}
			for _, peer := range app.peers {
				checkPointsAt(t, project, app.name, strings.ToUpper(peer)+"_URL", cfg.Endpoints[peer], peer, contractPorts[peer])
			}
		})
	}
}

func TestComposeSetup(t *testing.T) {
	project := loadCompose(t)
	svc, ok := project.Services["setup"]
	if !ok {
		t.Fatalf("service %q: missing; it creates the Kafka topics and search attributes before the processes start", "setup")
	}
	checkAppImage(t, svc)
	if want := []string{"setup"}; !slices.Equal(svc.Command, want) {
		t.Errorf("service %q: command is %q, want %q", svc.Name, []string(svc.Command), want)
	}
	if !strings.HasPrefix(svc.Restart, "on-failure") {
		t.Errorf("service %q: restart is %q, want on-failure (a one-shot that retries until it succeeds)", svc.Name, svc.Restart)
	}
	for _, s := range []composeStore{storeKafka, storeTemporal} {
		checkDependsOn(t, project, svc, s.service, types.ServiceConditionHealthy)
	}
	env := serviceEnv(svc)
	for _, s := range []composeStore{storeKafka, storeTemporal} {
		if _, ok := env[s.env]; !ok {
			t.Errorf("service %q: environment lacks %s", svc.Name, s.env)
			return
		}
	}
	cfg := loadWithEnv(t, svc.Name, env)
	for _, s := range []composeStore{storeKafka, storeTemporal} {
		checkPointsAt(t, project, svc.Name, s.env, s.addrs(cfg), s.service, 0)
	}
}

func TestComposeInfraServices(t *testing.T) {
	project := loadCompose(t)
	for _, infra := range composeInfra {
		t.Run(infra.name, func(t *testing.T) {
			svc, ok := project.Services[infra.name]
			if !ok {
				t.Fatalf("service %q: missing", infra.name)
			}
			if image, _, _ := strings.Cut(svc.Image, ":"); image != infra.image {
				t.Errorf("service %q: image %q, want the official %s image", infra.name, svc.Image, infra.image)
			}
			checkHealthcheck(t, svc, "")
			for host, container := range infra.published {
				if !publishes(svc, host, container) {
					t.Errorf("service %q: does not publish \"127.0.0.1:%d:%d\"", infra.name, host, container)
				}
			}
			for _, p := range svc.Ports {
				if host, _ := strconv.Atoi(p.Published); infra.published[host] != int(p.Target) || p.HostIP != "127.0.0.1" {
					t.Errorf("service %q: publishes %s:%s->%d; only its web UI, and only on 127.0.0.1", infra.name, p.HostIP, p.Published, p.Target)
				}
			}
			env := serviceEnv(svc)
			for key, want := range infra.env {
				if got, ok := env[key]; !ok {
					t.Errorf("service %q: environment lacks %s (want %q)", infra.name, key, want)
				} else if got != want {
					t.Errorf("service %q: %s=%q, want %q", infra.name, key, got, want)
				}
			}
		})
	}
}

// Without JWT_SECRET (or with an empty one) the file does not load: it ships no default that
// anyone reading the repository could sign tokens with.
func TestComposeRequiresJWTSecret(t *testing.T) {
	for name, env := range map[string][]string{"unset": {}, "empty": {"JWT_SECRET="}} {
		_, err := tryLoadCompose(t, env...)
		if err == nil {
			t.Errorf("JWT_SECRET %s: %s loads; it must refuse (${JWT_SECRET:?...})", name, composeFile)
		} else if !strings.Contains(err.Error(), "JWT_SECRET") {
			t.Errorf("JWT_SECRET %s: the refusal does not name JWT_SECRET: %v", name, err)
		}
	}
	project := loadCompose(t)
	for _, app := range composeApps {
		if got := serviceEnv(project.Services[app.name])["JWT_SECRET"]; got != deploymentSecret {
			t.Errorf("service %q: JWT_SECRET=%q, want the one from the environment", app.name, got)
		}
	}
}

// Only the gateway and the room are published on the host's interfaces; the web UIs on 127.0.0.1
// only; no internal service port (3001-3008), Temporal's gRPC (7233) or store at all.
func TestComposePublishesOnlyTheEdgeAndLoopbackUIs(t *testing.T) {
	project := loadCompose(t)
	internal := map[uint32]bool{7233: true}
	for name, port := range contractPorts {
		if name != Gateway && name != Room {
			internal[uint32(port)] = true
		}
	}
	for _, svc := range project.Services {
		for _, p := range svc.Ports {
			host, _ := strconv.Atoi(p.Published)
			switch {
			case (svc.Name == Gateway || svc.Name == Room) && p.Target == uint32(contractPorts[svc.Name]) && host == contractPorts[svc.Name]:
			case p.HostIP == "127.0.0.1" && (svc.Name == "temporal-ui" || svc.Name == "mailpit"):
			default:
				t.Errorf("service %q publishes %s:%s->%d; only the gateway and the room (and the UIs on 127.0.0.1) may be published",
					svc.Name, p.HostIP, p.Published, p.Target)
			}
			if internal[p.Target] || internal[uint32(host)] {
				t.Errorf("service %q publishes internal port %d", svc.Name, p.Target)
			}
		}
	}
}

// KAFKA_PARTITIONS and KAFKA_REPLICATION_FACTOR size the topics `ticketflow setup` creates and
// the broker's own; the defaults fit the file's single broker.
func TestComposeKafkaSizingIsConfigurable(t *testing.T) {
	cases := []struct {
		name                 string
		env                  []string
		partitions, replicas int
		minInSync            string
	}{
		{"defaults: one broker", composeEnv, 3, 1, "1"},
		{"three brokers", append([]string{"KAFKA_PARTITIONS=12", "KAFKA_REPLICATION_FACTOR=3", "KAFKA_MIN_INSYNC_REPLICAS=2"}, composeEnv...), 12, 3, "2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			project := loadCompose(t, c.env...)
			kafka := serviceEnv(project.Services["kafka"])
			p, r := strconv.Itoa(c.partitions), strconv.Itoa(c.replicas)
			for key, want := range map[string]string{
				"KAFKA_NUM_PARTITIONS": p, "KAFKA_DEFAULT_REPLICATION_FACTOR": r,
				"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": r, "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": r,
				"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": r,
				"KAFKA_MIN_INSYNC_REPLICAS":                              c.minInSync, "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": c.minInSync,
			} {
				if kafka[key] != want {
					t.Errorf("service kafka: %s=%q, want %q", key, kafka[key], want)
				}
			}
			setup := project.Services["setup"]
			cfg := loadWithEnv(t, setup.Name, serviceEnv(setup))
			if cfg.KafkaPartitions != c.partitions || cfg.KafkaReplicas != c.replicas {
				t.Errorf("service setup creates topics with %d partitions and %d replicas, want %d and %d",
					cfg.KafkaPartitions, cfg.KafkaReplicas, c.partitions, c.replicas)
			}
		})
	}
}

// TestComposePostgresDatabases checks that postgres runs an init script creating the databases the
// services migrate: they create their tables, not their databases.
func TestComposePostgresDatabases(t *testing.T) {
	project := loadCompose(t)
	svc, ok := project.Services["postgres"]
	if !ok {
		t.Fatal(`service "postgres": missing`)
	}
	const initDir = "/docker-entrypoint-initdb.d/"
	var scripts []string
	for _, ref := range svc.Configs {
		if !strings.HasPrefix(ref.Target, initDir) {
			continue
		}
		obj, ok := project.Configs[ref.Source]
		if !ok {
			t.Errorf("service %q: config %q is not defined at the top level", svc.Name, ref.Source)
			continue
		}
		scripts = append(scripts, readSource(t, obj.Content, obj.File))
	}
	for _, v := range svc.Volumes {
		if v.Type == types.VolumeTypeBind && strings.HasPrefix(v.Target, initDir) {
			scripts = append(scripts, readSource(t, "", v.Source))
		}
	}
	if len(scripts) == 0 {
		t.Fatalf("service %q: no init script mounted under %s", svc.Name, initDir)
	}
	all := strings.ToLower(strings.Join(scripts, "\n"))
	for _, db := range PostgresDatabases {
		if !strings.Contains(all, "create database "+db) {
			t.Errorf("service %q: the init scripts under %s do not create database %s", svc.Name, initDir, db)
		}
	}
}

// --- helpers ------------------------------------------------------------------------------------

func checkAppImage(t *testing.T, svc types.ServiceConfig) {
	t.Helper()
	if svc.Image != "ticketflow:local" {
		t.Errorf("service %q: image %q, want ticketflow:local", svc.Name, svc.Image)
	}
	if svc.Build == nil {
		t.Errorf("service %q: no build section; ticketflow:local is built from the Dockerfile", svc.Name)
	}
}

// checkHealthcheck wants an enabled health check whose command mentions want (if not empty).
func checkHealthcheck(t *testing.T, svc types.ServiceConfig, want string) {
	t.Helper()
	hc := svc.HealthCheck
	switch {
	case hc == nil || len(hc.Test) == 0:
		t.Errorf("service %q: no healthcheck", svc.Name)
	case hc.Disable || hc.Test[0] == "NONE":
		t.Errorf("service %q: healthcheck is disabled", svc.Name)
	case want != "" && !strings.Contains(strings.Join(hc.Test, " "), want):
		t.Errorf("service %q: healthcheck %q does not check %s", svc.Name, []string(hc.Test), want)
	}
}

func checkDependsOn(t *testing.T, project *types.Project, svc types.ServiceConfig, on, condition string) {
	t.Helper()
	if _, ok := project.Services[on]; !ok {
		t.Errorf("service %q: needs service %q, which is missing", svc.Name, on)
		return
	}
	dep, ok := svc.DependsOn[on]
	switch {
	case !ok:
		t.Errorf("service %q: depends_on lacks %q (condition: %s)", svc.Name, on, condition)
	case dep.Condition != condition:
		t.Errorf("service %q: depends_on %q has condition %q, want %s", svc.Name, on, dep.Condition, condition)
	}
}

func checkSecretEnv(t *testing.T, service string, env map[string]string) {
	t.Helper()
	if secret, ok := env["JWT_SECRET"]; ok {
		if secret == DevJWTSecret {
			t.Errorf("service %q: JWT_SECRET is config.DevJWTSecret, which non-local processes refuse", service)
		} else if len(secret) < 32 {
			t.Errorf("service %q: JWT_SECRET is %d bytes, want at least 32", service, len(secret))
		}
	}
	if env["TICKETFLOW_ENV"] == "local" {
		t.Errorf("service %q: TICKETFLOW_ENV=local would accept the development secret in a deployment", service)
	}
}

// checkPointsAt wants every address in addrs to name the compose service `service` (and port, if
// not 0), as read from the variable key.
func checkPointsAt(t *testing.T, project *types.Project, service, key string, addrs []string, want string, port int) {
	t.Helper()
	if _, ok := project.Services[want]; !ok {
		t.Errorf("service %q: %s needs service %q, which is missing", service, key, want)
	}
	if len(addrs) == 0 {
		t.Errorf("service %q: %s gives no address", service, key)
	}
	for _, addr := range addrs {
		host, p, err := hostPort(addr)
		if err != nil {
			t.Errorf("service %q: %s=%q: %v", service, key, addr, err)
			continue
		}
		if host != want {
			t.Errorf("service %q: %s=%q points at %q, want service %q", service, key, addr, host, want)
		}
		if port != 0 && p != strconv.Itoa(port) {
			t.Errorf("service %q: %s=%q uses port %q, want %d", service, key, addr, p, port)
		}
	}
}

// hostPort splits a URL (scheme://host:port/...) or a host:port address.
func hostPort(addr string) (host, port string, err error) {
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil {
			return "", "", err
		}
		return u.Hostname(), u.Port(), nil
	}
	return net.SplitHostPort(addr)
}

// publishes reports whether svc publishes container port on host port (the gateway on every
// interface, anything else on 127.0.0.1 only).
func publishes(svc types.ServiceConfig, host, container int) bool {
	for _, p := range svc.Ports {
		if p.Target == uint32(container) && p.Published == strconv.Itoa(host) && (svc.Name == Gateway || svc.Name == Room || p.HostIP == "127.0.0.1") {
			return true
		}
	}
	return false
}

// serviceEnv is a service's environment; a variable without a value is left out.
func serviceEnv(svc types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range svc.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

// loadWithEnv runs Load (and CheckSecrets) with exactly the container's environment for the
// variables these tests look at, so the test machine's own settings cannot fill a gap.
func loadWithEnv(t *testing.T, service string, env map[string]string) *Config {
	t.Helper()
	keys := []string{"LISTEN_HOST", "JWT_SECRET", "TICKETFLOW_ENV", "KAFKA_PARTITIONS", "KAFKA_REPLICATION_FACTOR", "TRUSTED_PROXIES",
		storePostgres.env, storeMongo.env, storeRedis.env, storeKafka.env, storeTemporal.env, storeSMTP.env}
	for _, name := range Processes {
		keys = append(keys, PortEnv(name), strings.ToUpper(name)+"_URL")
	}
	for _, key := range keys {
		t.Setenv(key, "") // Load treats an empty variable as unset
	}
	for key, value := range env {
		t.Setenv(key, value)
	}
	cfg, err := Load()
	if err != nil {
		t.Fatalf("service %q: its environment does not load: %v", service, err)
	}
	if err := cfg.CheckSecrets(); err != nil {
		t.Errorf("service %q: `ticketflow serve` would refuse to start: %v", service, err)
	}
	return cfg
}

// readSource is an init script's text: inline content, or the file it names.
func readSource(t *testing.T, content, file string) string {
	t.Helper()
	if content != "" || file == "" {
		return content
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Errorf("init script %s: %v", file, err)
	}
	return string(b)
}
