// Command temporal-server runs the full Temporal server (go.mod's go.temporal.io/server, 1.29.1:
// the version the Temporal CLI v1.5.1 embedded; the CLI the stack now installs, 1.9.1, embeds
// 1.32.0) on the local stack's PostgreSQL (the pgx plugin, several history shards), with the web
// UI the CLI serves. It is the stack's TEMPORAL_SERVER=full; the CLI's dev server (SQLite, one history
// shard) is TEMPORAL_SERVER=dev.
//
// At every start it creates its two databases when missing and brings their schemas up to date
// (the schema files embedded in the server module), then starts the server and the web UI. The
// namespace and the search attributes are registered by whoever starts it (ticketflow-dev).
//
// It is its own Go module so that the application's go.mod, and its vulnerability scan, do not
// carry the server's dependencies.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/headers"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"
	sqltool "go.temporal.io/server/tools/sql"
)

// The cluster's identity is stored in the database at the first start; it must not change.
const (
	clusterName = "active"
	clusterID   = "6f1c3c4e-5b1a-4c55-9d7e-2f9a8c0b7d11"
)

type options struct {
	ip, pgHost, pgUser, db, visibilityDB, logLevel string
	port, uiPort, pgPort, shards, maxConns         int
}

func main() {
	o := options{}
	flag.StringVar(&o.ip, "ip", "127.0.0.1", "address to listen on")
	flag.IntVar(&o.port, "port", 7233, "frontend gRPC port")
	flag.IntVar(&o.uiPort, "ui-port", 8233, "web UI port (0: no UI)")
	flag.StringVar(&o.pgHost, "pg-host", "127.0.0.1", "PostgreSQL host")
	flag.IntVar(&o.pgPort, "pg-port", 5432, "PostgreSQL port")
	flag.StringVar(&o.pgUser, "pg-user", "postgres", "PostgreSQL user (trust authentication)")
	flag.StringVar(&o.db, "db", "temporal", "database of the server's state")
	flag.StringVar(&o.visibilityDB, "visibility-db", "temporal_visibility", "database of visibility records")
	flag.IntVar(&o.shards, "history-shards", 4, "history shards (fixed when the database is first set up)")
	flag.IntVar(&o.maxConns, "max-conns", 20, "PostgreSQL connections of the main store (visibility: half)")
	flag.StringVar(&o.logLevel, "log-level", "warn", "debug, info, warn or error")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "temporal-server:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Level: o.logLevel, Format: "console"}))

	began := time.Now()
	if err := waitForPostgres(ctx, o); err != nil {
		return err
	}
	if err := setupSchema(o, o.db, "postgresql/v12/temporal"); err != nil {
		return err
	}
	if err := setupSchema(o, o.visibilityDB, "postgresql/v12/visibility"); err != nil {
		return err
	}
	fmt.Printf("schemas of %s and %s up to date (%s)\n", o.db, o.visibilityDB, time.Since(began).Round(time.Millisecond))

	conf, err := serverConfig(o)
	if err != nil {
		return err
	}
	dyn := dynamicconfig.StaticClient{
		// As the CLI's dev server: a larger mutable-state cache and visibility rate.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range conf.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(net.JoinHostPort(o.ip, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start the server: %w", err)
	}
	defer srv.Stop()

	frontend := net.JoinHostPort(o.ip, strconv.Itoa(o.port))
	fmt.Printf("Temporal server %s up on %s, %d history shards on PostgreSQL (%s), in %s\n",
		headers.ServerVersion, frontend, o.shards, postgresql.PluginNamePGX, time.Since(began).Round(time.Millisecond))

	if o.uiPort > 0 {
		ui := uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
			Host: o.ip, Port: o.uiPort, TemporalGRPCAddress: frontend, EnableUI: true,
			CORS: uiconfig.CORS{CookieInsecure: true}, HideLogs: true,
		}))
		failed := make(chan error, 1)
		go func() { failed <- ui.Start() }()
		defer ui.Stop()
		select {
		case err := <-failed:
			return fmt.Errorf("web UI: %w", err)
		case <-ctx.Done():
		}
		return nil
	}
	<-ctx.Done()
	return nil
}

// waitForPostgres waits up to a minute for PostgreSQL to answer (the stack starts it just before).
func waitForPostgres(ctx context.Context, o options) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := func() error {
			conn, err := sqltool.NewConnection(sqlConfig(o, "postgres"), log.NewNoopLogger())
			if err != nil {
				return err
			}
			defer conn.Close()
			return conn.Exec("SELECT 1")
		}()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("PostgreSQL at %s:%d: %w", o.pgHost, o.pgPort, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func sqlConfig(o options, db string) *config.SQL {
	return &config.SQL{PluginName: postgresql.PluginNamePGX, DatabaseName: db, User: o.pgUser,
		ConnectAddr: net.JoinHostPort(o.pgHost, strconv.Itoa(o.pgPort)), ConnectProtocol: "tcp"}
}

// setupSchema creates the database when missing, sets up schema versioning once, and applies
// every embedded schema version it has not seen (a no-op when up to date).
func setupSchema(o options, db, schema string) error {
	base := []string{"temporal-sql-tool", "--plugin", postgresql.PluginNamePGX, "--ep", o.pgHost,
		"--port", strconv.Itoa(o.pgPort), "--user", o.pgUser, "--db", db}
	conf := sqlConfig(o, db)
	quiet := log.NewNoopLogger()
	if err := sqltool.DoCreateDatabase(conf, "postgres", quiet); err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	conn, err := sqltool.NewConnection(conf, quiet)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", db, err)
	}
	_, readErr := conn.ReadSchemaVersion()
	conn.Close()
	if readErr != nil { // no versioning tables yet
		if err := sqltool.RunTool(append(base, "setup-schema", "-v", "0.0")); err != nil {
			return fmt.Errorf("set up schema versioning of %s: %w", db, err)
		}
	}
	if err := sqltool.RunTool(append(base, "update-schema", "--schema-name", schema)); err != nil {
		return fmt.Errorf("update the schema of %s: %w", db, err)
	}
	return nil
}

func serverConfig(o options) (*config.Config, error) {
	store := func(db string, conns int) config.DataStore {
		c := sqlConfig(o, db)
		c.MaxConns, c.MaxIdleConns, c.MaxConnLifetime = conns, conns, time.Hour
		return config.DataStore{SQL: c}
	}
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = o.ip
	conf.Persistence.DefaultStore = "default"
	conf.Persistence.VisibilityStore = "visibility"
	conf.Persistence.NumHistoryShards = int32(o.shards)
	conf.Persistence.DataStores = map[string]config.DataStore{
		"default":    store(o.db, o.maxConns),
		"visibility": store(o.visibilityDB, max(2, o.maxConns/2)),
	}
	httpPort, err := freePort(o.ip)
	if err != nil {
		return nil, err
	}
	frontend := net.JoinHostPort(o.ip, strconv.Itoa(o.port))
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
			Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend,
			HTTPAddress: net.JoinHostPort(o.ip, strconv.Itoa(httpPort)), ClusterID: clusterID,
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = o.ip
		if name == "frontend" {
			svc.RPC.GRPCPort, svc.RPC.HTTPPort = o.port, httpPort
		} else if svc.RPC.GRPCPort, err = freePort(o.ip); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontend
	return &conf, nil
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
