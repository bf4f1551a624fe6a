package devstack

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"ticketflow/internal/config"
)

// The stack's observability: a real Prometheus scraping every process's /metrics (the Debian
// package: `make tools` installs it), with TicketFlow's console dashboard, and a real Jaeger (v2,
// in-memory storage) receiving every process's spans over OTLP (`make tools` builds it from
// tools/jaeger). Both listen on 127.0.0.1 only and keep their data under the stack's data dir.

//go:embed prometheus
var prometheusFiles embed.FS

// --- Prometheus -------------------------------------------------------------------------------

func (s *Stack) prometheus() *component {
	dir := s.dir("prometheus")
	conf := filepath.Join(dir, "prometheus.yml")
	return &component{
		name: "prometheus", port: s.cfg.PrometheusPort, portEnv: "PROMETHEUS_PORT",
		prepare: func(context.Context) error {
			if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
				return err
			}
			// The dashboard and the scrape configuration are written afresh at every start.
			if err := os.RemoveAll(filepath.Join(dir, "web")); err != nil {
				return err
			}
			if err := copyFS(prometheusFiles, "prometheus", filepath.Join(dir, "web")); err != nil {
				return err
			}
			return os.WriteFile(conf, []byte(prometheusConfig(s.cfg)), 0o644)
		},
		command: func() (*exec.Cmd, error) {
			return exec.Command("prometheus",
				"--config.file="+conf,
				"--storage.tsdb.path="+filepath.Join(dir, "data"),
				"--storage.tsdb.retention.time=7d",
				fmt.Sprintf("--web.listen-address=127.0.0.1:%d", s.cfg.PrometheusPort),
				"--web.console.templates="+filepath.Join(dir, "web", "consoles"),
				"--web.console.libraries="+filepath.Join(dir, "web", "console_libraries"),
				"--log.level=warn"), nil
		},
		ready: func(ctx context.Context) error { return httpOK(ctx, s.cfg.PrometheusURL+"/-/ready") },
	}
}

// prometheusConfig scrapes every replica of every application process (a gateway on its admin
// port) every 5 s:
// a sale changes by the second.
func prometheusConfig(cfg *Settings) string {
	var b strings.Builder
	b.WriteString(`# Written by ticketflow-dev at every start; edit tools/devstack/observe.go instead.
global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 5s
scrape_configs:
`)
	for _, name := range config.Processes {
		var targets []string
		for k := 0; k < max(cfg.Replicas, 1); k++ {
			port := cfg.ReplicaPort(name, k)
			if admin := cfg.AdminPortOf(name, k); admin != 0 {
				port = admin
			}
			targets = append(targets, fmt.Sprintf("'127.0.0.1:%d'", port))
		}
		fmt.Fprintf(&b, "  - job_name: %s\n    static_configs:\n      - targets: [%s]\n", name, strings.Join(targets, ", "))
	}
	return b.String()
}

func copyFS(src fs.FS, root, dst string) error {
	return fs.WalkDir(src, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, strings.TrimPrefix(strings.TrimPrefix(p, root), "/"))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// --- Jaeger -----------------------------------------------------------------------------------

// jaegerConfig is Jaeger v2's configuration: OTLP in (gRPC and HTTP), in-memory storage, the UI and
// query API; every listener on 127.0.0.1, the query's gRPC API (which nothing here uses) on a
// port the system picks, and no telemetry of its own (its defaults would take fixed ports that a
// second stack on the machine would collide with).
const jaegerConfig = `# Written by ticketflow-dev at every start; edit tools/devstack/observe.go instead.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 50000
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:%[1]d
    grpc:
      endpoint: 127.0.0.1:0
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%[2]d
      http:
        endpoint: 127.0.0.1:%[3]d
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

func (s *Stack) jaeger() *component {
	dir := s.dir("jaeger")
	conf := filepath.Join(dir, "config.yaml")
	return &component{
		name: "jaeger", port: s.cfg.JaegerUIPort, portEnv: "JAEGER_UI_PORT",
		prepare: func(context.Context) error {
			if err := checkFree(s.cfg.JaegerOTLPGRPCPort, "Jaeger's OTLP gRPC receiver", "JAEGER_OTLP_GRPC_PORT"); err != nil {
				return err
			}
			if err := checkFree(s.cfg.JaegerOTLPHTTPPort, "Jaeger's OTLP HTTP receiver", "JAEGER_OTLP_HTTP_PORT"); err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			c := fmt.Sprintf(jaegerConfig, s.cfg.JaegerUIPort, s.cfg.JaegerOTLPGRPCPort, s.cfg.JaegerOTLPHTTPPort)
			return os.WriteFile(conf, []byte(c), 0o644)
		},
		command: func() (*exec.Cmd, error) {
			cmd := exec.Command(s.tool("jaeger"), "--config", conf)
			// Jaeger reads OTEL_* itself: none of ours may point it at a stack's receiver.
			cmd.Env = withoutOTEL(os.Environ())
			return cmd, nil
		},
		ready: func(ctx context.Context) error { return httpOK(ctx, s.cfg.JaegerURL+"/api/services") },
	}
}

func withoutOTEL(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "OTEL_") {
			out = append(out, kv)
		}
	}
	return out
}
