package devstack

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ticketflow/internal/config"
)

func testSupervisor(t *testing.T) *supervisor {
	dir := t.TempDir()
	s := newSupervisor(dir, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.backoffBase = 10 * time.Millisecond
	return s
}

func TestSupervisorRestartsADeadProcess(t *testing.T) {
	s := testSupervisor(t)
	marker := filepath.Join(t.TempDir(), "starts")
	c := &component{
		name: "flaky",
		// Each start appends a line, then the first start dies and later ones stay up.
		command: func() (*exec.Cmd, error) {
			return exec.Command("sh", "-c", `echo x >> `+marker+`; [ $(wc -l < `+marker+`) -ge 2 ] && exec sleep 30; exit 3`), nil
		},
		ready: func(context.Context) error { return nil },
	}
	if err := s.startGroup(context.Background(), []*component{c}); err != nil {
		t.Fatal(err)
	}
	defer s.stopAll(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(marker)
		if strings.Count(string(b), "x") >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process was not restarted; starts: %q", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ok := livePID(s.pidPath("flaky")); !ok {
		t.Fatal("restarted process has no live pid file")
	}
}

func TestSupervisorStopsTheStackOnACrashLoop(t *testing.T) {
	s := testSupervisor(t)
	c := &component{
		name:    "doomed",
		command: func() (*exec.Cmd, error) { return exec.Command("sh", "-c", "echo boom; exit 1"), nil },
		ready:   func(context.Context) error { return nil },
	}
	if err := s.startGroup(context.Background(), []*component{c}); err != nil {
		t.Fatal(err)
	}
	defer s.stopAll(time.Second)
	select {
	case err := <-s.fatal:
		if !errors.Is(err, ErrCrashLoop) || !strings.Contains(err.Error(), "doomed") {
			t.Fatalf("fatal error = %v, want a crash loop naming the process", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a process dying at every start did not stop the stack")
	}
}

// Kafka exits at every start while its disk is full; make chaos's disk-full class killed it six
// times in a row once, and the stack stopped (a crash loop at five). A process that comes back
// after that many deaths is kept.
func TestAProcessThatDiesSixTimesAndThenStaysUpIsNoCrashLoop(t *testing.T) {
	s := testSupervisor(t)
	starts := filepath.Join(t.TempDir(), "starts")
	c := &component{
		name: "kafka-on-a-full-disk",
		command: func() (*exec.Cmd, error) {
			return exec.Command("sh", "-c", `echo x >> `+starts+`; [ $(wc -l < `+starts+`) -gt 6 ] || exit 1; exec sleep 30`), nil
		},
		ready: func(context.Context) error { return nil },
	}
	if err := s.startGroup(context.Background(), []*component{c}); err != nil {
		t.Fatal(err)
	}
	defer s.stopAll(5 * time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-s.fatal:
			t.Fatalf("the stack stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		b, _ := os.ReadFile(starts)
		if n := strings.Count(string(b), "x"); n >= 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the process was not started a seventh time")
		}
	}
	select {
	case err := <-s.fatal:
		t.Fatalf("the stack stopped: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, ok := livePID(s.pidPath(c.name)); !ok {
		t.Fatal("the process that came back is not running")
	}
}

func TestPortInUseNamesThePortAndTheVariable(t *testing.T) {
	portWait = 300 * time.Millisecond
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	s := testSupervisor(t)
	c := &component{name: "gateway", port: port, portEnv: "GATEWAY_PORT",
		command: func() (*exec.Cmd, error) { return exec.Command("true"), nil },
		ready:   func(context.Context) error { return nil }}
	err = s.startGroup(context.Background(), []*component{c})
	if err == nil || !strings.Contains(err.Error(), "GATEWAY_PORT") || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err = %v, want a port-in-use message naming GATEWAY_PORT", err)
	}
}

// The groups stop in reverse order of their start (the applications before the infrastructure),
// the first group (the infrastructure) one at a time in reverse, and the components of a later
// group side by side: each of "second" and "third" (one group) waits,
// once told to stop, until the other has been told too, for 5 s at most, and says whether it saw
// it; stopped one at a time, neither would.
func TestStopAllStopsTheLastGroupFirstAndAGroupSideBySide(t *testing.T) {
	s := testSupervisor(t)
	dir := t.TempDir()
	order := filepath.Join(dir, "order")
	shell := func(name, other string) *component {
		trap := `echo ` + name + ` >> ` + order + `; exit 0`
		if other != "" {
			trap = `touch ` + dir + `/` + name + `.told; i=0; while [ ! -e ` + dir + `/` + other + `.told ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; ` +
				`if [ -e ` + dir + `/` + other + `.told ]; then echo ` + name + `-saw-` + other + ` >> ` + order + `; fi; echo ` + name + ` >> ` + order + `; exit 0`
		}
		return &component{name: name,
			command: func() (*exec.Cmd, error) {
				return exec.Command("sh", "-c", `trap '`+trap+`' TERM; while true; do sleep 0.05; done`), nil
			},
			ready: func(context.Context) error { return nil }}
	}
	if err := s.startGroup(context.Background(), []*component{shell("postgres", ""), shell("temporal", "")}); err != nil {
		t.Fatal(err)
	}
	if err := s.startGroup(context.Background(), []*component{shell("second", "third"), shell("third", "second")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the shells install their traps
	s.stopAll(10 * time.Second)
	b, _ := os.ReadFile(order)
	got := strings.Fields(string(b))
	if len(got) != 6 || got[4] != "temporal" || got[5] != "postgres" {
		t.Fatalf("stop order = %v: want the second group's two (and what each saw), then the first group in reverse: temporal, postgres", got)
	}
	for _, want := range []string{"second-saw-third", "third-saw-second"} {
		if !slices.Contains(got, want) {
			t.Fatalf("stop order = %v: no %s, so the group's components were not stopped side by side", got, want)
		}
	}
}

func TestAHeldProcessRestartsOnlyWhenReleased(t *testing.T) {
	s := testSupervisor(t)
	c := &component{name: "broker",
		command: func() (*exec.Cmd, error) { return exec.Command("sleep", "30"), nil },
		ready:   func(context.Context) error { return nil }}
	if err := s.startGroup(context.Background(), []*component{c}); err != nil {
		t.Fatal(err)
	}
	defer s.stopAll(time.Second)
	first, _ := livePID(s.pidPath("broker"))
	if err := os.WriteFile(s.holdPath("broker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(first, syscall.SIGKILL)
	time.Sleep(500 * time.Millisecond)
	if pid, ok := livePID(s.pidPath("broker")); ok && pid != first {
		t.Fatal("restarted while held")
	}
	os.Remove(s.holdPath("broker"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if pid, ok := livePID(s.pidPath("broker")); ok && pid != first {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("not restarted after release")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A component with a nice value runs at that priority, its own pid (nice execs it).
func TestNiceComponentRunsAtLowerPriority(t *testing.T) {
	s := testSupervisor(t)
	out := filepath.Join(t.TempDir(), "nice")
	c := &component{name: "background", nice: 7,
		command: func() (*exec.Cmd, error) {
			return exec.Command("sh", "-c", `echo $$ $(nice) > `+out+`; exec sleep 30`), nil
		},
		ready: func(context.Context) error { return nil }}
	if err := s.startGroup(context.Background(), []*component{c}); err != nil {
		t.Fatal(err)
	}
	defer s.stopAll(5 * time.Second)
	var b []byte
	for i := 0; i < 50 && len(b) == 0; i++ {
		time.Sleep(20 * time.Millisecond)
		b, _ = os.ReadFile(out)
	}
	// nice(1) adds to the niceness it starts from (make test runs the unit tests under nice 19),
	// up to 19.
	base, err := exec.Command("nice").Output()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(base)))
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.Itoa(min(n+7, 19))
	f := strings.Fields(string(b))
	if len(f) != 2 || f[1] != want {
		t.Fatalf("pid and niceness %q, want niceness %s (7 above this test's %d)", b, want, n)
	}
	if pid, _ := os.ReadFile(s.pidPath("background")); strings.TrimSpace(string(pid)) != f[0] {
		t.Fatalf("pid file %q, the process is %s", pid, f[0])
	}
}

// Every replica of a confirmation-pipeline process starts at the background's nice value; the
// decision path's processes at 0.
func TestBackgroundIsTheConfirmationPipeline(t *testing.T) {
	cfg := &Settings{Config: &config.Config{Ports: map[string]int{}}, Replicas: 2, BackgroundNice: 10}
	s := &Stack{cfg: cfg}
	want := map[string]int{"payment": 10, "payment-2": 10, "worker-2": 10, "bridge": 10, "notification-2": 10,
		"gateway": 0, "gateway-2": 0, "booking-2": 0, "inventory": 0, "user": 0, "event-2": 0}
	seen := 0
	for _, c := range s.applications() {
		if n, ok := want[c.name]; ok {
			seen++
			if c.nice != n {
				t.Errorf("%s starts at nice %d, want %d", c.name, c.nice, n)
			}
		}
	}
	if seen != len(want) {
		t.Fatalf("%d of the %d replicas looked for were built", seen, len(want))
	}
	for name, want := range map[string]int{"kafka": 10, "temporal": 10, "ferretdb": 10, "postgres": 0, "redis": 0} {
		if got := s.niceOf(name); got != want {
			t.Errorf("%s starts at nice %d, want %d", name, got, want)
		}
	}
}

// A process stopped to run again (Restart's marker beside its pid file) starts again at once and
// is no crash: more restarts than the crash-loop rule allows do not stop the stack.
func TestRestartsAskedForAreNoCrashLoop(t *testing.T) {
	s := testSupervisor(t)
	c := &component{
		name:    "restarted",
		command: func() (*exec.Cmd, error) { return exec.Command("sleep", "30"), nil },
		ready:   func(context.Context) error { return nil },
	}
	if err := s.startGroup(context.Background(), []*component{c}); err != nil {
		t.Fatal(err)
	}
	defer s.stopAll(time.Second)
	for i := 0; i < maxRestarts+2; i++ {
		pid, ok := livePID(s.pidPath(c.name))
		if !ok {
			t.Fatal("no live pid")
		}
		if err := os.WriteFile(s.restartPath(c.name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(5 * time.Second)
		for {
			if now, ok := livePID(s.pidPath(c.name)); ok && now != pid {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("restart %d: the process did not start again", i+1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	select {
	case err := <-s.fatal:
		t.Fatalf("restarts asked for stopped the stack: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
}
