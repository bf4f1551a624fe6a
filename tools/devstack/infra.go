package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.temporal.io/sdk/client"

	"ticketflow/internal/bus"
	"ticketflow/internal/config"
	"ticketflow/internal/lifecycle"
)

// infrastructure is the real servers TicketFlow runs on, in start order. It fails early, with the
// fix in the message, when something they need is not installed. Jaeger is the one exception:
// on a fresh machine it is still compiling when the rest is up (`make run` builds it in the
// background), so without its binary it comes back as later, to be started once the binary is
// there; traces begin then, and nothing else waits for them.
func (s *Stack) infrastructure() (now []*component, later *component, err error) {
	if err := s.checkTools(); err != nil {
		return nil, nil, err
	}
	temporal := s.temporal()
	if s.cfg.TemporalServer == TemporalFull {
		temporal = s.temporalFull()
	}
	// infraCount (control.go) counts these for stack up's progress.
	now = []*component{s.postgres(), s.redis(), s.kafka(), s.ferretdb(), temporal, s.mailpit(), s.prometheus()}
	if s.cfg.Faults {
		now = append(now, s.toxiproxy())
	}
	if jaeger := s.jaeger(); fileExists(s.tool("jaeger")) {
		now = append(now, jaeger)
	} else {
		later = jaeger
	}
	return now, later, nil
}

func (s *Stack) tool(name string) string { return filepath.Join(s.cfg.ToolsDir, "bin", name) }
func (s *Stack) kafkaLibs() string       { return filepath.Join(s.cfg.ToolsDir, "kafka", "libs") }
func (s *Stack) dir(parts ...string) string {
	return filepath.Join(append([]string{s.cfg.DataDir}, parts...)...)
}

func (s *Stack) checkTools() error {
	var missing []string
	if _, err := exec.LookPath("java"); err != nil {
		missing = append(missing, "Java (the Kafka broker runs on it): apt-get install -y openjdk-17-jre-headless")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		missing = append(missing, "redis-server: apt-get install -y redis-server (or run `make tools`)")
	}
	if _, err := os.Stat(filepath.Join(pgBinDir(), "initdb")); err != nil {
		missing = append(missing, "PostgreSQL 15 server: apt-get install -y postgresql")
	}
	if _, err := exec.LookPath("prometheus"); err != nil {
		missing = append(missing, "prometheus: apt-get install -y prometheus (or run `make tools`)")
	}
	tools := []string{"temporal", "mailpit"} // and jaeger, which may come later (infrastructure)
	if s.cfg.TemporalServer == TemporalFull {
		tools = append(tools, temporalServerBin)
	}
	for _, t := range tools {
		if _, err := os.Stat(s.tool(t)); err != nil {
			missing = append(missing, fmt.Sprintf("%s (in %s): run `make tools`", t, s.tool(t)))
		}
	}
	if m, _ := filepath.Glob(filepath.Join(s.kafkaLibs(), "kafka_2.13-*.jar")); len(m) == 0 {
		if _, err := exec.LookPath("mvn"); err != nil {
			missing = append(missing, "Maven (it fetches the Kafka jars): apt-get install -y maven, then `make tools`")
		} else {
			missing = append(missing, fmt.Sprintf("the Kafka jars (in %s): run `make tools`", s.kafkaLibs()))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the local stack cannot start; missing:\n  - %s", strings.Join(missing, "\n  - "))
	}
	return nil
}

// --- PostgreSQL -------------------------------------------------------------------------------

func pgBinDir() string {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
				return d
			}
		}
	}
	return "/usr/lib/postgresql/15/bin"
}

// asPostgresUser makes cmd run as the postgres system user when we are root: PostgreSQL refuses
// to run as root.
func asPostgresUser(cmd *exec.Cmd, dirs ...string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres system user (apt-get install -y postgresql creates it): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, d := range dirs {
		if err := chownTree(d, uid, gid); err != nil {
			return err
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	return nil
}

func chownTree(root string, uid, gid int) error {
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func (s *Stack) postgres() *component {
	data, sock := s.dir("postgres"), s.dir("postgres-socket")
	disk := s.cfg.FaultDisk("postgres")
	if disk != "" {
		data = filepath.Join(disk, "data") // on a filesystem the disk-full fault can fill
	}
	bin := pgBinDir()
	return &component{
		name: "postgres", port: s.cfg.PostgresPort, portEnv: "POSTGRES_PORT",
		stopSignal: syscall.SIGINT, // PostgreSQL's "fast" shutdown
		prepare: func(ctx context.Context) error {
			if err := os.MkdirAll(sock, 0o755); err != nil {
				return err
			}
			if disk != "" {
				if _, err := mountFaultDisk(disk); err != nil {
					return err
				}
			}
			major := pgMajor(bin)
			if b, err := os.ReadFile(filepath.Join(data, "PG_VERSION")); err == nil {
				if have := strings.TrimSpace(string(b)); major != "" && have != major {
					return fmt.Errorf("%s holds a PostgreSQL %s cluster but this machine runs PostgreSQL %s: run `make clean`", data, have, major)
				}
				return nil
			}
			if err := os.MkdirAll(data, 0o700); err != nil {
				return err
			}
			cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
				"--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
			if err := asPostgresUser(cmd, data, sock); err != nil {
				return err
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("initdb: %v\n%s", err, out)
			}
			// A new cluster has none of the demo data an earlier one had: seed it again.
			return removeSeedMarker(s.cfg)
		},
		command: func() (*exec.Cmd, error) {
			cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
				"-p", strconv.Itoa(s.cfg.PostgresPort), "-k", sock,
				"-c", "listen_addresses=127.0.0.1",
				"-c", "max_connections=300",
				"-c", "shared_buffers=128MB",
				// Development only: a killed process loses nothing with fsync off, an OS crash could.
				"-c", "fsync=off",
				"-c", "log_min_messages=warning")
			return cmd, asPostgresUser(cmd, data, sock)
		},
		ready: func(ctx context.Context) error {
			conn, err := pgx.Connect(ctx, s.cfg.PostgresDSN("postgres"))
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			return conn.Ping(ctx)
		},
		afterReady: func(ctx context.Context) error {
			conn, err := pgx.Connect(ctx, s.cfg.PostgresDSN("postgres"))
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			for _, db := range config.PostgresDatabases {
				if err := createDatabase(ctx, conn, db); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// createDatabase creates db unless it exists (another component may be creating it at once).
func createDatabase(ctx context.Context, conn *pgx.Conn, db string) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize())
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
		return nil // duplicate_database, or the catalog's unique index when two create it at once
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	return nil
}

// awaitDatabase waits for the stack's PostgreSQL (started beside the caller) and creates db there.
func (s *Stack) awaitDatabase(ctx context.Context, db string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.cfg.PostgresDSN("postgres"))
		if err == nil {
			err = createDatabase(ctx, conn, db)
			conn.Close(ctx)
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the database %s on the stack's PostgreSQL: %w", db, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func pgMajor(bin string) string {
	out, err := exec.Command(filepath.Join(bin, "postgres"), "--version").Output()
	if err != nil {
		return ""
	}
	f := strings.Fields(string(out)) // postgres (PostgreSQL) 15.18 (Debian ...)
	if len(f) < 3 {
		return ""
	}
	return strings.SplitN(f[2], ".", 2)[0]
}

// --- Redis ------------------------------------------------------------------------------------

func (s *Stack) redis() *component {
	return &component{
		name: "redis", port: s.cfg.RedisPort, portEnv: "REDIS_PORT",
		prepare: func(context.Context) error { return os.MkdirAll(s.dir("redis"), 0o755) },
		command: func() (*exec.Cmd, error) {
			// The seat-map cache and the rate limits need no persistence, but the waiting rooms'
			// lines are state: an append-only file, written every second, keeps a line (at most
			// the last second of joins lost) across a Redis restart. volatile-lru: only keys
			// with a TTL may be evicted (the seat map's version keys and the lines have none).
			return exec.Command("redis-server", "--port", strconv.Itoa(s.cfg.RedisPort), "--bind", "127.0.0.1",
				"--dir", s.dir("redis"), "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
				"--daemonize", "no", "--maxmemory", "256mb", "--maxmemory-policy", "volatile-lru"), nil
		},
		ready: func(ctx context.Context) error {
			c := redis.NewClient(&redis.Options{Addr: s.cfg.RedisAddr})
			defer c.Close()
			return c.Ping(ctx).Err()
		},
	}
}

// --- Kafka ------------------------------------------------------------------------------------

const kafkaServerProperties = `# Written by ticketflow-dev dev at every start; edit tools/devstack/infra.go instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:%[2]d
listeners=PLAINTEXT://127.0.0.1:%[1]d,CONTROLLER://127.0.0.1:%[2]d%[5]s
advertised.listeners=PLAINTEXT://127.0.0.1:%[1]d%[6]s
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT%[7]s
inter.broker.listener.name=PLAINTEXT
log.dirs=%[3]s
num.partitions=%[4]d
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
# One node on a shared machine: few threads, and no no-op record appended to the metadata log
# every 500 ms while nothing changes (metadata.max.idle.interval.ms; the cluster has one node and
# no follower to keep caught up). Measured in BENCHMARKS.md (the idle stack).
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
metadata.max.idle.interval.ms=30000
`

const kafkaLog4j = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka.server.KafkaRaftServer
logger.kafka.level = info
`

func (s *Stack) kafka() *component {
	dir := s.dir("kafka")
	logs := filepath.Join(dir, "data")
	disk := s.cfg.FaultDisk("kafka")
	if disk != "" {
		logs = filepath.Join(disk, "data") // on a filesystem the disk-full fault can fill
	}
	props := filepath.Join(dir, "server.properties")
	log4j := filepath.Join(dir, "log4j2.properties")
	classpath := filepath.Join(s.kafkaLibs(), "*")
	return &component{
		name: "kafka", port: s.cfg.KafkaPort, portEnv: "KAFKA_PORT",
		readyWait: 90 * time.Second,
		prepare: func(ctx context.Context) error {
			if err := checkFree(s.cfg.KafkaCtrlPort, "the Kafka controller", "KAFKA_CONTROLLER_PORT"); err != nil {
				return err
			}
			for _, p := range s.cfg.FaultProxies() {
				if p.KafkaListener != "" {
					if err := checkFreeAddr(p.Upstream, "the Kafka listener of proxy "+p.Name); err != nil {
						return err
					}
				}
			}
			if disk != "" {
				if _, err := mountFaultDisk(disk); err != nil {
					return err
				}
			}
			for _, d := range []string{dir, logs} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			listeners, advertised, protocols := s.cfg.kafkaFaultListeners()
			conf := fmt.Sprintf(kafkaServerProperties, s.cfg.KafkaPort, s.cfg.KafkaCtrlPort, logs, s.cfg.KafkaPartitions,
				listeners, advertised, protocols)
			if err := os.WriteFile(props, []byte(conf), 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(log4j, []byte(kafkaLog4j), 0o644); err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(logs, "meta.properties")); err == nil {
				return nil // formatted by an earlier run: keep its data
			}
			id := make([]byte, 16)
			_, _ = rand.Read(id)
			clusterID := base64.RawURLEncoding.EncodeToString(id)
			cmd := exec.CommandContext(ctx, "java", "-Dlog4j2.configurationFile="+log4j, "-cp", classpath,
				"kafka.tools.StorageTool", "format", "--cluster-id="+clusterID, "-c", props) // "=": an id may begin with "-"
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("format the Kafka log dir: %v\n%s", err, out)
			}
			return nil
		},
		command: func() (*exec.Cmd, error) {
			return exec.Command("java", "-Xmx512m", "-Xms128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
				"-Djava.awt.headless=true", "-Dlog4j2.configurationFile="+log4j,
				"-cp", classpath, "kafka.Kafka", props), nil
		},
		ready: func(ctx context.Context) error {
			conn, err := (&kafka.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", s.cfg.KafkaBrokers[0])
			if err != nil {
				return err
			}
			defer conn.Close()
			_, err = conn.Brokers()
			return err
		},
		afterReady: func(ctx context.Context) error {
			return bus.CreateTopics(ctx, s.cfg.KafkaBrokers, s.cfg.KafkaPartitions, s.cfg.KafkaReplicas)
		},
	}
}

// --- FerretDB ---------------------------------------------------------------------------------

func (s *Stack) ferretdb() *component {
	return &component{
		name: "ferretdb", port: s.cfg.MongoPort, portEnv: "MONGO_PORT",
		prepare: func(ctx context.Context) error {
			if err := os.MkdirAll(s.dir("ferretdb"), 0o755); err != nil {
				return err
			}
			if s.cfg.FerretDBBackend != FerretDBPostgreSQL {
				return nil
			}
			// PostgreSQL starts beside FerretDB, and FerretDB keeps its first failure to open its
			// database (every ping answered "database does not exist"): start it once it exists.
			return s.awaitDatabase(ctx, ferretDBDatabase)
		},
		command: func() (*exec.Cmd, error) {
			cmd := exec.Command(s.bin, "infra", "ferretdb")
			cmd.Env = s.childEnv()
			return cmd, nil
		},
		ready: func(ctx context.Context) error {
			c, err := mongo.Connect(options.Client().ApplyURI(s.cfg.MongoURI).SetServerSelectionTimeout(time.Second))
			if err != nil {
				return err
			}
			defer c.Disconnect(context.Background())
			return c.Ping(ctx, nil)
		},
	}
}

// --- Temporal ---------------------------------------------------------------------------------

func (s *Stack) temporal() *component {
	dir := s.dir("temporal")
	return &component{
		name: "temporal", port: s.cfg.TemporalPort, portEnv: "TEMPORAL_PORT",
		prepare: func(context.Context) error {
			if err := checkFree(s.cfg.TemporalUIPort, "the Temporal web UI", "TEMPORAL_UI_PORT"); err != nil {
				return err
			}
			return os.MkdirAll(dir, 0o755)
		},
		command: func() (*exec.Cmd, error) {
			args := []string{"server", "start-dev", "--ip", "127.0.0.1",
				"--port", strconv.Itoa(s.cfg.TemporalPort), "--ui-port", strconv.Itoa(s.cfg.TemporalUIPort),
				"--db-filename", filepath.Join(dir, "temporal.db"),
				"--namespace", s.cfg.TemporalNS, "--log-level", "warn",
				"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"}
			for _, sa := range lifecycle.SearchAttributeDefs {
				args = append(args, "--search-attribute", sa.Name+"="+sa.Type)
			}
			return exec.Command(s.tool("temporal"), args...), nil
		},
		ready:     s.temporalHealthy,
		readyWait: 60 * time.Second,
	}
}

// temporalHealthy checks that the Temporal frontend answers.
func (s *Stack) temporalHealthy(ctx context.Context) error {
	c, err := client.DialContext(ctx, client.Options{HostPort: s.cfg.TemporalAddr, Namespace: s.cfg.TemporalNS,
		Logger: quietTemporalLogger{}})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// --- Mailpit ----------------------------------------------------------------------------------

func (s *Stack) mailpit() *component {
	return &component{
		name: "mailpit", port: s.cfg.SMTPPort, portEnv: "SMTP_PORT",
		prepare: func(context.Context) error {
			if err := checkFree(s.cfg.MailpitPort, "the Mailpit API", "MAILPIT_PORT"); err != nil {
				return err
			}
			return os.MkdirAll(s.dir("mailpit"), 0o755)
		},
		command: func() (*exec.Cmd, error) {
			return exec.Command(s.tool("mailpit"),
				"--listen", fmt.Sprintf("127.0.0.1:%d", s.cfg.MailpitPort),
				"--smtp", fmt.Sprintf("127.0.0.1:%d", s.cfg.SMTPPort),
				"--database", filepath.Join(s.dir("mailpit"), "mailpit.db"),
				"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--quiet"), nil
		},
		ready: func(ctx context.Context) error { return httpOK(ctx, s.cfg.MailpitURL+"/api/v1/info") },
	}
}

// portWait is how long a busy port is given to come free: a stack that was just stopped may still
// be letting go of it (a JVM broker on a busy machine takes its time to exit).
var portWait = 30 * time.Second

func checkFree(port int, what, env string) error {
	deadline := time.Now().Add(portWait)
	for {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			return l.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d, needed by %s, is in use: stop what holds it or set %s to move it", port, what, env)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// quietTemporalLogger silences the SDK client's logs during readiness polling.
type quietTemporalLogger struct{}

func (quietTemporalLogger) Debug(string, ...interface{}) {}
func (quietTemporalLogger) Info(string, ...interface{})  {}
func (quietTemporalLogger) Warn(string, ...interface{})  {}
func (quietTemporalLogger) Error(string, ...interface{}) {}
