package devstack

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"ticketflow/internal/config"
)

func TestPrometheusScrapesEveryProcessTheGatewayOnItsAdminPort(t *testing.T) {
	cfg := &Settings{Config: &config.Config{Ports: map[string]int{}, GatewayAdminPort: 3109}}
	for i, p := range config.Processes {
		cfg.Ports[p] = 3100 + i
	}
	conf := prometheusConfig(cfg)
	for _, p := range config.Processes {
		port := cfg.Ports[p]
		if p == config.Gateway {
			port = cfg.GatewayAdminPort
		}
		if !strings.Contains(conf, fmt.Sprintf("job_name: %s\n    static_configs:\n      - targets: ['127.0.0.1:%d']", p, port)) {
			t.Errorf("no scrape of %s on %d:\n%s", p, port, conf)
		}
	}
}

func TestPrometheusScrapesEveryReplica(t *testing.T) {
	cfg := &Settings{Config: &config.Config{Ports: map[string]int{}, GatewayAdminPort: 3109}, Replicas: 2}
	for i, p := range config.Processes {
		cfg.Ports[p] = 3100 + i
	}
	conf := prometheusConfig(cfg)
	for _, want := range []string{"job_name: gateway\n    static_configs:\n      - targets: ['127.0.0.1:3109', '127.0.0.1:3119']",
		fmt.Sprintf("job_name: %s\n    static_configs:\n      - targets: ['127.0.0.1:%d', '127.0.0.1:%d']", config.Processes[1], 3101, 3111)} {
		if !strings.Contains(conf, want) {
			t.Errorf("no %q in\n%s", want, conf)
		}
	}
}

func TestJaegerListensOnLoopbackOnly(t *testing.T) {
	conf := fmt.Sprintf(jaegerConfig, 16786, 4417, 4418)
	endpoints := regexp.MustCompile(`endpoint: (\S+)`).FindAllStringSubmatch(conf, -1)
	if len(endpoints) != 4 {
		t.Fatalf("%d endpoints in the config, want 4 (query HTTP and gRPC, OTLP gRPC and HTTP)", len(endpoints))
	}
	for _, e := range endpoints {
		if !strings.HasPrefix(e[1], "127.0.0.1:") {
			t.Errorf("Jaeger listens on %s", e[1])
		}
	}
	for _, want := range []string{"127.0.0.1:16786", "127.0.0.1:4417", "127.0.0.1:4418", "level: none"} {
		if !strings.Contains(conf, want) {
			t.Errorf("the config lacks %s", want)
		}
	}
}
