package config

import (
	"strings"
	"testing"
	"time"
)

// A real-looking secret of a deployment (at least 32 bytes, not the development default).
const deploymentSecret = "c2VjcmV0LW9mLWEtcmVhbC1kZXBsb3ltZW50LTAxMjM0NTY3"

func TestCheckSecretsRefusesTheDevelopmentSecretOutsideLocal(t *testing.T) {
	for _, env := range []string{"production", "staging", "", "LOCAL", "Local", " local", "local ", "dev", "test"} {
		c := &Config{Env: env, JWTSecret: DevJWTSecret}
		err := c.CheckSecrets()
		if err == nil {
			t.Errorf("TICKETFLOW_ENV=%q: the development JWT secret was accepted", env)
			continue
		}
		if !strings.Contains(err.Error(), "JWT_SECRET") {
			t.Errorf("TICKETFLOW_ENV=%q: the refusal does not name JWT_SECRET: %v", env, err)
		}
		if strings.Contains(err.Error(), DevJWTSecret) {
			t.Errorf("the refusal prints the secret: %v", err)
		}
	}
}

func TestCheckSecretsAcceptsTheDevelopmentSecretInsideLocal(t *testing.T) {
	c := &Config{Env: "local", JWTSecret: DevJWTSecret}
	if err := c.CheckSecrets(); err != nil {
		t.Fatalf("the local stack's development secret was refused: %v", err)
	}
}

func TestCheckSecretsAcceptsARealSecretAndRefusesAShortOne(t *testing.T) {
	for _, env := range []string{"production", "local"} {
		if err := (&Config{Env: env, JWTSecret: deploymentSecret}).CheckSecrets(); err != nil {
			t.Errorf("%s: a real secret was refused: %v", env, err)
		}
		short := "short-secret-short-secret-31byte"[:31]
		if err := (&Config{Env: env, JWTSecret: short}).CheckSecrets(); err == nil {
			t.Errorf("%s: a 31-byte secret was accepted", env)
		} else if strings.Contains(err.Error(), short) {
			t.Errorf("the refusal prints the secret: %v", err)
		}
	}
}

// Through Load, as `ticketflow serve` does: a deployment that forgets JWT_SECRET (and does not
// claim to be the local stack) gets the development default and must refuse to start.
func TestLoadWithoutJWTSecretRefusesToServeOutsideLocal(t *testing.T) {
	cases := []struct {
		env, secret string
		ok          bool
	}{
		{env: "", secret: "", ok: false},           // nothing set: production with the default
		{env: "production", secret: "", ok: false}, //
		{env: "production", secret: DevJWTSecret, ok: false},
		{env: "local", secret: "", ok: true}, // `ticketflow-dev dev`
		{env: "production", secret: deploymentSecret, ok: true},
	}
	for _, c := range cases {
		t.Setenv("TICKETFLOW_ENV", c.env) // Load treats an empty variable as unset
		t.Setenv("JWT_SECRET", c.secret)
		cfg, err := Load()
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		err = cfg.CheckSecrets()
		if (err == nil) != c.ok {
			t.Errorf("TICKETFLOW_ENV=%q JWT_SECRET=%q: CheckSecrets = %v, want ok=%v", c.env, c.secret, err, c.ok)
		}
		if c.env == "" && cfg.Local() {
			t.Errorf("an unset TICKETFLOW_ENV counts as the local stack")
		}
	}
}

func TestWaitingRoomFollowURLIsAnOrigin(t *testing.T) {
	t.Setenv("WAITING_ROOM_FOLLOW_URL", "https://queue.example.com/")
	cfg, err := Load()
	if err != nil || cfg.WaitingRoom.FollowURL != "https://queue.example.com" {
		t.Fatalf("Load = %q, %v; want the URL without its trailing slash", cfg.WaitingRoom.FollowURL, err)
	}
	for _, bad := range []string{"queue.example.com", "ftp://queue.example.com", "https://", "https://q.example.com/?a=1",
		"https://q.example.com/line", "https://q.example.com?", "https://user:pw@q.example.com", "https://q.example.com#x"} {
		t.Setenv("WAITING_ROOM_FOLLOW_URL", bad)
		if _, err := Load(); err == nil || !strings.Contains(err.Error(), "WAITING_ROOM_FOLLOW_URL") {
			t.Errorf("WAITING_ROOM_FOLLOW_URL=%q: Load = %v, want an error naming the variable", bad, err)
		}
	}
}

func TestWaitingRoomDecisionTargetIsADurationOrZero(t *testing.T) {
	cfg, err := Load()
	if err != nil || cfg.WaitingRoom.DecisionTarget != 60*time.Millisecond {
		t.Fatalf("default: %v, %v; want 60ms", cfg.WaitingRoom.DecisionTarget, err)
	}
	t.Setenv("WAITING_ROOM_DECISION_TARGET", "0")
	if cfg, err = Load(); err != nil || cfg.WaitingRoom.DecisionTarget != 0 {
		t.Fatalf("0 (never pace): %v, %v", cfg.WaitingRoom.DecisionTarget, err)
	}
	t.Setenv("WAITING_ROOM_DECISION_TARGET", "-1s")
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "WAITING_ROOM_") {
		t.Fatalf("a negative target: Load = %v, want an error", err)
	}
}

func TestTrustedProxiesTakeCIDRsAndAddresses(t *testing.T) {
	t.Setenv("TRUSTED_PROXIES", " 10.0.0.0/8, 192.168.1.7 ,fd00::/8,::ffff:172.16.0.1, 10.1.2.3/16")
	cfg, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var got []string
	for _, p := range cfg.TrustedProxies {
		got = append(got, p.String())
	}
	want := "10.0.0.0/8 192.168.1.7/32 fd00::/8 172.16.0.1/32 10.1.0.0/16"
	if strings.Join(got, " ") != want {
		t.Fatalf("TrustedProxies = %v, want %s", got, want)
	}

	t.Setenv("TRUSTED_PROXIES", "")
	if cfg, err := Load(); err != nil || len(cfg.TrustedProxies) != 0 {
		t.Fatalf("unset: %v, %v; want no trusted proxy", cfg.TrustedProxies, err)
	}

	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.0/8,*"} {
		t.Setenv("TRUSTED_PROXIES", bad)
		if _, err := Load(); err == nil || !strings.Contains(err.Error(), "TRUSTED_PROXIES") {
			t.Errorf("TRUSTED_PROXIES=%q: Load = %v, want an error naming the variable", bad, err)
		}
	}
}

func TestObservabilityDefaultsAndSwitches(t *testing.T) {
	for _, k := range []string{"GATEWAY_ADMIN_PORT", "JAEGER_OTLP_HTTP_PORT", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER",
		"OTEL_TRACES_SAMPLER_ARG", "LOG_FORMAT", "LOG_LEVEL"} {
		t.Setenv(k, "")
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.GatewayAdminPort != 3009 || c.OTLPEndpoint != "http://127.0.0.1:4318" || c.TraceSampleRatio != 1 || c.LogFormat != "text" {
		t.Errorf("defaults: admin %d, otlp %s, ratio %g, log %s", c.GatewayAdminPort, c.OTLPEndpoint, c.TraceSampleRatio, c.LogFormat)
	}
	for _, name := range Processes {
		if c.Ports[name] == c.GatewayAdminPort {
			t.Errorf("the gateway admin port's default %d is %s's", c.GatewayAdminPort, name)
		}
	}
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	if c, err := Load(); err != nil || c.OTLPEndpoint != "" {
		t.Errorf("OTEL_TRACES_EXPORTER=none: endpoint %q, err %v", c.OTLPEndpoint, err)
	}
	for k, v := range map[string]string{"LOG_FORMAT": "xml", "OTEL_TRACES_SAMPLER_ARG": "2", "OTEL_TRACES_EXPORTER": "zipkin", "PG_MAX_CONNS": "0"} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, v)
			if _, err := Load(); err == nil || !strings.Contains(err.Error(), k) {
				t.Errorf("%s=%s: err %v", k, v, err)
			}
		})
	}
}

// TICKETFLOW_CLOCK_OFFSET moves a process's clock in the local stack only; a bad value or an
// offset outside it is refused at start.
func TestClockOffsetOnlyInTheLocalStack(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TICKETFLOW_ENV": "local", "TICKETFLOW_CLOCK_OFFSET": "-2m"}, ""},
		{map[string]string{"TICKETFLOW_ENV": "production", "TICKETFLOW_CLOCK_OFFSET": "0s"}, ""},
		{map[string]string{"TICKETFLOW_ENV": "production", "TICKETFLOW_CLOCK_OFFSET": "2m"}, "local stack"},
		{map[string]string{"TICKETFLOW_ENV": "local", "TICKETFLOW_CLOCK_OFFSET": "soon"}, "not a duration"},
	} {
		_, err := LoadFrom(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v, want %q", c.env, err, c.want)
		}
	}
}
